#include "model/internal/dtmi.h"

namespace doppel::model::internal {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

bool IsSegment(std::string_view s, bool allow_system) {
  if (s.empty() || s.back() == '_') return false;
  std::size_t i = 0;
  if (allow_system) {
    while (i < s.size() && s[i] == '_') ++i;
    if (i > 0) {  // "_+[A-Za-z0-9]": after underscores any alphanumeric may start
      if (i == s.size() || !IsAlnum(s[i])) return false;
    }
  }
  if (i == 0 && !IsAlpha(s[0])) return false;
  for (; i < s.size(); ++i) {
    if (!IsAlnum(s[i]) && s[i] != '_') return false;
  }
  return true;
}

// 1..max_digits digits, no leading zero.
bool IsPositiveInteger(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits || s[0] == '0') return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

bool IsVersion(std::string_view v, int dtdl_version) {
  auto dot = v.find('.');
  if (dot == std::string_view::npos) return IsPositiveInteger(v, 9);
  if (dtdl_version < 3) return false;
  return IsPositiveInteger(v.substr(0, dot), 9) && IsPositiveInteger(v.substr(dot + 1), 6);
}

}  // namespace

bool IsDtmi(std::string_view id, const DtmiRules& rules) {
  if (!LooksLikeDtmi(id)) return false;
  std::string_view rest = id.substr(5);
  auto semi = rest.find(';');
  std::string_view path = rest.substr(0, semi);
  if (semi == std::string_view::npos) {
    if (rules.dtdl_version < 3) return false;
  } else if (!IsVersion(rest.substr(semi + 1), rules.dtdl_version)) {
    return false;
  }
  while (true) {
    auto colon = path.find(':');
    if (!IsSegment(path.substr(0, colon), rules.allow_system_segments)) return false;
    if (colon == std::string_view::npos) return true;
    path.remove_prefix(colon + 1);
  }
}

}  // namespace doppel::model::internal
