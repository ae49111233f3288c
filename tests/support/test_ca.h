// Test support: a throwaway certificate authority for TLS tests, built with the OpenSSL 3 C API
// (no `openssl` CLI). Header-only, so any test binary that links OpenSSL (libcrypto) can use it.
//
//   auto ca = doppel::testing::TestCa::Create().value();
//   server_options.tls = {.cert_file = ca->server_cert_file(), .key_file = ca->server_key_file()};
//   client_options.ca_file = ca->ca_cert_file();
//   // ~TestCa removes the directory and everything in it
//
// Create() writes into a fresh directory under the system temp dir:
//   ca.pem                      the CA certificate (CN "Doppel Test CA"), the trust anchor
//   ca-key.pem                  its private key
//   server.pem / server-key.pem CN "localhost", subjectAltName DNS:localhost, IP:127.0.0.1,
//                               IP:::1; extendedKeyUsage serverAuth
//   client.pem / client-key.pem CN "doppel-test-client"; extendedKeyUsage clientAuth
// Issue() adds more certificates signed by the same CA (a second server name, another client).
// Keys are EC P-256 (fast to generate); certificates are valid from an hour ago for 7 days and
// signed with SHA-256. Two TestCa objects are unrelated CAs: one is "the wrong CA" for the other.
//
// Not thread-safe; meant for one test (or one fixture) at a time.
#pragma once

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "base/status.h"

namespace doppel::testing {

// What Issue() makes. Names go into the subjectAltName ("localhost", "127.0.0.1" or "::1":
// IP addresses are recognised and written as IP entries).
struct CertRequest {
  std::string common_name = {};
  std::vector<std::string> alt_names = {};
  bool server_auth = true;  // extendedKeyUsage serverAuth
  bool client_auth = false;  // extendedKeyUsage clientAuth
};

// The files of one issued certificate.
struct IssuedCert {
  std::string cert_file;  // PEM certificate
  std::string key_file;   // PEM private key (unencrypted PKCS#8)
};

class TestCa {
 public:
  // Errors: Internal naming the step and OpenSSL's reason (or the file that could not be
  // written).
  static Result<std::unique_ptr<TestCa>> Create(std::string_view ca_name = "Doppel Test CA") {
    std::unique_ptr<TestCa> ca(new TestCa());
    if (ca->dir_.empty()) return Status::Internal("test CA: cannot create a temporary directory");
    DOPPEL_RETURN_IF_ERROR(ca->MakeRoot(ca_name));
    DOPPEL_ASSIGN_OR_RETURN(ca->server_,
                            ca->Issue("server", {.common_name = "localhost",
                                                 .alt_names = {"localhost", "127.0.0.1", "::1"},
                                                 .server_auth = true}));
    DOPPEL_ASSIGN_OR_RETURN(ca->client_, ca->Issue("client", {.common_name = "doppel-test-client",
                                                              .server_auth = false,
                                                              .client_auth = true}));
    return ca;
  }

