#include "model/internal/literals.h"

#include <fmt/format.h>

namespace doppel::model::internal {
namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return IsLower(c) || IsUpper(c); }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

// Checks the members of a value object; `value` receives "@value" (or nullptr).
std::string CheckValueObject(const json::object& o, bool strict, std::string_view xsd,
                             const json::value*& value) {
  value = nullptr;
  for (const auto& kv : o) {
    std::string_view k = kv.key();
    if (!k.starts_with('@')) return fmt::format("member '{}' is not allowed in a value object", k);
    if (k == "@value") {
      value = &kv.value();
    } else if (k == "@type") {
      std::string full = fmt::format("http://www.w3.org/2001/XMLSchema#{}", xsd);
      const json::value* t = &kv.value();
      if (t->is_array() && t->as_array().size() == 1) t = &t->as_array()[0];
      if (!t->is_string() || (t->as_string() != fmt::format("xsd:{}", xsd) &&
                              t->as_string() != full)) {
        return fmt::format("@type of a value object must be xsd:{}", xsd);
      }
    } else if (strict || k == "@id" || k == "@context" || k == "@graph") {
      return fmt::format("'{}' is not allowed in a value object", k);
    }
  }
  if (value == nullptr) return "a value object needs @value";
  return {};
}

std::string AddText(std::string_view lang, std::string_view text, std::size_t max_length,
                    LocalizedText& out) {
  if (CodePointCount(text) > max_length) {
    return fmt::format("text is longer than {} characters", max_length);
  }
  out.emplace(std::string(lang), std::string(text));
  return {};
}

std::string ReadLanguageMap(const json::object& o, std::size_t max_length, LocalizedText& out) {
  for (const auto& kv : o) {
    if (!IsLanguageTag(kv.key())) return fmt::format("'{}' is not a language code", kv.key());
    if (!kv.value().is_string()) return fmt::format("the text for '{}' is not a string", kv.key());
    std::string e = AddText(kv.key(), kv.value().as_string(), max_length, out);
    if (!e.empty()) return e;
  }
  return {};
}

// One language-tagged value object of a localisable-string array; `lang` receives its
// language ("" if none).
std::string ReadTaggedValue(const json::object& o, bool strict, std::string& lang,
                            std::string& text) {
  const json::value* value = nullptr;
  for (const auto& kv : o) {
    std::string_view k = kv.key();
    if (!k.starts_with('@')) return fmt::format("member '{}' is not allowed here", k);
    if (k == "@value") {
      value = &kv.value();
    } else if (k == "@language") {
      if (!kv.value().is_string() || !IsLanguageTag(kv.value().as_string())) {
        return "@language must be a language code";
      }
      lang = kv.value().as_string();
    } else if (strict || k == "@id" || k == "@context" || k == "@graph") {
      return fmt::format("'{}' is not allowed in a language-tagged value", k);
    }
  }
  if (value == nullptr || !value->is_string()) return "a language-tagged value needs a string @value";
  text = value->as_string();
  return {};
}

std::string ReadLocalizedArray(const json::array& a, std::size_t max_length, bool strict,
                               LocalizedText& out) {
  int defaults = 0;
  for (const auto& e : a) {
    std::string lang, text;
    if (e.is_string()) {
      text = e.as_string();
    } else if (e.is_object()) {
      std::string err = ReadTaggedValue(e.as_object(), strict, lang, text);
      if (!err.empty()) return err;
      if (!lang.empty() && lang != "en" && out.contains(lang)) {
        return fmt::format("language '{}' is given twice", lang);
      }
    } else {
      return "each element must be a string or a language-tagged value";
    }
    if (lang.empty() || lang == "en") {
      if (++defaults > 1) return "more than one text for the default language";
      lang = "en";
    }
    std::string err = AddText(lang, text, max_length, out);
    if (!err.empty()) return err;
  }
  return {};
}

}  // namespace

std::size_t CodePointCount(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool IsDtdlName(std::string_view s) {
  if (s.empty() || !IsAlpha(s.front()) || s.back() == '_') return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '_') return false;
  }
  return true;
}

bool IsLanguageTag(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && IsLower(s[i])) ++i;
  if (i < 2 || i > 4) return false;
  if (i + 5 <= s.size() && s[i] == '-' && IsUpper(s[i + 1]) && IsLower(s[i + 2]) &&
      IsLower(s[i + 3]) && IsLower(s[i + 4])) {
    i += 5;
  }
  if (i == s.size()) return true;
  std::string_view region = s.substr(i);
  if (region.size() == 3 && region[0] == '-' && IsUpper(region[1]) && IsUpper(region[2])) {
    return true;
  }
  return region.size() == 4 && region[0] == '-' && IsDigit(region[1]) && IsDigit(region[2]) &&
         IsDigit(region[3]);
}

std::string ReadRepresentationalString(const json::value& v, bool strict, std::string& out) {
  const json::value* value = &v;
  if (v.is_object()) {
    std::string err = CheckValueObject(v.as_object(), strict, "string", value);
    if (!err.empty()) return err;
  }
  if (!value->is_string()) return "must be a string";
  out = value->as_string();
  return {};
}

std::string ReadRepresentationalInteger(const json::value& v, bool strict, int64_t& out) {
  const json::value* value = &v;
  if (v.is_object()) {
    std::string err = CheckValueObject(v.as_object(), strict, "integer", value);
    if (!err.empty()) return err;
  }
  // "integer" in DTDL means an integral number expressible in 4 bytes.
  if (value->is_int64() && value->as_int64() >= INT32_MIN && value->as_int64() <= INT32_MAX) {
    out = value->as_int64();
    return {};
  }
  if (value->is_uint64() && value->as_uint64() <= INT32_MAX) {
    out = static_cast<int64_t>(value->as_uint64());
    return {};
  }
  return "must be an integer";
}

std::string ReadRepresentationalBoolean(const json::value& v, bool strict, bool& out) {
  const json::value* value = &v;
  if (v.is_object()) {
    std::string err = CheckValueObject(v.as_object(), strict, "boolean", value);
    if (!err.empty()) return err;
  }
  if (!value->is_bool()) return "must be a boolean";
  out = value->as_bool();
  return {};
}

std::string ReadLocalized(const json::value& v, std::size_t max_length, bool strict,
                          LocalizedText& out) {
  if (v.is_string()) return AddText("en", v.as_string(), max_length, out);
  if (v.is_object()) return ReadLanguageMap(v.as_object(), max_length, out);
  if (v.is_array()) return ReadLocalizedArray(v.as_array(), max_length, strict, out);
  return "must be a string, a language map or an array of language-tagged values";
}

}  // namespace doppel::model::internal
