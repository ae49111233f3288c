#include "app/serve_security.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "base/clock.h"
#include "server/http_server.h"
#include "server/url.h"

namespace doppel::app {
namespace {

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace

Result<std::unique_ptr<ServerSecurity>> ServerSecurity::Open(const ServeOptions& options,
                                                             const twin::TwinGraph& graph, twin::EventBus& events) {
  std::unique_ptr<ServerSecurity> s(new ServerSecurity());
  if (options.data_dir.empty()) {
    s->api_keys_ = auth::ApiKeyStore::InMemory();
    s->audit_ = audit::AuditLog::InMemory();
  } else {
    DOPPEL_ASSIGN_OR_RETURN(s->api_keys_, auth::ApiKeyStore::Open(auth::ApiKeyFilePath(options.data_dir)));
    DOPPEL_ASSIGN_OR_RETURN(s->audit_, audit::AuditLog::Open((std::filesystem::path(options.data_dir) / "audit").string()));
  }
  if (options.jwt) {
    DOPPEL_ASSIGN_OR_RETURN(s->jwt_, auth::JwtVerifier::Create(*options.jwt));
  }
  s->authenticator_ = std::make_unique<auth::Authenticator>(
      auth::AuthenticatorOptions{.api_keys = s->api_keys_.get(), .jwt = s->jwt_.get()});
  s->authorizer_ = std::make_unique<auth::Authorizer>(options.policy, &graph, &events);
  if (options.classification && !options.classification->fields.empty()) {
    s->classification_ =
        std::make_unique<auth::DataClassification>(*options.classification, graph, events);
  }
  return s;
}

Status ServerSecurity::CheckListenAddress(const std::string& listen) const {
  if (!dev_mode()) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(server::ListenAddress address, server::ParseListenAddress(listen));
  if (!IsLoopback(address.host)) {
    return Status::InvalidArgument(
        "refusing to listen on " + listen +
        " without credentials: anyone who can reach it would be an administrator. Create an API key "
        "(doppel apikey create --data-dir DIR --name admin --role admin) or configure auth.jwt "
        "(docs/security.md), or listen on 127.0.0.1 for development");
  }
  spdlog::warn("DEV MODE: no credentials are configured, so every caller is an administrator. This is "
               "allowed on loopback only; create an API key to turn authentication on (docs/security.md)");
  return Status::Ok();
}

void ServerSecurity::AddTo(server::ApiServices& services) {
  services.authenticator = authenticator_.get();
  services.authorizer = authorizer_.get();
  services.api_keys = api_keys_.get();
  services.audit = audit_.get();
  services.classification = classification_.get();
}

Result<stream::StreamAccess> ServerSecurity::AuthorizeStream(
    const server::HttpRequest& request) const {
  if (dev_mode()) return stream::StreamAccess{};
  if (classification_) classification_->Refresh();
  DOPPEL_ASSIGN_OR_RETURN(server::QueryParams query, server::QueryParams::Parse(request.RawQuery()));
  const std::string* token = query.Find("access_token");
  DOPPEL_ASSIGN_OR_RETURN(auth::Principal principal,
                          authenticator_->Authenticate(request.Header("authorization"),
                                                       SystemClock::Instance().Now(),
                                                       token ? *token : std::string_view()));
  return stream::StreamAccess{
      .visible = authorizer_->VisibilityFor(principal),
      .masked = classification_ ? classification_->MaskFor(principal) : twin::FieldMask()};
}

}  // namespace doppel::app
