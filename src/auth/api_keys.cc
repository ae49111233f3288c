#include "auth/api_keys.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <utility>

#include "auth/internal/utc_seconds.h"
#include "base/file_io.h"

namespace doppel::auth {
namespace {

namespace fs = std::filesystem;
using internal::FormatUtcSeconds;

// Token "dpk_<id>_<secret>": the id is 12 base32 characters (60 random bits: unique enough
// for a key list, short enough to read out), the secret 52 (256 random bits). Lowercase
// base32 has no '_' or '-', so a token is one "word" that a double-click selects whole.
constexpr std::string_view kTokenPrefix = "dpk_";
constexpr std::size_t kIdChars = 12;
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kSecretChars = 52;
constexpr std::size_t kTokenChars = kTokenPrefix.size() + kIdChars + 1 + kSecretChars;
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;  // SHA-256
constexpr std::size_t kMaxNameChars = 128;
constexpr std::string_view kBase32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

constexpr std::string_view kFileFormat = "doppel-api-keys";
constexpr int64_t kFileVersion = 1;

using Salt = std::array<unsigned char, kSaltBytes>;
using Hash = std::array<unsigned char, kHashBytes>;

struct StoredKey {
  ApiKeyInfo info;
  Salt salt{};
  Hash hash{};
};

// ---- Encodings and primitives -------------------------------------------------------------

std::string Base32(const unsigned char* data, std::size_t size, std::size_t chars) {
  std::string out;
  out.reserve(chars);
  uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < size && out.size() < chars; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 5 && out.size() < chars) {
      out += kBase32Alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0 && out.size() < chars) out += kBase32Alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

bool IsBase32(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return kBase32Alphabet.find(c) != std::string_view::npos; });
}

std::string Hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

template <std::size_t N>
bool FromHex(std::string_view text, std::array<unsigned char, N>& out) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

Status RandomBytes(unsigned char* out, std::size_t size) {
  if (RAND_bytes(out, static_cast<int>(size)) != 1) {
    return Status::Internal("the system random number generator failed");
  }
  return Status::Ok();
}

Hash SaltedHash(const Salt& salt, std::string_view secret) {
  std::string input(reinterpret_cast<const char*>(salt.data()), salt.size());
  input += secret;
  Hash hash{};
  unsigned int size = 0;
  // SHA-256 of a short buffer cannot fail short of memory exhaustion, which is a crash anyway.
  DOPPEL_CHECK(EVP_Digest(input.data(), input.size(), hash.data(), &size, EVP_sha256(), nullptr) ==
               1);
  OPENSSL_cleanse(input.data(), input.size());
  return hash;
}

// Decodes the UTF-8 code point at s[i] into `code`; returns its length in bytes, 0 if invalid
// (truncated, overlong, a surrogate, beyond U+10FFFF).
std::size_t DecodeUtf8(std::string_view s, std::size_t i, uint32_t& code) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t length = c < 0x80             ? 1
                       : (c & 0xE0) == 0xC0 ? 2
                       : (c & 0xF0) == 0xE0 ? 3
                       : (c & 0xF8) == 0xF0 ? 4
                                            : 0;
  if (length == 0 || i + length > s.size()) return 0;
  code = length == 1 ? c : c & (0xFFu >> (length + 1));
  for (std::size_t k = 1; k < length; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    code = code << 6 | (cc & 0x3F);
  }
  static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

// A key name: valid UTF-8 without control characters, 1..128 code points. Checked here
// because the file is re-read with a strict JSON parser: bad UTF-8 written today would make
// the file unreadable tomorrow.
bool IsValidName(std::string_view name) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < name.size(); ++chars) {
    uint32_t code = 0;
    std::size_t length = DecodeUtf8(name, i, code);
    if (length == 0 || code < 0x20 || (code >= 0x7F && code < 0xA0)) return false;
    i += length;
  }
  return chars >= 1 && chars <= kMaxNameChars;
}

bool IsValidLabel(std::string_view label) {  // a role or clearance name
  return !label.empty() && label.size() <= 256 && IsValidName(label);
}

// ---- The file -----------------------------------------------------------------------------

std::string ErrnoText() { return std::strerror(errno); }


