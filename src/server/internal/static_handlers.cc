#include "server/internal/static_handlers.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "base/status.h"

namespace doppel::server::internal {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kAssetsPrefix = "/assets/";

// The page may load only its own scripts and styles and talk only to this server (REST and
// /ws); inline styles are allowed because the chart and scene libraries position elements
// with them.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: "
    "blob:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

bool IsAssetName(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.size() > 200) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string_view ContentTypeOf(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".map", "application/json; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".woff2", "font/woff2"},
  };
  for (const auto& [suffix, type] : kTypes) {
    if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix)
      return type;
  }
  return "application/octet-stream";
}

// The file's bytes, or nullopt when it cannot be read (absent, a directory, unreadable).
std::optional<std::string> ReadFile(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return bytes;
}

HttpResponse Asset(std::string bytes, std::string_view name, std::string_view cache_control) {
  HttpResponse response = HttpResponse::Text(200, std::move(bytes), ContentTypeOf(name));
  response.SetHeader("Cache-Control", std::string(cache_control));
  response.SetHeader("X-Content-Type-Options", "nosniff");
  return response;
}

HttpResponse IndexPage(std::string_view web_root) {
  const fs::path index = fs::path(web_root) / "index.html";
  std::optional<std::string> bytes = ReadFile(index);
  if (!bytes) {
    return HttpResponse::Error(Status::Unavailable(fmt::format(
        "the dashboard is not built: {} is missing (`make` builds it with scripts/web-build.sh; "
        "DOPPEL_WEB_ROOT names another directory)",
        index.string())));
  }
  // Always revalidated: it names the content-hashed assets of the current build.
  HttpResponse response = Asset(std::move(*bytes), "index.html", "no-cache");
  response.SetHeader("Content-Security-Policy", std::string(kContentSecurityPolicy));
  response.SetHeader("Referrer-Policy", "no-referrer");
  response.SetHeader("X-Frame-Options", "DENY");
  return response;
}

}  // namespace

std::optional<HttpResponse> ServeStatic(std::string_view web_root, const HttpRequest& request) {
  if (web_root.empty() || request.method != "GET") return std::nullopt;
  const std::string_view path = request.RawPath();
  if (path == "/" || path == "/index.html") return IndexPage(web_root);
  if (path.substr(0, kAssetsPrefix.size()) != kAssetsPrefix) return std::nullopt;
  const std::string_view name = path.substr(kAssetsPrefix.size());
  if (!IsAssetName(name)) return std::nullopt;
  std::optional<std::string> bytes = ReadFile(fs::path(web_root) / "assets" / std::string(name));
  if (!bytes)
    return HttpResponse::Error(Status::NotFound(fmt::format("no dashboard asset '{}'", name)));
  // Asset names carry a hash of their content (scripts/web-build.sh): a new build has new names.
  return Asset(std::move(*bytes), name, "public, max-age=31536000, immutable");
}

}  // namespace doppel::server::internal
