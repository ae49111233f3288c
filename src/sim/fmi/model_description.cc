#include "sim/fmi/model_description.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <set>

namespace doppel::sim::fmi {
namespace {

constexpr std::size_t kMaxDocumentBytes = 16u << 20;

Status Invalid(std::string_view what) {
  return Status::InvalidArgument(fmt::format("modelDescription.xml: {}", what));
}

// NaN is never a usable value; infinity only as a bound (min="-INF"), never as a start value.
Result<double> ParseNumber(std::string_view text, std::string_view what, bool allow_infinite) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty() || std::isnan(value))
    return Invalid(fmt::format("{} = '{}' is not a number", what, text));
  if (!allow_infinite && std::isinf(value))
    return Invalid(fmt::format("{} = '{}' is not a finite number", what, text));
  return value;
}

Result<uint32_t> ParseValueReference(std::string_view text, std::string_view variable) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty())
    return Invalid(fmt::format("variable '{}' has valueReference '{}', not an unsigned integer",
                               variable, text));
  return value;
}

// Copies min/max/unit from a type element (the variable's own or its declaredType's) into
// `variable`, leaving what the element does not set.
Status ApplyTypeAttributes(const pugi::xml_node& type, Variable& variable) {
  if (auto unit = type.attribute("unit")) variable.unit = unit.value();
  for (auto [attr, target] : {std::pair{"min", &variable.min}, std::pair{"max", &variable.max}}) {
    auto a = type.attribute(attr);
    if (!a) continue;
    DOPPEL_ASSIGN_OR_RETURN(*target,
                            ParseNumber(a.value(), fmt::format("{}.{}", variable.name, attr), true));
  }
  return Status::Ok();
}

Result<double> ParseStart(const pugi::xml_node& type, FmiType fmi_type, std::string_view name) {
  auto start = type.attribute("start");
  if (!start) return 0.0;
  std::string_view text = start.value();
  if (fmi_type == FmiType::kBoolean) {
    if (text == "true" || text == "1") return 1.0;
    if (text == "false" || text == "0") return 0.0;
    return Invalid(fmt::format("variable '{}' has Boolean start '{}'", name, text));
  }
  return ParseNumber(text, fmt::format("{}.start", name), false);
}

// The exposed causality, or nullopt for variables Doppel does not expose.
Result<std::optional<Causality>> MapCausality(std::string_view causality, std::string_view name) {
  if (causality == "parameter") return std::optional{Causality::kParameter};
  if (causality == "input") return std::optional{Causality::kInput};
  if (causality == "output" || causality == "calculatedParameter")
    return std::optional{Causality::kOutput};
  if (causality == "local" || causality == "independent") return std::optional<Causality>{};
  return Invalid(fmt::format("variable '{}' has unknown causality '{}'", name, causality));
}

struct TypeElement {
  pugi::xml_node node;
  FmiType type = FmiType::kReal;
};

// The Real/Integer/Enumeration/Boolean child of a ScalarVariable; nullopt for String.
Result<std::optional<TypeElement>> FindTypeElement(const pugi::xml_node& scalar,
                                                   std::string_view name) {
  static const std::pair<const char*, FmiType> kTypes[] = {{"Real", FmiType::kReal},
                                                           {"Integer", FmiType::kInteger},
                                                           {"Enumeration", FmiType::kInteger},
                                                           {"Boolean", FmiType::kBoolean}};
  for (const auto& [element, type] : kTypes) {
    if (auto node = scalar.child(element)) return std::optional{TypeElement{node, type}};
  }
  if (scalar.child("String")) return std::optional<TypeElement>{};
  return Invalid(
      fmt::format("variable '{}' has no Real, Integer, Enumeration, Boolean or String "
                  "element",
                  name));
}

struct Parsed {
  Variable variable;
  FmiBinding binding;
};

using TypeDefinitions = std::map<std::string, pugi::xml_node, std::less<>>;

