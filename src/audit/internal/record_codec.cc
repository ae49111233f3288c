#include "audit/internal/record_codec.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <initializer_list>
#include <memory>

#include "base/json.h"

namespace doppel::audit {

namespace {

// Canonical object without "hash": the key order is part of the format (it is hashed).
json::object CanonicalObject(const AuditRecord& r) {
  json::object o;
  o["seq"] = r.seq;
  o["time"] = internal::FormatAuditTime(r.time);
  o["actor"] = r.event.actor;
  o["action"] = r.event.action;
  o["target"] = r.event.target;
  o["source"] = r.event.source;
  o["outcome"] = r.event.outcome;
  o["detail"] = r.event.detail;
  o["prev"] = r.prev_hash;
  return o;
}

}  // namespace

json::object AuditRecordToJson(const AuditRecord& record) {
  json::object o = CanonicalObject(record);
  o["hash"] = record.hash;
  return o;
}

namespace internal {

namespace {

constexpr std::string_view kHashKey = ",\"hash\":\"";
constexpr std::size_t kHashSuffixSize = kHashKey.size() + 64 + 2;  // ,"hash":"<64>"}

std::string Sha256Hex(std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), digest, &size) == 1;
  DOPPEL_CHECK(ok && size == 32);  // SHA-256 is always available in OpenSSL 3
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

bool IsHash(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Length of the valid UTF-8 sequence at s[i], or 0 if there is none (overlong forms,
// surrogates and code points past U+10FFFF are invalid, as the JSON parser holds them).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
  if (n == 0 || c > 0xf4 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  unsigned char c1 = byte(i + 1);
  if (c == 0xe0 && c1 < 0xa0) return 0;   // overlong
  if (c == 0xed && c1 >= 0xa0) return 0;  // surrogate
  if (c == 0xf0 && c1 < 0x90) return 0;   // overlong
  if (c == 0xf4 && c1 >= 0x90) return 0;  // past U+10FFFF
  return n;
}

void SanitizeValue(json::value& v) {
  if (v.is_string()) {
    v = ValidUtf8(v.get_string());
  } else if (v.is_array()) {
    for (auto& e : v.get_array()) SanitizeValue(e);
  } else if (v.is_object()) {
    json::object clean;
    for (auto& kv : v.get_object()) {
      SanitizeValue(kv.value());
      clean[ValidUtf8(kv.key())] = std::move(kv.value());
    }
    v = std::move(clean);
  }
}

Result<std::string> StringField(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return Status::InvalidArgument(fmt::format("no string \"{}\"", key));
  return std::string(v->get_string());
}

Result<uint64_t> SeqField(const json::object& o) {
  auto* v = o.if_contains("seq");
  if (v && v->is_int64() && v->get_int64() > 0) return static_cast<uint64_t>(v->get_int64());
  if (v && v->is_uint64() && v->get_uint64() > 0) return v->get_uint64();
  return Status::InvalidArgument("no positive integer \"seq\"");
}

Result<std::string> HashField(const json::object& o, std::string_view key) {
  DOPPEL_ASSIGN_OR_RETURN(std::string s, StringField(o, key));
  if (!IsHash(s)) return Status::InvalidArgument(fmt::format("\"{}\" is not a SHA-256 hex", key));
  return s;
}

Result<AuditEvent> EventFields(json::object& o) {
  AuditEvent e;
  DOPPEL_ASSIGN_OR_RETURN(e.actor, StringField(o, "actor"));
  DOPPEL_ASSIGN_OR_RETURN(e.action, StringField(o, "action"));
  DOPPEL_ASSIGN_OR_RETURN(e.target, StringField(o, "target"));
  DOPPEL_ASSIGN_OR_RETURN(e.source, StringField(o, "source"));
  DOPPEL_ASSIGN_OR_RETURN(e.outcome, StringField(o, "outcome"));
  auto* detail = o.if_contains("detail");
  if (!detail || !detail->is_object()) return Status::InvalidArgument("no object \"detail\"");
  e.detail = std::move(detail->get_object());  // moved: Open parses millions of these
  return e;
}

}  // namespace

std::string FormatAuditTime(TimePoint t) {
  // Split in integers: floor<seconds> of a time before 1677-09-21T00:12:44Z converts back to
  // nanoseconds past the int64 range (undefined behaviour, found by audit_record_fuzz).
  constexpr int64_t kNanosPerSecond = 1'000'000'000;
  const int64_t count = t.time_since_epoch().count();
  int64_t secs = count / kNanosPerSecond;
  int64_t nanos = count % kNanosPerSecond;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
}

std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

void SanitizeEvent(AuditEvent& event) {
  for (std::string* s :
       {&event.actor, &event.action, &event.target, &event.source, &event.outcome}) {
    *s = ValidUtf8(*s);
  }
  json::value detail(std::move(event.detail));
  SanitizeValue(detail);
  event.detail = std::move(detail.get_object());
}

std::string SealRecord(AuditRecord& record) {
  std::string canonical = ToJson(CanonicalObject(record));
  record.hash = Sha256Hex({record.prev_hash, canonical});
  canonical.pop_back();  // the closing brace; "hash" goes last
  canonical += kHashKey;
  canonical += record.hash;
  canonical += "\"}";
  return canonical;
}

Result<AuditRecord> ParseRecordLine(std::string_view line) {
  DOPPEL_ASSIGN_OR_RETURN(json::value v, ParseJson(line));
  if (!v.is_object()) return Status::InvalidArgument("not a JSON object");
  json::object& o = v.get_object();
  if (o.size() != 10) return Status::InvalidArgument("not the ten fields of a record");
  if (line.size() < kHashSuffixSize ||
      line.substr(line.size() - kHashSuffixSize, kHashKey.size()) != kHashKey) {
    return Status::InvalidArgument("\"hash\" is not the last field");
  }
  AuditRecord r;
  DOPPEL_ASSIGN_OR_RETURN(r.seq, SeqField(o));
  DOPPEL_ASSIGN_OR_RETURN(std::string time, StringField(o, "time"));
  DOPPEL_ASSIGN_OR_RETURN(r.time, ParseRfc3339(time));
  DOPPEL_ASSIGN_OR_RETURN(r.event, EventFields(o));
  DOPPEL_ASSIGN_OR_RETURN(r.prev_hash, HashField(o, "prev"));
  DOPPEL_ASSIGN_OR_RETURN(r.hash, HashField(o, "hash"));
  // The suffix must be the top-level "hash" itself: a nested object ending in ,"hash":"…"}
  // would otherwise pass the check above and RecomputeHash would cut the line in the wrong place.
  if (!line.ends_with("\"}") || line.substr(line.size() - 66, 64) != r.hash) {
    return Status::InvalidArgument("\"hash\" is not the last field");
  }
  return r;
}

std::string RecomputeHash(std::string_view prev_hash, std::string_view line) {
  std::string_view canonical_body = line.substr(0, line.size() - kHashSuffixSize);
  return Sha256Hex({prev_hash, canonical_body, "}"});
}

}  // namespace internal
}  // namespace doppel::audit
