#include "server/router.h"

#include <algorithm>
#include <set>

#include "server/url.h"

namespace doppel::server {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  std::vector<std::string_view> segments;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return segments;
  while (true) {
    auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

bool IsParam(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

std::string_view ParamName(std::string_view segment) { return segment.substr(1, segment.size() - 2); }

// Whether `route` matches the decoded `segments`, filling `params` if given.
bool Matches(const Route& route, const std::vector<std::string>& segments, PathParams* params) {
  if (route.segments.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (IsParam(want)) {
      if (segments[i].empty()) return false;
    } else if (want != segments[i]) {
      return false;
    }
  }
  if (params != nullptr) {
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (IsParam(route.segments[i])) params->Add(std::string(ParamName(route.segments[i])), segments[i]);
    }
  }
  return true;
}

Result<std::vector<std::string>> DecodeSegments(std::string_view raw_path) {
  std::vector<std::string> decoded;
  for (std::string_view raw : SplitPath(raw_path)) {
    auto segment = PercentDecode(raw);
    if (!segment.ok()) {
      return Status::InvalidArgument("bad URL encoding in path segment '" + std::string(raw) +
                                     "': " + segment.status().message());
    }
    decoded.push_back(std::move(*segment));
  }
  return decoded;
}

// Two patterns have the same shape if they match exactly the same paths.
bool SameShape(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (IsParam(a[i]) != IsParam(b[i])) return false;
    if (!IsParam(a[i]) && a[i] != b[i]) return false;
  }
  return true;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

}  // namespace

std::string_view PathParams::Get(std::string_view name) const {
  for (const auto& [key, value] : items_) {
    if (key == name) return value;
  }
  return {};
}

Status Router::Add(std::string method, std::string pattern, RouteHandler handler) {
  if (pattern.empty() || pattern.front() != '/') {
    return Status::InvalidArgument("route pattern must start with '/': '" + pattern + "'");
  }
  Route route{std::move(method), pattern, std::move(handler), {}};
  std::set<std::string_view> names;
  for (std::string_view segment : SplitPath(pattern)) {
    bool braces = segment.find_first_of("{}") != std::string_view::npos;
    if (braces && (!IsParam(segment) || ParamName(segment).empty() ||
                   ParamName(segment).find_first_of("{}") != std::string_view::npos)) {
      return Status::InvalidArgument("malformed parameter '" + std::string(segment) + "' in " + pattern);
    }
    if (IsParam(segment) && !names.insert(ParamName(segment)).second) {
      return Status::InvalidArgument("duplicate parameter '" + std::string(segment) + "' in " + pattern);
    }
    route.segments.emplace_back(segment);
  }
  for (const Route& other : routes_) {
    if (other.method == route.method && SameShape(other.segments, route.segments)) {
      return Status::AlreadyExists(route.method + " " + pattern + " clashes with " + other.pattern);
    }
  }
  routes_.push_back(std::move(route));
  return Status::Ok();
}

Result<RouteMatch> Router::Match(std::string_view method, std::string_view raw_path) const {
  if (raw_path.empty() || raw_path.front() != '/') {
    return Status::InvalidArgument("request target '" + std::string(raw_path.substr(0, 200)) +
                                   "' is not an absolute path (it must start with '/')");
  }
  DOPPEL_ASSIGN_OR_RETURN(std::vector<std::string> segments, DecodeSegments(raw_path));
  bool path_matched = false;
  for (const Route& route : routes_) {
    if (!Matches(route, segments, nullptr)) continue;
    path_matched = true;
    if (route.method != method) continue;
    RouteMatch match;
    match.route = &route;
    Matches(route, segments, &match.params);
    return match;
  }
  if (!path_matched) {
    return Status::NotFound("no route for " + std::string(raw_path.substr(0, 1000)), "RouteNotFound");
  }
  return Status::MethodNotAllowed("method " + std::string(method) + " is not allowed on " +
                                  std::string(raw_path) + "; allowed: " +
                                  Join(AllowedMethods(raw_path), ", "));
}

std::vector<std::string> Router::AllowedMethods(std::string_view raw_path) const {
  auto segments = DecodeSegments(raw_path);
  if (!segments.ok()) return {};
  std::set<std::string> methods;
  for (const Route& route : routes_) {
    if (Matches(route, *segments, nullptr)) methods.insert(route.method);
  }
  return {methods.begin(), methods.end()};
}

}  // namespace doppel::server
