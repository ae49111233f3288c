// The OpenSSL side of HttpServer's TLS (HttpServerOptions::tls): building the server context
// from TlsOptions and reading what a finished handshake learned about the peer. Kept apart from
// http_server.cc so the policy (versions, ciphers, options) sits in one short file.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "base/status.h"
#include "server/http_server.h"

namespace doppel::server::internal {

// Applies the TLS policy documented at TlsOptions to `ctx` (a fresh server context) and loads
// the certificate chain, the key and, for mutual TLS, the client CAs. Errors: InvalidArgument
// naming the option, the file and OpenSSL's reason ("tls.key_file '/etc/x.pem': key values
// mismatch").
Status ConfigureServerTls(SSL_CTX* ctx, const TlsOptions& options);

// The subject of the certificate the peer presented and the handshake verified, RFC 2253; ""
// when it presented none. Call after a successful handshake.
std::string PeerCertificateSubject(const SSL* ssl);

// The reasons OpenSSL queued on this thread, joined with "; " (the queue is emptied); "" if none.
std::string DrainOpenSslErrors();

}  // namespace doppel::server::internal
