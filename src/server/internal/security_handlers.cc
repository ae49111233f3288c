// /auth/whoami, /auth/apikeys and /audit: the caller's identity, API key administration and
// the audit log (docs/security.md).
#include <fmt/format.h>

#include <charconv>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "auth/api_keys.h"
#include "auth/policy.h"
#include "server/internal/access.h"
#include "server/internal/handlers.h"

namespace doppel::server::internal {
namespace {

Result<auth::ApiKeyStore*> ApiKeysOf(const ApiContext& ctx) {
  if (ctx.services.api_keys == nullptr) return Status::Unavailable("API keys are not enabled on this server");
  return ctx.services.api_keys;
}

Result<audit::AuditLog*> AuditOf(const ApiContext& ctx) {
  if (ctx.services.audit == nullptr) return Status::Unavailable("the audit log is not enabled on this server");
  return ctx.services.audit;
}

json::array Strings(const std::vector<std::string>& items) {
  json::array out;
  for (const std::string& s : items) out.emplace_back(s);
  return out;
}

// A JSON array of non-empty strings at body[key] (absent → empty), or InvalidArgument.
Result<std::vector<std::string>> StringList(const json::object& body, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = body.if_contains(key);
  if (v == nullptr) return out;
  if (!v->is_array()) return Status::InvalidArgument(fmt::format("\"{}\" must be an array of strings", key));
  for (const json::value& item : v->get_array()) {
    if (!item.is_string() || item.get_string().empty()) {
      return Status::InvalidArgument(fmt::format("\"{}\" must hold non-empty strings", key));
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

Status CheckRolesExist(const ApiContext& ctx, const std::vector<std::string>& roles) {
  for (const std::string& role : roles) {
    bool known = auth::IsBuiltInRole(role);
    if (!known && ctx.services.authorizer != nullptr) {
      for (const std::string& name : ctx.services.authorizer->RoleNames()) known = known || name == role;
    }
    if (!known) return Status::InvalidArgument("unknown role '" + role + "' (configure it under auth.roles first)");
  }
  return Status::Ok();
}

Result<auth::ApiKeySpec> ApiKeySpecOf(const ApiContext& ctx, const json::object& body) {
  static constexpr std::string_view kKnown[] = {"name", "roles", "clearances", "expiresAt", "expiresInSeconds"};
  for (const auto& member : body) {
    if (std::find(std::begin(kKnown), std::end(kKnown), member.key()) == std::end(kKnown)) {
      return Status::InvalidArgument("unknown member \"" + std::string(member.key()) +
                                     "\" (known: name, roles, clearances, expiresAt, expiresInSeconds)");
    }
  }
  auth::ApiKeySpec spec;
  const json::value* name = body.if_contains("name");
  if (name == nullptr || !name->is_string()) return Status::InvalidArgument("\"name\" (a string) is required");
  spec.name = std::string(name->get_string());
  DOPPEL_ASSIGN_OR_RETURN(spec.roles, StringList(body, "roles"));
  if (spec.roles.empty()) return Status::InvalidArgument("\"roles\" must name at least one role");
  DOPPEL_RETURN_IF_ERROR(CheckRolesExist(ctx, spec.roles));
  DOPPEL_ASSIGN_OR_RETURN(spec.clearances, StringList(body, "clearances"));
  const json::value* at = body.if_contains("expiresAt");
  const json::value* in = body.if_contains("expiresInSeconds");
  if (at != nullptr && in != nullptr) return Status::InvalidArgument("give expiresAt or expiresInSeconds, not both");
  if (at != nullptr) {
    if (!at->is_string()) return Status::InvalidArgument("\"expiresAt\" must be an RFC 3339 time");
    DOPPEL_ASSIGN_OR_RETURN(spec.expires, ParseRfc3339(at->get_string()));
  } else if (in != nullptr) {
    if (!in->is_int64() || in->get_int64() <= 0 || in->get_int64() > int64_t{10} * 365 * 86400) {
      return Status::InvalidArgument("\"expiresInSeconds\" must be an integer from 1 to 315360000 (10 years)");
    }
    spec.expires = ctx.clock.Now() + std::chrono::seconds(in->get_int64());
  }
  return spec;
}

Result<std::optional<TimePoint>> TimeParam(const QueryParams& query, std::string_view name) {
  const std::string* v = query.Find(name);
  if (v == nullptr) return std::optional<TimePoint>();
  Result<TimePoint> t = ParseRfc3339(*v);
  if (!t.ok()) return Status::InvalidArgument(std::string(name) + ": " + t.status().message());
  return std::optional<TimePoint>(*t);
}

Result<uint64_t> UnsignedParam(const QueryParams& query, std::string_view name, uint64_t fallback, uint64_t max) {
  const std::string* v = query.Find(name);
  if (v == nullptr) return fallback;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n > max) {
    return Status::InvalidArgument(std::string(name) + " must be an integer from 0 to " + std::to_string(max) +
                                   ", got '" + *v + "'");
  }
  return n;
}

Result<audit::AuditQuery> AuditQueryOf(const QueryParams& query) {
  static constexpr std::string_view kKnown[] = {"since", "until", "actor",  "action",     "target",
                                                "outcome", "after", "limit", "format", "api-version"};
  for (const auto& [name, value] : query.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      return Status::InvalidArgument("unknown parameter '" + name +
                                     "' (known: since, until, actor, action, target, outcome, after, limit, format)");
    }
  }
  audit::AuditQuery q;
  DOPPEL_ASSIGN_OR_RETURN(q.since, TimeParam(query, "since"));
  DOPPEL_ASSIGN_OR_RETURN(q.until, TimeParam(query, "until"));
  if (const std::string* v = query.Find("actor")) q.actor = *v;
  if (const std::string* v = query.Find("action")) q.action_prefix = *v;
  if (const std::string* v = query.Find("target")) q.target = *v;
  if (const std::string* v = query.Find("outcome")) q.outcome = *v;
  DOPPEL_ASSIGN_OR_RETURN(q.after_seq, UnsignedParam(query, "after", 0, UINT64_MAX));
  DOPPEL_ASSIGN_OR_RETURN(uint64_t limit, UnsignedParam(query, "limit", 1000, 10000));
  if (limit == 0) return Status::InvalidArgument("limit must be from 1 to 10000");
  q.limit = limit;
  return q;
}

}  // namespace

Result<HttpResponse> WhoAmI(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  const auth::Principal& p = match.auth.principal;
  json::object body{{"subject", p.subject},
                    {"method", auth::AuthMethodName(p.method)},
                    {"roles", Strings(p.roles)},
                    {"clearances", Strings(p.clearances)},
                    {"devMode", DevMode(ctx)}};
  json::array everywhere;  // actions granted on the whole server (unscoped)
  for (std::size_t a = 0; a < auth::kActionCount; ++a) {
    auto action = static_cast<auth::Action>(a);
    if (Authorize(ctx, match.auth, action, {}).ok()) everywhere.emplace_back(auth::ActionName(action));
  }
  body["serverWideActions"] = std::move(everywhere);
  return HttpResponse::Json(200, body);
}

Result<HttpResponse> ListApiKeys(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(auth::ApiKeyStore * keys, ApiKeysOf(ctx));
  json::array value;
  for (const auth::ApiKeyInfo& info : keys->List()) value.emplace_back(auth::ApiKeyInfoToJson(info));
  return HttpResponse::Json(200, json::object{{"value", std::move(value)}});
}

Result<HttpResponse> CreateApiKey(ApiContext& ctx, const HttpRequest& request, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(auth::ApiKeyStore * keys, ApiKeysOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "an API key {\"name\", \"roles\"}"));
  DOPPEL_ASSIGN_OR_RETURN(auth::ApiKeySpec spec, ApiKeySpecOf(ctx, body.get_object()));
  DOPPEL_ASSIGN_OR_RETURN(auth::CreatedApiKey created, keys->Create(spec, ctx.clock.Now()));
  json::object answer = auth::ApiKeyInfoToJson(created.info);
  answer["token"] = created.token;
  HttpResponse response = HttpResponse::Json(201, answer);
  response.SetHeader("Cache-Control", "no-store");
  return response;
}

Result<HttpResponse> GetApiKey(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(auth::ApiKeyStore * keys, ApiKeysOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(auth::ApiKeyInfo info, keys->Get(match.params.Get("keyId")));
  return HttpResponse::Json(200, auth::ApiKeyInfoToJson(info));
}

Result<HttpResponse> RevokeApiKey(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(auth::ApiKeyStore * keys, ApiKeysOf(ctx));
  DOPPEL_RETURN_IF_ERROR(keys->Revoke(match.params.Get("keyId"), ctx.clock.Now()));
  return HttpResponse::NoContent();
}

Result<HttpResponse> QueryAudit(ApiContext& ctx, const HttpRequest& request, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(audit::AuditLog * log, AuditOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(audit::AuditQuery q, AuditQueryOf(query));
  const std::string* format = query.Find("format");
  if (format != nullptr && *format != "json" && *format != "jsonl") {
    return Status::InvalidArgument("format must be json or jsonl, got '" + *format + "'");
  }
  DOPPEL_ASSIGN_OR_RETURN(std::vector<audit::AuditRecord> records, log->Query(q));
  if (format != nullptr && *format == "jsonl") {  // the export form: one record per line
    std::string lines;
    for (const audit::AuditRecord& r : records) lines += ToJson(audit::AuditRecordToJson(r)) + "\n";
    return HttpResponse::Text(200, std::move(lines), "application/x-ndjson");
  }
  json::array value;
  for (const audit::AuditRecord& r : records) value.emplace_back(audit::AuditRecordToJson(r));
  json::object body{{"value", std::move(value)}};
  if (!records.empty() && records.size() == q.limit) {
    QueryParams next = query;
    next.Set("after", std::to_string(records.back().seq));
    body["nextLink"] = std::string(request.RawPath()) + "?" + next.Encode();
  }
  return HttpResponse::Json(200, body);
}

Result<HttpResponse> VerifyAudit(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(audit::AuditLog * log, AuditOf(ctx));
  audit::AuditVerification v = log->Verify();
  auto [seq, hash] = log->Head();
  json::object body{{"ok", v.ok}, {"records", v.records}, {"headSeq", seq}, {"headHash", hash}};
  if (!v.ok) {
    body["firstBadSeq"] = v.first_bad_seq;
    body["problem"] = v.problem;
  }
  return HttpResponse::Json(200, body);
}

}  // namespace doppel::server::internal
