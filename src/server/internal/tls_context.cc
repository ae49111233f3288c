#include "server/internal/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace doppel::server::internal {
namespace {

// TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only (no CBC padding oracles). The order
// is the server's preference. TLS 1.3 suites are all AEAD and keep OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Client certificates verified here may be cached in resumed sessions; OpenSSL refuses to
// resume such a session without an id context, failing the handshake instead.
constexpr unsigned char kSessionIdContext[] = "doppel-http";

Status FileError(std::string_view option, const std::string& path, std::string_view reason) {
  return Status::InvalidArgument("tls." + std::string(option) + " '" + path + "': " + std::string(reason));
}

// OpenSSL's own message for a missing file is "system library::No such file or directory",
// correct but oblique; check readability first to say it plainly.
Status CheckReadable(std::string_view option, const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("tls." + std::string(option) + " is required for TLS");
  std::ifstream in(path);
  if (!in) return FileError(option, path, std::string("cannot read: ") + std::strerror(errno));
  return Status::Ok();
}

Status OpenSslFileError(std::string_view option, const std::string& path, std::string_view fallback) {
  std::string reasons = DrainOpenSslErrors();
  return FileError(option, path, reasons.empty() ? fallback : reasons);
}

Status LoadClientCas(SSL_CTX* ctx, const std::string& path) {
  if (SSL_CTX_load_verify_locations(ctx, path.c_str(), nullptr) != 1) {
    return OpenSslFileError("client_ca_file", path, "no CA certificate could be loaded");
  }
  // The names go into the CertificateRequest, so a client holding several certificates picks
  // one these CAs issued.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(path.c_str());
  if (names == nullptr) return OpenSslFileError("client_ca_file", path, "no CA certificate in the file");
  SSL_CTX_set_client_CA_list(ctx, names);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return Status::Ok();
}

}  // namespace

std::string DrainOpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    if (!out.empty()) out += "; ";
    const char* reason = ERR_reason_error_string(code);
    const char* lib = ERR_lib_error_string(code);
    if (reason == nullptr) {
      char text[256];
      ERR_error_string_n(code, text, sizeof text);
      out += text;
    } else {
      out += lib != nullptr ? std::string(lib) + ": " + reason : std::string(reason);
    }
  }
  return out;
}

Status ConfigureServerTls(SSL_CTX* ctx, const TlsOptions& options) {
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // NO_RENEGOTIATION refuses both directions (OpenSSL 3 already refuses client-initiated
  // renegotiation unless SSL_OP_ALLOW_CLIENT_RENEGOTIATION is set).
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return Status::Internal("TLS cipher list rejected: " + DrainOpenSslErrors());
  }
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);

  DOPPEL_RETURN_IF_ERROR(CheckReadable("cert_file", options.cert_file));
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
    return OpenSslFileError("cert_file", options.cert_file, "not a PEM certificate chain");
  }
  DOPPEL_RETURN_IF_ERROR(CheckReadable("key_file", options.key_file));
  // OpenSSL checks the key against the certificate while loading it (or, in some versions,
  // only in SSL_CTX_check_private_key): either way a mismatch gets the plain-words message.
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      std::string reasons = DrainOpenSslErrors();
      return FileError("key_file", options.key_file,
                       "does not match the certificate in tls.cert_file '" + options.cert_file + "'" +
                           (reasons.empty() ? "" : " (" + reasons + ")"));
    }
    return OpenSslFileError("key_file", options.key_file, "not a PEM private key");
  }
  if (options.client_ca_file.empty()) return Status::Ok();
  DOPPEL_RETURN_IF_ERROR(CheckReadable("client_ca_file", options.client_ca_file));
  return LoadClientCas(ctx, options.client_ca_file);
}

std::string PeerCertificateSubject(const SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return "";
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio) return "";
  // RFC 2253 with UTF-8 kept as is (not escaped to \XX), so names read as written.
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : "";
}

}  // namespace doppel::server::internal
