// Routing: (method, path pattern) → handler, with {name} parameters.
//
//   Router router;
//   router.Add("GET", "/digitaltwins/{id}", GetTwin);
//   auto m = router.Match("GET", "/digitaltwins/pump%2D1");  // m->params.Get("id") == "pump-1"
//
// The path is split on '/' first and each segment percent-decoded after, so an escaped slash
// ("%2F") stays inside one parameter. Literal segments match exactly (case-sensitive). A single
// trailing slash is ignored ("/models/" is "/models"); empty segments never match a parameter.
//
// Thread-safety: Add() during set-up only; Match() and the accessors are const and may then be
// called from any number of threads.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/principal.h"
#include "base/status.h"
#include "server/http_message.h"
#include "twin/field_mask.h"
#include "twin/visibility.h"

namespace doppel::server {

class PathParams {
 public:
  // The decoded value of parameter `name`, or "" if the route has none of that name.
  std::string_view Get(std::string_view name) const;
  void Add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct RouteMatch;
using RouteHandler = std::function<Result<HttpResponse>(const HttpRequest&, const RouteMatch&)>;

struct Route {
  std::string method;   // "GET"
  std::string pattern;  // "/digitaltwins/{id}" — also the `route` label in metrics
  RouteHandler handler;
  std::vector<std::string> segments;  // pattern split on '/'; "{id}" marks a parameter
};

// Who is asking, as the API established it before calling the handler (docs/security.md):
// the authenticated principal (the anonymous admin in dev mode) and the read filter handlers
// apply to anything that lists twins or their data (null = every twin is visible).
struct RequestAuth {
  auth::Principal principal;  // nobody (no roles) until authenticated
  twin::TwinFilter visible;
  twin::FieldMask masked;  // the classified values the caller may not see (null: none)
  bool authenticated = false;  // a token was presented and verified (false in dev mode)
};

struct RouteMatch {
  const Route* route = nullptr;
  PathParams params;
  RequestAuth auth;
};

class Router {
 public:
  // Registers a route. Errors (InvalidArgument): a pattern not starting with '/', an empty or
  // malformed {param}, a duplicate parameter name; AlreadyExists: the same method and pattern
  // (or the same shape, e.g. /a/{x} after /a/{y}) registered twice.
  Status Add(std::string method, std::string pattern, RouteHandler handler);

  // Finds the route for `method` and `raw_path` (still percent-encoded, without the query).
  // Errors: InvalidArgument for a path not starting with '/' or with bad percent-encoding; NotFound ("no route for
  // /x") when no pattern matches; MethodNotAllowed naming the allowed methods when patterns
  // match but none for `method` (AllowedMethods() gives the list for the Allow header).
  Result<RouteMatch> Match(std::string_view method, std::string_view raw_path) const;

  // The methods registered for patterns matching `raw_path`, sorted ("GET", "PUT", ...).
  std::vector<std::string> AllowedMethods(std::string_view raw_path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace doppel::server