json::array StringArray(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

json::object KeyToJson(const StoredKey& key) {
  json::object out = ApiKeyInfoToJson(key.info);
  out["salt"] = Hex(key.salt.data(), key.salt.size());
  out["hash"] = Hex(key.hash.data(), key.hash.size());
  return out;
}

std::string Serialize(const std::vector<StoredKey>& keys) {
  json::array items;
  for (const auto& key : keys) items.emplace_back(KeyToJson(key));
  json::object doc{{"format", kFileFormat}, {"version", kFileVersion}, {"keys", std::move(items)}};
  return ToPrettyJson(doc) + "\n";
}

// Reading the file back: every field checked, errors say where ("keys[2].salt: ...").
class KeyFileReader {
 public:
  Result<std::vector<StoredKey>> Read(const json::value& doc) {
    if (!doc.is_object()) return Fail("", "expected a JSON object");
    const auto& root = doc.get_object();
    auto* format = root.if_contains("format");
    if (!format || !format->is_string() || format->get_string() != kFileFormat) {
      return Fail("format", "expected \"" + std::string(kFileFormat) + "\"");
    }
    auto* version = root.if_contains("version");
    if (!version || !version->is_int64() || version->get_int64() != kFileVersion) {
      return Fail("version", "expected 1 (a newer Doppel may have written this file)");
    }
    auto* keys = root.if_contains("keys");
    if (!keys || !keys->is_array()) return Fail("keys", "expected an array");
    std::vector<StoredKey> out;
    for (std::size_t i = 0; i < keys->get_array().size(); ++i) {
      where_ = "keys[" + std::to_string(i) + "].";
      DOPPEL_ASSIGN_OR_RETURN(StoredKey key, ReadKey(keys->get_array()[i]));
      for (const auto& other : out) {
        if (other.info.id == key.info.id) return Fail("id", "duplicate id '" + key.info.id + "'");
      }
      out.push_back(std::move(key));
    }
    return out;
  }

 private:
  Result<StoredKey> ReadKey(const json::value& value) {
    if (!value.is_object()) return Fail("", "expected an object");
    const auto& obj = value.get_object();
    StoredKey key;
    DOPPEL_ASSIGN_OR_RETURN(key.info.id, String(obj, "id"));
    if (key.info.id.size() != kIdChars || !IsBase32(key.info.id)) return Fail("id", "not a key id");
    DOPPEL_ASSIGN_OR_RETURN(key.info.name, String(obj, "name"));
    DOPPEL_ASSIGN_OR_RETURN(key.info.roles, Strings(obj, "roles"));
    DOPPEL_ASSIGN_OR_RETURN(key.info.clearances, Strings(obj, "clearances"));
    DOPPEL_ASSIGN_OR_RETURN(key.info.created, Time(obj, "created"));
    if (obj.contains("expires")) {
      DOPPEL_ASSIGN_OR_RETURN(key.info.expires, Time(obj, "expires"));
    }
    if (obj.contains("revoked")) {
      DOPPEL_ASSIGN_OR_RETURN(key.info.revoked, Time(obj, "revoked"));
    }
    DOPPEL_ASSIGN_OR_RETURN(std::string salt, String(obj, "salt"));
    if (!FromHex(salt, key.salt)) return Fail("salt", "expected 32 lowercase hex digits");
    DOPPEL_ASSIGN_OR_RETURN(std::string hash, String(obj, "hash"));
    if (!FromHex(hash, key.hash)) return Fail("hash", "expected 64 lowercase hex digits");
    return key;
  }

  Result<std::string> String(const json::object& obj, std::string_view name) {
    auto* v = obj.if_contains(name);
    if (!v || !v->is_string()) return Fail(name, "expected a string");
    return std::string(v->get_string());
  }

  Result<std::vector<std::string>> Strings(const json::object& obj, std::string_view name) {
    auto* v = obj.if_contains(name);
    if (!v || !v->is_array()) return Fail(name, "expected an array of strings");
    std::vector<std::string> out;
    for (const auto& item : v->get_array()) {
      if (!item.is_string()) return Fail(name, "expected an array of strings");
      out.emplace_back(item.get_string());
    }
    return out;
  }

  Result<TimePoint> Time(const json::object& obj, std::string_view name) {
    DOPPEL_ASSIGN_OR_RETURN(std::string text, String(obj, name));
    auto t = ParseRfc3339(text);
    if (!t.ok()) return Fail(name, "expected an RFC 3339 date-time");
    return *t;
  }

  Status Fail(std::string_view field, std::string_view what) const {
    std::string at = where_ + std::string(field);
    if (!at.empty() && at.back() == '.') at.pop_back();
    return Status::InvalidArgument(at.empty() ? std::string(what) : at + ": " + std::string(what));
  }

  std::string where_;
};

Status CorruptFile(const std::string& path, const std::string& what) {
  return Status::Internal(path + " is not a valid API key file: " + what +
                          " (it is refused, never replaced: restore it from a backup, or move it "
                          "aside to start with no keys)");
}

Result<std::vector<StoredKey>> LoadKeys(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Internal("cannot read " + path + ": " + ErrnoText());
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::Internal("cannot read " + path + ": " + ErrnoText());
  std::string contents = text.str();
  if (contents.empty()) return CorruptFile(path, "the file is empty");
  auto doc = ParseJson(contents);
  if (!doc.ok()) return CorruptFile(path, doc.status().message());
  auto keys = KeyFileReader().Read(*doc);
  if (!keys.ok()) return CorruptFile(path, keys.status().message());
  return keys;
}

// Holds "<path>.lock" for the life of the store; closing the descriptor releases the lock.
Result<int> LockKeyFile(const std::string& path) {
  std::string lock_path = path + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot open " + lock_path + ": " + ErrnoText());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return Status::Unavailable(path + " is in use by another process (a running server?)");
    }
    return Status::Internal("cannot lock " + lock_path + ": " + std::strerror(error));
  }
  return fd;
}