// One ScalarVariable, or nullopt when it is not exposed (local, independent, String).
Result<std::optional<Parsed>> ParseScalarVariable(const pugi::xml_node& scalar,
                                                  const TypeDefinitions& types) {
  std::string name = scalar.attribute("name").value();
  if (name.empty()) return Invalid("a ScalarVariable has no name attribute");
  auto vr_attr = scalar.attribute("valueReference");
  if (!vr_attr) return Invalid(fmt::format("variable '{}' has no valueReference", name));
  DOPPEL_ASSIGN_OR_RETURN(uint32_t vr, ParseValueReference(vr_attr.value(), name));
  std::string_view causality_text = scalar.attribute("causality").as_string("local");
  DOPPEL_ASSIGN_OR_RETURN(auto causality, MapCausality(causality_text, name));
  DOPPEL_ASSIGN_OR_RETURN(auto element, FindTypeElement(scalar, name));
  if (!causality || !element) return std::optional<Parsed>{};

  Parsed parsed;
  parsed.variable.name = name;
  parsed.variable.causality = *causality;
  parsed.variable.description = scalar.attribute("description").value();
  parsed.binding.value_reference = vr;
  parsed.binding.type = element->type;
  parsed.binding.tunable = std::string_view(scalar.attribute("variability").value()) == "tunable";
  if (element->type == FmiType::kBoolean) {
    parsed.variable.min = 0;
    parsed.variable.max = 1;
  }
  if (auto declared = element->node.attribute("declaredType")) {
    auto it = types.find(std::string_view(declared.value()));
    if (it == types.end())
      return Invalid(
          fmt::format("variable '{}' has unknown declaredType '{}'", name, declared.value()));
    DOPPEL_RETURN_IF_ERROR(ApplyTypeAttributes(it->second, parsed.variable));
  }
  DOPPEL_RETURN_IF_ERROR(ApplyTypeAttributes(element->node, parsed.variable));
  if (parsed.variable.min > parsed.variable.max)
    return Invalid(fmt::format("variable '{}' has min {} above max {}", name, parsed.variable.min,
                               parsed.variable.max));
  DOPPEL_ASSIGN_OR_RETURN(parsed.variable.start, ParseStart(element->node, element->type, name));
  return std::optional{std::move(parsed)};
}

TypeDefinitions ReadTypeDefinitions(const pugi::xml_node& root) {
  TypeDefinitions types;
  for (auto simple : root.child("TypeDefinitions").children("SimpleType")) {
    if (auto type = simple.first_child()) types.emplace(simple.attribute("name").value(), type);
  }
  return types;
}

Status ParseVariables(const pugi::xml_node& root, ModelDescription& md) {
  TypeDefinitions types = ReadTypeDefinitions(root);
  std::set<std::string, std::less<>> names;
  for (auto scalar : root.child("ModelVariables").children("ScalarVariable")) {
    std::string name = scalar.attribute("name").value();
    if (!name.empty() && !names.insert(name).second)
      return Invalid(fmt::format("duplicate variable name '{}'", name));
    DOPPEL_ASSIGN_OR_RETURN(auto parsed, ParseScalarVariable(scalar, types));
    if (!parsed) continue;
    md.info.variables.push_back(std::move(parsed->variable));
    md.bindings.push_back(parsed->binding);
  }
  return Status::Ok();
}

Status ParseCoSimulation(const pugi::xml_node& root, ModelDescription& md) {
  auto cs = root.child("CoSimulation");
  if (!cs) return Invalid("no <CoSimulation> element: only co-simulation FMUs are supported");
  md.model_identifier = cs.attribute("modelIdentifier").value();
  if (md.model_identifier.empty()) return Invalid("<CoSimulation> has no modelIdentifier");
  if (md.model_identifier.find_first_of("/\\") != std::string::npos ||
      md.model_identifier.starts_with("."))
    return Invalid(fmt::format("modelIdentifier '{}' is not a file name", md.model_identifier));
  md.can_get_and_set_fmu_state = cs.attribute("canGetAndSetFMUstate").as_bool(false);
  md.can_serialize_fmu_state = cs.attribute("canSerializeFMUstate").as_bool(false);
  return Status::Ok();
}

}  // namespace

Result<ModelDescription> ParseModelDescription(std::string_view xml) {
  if (xml.size() > kMaxDocumentBytes)
    return Invalid(fmt::format("{} bytes, over the {}-byte limit", xml.size(), kMaxDocumentBytes));
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
  if (!parsed)
    return Invalid(
        fmt::format("not well-formed XML ({} at byte {})", parsed.description(), parsed.offset));
  pugi::xml_node root = doc.child("fmiModelDescription");
  if (!root) return Invalid("the root element is not <fmiModelDescription>");
  std::string_view version = root.attribute("fmiVersion").value();
  if (version != "2.0")
    return Invalid(fmt::format("fmiVersion is '{}'; only FMI 2.0 is supported", version));
  ModelDescription md;
  md.model_name = root.attribute("modelName").value();
  md.guid = root.attribute("guid").value();
  if (md.guid.empty()) return Invalid("<fmiModelDescription> has no guid");
  md.info.description = root.attribute("description").value();
  DOPPEL_RETURN_IF_ERROR(ParseCoSimulation(root, md));
  DOPPEL_RETURN_IF_ERROR(ParseVariables(root, md));
  return md;
}

}  // namespace doppel::sim::fmi