  ~TestCa() {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& dir() const { return dir_; }
  std::string ca_cert_file() const { return Path("ca.pem"); }
  std::string ca_key_file() const { return Path("ca-key.pem"); }
  const std::string& server_cert_file() const { return server_.cert_file; }
  const std::string& server_key_file() const { return server_.key_file; }
  const std::string& client_cert_file() const { return client_.cert_file; }
  const std::string& client_key_file() const { return client_.key_file; }
  // The subject of client.pem as RFC 2253 prints it.
  static constexpr std::string_view kClientSubject = "CN=doppel-test-client,O=Doppel tests";

  // Issues a certificate signed by this CA into <name>.pem and <name>-key.pem (overwriting
  // files of that name).
  Result<IssuedCert> Issue(std::string_view name, const CertRequest& request) {
    KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) return OpenSslFailure("generate a key for " + std::string(name));
    DOPPEL_ASSIGN_OR_RETURN(CertPtr cert, NewCertificate(request.common_name, *key));
    if (!X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert_.get()))) {
      return OpenSslFailure("set the issuer");
    }
    std::string usage = std::string(request.server_auth ? "serverAuth" : "") +
                        (request.server_auth && request.client_auth ? "," : "") +
                        (request.client_auth ? "clientAuth" : "");
    std::vector<std::pair<int, std::string>> extensions = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid"},
    };
    if (!usage.empty()) extensions.emplace_back(NID_ext_key_usage, usage);
    if (!request.alt_names.empty()) extensions.emplace_back(NID_subject_alt_name, AltNames(request.alt_names));
    DOPPEL_RETURN_IF_ERROR(AddExtensions(*cert, ca_cert_.get(), extensions));
    if (!X509_sign(cert.get(), ca_key_.get(), EVP_sha256())) return OpenSslFailure("sign " + std::string(name));
    IssuedCert out{Path(std::string(name) + ".pem"), Path(std::string(name) + "-key.pem")};
    DOPPEL_RETURN_IF_ERROR(WriteCert(out.cert_file, *cert));
    DOPPEL_RETURN_IF_ERROR(WriteKey(out.key_file, *key));
    return out;
  }

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  };
  struct CertFree {
    void operator()(X509* p) const { X509_free(p); }
  };
  struct BioFree {
    void operator()(BIO* p) const { BIO_free(p); }
  };
  using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
  using CertPtr = std::unique_ptr<X509, CertFree>;
  using BioPtr = std::unique_ptr<BIO, BioFree>;

  TestCa() {
    std::string pattern = (std::filesystem::temp_directory_path() / "doppel-tls-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
  }

  std::string Path(std::string_view file) const { return dir_ + "/" + std::string(file); }

  Status MakeRoot(std::string_view ca_name) {
    ca_key_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!ca_key_) return OpenSslFailure("generate the CA key");
    DOPPEL_ASSIGN_OR_RETURN(ca_cert_, NewCertificate(std::string(ca_name), *ca_key_));
    if (!X509_set_issuer_name(ca_cert_.get(), X509_get_subject_name(ca_cert_.get()))) {
      return OpenSslFailure("set the CA issuer");
    }
    DOPPEL_RETURN_IF_ERROR(AddExtensions(*ca_cert_, ca_cert_.get(),
                                         {{NID_basic_constraints, "critical,CA:TRUE"},
                                          {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                          {NID_subject_key_identifier, "hash"}}));
    if (!X509_sign(ca_cert_.get(), ca_key_.get(), EVP_sha256())) return OpenSslFailure("self-sign the CA");
    DOPPEL_RETURN_IF_ERROR(WriteCert(ca_cert_file(), *ca_cert_));
    return WriteKey(ca_key_file(), *ca_key_);
  }

  // A v3 certificate for `key` with subject CN=<common_name>, O=Doppel tests, a fresh serial
  // and the validity window; issuer, extensions and signature are the caller's.
  Result<CertPtr> NewCertificate(const std::string& common_name, EVP_PKEY& key) {
    CertPtr cert(X509_new());
    if (!cert || !X509_set_version(cert.get(), X509_VERSION_3) ||
        !ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), ++serial_) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600) || !X509_set_pubkey(cert.get(), &key)) {
      return OpenSslFailure("fill in a certificate");
    }
    X509_NAME* subject = X509_get_subject_name(cert.get());
    auto add = [&](const char* field, const std::string& value) {
      return X509_NAME_add_entry_by_txt(subject, field, MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
    };
    if (!add("O", "Doppel tests") || !add("CN", common_name)) return OpenSslFailure("set the subject");
    return cert;
  }

  static Status AddExtensions(X509& cert, X509* issuer, const std::vector<std::pair<int, std::string>>& extensions) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, &cert, nullptr, nullptr, 0);
    for (const auto& [nid, value] : extensions) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
      if (ext == nullptr) return OpenSslFailure("build extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
      int added = X509_add_ext(&cert, ext, -1);
      X509_EXTENSION_free(ext);
      if (!added) return OpenSslFailure("add extension " + std::string(OBJ_nid2sn(nid)));
    }
    return Status::Ok();
  }

  static std::string AltNames(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
      bool ip = name.find_first_not_of("0123456789.") == std::string::npos || name.find(':') != std::string::npos;
      if (!out.empty()) out += ",";
      out += (ip ? "IP:" : "DNS:") + name;
    }
    return out;
  }

  static Status WriteCert(const std::string& path, X509& cert) {
    BioPtr bio(BIO_new_file(path.c_str(), "w"));
    if (!bio || !PEM_write_bio_X509(bio.get(), &cert)) return OpenSslFailure("write " + path);
    return Status::Ok();
  }

  static Status WriteKey(const std::string& path, EVP_PKEY& key) {
    BioPtr bio(BIO_new_file(path.c_str(), "w"));
    if (!bio || !PEM_write_bio_PrivateKey(bio.get(), &key, nullptr, nullptr, 0, nullptr, nullptr)) {
      return OpenSslFailure("write " + path);
    }
    return Status::Ok();
  }

  // Internal "test CA: cannot <what>: <OpenSSL's reasons>", draining the error queue.
  static Status OpenSslFailure(const std::string& what) {
    std::string reasons;
    while (unsigned long code = ERR_get_error()) {
      char text[256];
      ERR_error_string_n(code, text, sizeof text);
      if (!reasons.empty()) reasons += "; ";
      reasons += text;
    }
    return Status::Internal("test CA: cannot " + what + ": " + (reasons.empty() ? "unknown error" : reasons));
  }

  std::string dir_;
  uint64_t serial_ = 0;
  KeyPtr ca_key_;
  CertPtr ca_cert_;
  IssuedCert server_;
  IssuedCert client_;
};

}  // namespace doppel::testing
