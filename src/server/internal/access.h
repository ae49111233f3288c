// Who may do what, applied by the API around every handler (docs/security.md): authentication
// of the bearer token, the permission check of a route, read filters for handlers that list
// many twins, and the audit record of changes and denials. Internal to src/server.
#pragma once

#include <span>
#include <string_view>

#include "auth/principal.h"
#include "base/status.h"
#include "server/http_message.h"
#include "server/internal/api_common.h"
#include "server/router.h"
#include "server/url.h"

namespace doppel::server::internal {

// No credentials configured: every caller is the anonymous administrator.
bool DevMode(const ApiContext& ctx);

// The caller of `request`: the anonymous admin in dev mode, else the principal of its bearer
// token (Authorization header, or the access_token query parameter for WebSocket upgrades).
// Unauthenticated with the authenticator's message otherwise.
Result<RequestAuth> Authenticate(const ApiContext& ctx, const HttpRequest& request, const QueryParams& query);

// PermissionDenied ("Forbidden") naming the caller, the action and the twin, unless allowed.
Status Authorize(const ApiContext& ctx, const RequestAuth& caller, auth::Action action, const auth::Resource& resource);

// Sets caller.visible to the caller's read filter (null: sees every twin) and caller.masked to
// the classified values it may not see (FieldMaskFor).
void PrepareFilter(const ApiContext& ctx, RequestAuth& caller);

// The classified values `caller` may not see: null without a classification or with a
// clearance for everything.
twin::FieldMask FieldMaskFor(const ApiContext& ctx, const RequestAuth& caller);

// True when `twin_id` passes the caller's read filter.
bool Visible(const RequestAuth& caller, std::string_view twin_id, std::string_view model_id = {});

// `action` on every twin in `twin_ids` (duplicates are cheap), or PermissionDenied naming the
// first refused one. Skips the per-twin checks when an unscoped grant covers them all.
Status AuthorizeEach(const ApiContext& ctx, const RequestAuth& caller, auth::Action action,
                     std::span<const std::string_view> twin_ids);

// Records the request in the audit log when it was a change (`audit_action` set) or was
// refused for want of credentials or rights. A no-op without an audit log.
void AuditRequest(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match, const char* audit_action,
                  const HttpResponse& response);

}  // namespace doppel::server::internal