Status CreateDirectoryFor(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) return Status::Ok();
  std::error_code ec;
  if (fs::create_directories(dir, ec)) {
    // A directory holding credentials is the owner's alone.
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  if (ec) return Status::Internal("cannot create " + dir.string() + ": " + ec.message());
  return Status::Ok();
}

Result<std::string> NewId(const std::map<std::string, std::size_t, std::less<>>& taken) {
  for (;;) {
    std::array<unsigned char, 8> bytes{};
    DOPPEL_RETURN_IF_ERROR(RandomBytes(bytes.data(), bytes.size()));
    std::string id = Base32(bytes.data(), bytes.size(), kIdChars);
    if (!taken.contains(id)) return id;
  }
}

Status ValidateSpec(const ApiKeySpec& spec, TimePoint now) {
  if (!IsValidName(spec.name)) {
    return Status::InvalidArgument("an API key name must be 1 to 128 printable characters");
  }
  if (spec.roles.empty()) return Status::InvalidArgument("an API key needs at least one role");
  for (const auto& role : spec.roles) {
    if (!IsValidLabel(role)) return Status::InvalidArgument("invalid role name '" + role + "'");
  }
  for (const auto& clearance : spec.clearances) {
    if (!IsValidLabel(clearance)) {
      return Status::InvalidArgument("invalid clearance '" + clearance + "'");
    }
  }
  if (spec.expires && *spec.expires <= now) {
    return Status::InvalidArgument("the expiry " + FormatRfc3339(*spec.expires) +
                                   " is not in the future");
  }
  return Status::Ok();
}

}  // namespace

std::string ApiKeyFilePath(const std::string& data_dir) {
  return (fs::path(data_dir) / "auth" / "api-keys.json").string();
}

json::object ApiKeyInfoToJson(const ApiKeyInfo& info) {
  // Absent times are left out rather than written as null: "expires" missing reads as never.
  json::object out{{"id", info.id},
                   {"name", info.name},
                   {"roles", StringArray(info.roles)},
                   {"clearances", StringArray(info.clearances)},
                   {"created", FormatRfc3339(info.created)}};
  if (info.expires) out["expires"] = FormatRfc3339(*info.expires);
  if (info.revoked) out["revoked"] = FormatRfc3339(*info.revoked);
  return out;
}

struct ApiKeyStore::State {
  // Immutable after Open.
  std::string path;  // "" = in memory
  int lock_fd = -1;

  mutable std::shared_mutex mu;
  std::vector<StoredKey> keys;                            // guarded by mu; creation order
  std::map<std::string, std::size_t, std::less<>> by_id;  // guarded by mu; index into keys

  Status Persist() const {
    if (path.empty()) return Status::Ok();
    return WriteFileAtomically(path, Serialize(keys));
  }

  const StoredKey* Find(std::string_view id) const {
    auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : &keys[it->second];
  }
};

ApiKeyStore::ApiKeyStore() : state_(std::make_unique<State>()) {}

ApiKeyStore::~ApiKeyStore() {
  if (state_->lock_fd >= 0) ::close(state_->lock_fd);
}

std::unique_ptr<ApiKeyStore> ApiKeyStore::InMemory() {
  return std::unique_ptr<ApiKeyStore>(new ApiKeyStore());
}

Result<std::unique_ptr<ApiKeyStore>> ApiKeyStore::Open(const std::string& path) {
  DOPPEL_RETURN_IF_ERROR(CreateDirectoryFor(path));
  std::unique_ptr<ApiKeyStore> store(new ApiKeyStore());
  State& state = *store->state_;
  state.path = path;
  DOPPEL_ASSIGN_OR_RETURN(state.lock_fd, LockKeyFile(path));
  std::error_code ec;
  if (fs::exists(path, ec)) {
    DOPPEL_ASSIGN_OR_RETURN(state.keys, LoadKeys(path));
  } else {
    if (ec) return Status::Internal("cannot stat " + path + ": " + ec.message());
    DOPPEL_RETURN_IF_ERROR(state.Persist());
  }
  for (std::size_t i = 0; i < state.keys.size(); ++i) state.by_id[state.keys[i].info.id] = i;
  return store;
}

