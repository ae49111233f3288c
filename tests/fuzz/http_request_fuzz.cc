// Fuzzes the HTTP API below the transport: the input is "<method>\n<target>\n<header: value
// lines>\n\n<body>", answered by DigitalTwinsApi over a small in-memory graph (fresh per input,
// so a finding replays alone). Every answer has a status in 100..599; every error answer is the
// ADT JSON shape {"error": {"code", "message"}} with a matching x-ms-error-code header; every
// JSON answer parses. Also exercises the router's decoding helpers directly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/json.h"
#include "fuzz_util.h"
#include "server/api.h"
#include "server/http_message.h"
#include "server/url.h"

namespace {

std::string_view NextLine(std::string_view& input) {
  auto end = input.find('\n');
  std::string_view line = input.substr(0, end);
  input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
  return line;
}

void CheckResponse(const doppel::server::HttpResponse& r, const std::string& what) {
  using namespace doppel;
  FUZZ_CHECK(r.status >= 100 && r.status <= 599, what);
  std::string_view type = r.Header("Content-Type");
  bool is_json = type.find("json") != std::string_view::npos;
  if (r.status >= 400) {
    FUZZ_CHECK(is_json, what + " error without JSON: " + std::string(type));
    auto body = ParseJson(r.body);
    FUZZ_CHECK(body.ok(), what + " error body: " + r.body);
    const auto* error = body->is_object() ? body->as_object().if_contains("error") : nullptr;
    FUZZ_CHECK(error && error->is_object(), r.body);
    const auto* code = error->as_object().if_contains("code");
    const auto* message = error->as_object().if_contains("message");
    FUZZ_CHECK(code && code->is_string() && !code->get_string().empty(), r.body);
    FUZZ_CHECK(message && message->is_string(), r.body);
    FUZZ_CHECK(r.Header("x-ms-error-code") == std::string_view(code->get_string()), r.body);
  } else if (is_json && !r.body.empty()) {
    auto body = ParseJson(r.body);
    FUZZ_CHECK(body.ok(), what + " body: " + r.body.substr(0, 200));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace doppel;
  if (size > 8192) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  server::HttpRequest request;
  request.method = std::string(NextLine(input));
  request.target = std::string(NextLine(input));
  while (!input.empty()) {
    std::string_view line = NextLine(input);
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    request.AddHeader(line.substr(0, colon), std::string(value));
  }
  request.body = std::string(input);

  // The decoding helpers on their own: a decode that succeeds re-encodes and decodes back.
  for (bool plus : {false, true}) {
    auto decoded = server::PercentDecode(request.target, plus);
    if (decoded.ok()) {
      auto back = server::PercentDecode(server::PercentEncode(*decoded));
      FUZZ_CHECK(back.ok() && *back == *decoded, request.target);
    } else {
      FUZZ_CHECK(decoded.status().code() == StatusCode::kInvalidArgument,
                 decoded.status().ToString());
    }
  }
  auto params = server::QueryParams::Parse(request.RawQuery());
  if (params.ok()) {
    auto again = server::QueryParams::Parse(params->Encode());
    FUZZ_CHECK(again.ok() && again->items() == params->items(), params->Encode());
  }
  std::string sanitized = server::SanitizeUtf8(request.target);
  std::string quoted;
  AppendJsonString(quoted, sanitized);
  FUZZ_CHECK(ParseJson(quoted).ok(), quoted);

  fuzz::SmallGraph small;
  small.Build(/*with_twins=*/true);
  ManualClock clock;
  server::ApiOptions options;
  options.max_body_bytes = 4096;
  options.max_json_depth = 16;
  server::DigitalTwinsApi api(small.graph(), clock, options);
  server::HttpResponse response = api.Handle(request);
  CheckResponse(response, request.method + " " + request.target);
  // The same request against the same state is answered the same way when it failed (a
  // failed request must not have changed anything).
  if (response.status >= 400) {
    server::HttpResponse again = api.Handle(request);
    FUZZ_CHECK(again.status == response.status, request.method + " " + request.target);
  }
  return 0;
}
