// API keys: long-lived bearer tokens for machines and scripts, created and revoked by an admin
// (POST/DELETE /auth/apikeys, `doppel apikey`), each with roles and an optional expiry.
//
//   auto store = ApiKeyStore::Open(data_dir + "/auth/api-keys.json").value();
//   auto created = store->Create({.name = "historian", .roles = {"engineer"},
//                                 .expires = now + 90 days}, now).value();
//   created.token   // "dpk_<id>_<secret>": shown once, never stored
//   store->Verify(created.token, now)  → Principal{subject "key:<id>", roles {"engineer"}}
//
// Storage: only a salted SHA-256 of the 256-bit random secret is kept (a fresh 16-byte salt
// per key; comparison in constant time). A slow KDF buys nothing for 256-bit random secrets,
// and verification sits on every request. The file is JSON, rewritten atomically (temp file,
// fsync, rename, fsync of the directory) on every change, mode 0600.
//
// The file belongs to one process: Open takes an exclusive advisory lock (flock) on it and
// fails with Unavailable ("... is in use by another process (a running server?)") when held.
// (The lock is taken on a sidecar "<path>.lock": the atomic rewrite replaces the key file's
// inode, and a lock on the old inode would not exclude a process opening the new one.)
//
// Thread-safety: every method may be called from any thread (a shared mutex; Verify takes it
// shared).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/principal.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"

namespace doppel::auth {

// Where a data directory keeps its API keys: "<data_dir>/auth/api-keys.json" (the server and
// `doppel apikey` agree through this).
std::string ApiKeyFilePath(const std::string& data_dir);

struct ApiKeySpec {
  std::string name;                  // human label, 1..128 printable characters
  std::vector<std::string> roles;    // at least one; names checked by the caller (policy)
  std::optional<TimePoint> expires = {};  // none = never
  std::vector<std::string> clearances = {};  // data classifications it may read unmasked
};

struct ApiKeyInfo {  // what List/Get show; never the secret or its hash
  std::string id;    // 12 lowercase base32 characters
  std::string name;
  std::vector<std::string> roles;
  std::vector<std::string> clearances;
  TimePoint created;
  std::optional<TimePoint> expires;
  std::optional<TimePoint> revoked;
};
json::object ApiKeyInfoToJson(const ApiKeyInfo& info);  // {"id","name","roles",...} RFC 3339 times

struct CreatedApiKey {
  ApiKeyInfo info;
  std::string token;  // "dpk_<id>_<secret>", the only time it exists outside the caller
};

class ApiKeyStore {
 public:
  // Opens (creating the file and its directory if missing) the key file at `path`.
  // Errors: Unavailable (locked by another process), Internal (I/O, a corrupt file — the
  // message names the file and what is wrong; a corrupt key file is never silently replaced).
  static Result<std::unique_ptr<ApiKeyStore>> Open(const std::string& path);
  // An in-memory store (tests, servers without a data directory).
  static std::unique_ptr<ApiKeyStore> InMemory();
  ~ApiKeyStore();

  // InvalidArgument for a bad name, no roles, an expiry not after `now`.
  Result<CreatedApiKey> Create(const ApiKeySpec& spec, TimePoint now);
  // NotFound for an unknown id; revoking twice is OK (keeps the first time).
  Status Revoke(std::string_view id, TimePoint now);
  std::vector<ApiKeyInfo> List() const;  // by creation time
  Result<ApiKeyInfo> Get(std::string_view id) const;
  // True once any key was ever created (revoked ones count: a server with keys is not dev mode).
  bool HasKeys() const;

  // Unauthenticated: malformed token, unknown id, wrong secret ("unknown API key" — the same
  // message for both so ids cannot be probed), revoked, expired.
  Result<Principal> Verify(std::string_view token, TimePoint now) const;

 private:
  ApiKeyStore();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace doppel::auth
