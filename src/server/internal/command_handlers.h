// /digitaltwins/{id}/commands: DTDL command invocations (docs/commands.md). Thin:
// command::CommandService does the work.
#pragma once

#include "server/internal/api_common.h"

namespace doppel::server::internal {

Result<HttpResponse> InvokeCommand(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> InvokeComponentCommand(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListCommandInvocations(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetCommandInvocation(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

}  // namespace doppel::server::internal
