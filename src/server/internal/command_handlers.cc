// Command invocations (docs/commands.md): POST invokes and, unless ?wait=false, waits for the
// device's answer (or the timeout) before answering; GET lists and reads invocations.
#include "server/internal/command_handlers.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "command/command_service.h"

namespace doppel::server::internal {
namespace {

constexpr std::size_t kDefaultListLimit = 100;
constexpr std::size_t kMaxListLimit = 1000;

Result<command::CommandService*> CommandsOf(const ApiContext& ctx) {
  if (ctx.services.commands == nullptr) return Status::Unavailable("commands are not enabled on this server");
  return ctx.services.commands;
}

// "30" or "30s" (seconds, fractions allowed), "500ms", "2m".
Result<std::chrono::milliseconds> ParseTimeout(std::string_view text) {
  double scale = 1000;
  std::string_view number = text;
  if (number.ends_with("ms")) {
    scale = 1;
    number.remove_suffix(2);
  } else if (number.ends_with("s")) {
    number.remove_suffix(1);
  } else if (number.ends_with("m")) {
    scale = 60'000;
    number.remove_suffix(1);
  }
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size() || !std::isfinite(value) ||
      value <= 0 || value * scale > 1e9) {
    return Status::InvalidArgument(
        fmt::format("timeout: expected a duration such as 30s, 500ms or 2m, got '{}'", text));
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(value * scale)));
}

Result<HttpResponse> Invoke(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match,
                            std::string_view component) {
  DOPPEL_ASSIGN_OR_RETURN(command::CommandService * commands, CommandsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(bool wait, BoolParam(query, "wait", true));
  command::InvokeRequest invoke{.twin_id = std::string(match.params.Get("id")),
                                .component = std::string(component),
                                .command = std::string(match.params.Get("commandName")),
                                .caller = match.auth.principal.subject};
  if (const std::string* timeout = query.Find("timeout")) {
    DOPPEL_ASSIGN_OR_RETURN(invoke.timeout, ParseTimeout(*timeout));
  }
  if (!request.body.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(invoke.payload, ParseBody(ctx, request, "the command's request payload"));
  }
  DOPPEL_ASSIGN_OR_RETURN(command::Invocation invocation, commands->Invoke(invoke));
  if (!wait) {
    HttpResponse res = HttpResponse::Json(202, command::InvocationJson(invocation));
    res.SetHeader("Location",
                  fmt::format("/digitaltwins/{}/commands/invocations/{}", PercentEncode(invoke.twin_id), invocation.id));
    return res;
  }
  DOPPEL_ASSIGN_OR_RETURN(invocation, commands->Await(invocation.id));
  HttpResponse res = HttpResponse::Json(200, command::InvocationJson(invocation));
  if (invocation.response_status) res.SetHeader("x-ms-command-statuscode", std::to_string(*invocation.response_status));
  return res;
}

}  // namespace

Result<HttpResponse> InvokeCommand(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  return Invoke(ctx, request, match, "");
}

Result<HttpResponse> InvokeComponentCommand(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  return Invoke(ctx, request, match, match.params.Get("componentPath"));
}

Result<HttpResponse> ListCommandInvocations(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(command::CommandService * commands, CommandsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(std::size_t limit, LimitParam(query, kDefaultListLimit, kMaxListLimit));
  const std::string_view twin_id = match.params.Get("id");
  DOPPEL_RETURN_IF_ERROR(ctx.graph.GetTwin(twin_id).status());
  json::array value;
  for (const command::Invocation& invocation : commands->List(twin_id, limit)) {
    value.push_back(command::InvocationJson(invocation));
  }
  return HttpResponse::Json(200, json::object{{"value", std::move(value)}});
}

Result<HttpResponse> GetCommandInvocation(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(command::CommandService * commands, CommandsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(command::Invocation invocation,
                          commands->Find(match.params.Get("id"), match.params.Get("invocationId")));
  return HttpResponse::Json(200, command::InvocationJson(invocation));
}

}  // namespace doppel::server::internal
