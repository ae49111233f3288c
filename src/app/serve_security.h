// The server's security services, opened from ServeOptions and the data directory: API keys
// (<dataDir>/auth/api-keys.json), JWT verification, the policy Authorizer, the data classification
// and the audit log (<dataDir>/audit). docs/security.md is the user's guide.
//
//   auto security = ServerSecurity::Open(options, graph, events).value();
//   DOPPEL_RETURN_IF_ERROR(security->CheckListenAddress(options.listen));  // no open dev mode
//   security->AddTo(services);
//
// Without a data directory the key store and audit log live in memory.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "app/serve.h"
#include "audit/audit_log.h"
#include "auth/api_keys.h"
#include "auth/authenticator.h"
#include "auth/classification.h"
#include "auth/jwt.h"
#include "auth/policy.h"
#include "base/status.h"
#include "server/api.h"
#include "server/http_message.h"
#include "stream/websocket_endpoint.h"
#include "twin/events.h"
#include "twin/twin_graph.h"
#include "twin/visibility.h"

namespace doppel::app {

class ServerSecurity {
 public:
  static Result<std::unique_ptr<ServerSecurity>> Open(const ServeOptions& options, const twin::TwinGraph& graph,
                                                      twin::EventBus& events);

  // Dev mode (no API key ever created, no JWT configuration) is for one's own machine: on an
  // address other than loopback it is refused (InvalidArgument saying how to configure
  // credentials). Logs the dev-mode warning when it applies.
  Status CheckListenAddress(const std::string& listen) const;
  bool dev_mode() const { return !authenticator_->Configured(); }

  void AddTo(server::ApiServices& services);

  // Authenticates a WebSocket upgrade (Authorization header or ?access_token=) and returns
  // the caller's read filter (null: every twin) and field mask (null: every value).
  Result<stream::StreamAccess> AuthorizeStream(const server::HttpRequest& request) const;

  audit::AuditLog& audit() { return *audit_; }
  // Null when the config classifies nothing.
  const auth::DataClassification* classification() const { return classification_.get(); }

 private:
  ServerSecurity() = default;
  std::unique_ptr<auth::ApiKeyStore> api_keys_;
  std::unique_ptr<auth::JwtVerifier> jwt_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<auth::DataClassification> classification_;
};

}  // namespace doppel::app
