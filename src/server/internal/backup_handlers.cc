// POST /backup: a consistent copy of the data directory's stores, taken while serving.
#include <chrono>
#include <filesystem>

#include "server/internal/handlers.h"

namespace doppel::server::internal {

Result<HttpResponse> Backup(ApiContext& ctx, const HttpRequest& request, const RouteMatch&) {
  if (!ctx.services.backup) return Status::Unavailable("backups are not enabled on this server");
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "a JSON object {\"path\": ...}"));
  const json::value* path = body.get_object().if_contains("path");
  if (path == nullptr || !path->is_string() || path->get_string().empty()) {
    return Status::InvalidArgument("\"path\" must be the backup directory, an absolute path on the server");
  }
  std::filesystem::path dir(std::string(path->get_string()));
  if (!dir.is_absolute()) return Status::InvalidArgument("\"path\" must be absolute, got '" + dir.string() + "'");
  auto start = std::chrono::steady_clock::now();
  DOPPEL_RETURN_IF_ERROR(ctx.services.backup(dir.lexically_normal().string()));
  json::object answer;
  answer["path"] = dir.lexically_normal().string();
  answer["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return HttpResponse::Json(201, answer);
}

}  // namespace doppel::server::internal
