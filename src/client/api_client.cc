#include "client/api_client.h"

#include <fmt/format.h>

namespace doppel::client {
namespace {

StatusCode CodeForHttpStatus(int status, std::string_view error_code) {
  switch (status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 405:
      return StatusCode::kMethodNotAllowed;
    case 409:
      return error_code.find("AlreadyExists") != std::string_view::npos ? StatusCode::kAlreadyExists
                                                                        : StatusCode::kConflict;
    case 412:
      return StatusCode::kPreconditionFailed;
    case 413:
      return StatusCode::kPayloadTooLarge;
    case 429:
      return StatusCode::kResourceExhausted;
    case 503:
      return StatusCode::kUnavailable;
    default:
      return status >= 400 && status < 500 ? StatusCode::kInvalidArgument : StatusCode::kInternal;
  }
}

// A nextLink is usually an absolute URL back to the same server; only its path and query
// matter, and they go to the connection we already hold.
std::string PathOfLink(std::string_view link, std::string_view prefix) {
  std::size_t scheme = link.find("://");
  if (scheme != std::string_view::npos) {
    std::size_t slash = link.find('/', scheme + 3);
    link = slash == std::string_view::npos ? std::string_view("/") : link.substr(slash);
  }
  if (!prefix.empty() && link.starts_with(prefix)) link.remove_prefix(prefix.size());
  return std::string(link);
}

}  // namespace

Status StatusFromResponse(const HttpResponse& response) {
  std::string code, message;
  if (auto doc = ParseJson(response.body); doc.ok() && doc->is_object()) {
    if (const auto* error = doc->as_object().if_contains("error"); error && error->is_object()) {
      const auto& e = error->as_object();
      if (const auto* c = e.if_contains("code"); c && c->is_string()) code = c->as_string();
      if (const auto* m = e.if_contains("message"); m && m->is_string()) message = m->as_string();
    }
  }
  if (code.empty()) code = response.Header("x-ms-error-code").value_or("");
  if (message.empty()) {
    message = fmt::format("HTTP {}", response.status);
    if (!response.body.empty()) message += ": " + response.body.substr(0, 200);
  }
  return Status(CodeForHttpStatus(response.status, code), code, message);
}

Result<std::unique_ptr<ApiClient>> ApiClient::Create(std::string_view base_url,
                                                     HttpClientOptions options) {
  DOPPEL_ASSIGN_OR_RETURN(auto http, HttpClient::Create(base_url, options));
  return std::unique_ptr<ApiClient>(new ApiClient(std::move(http)));
}

std::string ApiClient::WithApiVersion(std::string_view path) const {
  if (path.find("api-version=") != std::string_view::npos) return std::string(path);
  char separator = path.find('?') == std::string_view::npos ? '?' : '&';
  return fmt::format("{}{}api-version={}", path, separator, kApiVersion);
}

Result<json::value> ApiClient::Call(std::string_view method, std::string_view path,
                                    const json::value* body, const HttpHeaders& headers) {
  return CallRaw(method, path, body ? ToJson(*body) : std::string(), headers);
}

Result<json::value> ApiClient::CallRaw(std::string_view method, std::string_view path,
                                       std::string_view body, const HttpHeaders& headers) {
  HttpHeaders with_token = headers;
  if (!token_.empty()) with_token.emplace_back("Authorization", "Bearer " + token_);
  DOPPEL_ASSIGN_OR_RETURN(HttpResponse response,
                          http_->Send(method, WithApiVersion(path), body, with_token));
  if (response.status < 200 || response.status >= 300) return StatusFromResponse(response);
  if (response.body.empty()) return json::value(nullptr);
  auto parsed = ParseJson(response.body);
  if (!parsed.ok()) {
    return Status::InvalidArgument(fmt::format("{} {} answered with a body that is not JSON: {}",
                                               method, path, parsed.status().message()));
  }
  return std::move(parsed).value();
}

Result<json::array> ApiClient::ListAll(std::string_view path) {
  json::array all;
  std::string next(path);
  while (!next.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(json::value page, Call("GET", next));
    next.clear();
    if (!page.is_object())
      return Status::InvalidArgument(fmt::format("GET {}: expected an object page", path));
    if (const auto* value = page.as_object().if_contains("value"); value && value->is_array()) {
      for (auto& item : value->as_array()) all.push_back(item);
    }
    if (const auto* link = page.as_object().if_contains("nextLink"); link && link->is_string()) {
      next = PathOfLink(link->as_string(), http_->base_url().path_prefix);
    }
  }
  return all;
}

Result<json::array> ApiClient::Query(std::string_view query, int* pages) {
  json::array rows;
  json::object request{{"query", query}};
  int fetched = 0;
  for (;;) {
    json::value body(request);
    DOPPEL_ASSIGN_OR_RETURN(json::value page, Call("POST", "/query", &body));
    ++fetched;
    if (!page.is_object())
      return Status::InvalidArgument("query answered with something other than an object");
    const auto& object = page.as_object();
    if (const auto* value = object.if_contains("value"); value && value->is_array()) {
      for (auto& row : value->as_array()) rows.push_back(row);
    }
    const auto* token = object.if_contains("continuationToken");
    if (!token || !token->is_string() || token->as_string().empty()) break;
    request["continuationToken"] = token->as_string();
  }
  if (pages) *pages = fetched;
  return rows;
}

}  // namespace doppel::client
