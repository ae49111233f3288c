#include "model/internal/element_reader.h"

#include <fmt/format.h>

#include "model/internal/dtmi.h"
#include "model/internal/literals.h"
#include "model/internal/schema_terms.h"
#include "model/internal/vocabulary.h"

namespace doppel::model::internal {
namespace {

constexpr std::string_view kPropertyPrefix = "dtmi:dtdl:property:";

// Members whose single value must be present exactly once (not merely at most once).
bool ExactlyOne(const MemberSpec& spec) {
  return spec.required && spec.kind != ValueKind::kElements;
}

}  // namespace

ElementReader::ElementReader(Batch& batch, const json::object& object, const Scope& parent,
                             Where where, Slot slot)
    : batch_(batch), object_(object), scope_(parent), where_(std::move(where)) {
  scope_ = ReadContext(batch_, object_.if_contains("@context"), parent, where_, slot.top_level);
  if (!CheckVersion(slot) || !ReadType(slot)) return;
  ReadId();
  ReadMembers();
  CheckSemanticType();
}

std::string ElementReader::Path(std::string_view member) const {
  std::string p = where_.path;
  p += '.';
  p += member;
  return p;
}

void ElementReader::Error(std::string_view rule, std::string message,
                          std::string_view member) const {
  batch_.Error(Where{where_.model_id, member.empty() ? where_.path : Path(member)}, rule,
               std::move(message));
}

Slot ChildSlot(const ElementReader& parent, std::string_view member, ClassSet allowed,
               ElementClass implied) {
  return Slot{allowed, implied, false, parent.version(), member};
}

bool ElementReader::CheckVersion(const Slot& slot) {
  if (slot.parent_version == 0 || scope_.version == slot.parent_version) return true;
  if (scope_.version < slot.parent_version && AcceptsEarlierVersion(slot.member)) return true;
  Error("versionMismatch",
        fmt::format("a DTDL v{} element cannot appear in '{}' of a DTDL v{} element",
                    scope_.version, slot.member, slot.parent_version));
  return false;
}

bool ElementReader::ReadType(const Slot& slot) {
  const json::value* type = object_.if_contains("@type");
  if (type == nullptr) {
    const ClassSpec* implied = FindClass(slot.implied, scope_.version);
    if (implied == nullptr || implied->type_required) {
      Error("missingRequiredProperty", "no @type");
      return false;
    }
    spec_ = implied;
    cls_ = slot.implied;
    return true;
  }
  std::vector<std::string_view> names;
  if (type->is_string()) names.push_back(type->as_string());
  if (type->is_array()) {
    for (const auto& t : type->as_array()) {
      if (!t.is_string()) break;
      names.push_back(t.as_string());
    }
  }
  if (names.empty() || (type->is_array() && names.size() != type->as_array().size())) {
    Error("badType", "@type must be a string or an array of strings", "@type");
    return false;
  }
  for (std::string_view name : names) {
    ElementClass c = ClassFromType(name, scope_.version);
    if (c == ElementClass::kNone) {
      if (LooksLikeDtmi(name) && !IsDtmi(name, DtmiRules{scope_.version, false})) {
        Error("badType", fmt::format("@type '{}' is not a valid DTMI", name),
              "@type");
        return false;
      }
      continue;
    }
    if (cls_ != ElementClass::kNone && cls_ != c) {
      Error("badType",
            fmt::format("@type names both {} and {}", ClassTerm(cls_), ClassTerm(c)), "@type");
      return false;
    }
    cls_ = c;
  }
  if (cls_ == ElementClass::kNone) {
    Error("badType",
          fmt::format("@type must name a DTDL class ({})", ClassSetName(slot.allowed)), "@type");
    return false;
  }
  if (!Contains(slot.allowed, cls_)) {
    Error("badType",
          fmt::format("a {} is not allowed here ({} expected)", ClassTerm(cls_),
                      ClassSetName(slot.allowed)),
          "@type");
    cls_ = ElementClass::kNone;
    return false;
  }
  spec_ = FindClass(cls_, scope_.version);
  for (std::string_view name : names) {
    if (ClassFromType(name, scope_.version) != ElementClass::kNone) continue;
    if (!ClassifyCotype(name)) {
      spec_ = nullptr;
      return false;
    }
    cotypes_.emplace_back(name);
  }
  return true;
}

// Applies the rules for a @type value other than the element's class.
bool ElementReader::ClassifyCotype(std::string_view type) {
  int v = scope_.version;
  std::string_view semantic = SemanticTypeTerm(type, v);
  if (!semantic.empty() && spec_->semantic_types && (v == 2 || scope_.quantitative_types)) {
    if (!semantic_type_.empty() && semantic_type_ != semantic) {
      Error("multipleSemanticTypes", "@type names more than one semantic type", "@type");
      return false;
    }
    semantic_type_ = semantic;
    return true;
  }
  if ((scope_.known_extension && IsExtensionCotype(type)) ||
      (scope_.iotcentral && IsIotCentralCotype(type))) {
    informally_cotyped_ = true;  // the extension may give it members DTDL does not define
    return true;
  }
  bool irrelevant = LooksLikeDtmi(type) || IsReservedString(type, v);
  bool foreign = !irrelevant && type.find(':') != std::string_view::npos;
  if ((irrelevant || (v >= 3 && !foreign)) && !scope_.undefined_extension) {
    Error("badType",
          fmt::format("@type '{}' is not defined for a {} by DTDL or an extension in @context",
                      type, ClassTerm(cls_)),
          "@type");
    return false;
  }
  if (foreign && v >= 3) {
    Error("badType",
          fmt::format("@type '{}' is neither a DTMI nor a term", type), "@type");
    return false;
  }
  informally_cotyped_ = true;
  return true;
}

void ElementReader::ReadId() {
  const json::value* id = object_.if_contains("@id");
  if (id == nullptr) return;
  if (!id->is_string()) {
    Error("invalidId", "@id must be a string (not an array)", "@id");
    return;
  }
  std::string_view s = id->as_string();
  if (!IsDtmi(s, DtmiRules{scope_.version, false})) {
    Error("invalidId", fmt::format("@id '{}' is not a valid DTMI", s), "@id");
    return;
  }
  std::size_t max = cls_ == ElementClass::kInterface ? kMaxInterfaceIdLength : kMaxElementIdLength;
  if (s.size() > max) {
    Error("invalidId", fmt::format("@id is longer than {} characters", max), "@id");
    return;
  }
  if (s.starts_with("dtmi:dtdl:") || s.starts_with("dtmi:standard:")) {
    Error("invalidId", fmt::format("@id '{}' uses a reserved prefix", s), "@id");
    return;
  }
  id_ = s;
}

const MemberSpec* ElementReader::SpecFor(std::string_view key) const {
  std::string_view term = key;
  if (key.starts_with(kPropertyPrefix)) {
    term = key.substr(kPropertyPrefix.size());
    auto semi = term.find(';');
    if (semi == std::string_view::npos ||
        term.substr(semi + 1) != std::to_string(scope_.version)) {
      return nullptr;
    }
    term = term.substr(0, semi);
  }
  for (const auto& m : spec_->members) {
    if (m.term != term) continue;
    // `unit` belongs to the semantic types: core in v2, the quantitativeTypes extension in v3.
    if (m.kind == ValueKind::kUnit && scope_.version >= 3 && !scope_.quantitative_types) {
      return nullptr;
    }
    return &m;
  }
  return nullptr;
}

void ElementReader::ReadMembers() {
  for (const auto& kv : object_) {
    std::string_view key = kv.key();
    if (key == "@context" || key == "@id" || key == "@type") continue;
    if (key.starts_with('@')) {
      if (key == "@graph" || scope_.version >= 3) {
        Error("invalidKeyword", fmt::format("keyword '{}' is not allowed here", key), key);
      }
      continue;
    }
    const MemberSpec* spec = SpecFor(key);
    if (spec == nullptr) {
      CheckUndefinedMember(key);
      continue;
    }
    bool duplicate = false;
    for (const auto& m : members_) duplicate |= m.spec == spec;
    if (duplicate) {
      Error("termAndDtmi",
            fmt::format("'{}' is given both as a term and as a DTMI", spec->term), key);
      continue;
    }
    const json::value* value = nullptr;
    if (CheckValue(*spec, kv.value(), key, value)) members_.push_back({spec, value, key});
    else members_.push_back({spec, nullptr, key});
  }
  for (const auto& m : spec_->members) {
    if (!m.required || SpecFor(m.term) == nullptr) continue;
    bool present = false;
    for (const auto& got : members_) present |= got.spec == &m;
    if (!present) {
      Error("missingRequiredProperty",
            fmt::format("a {} needs '{}'", ClassTerm(cls_), m.term));
    }
  }
}

void ElementReader::CheckUndefinedMember(std::string_view key) {
  int v = scope_.version;
  bool dtmi_like = LooksLikeDtmi(key);
  bool valid_dtmi = dtmi_like && IsDtmi(key, DtmiRules{v, false});
  bool foreign = !dtmi_like && key.find(':') != std::string_view::npos;
  if ((dtmi_like && !valid_dtmi) || foreign) {
    if (v == 2 && informally_cotyped_) return;
    Error("undefinedMember",
          fmt::format("member '{}' is neither a DTMI nor a term defined for a {}", key,
                      ClassTerm(cls_)),
          key);
    return;
  }
  if (informally_cotyped_) return;
  Error("undefinedMember",
        fmt::format("member '{}' is not defined for a {} (only an element with a co-type from an "
                    "unknown extension may have members DTDL does not define)",
                    key, ClassTerm(cls_)),
        key);
}

// Checks how many values `raw` includes; `single` receives the one value of a single-valued
// member (nullptr if none).
bool ElementReader::CheckCount(const MemberSpec& spec, const json::value& raw,
                               std::string_view key, const json::value*& single) {
  single = &raw;
  if (!raw.is_array()) return true;
  const auto& a = raw.as_array();
  if (a.size() > 1 || (a.empty() && ExactlyOne(spec))) {
    Error("valueCount", fmt::format("'{}' must have {} value", spec.term,
                                    ExactlyOne(spec) ? "exactly one" : "at most one"), key);
    return false;
  }
  single = a.empty() ? nullptr : &a[0];
  return true;
}

bool ElementReader::CheckElementValue(const MemberSpec& spec, const json::value& v,
                                      std::string_view key) {
  if (v.is_object()) return true;
  if (v.is_string()) {
    std::string_view s = v.as_string();
    if (spec.kind == ValueKind::kSchema && (IsStandardSchema(s, scope_.version) ||
                                            IsExtensionSchema(s, scope_))) {
      return true;
    }
    if (IsDtmi(s, DtmiRules{scope_.version, false})) return true;
  }
  Error("badDtmiOrTerm",
        fmt::format("'{}' must hold {} elements or references to them", spec.term,
                    ClassSetName(spec.classes)),
        key);
  return false;
}

bool ElementReader::CheckValue(const MemberSpec& spec, const json::value& raw,
                               std::string_view key, const json::value*& out) {
  out = &raw;
  if (spec.kind == ValueKind::kLocalized) {
    LocalizedText text;
    std::string err = ReadLocalized(raw, spec.max_length, scope_.version >= 3, text);
    if (!err.empty()) Error("nonConformantDatatype", fmt::format("'{}' {}", spec.term, err), key);
    return err.empty();
  }
  if (spec.kind == ValueKind::kElements) return CheckElements(spec, raw, key);
  const json::value* v = nullptr;
  if (!CheckCount(spec, raw, key, v)) return false;
  out = v;
  if (v == nullptr) return true;  // an empty array: no value
  if (spec.kind == ValueKind::kElement || spec.kind == ValueKind::kSchema) {
    return CheckElementValue(spec, *v, key);
  }
  std::string err = ScalarError(spec, *v);
  if (!err.empty()) Error("nonConformantDatatype", fmt::format("'{}' {}", spec.term, err), key);
  return err.empty();
}

bool ElementReader::CheckElements(const MemberSpec& spec, const json::value& raw,
                                  std::string_view key) {
  std::size_t n = raw.is_array() ? raw.as_array().size() : 1;
  if (n < spec.min_count || n > spec.max_count) {
    Error("valueCount",
          fmt::format("'{}' must have {} to {} values", spec.term, spec.min_count, spec.max_count),
          key);
    return false;
  }
  if (!raw.is_array()) return CheckElementValue(spec, raw, key);
  bool ok = true;
  for (const auto& e : raw.as_array()) ok &= CheckElementValue(spec, e, key);
  return ok;
}

// Why the single value `v` does not fit `spec` ("" if it does).
std::string ElementReader::ScalarError(const MemberSpec& spec, const json::value& v) const {
  bool strict = scope_.version >= 3;
  std::string s;
  int64_t i = 0;
  bool b = false;
  switch (spec.kind) {
    case ValueKind::kString:
    case ValueKind::kName: {
      std::string err = ReadRepresentationalString(v, strict, s);
      if (!err.empty()) return err;
      if (CodePointCount(s) > spec.max_length) {
        return fmt::format("is longer than {} characters", spec.max_length);
      }
      if (spec.kind == ValueKind::kName && !IsDtdlName(s)) {
        return "must start with a letter, hold only letters, digits and '_', and not end in '_'";
      }
      return {};
    }
    case ValueKind::kBoolean: return ReadRepresentationalBoolean(v, strict, b);
    case ValueKind::kInteger: {
      std::string err = ReadRepresentationalInteger(v, strict, i);
      if (err.empty() && (i < spec.min_value || i > spec.max_value)) {
        return fmt::format("must be between {} and {}", spec.min_value, spec.max_value);
      }
      return err;
    }
    case ValueKind::kDtmi:
      return v.is_string() && IsDtmi(v.as_string(), DtmiRules{scope_.version, false})
                 ? "" : "must be a DTMI";
    case ValueKind::kValueSchema: {
      auto p = v.is_string() ? PrimitiveFromTerm(v.as_string(), scope_.version) : std::nullopt;
      bool ok = p && (*p == PrimitiveType::kInteger || *p == PrimitiveType::kString);
      return ok ? "" : "must be integer or string";
    }
    case ValueKind::kEnumLiteral:
      return ReadRepresentationalInteger(v, strict, i).empty() ||
                     ReadRepresentationalString(v, strict, s).empty()
                 ? "" : "must be an integer or a string";
    case ValueKind::kCommandType:
      return v.is_string() && IsCommandType(v.as_string(), scope_.version)
                 ? "" : "must be synchronous or asynchronous";
    case ValueKind::kUnit: return v.is_string() ? "" : "must be a unit";
    default: return {};
  }
}

void ElementReader::CheckSemanticType() {
  const json::value* unit = Get("unit");
  if (semantic_type_.empty()) return;
  if (unit == nullptr) {
    Error("missingUnit", fmt::format("semantic type {} needs a 'unit'", semantic_type_));
    return;
  }
  if (scope_.version == 2 && !IsUnitOf(unit->as_string(), semantic_type_, 2)) {
    Error("unitMismatch",
          fmt::format("'{}' is not a unit of {}", std::string_view(unit->as_string()),
                      semantic_type_),
          "unit");
  }
}

const json::value* ElementReader::Get(std::string_view term) const {
  for (const auto& m : members_) {
    if (m.spec->term == term) return m.value;
  }
  return nullptr;
}

std::vector<std::pair<const json::value*, std::string>> ElementReader::Values(
    std::string_view term) const {
  std::vector<std::pair<const json::value*, std::string>> out;
  for (const auto& m : members_) {
    if (m.spec->term != term || m.value == nullptr) continue;
    if (m.value->is_array()) {
      const auto& a = m.value->as_array();
      for (std::size_t i = 0; i < a.size(); ++i) {
        out.emplace_back(&a[i], fmt::format("{}[{}]", Path(m.key), i));
      }
    } else {
      out.emplace_back(m.value, Path(m.key));
    }
  }
  return out;
}

std::string ElementReader::String(std::string_view term) const {
  std::string s;
  if (const json::value* v = Get(term)) (void)ReadRepresentationalString(*v, false, s);
  return s;
}

LocalizedText ElementReader::Localized(std::string_view term) const {
  LocalizedText text;
  if (const json::value* v = Get(term)) (void)ReadLocalized(*v, SIZE_MAX, false, text);
  return text;
}

std::optional<bool> ElementReader::Bool(std::string_view term) const {
  bool b = false;
  const json::value* v = Get(term);
  if (v == nullptr || !ReadRepresentationalBoolean(*v, false, b).empty()) return std::nullopt;
  return b;
}

std::optional<int64_t> ElementReader::Integer(std::string_view term) const {
  int64_t i = 0;
  const json::value* v = Get(term);
  if (v == nullptr || !ReadRepresentationalInteger(*v, false, i).empty()) return std::nullopt;
  return i;
}

}  // namespace doppel::model::internal
