#include "server/internal/access.h"

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

#include "audit/audit_log.h"
#include "auth/authenticator.h"
#include "auth/classification.h"
#include "auth/policy.h"

namespace doppel::server::internal {
namespace {

// Refused requests recorded per second at most; the rest are counted into the next record.
constexpr int kDenialRecordsPerSecond = 50;

std::string DescribeCaller(const auth::Principal& p) {
  std::string roles;
  for (const std::string& r : p.roles) roles += (roles.empty() ? "" : ", ") + r;
  return "'" + p.subject + "' (roles: " + (roles.empty() ? "none" : roles) + ")";
}

// What a route acted on, for the audit record: "turbine-7", "turbine-7/rel-1", "model:dtmi:..",
// "apikey:abc", "connector:site-broker".
std::string TargetOf(const RouteMatch& match) {
  if (match.route == nullptr) return "";
  std::string_view key = match.params.Get("keyId");
  if (!key.empty()) return "apikey:" + std::string(key);
  // A named definition ("/rules/{name}" → "rule:<name>", "/analytics/detectors/{name}" →
  // "detector:<name>") or a record of the loop ("alert:<id>", ...).
  if (std::string_view name = match.params.Get("name"); !name.empty()) {
    std::string_view pattern = match.route->pattern;
    pattern = pattern.substr(0, pattern.find("/{name}"));
    std::string_view kind = pattern.substr(pattern.rfind('/') + 1);
    if (kind.ends_with('s')) kind.remove_suffix(1);
    return fmt::format("{}:{}", kind, name);
  }
  static constexpr std::pair<std::string_view, std::string_view> kRecords[] = {
      {"alertId", "alert"}, {"workOrderId", "workorder"}, {"recommendationId", "recommendation"},
      {"deliveryId", "webhook-delivery"}};
  for (const auto& [param, kind] : kRecords) {
    if (std::string_view id = match.params.Get(param); !id.empty()) return fmt::format("{}:{}", kind, id);
  }
  std::string_view id = match.params.Get("id");
  if (id.empty()) return "";
  if (match.route->pattern.starts_with("/models")) return "model:" + std::string(id);
  std::string target(id);
  if (std::string_view rel = match.params.Get("relationshipId"); !rel.empty()) target += "/" + std::string(rel);
  return target;
}

// True when this refusal may be recorded now; otherwise it is counted for the next record.
bool AdmitDenialRecord(ApiContext& ctx, uint64_t& unrecorded_before) {
  int64_t second = std::chrono::duration_cast<std::chrono::seconds>(ctx.clock.Now().time_since_epoch()).count();
  std::lock_guard lock(ctx.denial_mu);
  if (second != ctx.denial_second) {
    ctx.denial_second = second;
    ctx.denials_this_second = 0;
  }
  if (ctx.denials_this_second >= kDenialRecordsPerSecond) {
    ++ctx.denials_unrecorded;
    return false;
  }
  ++ctx.denials_this_second;
  unrecorded_before = ctx.denials_unrecorded;
  ctx.denials_unrecorded = 0;
  return true;
}

}  // namespace

bool DevMode(const ApiContext& ctx) {
  return ctx.services.authenticator == nullptr || !ctx.services.authenticator->Configured();
}

Result<RequestAuth> Authenticate(const ApiContext& ctx, const HttpRequest& request, const QueryParams& query) {
  RequestAuth caller;
  // Before any handler: a model uploaded by an earlier request is classified before this one
  // can create, read or stream a twin of it.
  if (ctx.services.classification != nullptr) ctx.services.classification->Refresh();
  if (DevMode(ctx)) {
    caller.principal = auth::Principal::Anonymous();
    return caller;
  }
  const std::string* token_param = query.Find("access_token");
  DOPPEL_ASSIGN_OR_RETURN(caller.principal,
                          ctx.services.authenticator->Authenticate(request.Header("authorization"), ctx.clock.Now(),
                                                                   token_param ? *token_param : std::string_view()));
  caller.authenticated = true;
  return caller;
}

Status Authorize(const ApiContext& ctx, const RequestAuth& caller, auth::Action action, const auth::Resource& resource) {
  if (ctx.services.authorizer == nullptr) {
    // Tests without policies: anyone authenticated may do anything; nobody may do nothing.
    if (caller.principal.subject.empty()) return Status::Unauthenticated("missing bearer token");
    return Status::Ok();
  }
  if (ctx.services.authorizer->Allows(caller.principal, action, resource)) return Status::Ok();
  std::string on = resource.twin_id.empty() ? "this server" : "twin '" + std::string(resource.twin_id) + "'";
  return Status::PermissionDenied(DescribeCaller(caller.principal) + " may not " +
                                      std::string(auth::ActionName(action)) + " on " + on,
                                  "Forbidden");
}

void PrepareFilter(const ApiContext& ctx, RequestAuth& caller) {
  if (ctx.services.authorizer != nullptr) caller.visible = ctx.services.authorizer->VisibilityFor(caller.principal);
  caller.masked = FieldMaskFor(ctx, caller);
}

twin::FieldMask FieldMaskFor(const ApiContext& ctx, const RequestAuth& caller) {
  if (ctx.services.classification == nullptr) return {};
  return ctx.services.classification->MaskFor(caller.principal);
}

bool Visible(const RequestAuth& caller, std::string_view twin_id, std::string_view model_id) {
  return !caller.visible || caller.visible(twin_id, model_id);
}

Status AuthorizeEach(const ApiContext& ctx, const RequestAuth& caller, auth::Action action,
                     std::span<const std::string_view> twin_ids) {
  if (ctx.services.authorizer == nullptr || Authorize(ctx, caller, action, {}).ok()) return Status::Ok();
  twin::TwinFilter allowed = ctx.services.authorizer->FilterFor(caller.principal, action);
  if (!allowed) return Status::Ok();  // every twin
  std::string_view last_allowed;
  for (std::string_view id : twin_ids) {
    if (id == last_allowed) continue;  // batches often come grouped by twin
    // The twin's model is not known here; a grant by model needs Authorize's look-up.
    if (!allowed(id, {})) DOPPEL_RETURN_IF_ERROR(Authorize(ctx, caller, action, {.twin_id = id}));
    last_allowed = id;
  }
  return Status::Ok();
}

void AuditRequest(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match, const char* audit_action,
                  const HttpResponse& response) {
  if (ctx.services.audit == nullptr) return;
  const bool denied = response.status == 403;
  // A missing token is not a login attempt; a wrong or expired one is.
  const bool login_failed = response.status == 401 && !request.Header("authorization").empty();
  if (audit_action == nullptr && !denied && !login_failed) return;
  audit::AuditEvent event;
  event.actor = match.auth.principal.subject.empty() ? "unauthenticated" : match.auth.principal.subject;
  event.action = login_failed ? "auth.login_failed" : denied ? "auth.denied" : audit_action;
  event.target = TargetOf(match);
  event.source = request.remote_address;
  event.outcome = response.status < 400 ? "ok" : denied || login_failed ? "denied" : "error:" + std::to_string(response.status);
  event.detail["method"] = request.method;
  event.detail["path"] = request.RawPath();
  event.detail["status"] = response.status;
  if (denied || login_failed) {
    uint64_t unrecorded = 0;
    if (!AdmitDenialRecord(ctx, unrecorded)) return;
    if (unrecorded > 0) event.detail["unrecordedDenialsBefore"] = unrecorded;
    if (auto error = ParseJson(response.body); error.ok() && error->is_object()) {
      if (const json::value* e = error->as_object().if_contains("error"); e && e->is_object()) {
        if (const json::value* m = e->as_object().if_contains("message")) event.detail["reason"] = *m;
      }
    }
  }
  Result<audit::AuditRecord> recorded = ctx.services.audit->Append(std::move(event), ctx.clock.Now());
  if (!recorded.ok()) spdlog::error("audit log append failed: {}", recorded.status().message());
}

}  // namespace doppel::server::internal