Result<CreatedApiKey> ApiKeyStore::Create(const ApiKeySpec& spec, TimePoint now) {
  DOPPEL_RETURN_IF_ERROR(ValidateSpec(spec, now));
  std::array<unsigned char, kSecretBytes> secret_bytes{};
  DOPPEL_RETURN_IF_ERROR(RandomBytes(secret_bytes.data(), secret_bytes.size()));
  std::string secret = Base32(secret_bytes.data(), secret_bytes.size(), kSecretChars);
  OPENSSL_cleanse(secret_bytes.data(), secret_bytes.size());

  StoredKey key;
  key.info.name = spec.name;
  key.info.roles = spec.roles;
  key.info.clearances = spec.clearances;
  key.info.created = now;
  key.info.expires = spec.expires;
  DOPPEL_RETURN_IF_ERROR(RandomBytes(key.salt.data(), key.salt.size()));
  key.hash = SaltedHash(key.salt, secret);

  std::unique_lock lock(state_->mu);
  DOPPEL_ASSIGN_OR_RETURN(key.info.id, NewId(state_->by_id));
  state_->keys.push_back(key);
  state_->by_id[key.info.id] = state_->keys.size() - 1;
  if (Status persisted = state_->Persist(); !persisted.ok()) {
    state_->by_id.erase(key.info.id);
    state_->keys.pop_back();
    return persisted;
  }
  return CreatedApiKey{.info = key.info,
                       .token = std::string(kTokenPrefix) + key.info.id + "_" + secret};
}

Status ApiKeyStore::Revoke(std::string_view id, TimePoint now) {
  std::unique_lock lock(state_->mu);
  auto it = state_->by_id.find(id);
  if (it == state_->by_id.end()) return Status::NotFound("no API key '" + std::string(id) + "'");
  ApiKeyInfo& info = state_->keys[it->second].info;
  if (info.revoked) return Status::Ok();
  info.revoked = now;
  if (Status persisted = state_->Persist(); !persisted.ok()) {
    info.revoked.reset();
    return persisted;
  }
  return Status::Ok();
}

std::vector<ApiKeyInfo> ApiKeyStore::List() const {
  std::shared_lock lock(state_->mu);
  std::vector<ApiKeyInfo> out;
  out.reserve(state_->keys.size());
  for (const auto& key : state_->keys) out.push_back(key.info);
  // Creation order already, unless a clock stepped back between creations.
  std::stable_sort(out.begin(), out.end(),
                   [](const ApiKeyInfo& a, const ApiKeyInfo& b) { return a.created < b.created; });
  return out;
}

Result<ApiKeyInfo> ApiKeyStore::Get(std::string_view id) const {
  std::shared_lock lock(state_->mu);
  const StoredKey* key = state_->Find(id);
  if (!key) return Status::NotFound("no API key '" + std::string(id) + "'");
  return key->info;
}

bool ApiKeyStore::HasKeys() const {
  std::shared_lock lock(state_->mu);
  return !state_->keys.empty();
}

Result<Principal> ApiKeyStore::Verify(std::string_view token, TimePoint now) const {
  constexpr std::size_t kIdAt = kTokenPrefix.size(), kSecretAt = kIdAt + kIdChars + 1;
  if (token.size() != kTokenChars || !token.starts_with(kTokenPrefix) ||
      token[kSecretAt - 1] != '_' || !IsBase32(token.substr(kIdAt, kIdChars)) ||
      !IsBase32(token.substr(kSecretAt))) {
    return Status::Unauthenticated("malformed API key (expected dpk_<id>_<secret>)");
  }
  std::string_view id = token.substr(kIdAt, kIdChars), secret = token.substr(kSecretAt);

  std::shared_lock lock(state_->mu);
  const StoredKey* key = state_->Find(id);
  // An unknown id costs the same hash as a known one, so timing does not tell them apart either.
  static const StoredKey kDecoy{};
  const StoredKey& checked = key ? *key : kDecoy;
  Hash hash = SaltedHash(checked.salt, secret);
  bool matches = CRYPTO_memcmp(hash.data(), checked.hash.data(), hash.size()) == 0;
  if (!key || !matches) return Status::Unauthenticated("unknown API key");
  // Revocation and expiry are only told to a caller who proved they hold the secret.
  const ApiKeyInfo& info = key->info;
  if (info.revoked) return Status::Unauthenticated("API key '" + info.id + "' was revoked");
  if (info.expires && now >= *info.expires) {
    return Status::Unauthenticated("API key '" + info.id + "' expired at " +
                                   FormatUtcSeconds(*info.expires));
  }
  return Principal{.subject = "key:" + info.id,
                   .roles = info.roles,
                   .method = AuthMethod::kApiKey,
                   .clearances = info.clearances};
}

}  // namespace doppel::auth
