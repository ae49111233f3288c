#include "query/internal/continuation.h"

#include <array>

#include "base/json.h"

namespace doppel::query {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
  return out;
}

bool Base64UrlDecode(std::string_view in, std::string& out) {
  std::array<int, 256> index;
  index.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i)
    index[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    if (index[c] < 0) return false;
    buffer = (buffer << 6) | static_cast<uint32_t>(index[c]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return true;
}

Status Invalid() {
  return Status::InvalidArgument("the continuation token is invalid", "BadRequest");
}

}  // namespace

std::string EncodeContinuation(const Continuation& c) {
  json::object record;
  record["v"] = 1;
  record["q"] = c.query;
  record["id"] = c.last_id;
  record["skip"] = c.skip;
  record["n"] = c.returned;
  return Base64UrlEncode(ToJson(record));
}

Result<Continuation> DecodeContinuation(std::string_view token) {
  std::string text;
  // Bounded by 4/3 of a maximal query (8000 characters, each at most 6 bytes once escaped
  // as JSON) plus an id; anything longer cannot be ours.
  if (token.size() > 256 * 1024 || !Base64UrlDecode(token, text)) return Invalid();
  auto parsed = ParseJson(text);
  if (!parsed.ok() || !parsed->is_object()) return Invalid();
  const json::object& record = parsed->get_object();
  const json::value* v = record.if_contains("v");
  const json::value* q = record.if_contains("q");
  const json::value* id = record.if_contains("id");
  const json::value* skip = record.if_contains("skip");
  const json::value* n = record.if_contains("n");
  if (v == nullptr || !v->is_int64() || v->get_int64() != 1 || q == nullptr || !q->is_string() ||
      id == nullptr || !id->is_string() || skip == nullptr || !skip->is_number() || n == nullptr ||
      !n->is_number()) {
    return Invalid();
  }
  auto as_count = [](const json::value& x, uint64_t& out) {
    if (x.is_uint64())
      out = x.get_uint64();
    else if (x.is_int64() && x.get_int64() >= 0)
      out = static_cast<uint64_t>(x.get_int64());
    else
      return false;
    return true;
  };
  Continuation c;
  c.query = std::string(q->get_string());
  c.last_id = std::string(id->get_string());
  if (!as_count(*skip, c.skip) || !as_count(*n, c.returned)) return Invalid();
  return c;
}

}  // namespace doppel::query
