// ParseOpcUaConnectorConfig: the strict reading of an OPC UA connector's JSON config, and the
// JSON ↔ Variant conversions the connector and the command transport share. Every key is
// checked for its type and range and unknown keys are refused, so a typo ("telemtry") cannot
// silently drop a mapping.
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "connect/opcua/opcua_connector.h"

namespace doppel::connect::opcua {
namespace {

using Type = Variant::Type;

constexpr std::array<std::pair<Type, std::string_view>, 19> kTypeNames = {{
    {Type::kBoolean, "Boolean"}, {Type::kSByte, "SByte"},           {Type::kByte, "Byte"},
    {Type::kInt16, "Int16"},     {Type::kUInt16, "UInt16"},         {Type::kInt32, "Int32"},
    {Type::kUInt32, "UInt32"},   {Type::kInt64, "Int64"},           {Type::kUInt64, "UInt64"},
    {Type::kFloat, "Float"},     {Type::kDouble, "Double"},         {Type::kString, "String"},
    {Type::kDateTime, "DateTime"}, {Type::kStatusCode, "StatusCode"}, {Type::kByteString, "ByteString"},
    {Type::kNodeId, "NodeId"},   {Type::kLocalizedText, "LocalizedText"}, {Type::kQualifiedName, "QualifiedName"},
    {Type::kNull, "Null"},
}};

// Reads one JSON object's members, remembering which were used so the rest can be refused.
class Reader {
 public:
  Reader(const json::object& object, std::string path, const std::string& prefix)
      : object_(object), path_(std::move(path)), prefix_(prefix) {}

  Status Error(std::string_view key, std::string_view problem) const {
    return Status::InvalidArgument(fmt::format("{}{}: {}", prefix_, Key(key), problem));
  }
  std::string Key(std::string_view key) const { return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key); }

  const json::value* Find(std::string_view key) {
    used_.insert(std::string(key));
    return object_.if_contains(key);
  }
  Result<std::string> String(std::string_view key, bool required) {
    const json::value* v = Find(key);
    if (v == nullptr) {
      if (required) return Error(key, "required");
      return std::string();
    }
    if (!v->is_string()) return Error(key, fmt::format("expected a string, got {}", JsonTypeName(*v)));
    return std::string(v->get_string());
  }
  Result<std::optional<double>> Number(std::string_view key, double min, double max) {
    const json::value* v = Find(key);
    if (v == nullptr) return std::optional<double>();
    if (!v->is_number()) return Error(key, fmt::format("expected a number, got {}", JsonTypeName(*v)));
    const double d = v->to_number<double>();
    if (!(d >= min && d <= max)) return Error(key, fmt::format("must be between {} and {}, got {}", min, max, d));
    return std::optional<double>(d);
  }
  Result<std::optional<uint64_t>> Integer(std::string_view key, uint64_t min, uint64_t max) {
    DOPPEL_ASSIGN_OR_RETURN(std::optional<double> d, Number(key, static_cast<double>(min), static_cast<double>(max)));
    if (!d) return std::optional<uint64_t>();
    if (*d != std::floor(*d)) return Error(key, fmt::format("expected an integer, got {}", *d));
    return std::optional<uint64_t>(static_cast<uint64_t>(*d));
  }
  Result<bool> Bool(std::string_view key) {
    const json::value* v = Find(key);
    if (v == nullptr) return false;
    if (!v->is_bool()) return Error(key, fmt::format("expected true or false, got {}", JsonTypeName(*v)));
    return v->get_bool();
  }
  Result<const json::array*> Array(std::string_view key) {
    const json::value* v = Find(key);
    if (v == nullptr) return static_cast<const json::array*>(nullptr);
    if (!v->is_array()) return Error(key, fmt::format("expected an array, got {}", JsonTypeName(*v)));
    return &v->get_array();
  }
  // Every member must have been asked for.
  Status CheckNoOthers(std::string_view known) const {
    for (const auto& [key, _] : object_) {
      if (!used_.contains(std::string(key))) return Error(key, fmt::format("unknown key (known: {})", known));
    }
    return Status::Ok();
  }
  const std::string& prefix() const { return prefix_; }
  const std::string& path() const { return path_; }

 private:
  const json::object& object_;
  std::string path_;
  const std::string& prefix_;
  std::set<std::string, std::less<>> used_;
};

std::string Prefix(std::string_view name) {
  return name.empty() ? std::string("opcua connector: ") : fmt::format("opcua connector '{}': ", name);
}

Result<const json::object*> ObjectAt(const json::value& value, const std::string& prefix, const std::string& path) {
  if (!value.is_object()) {
    return Status::InvalidArgument(fmt::format("{}{}: expected an object, got {}", prefix, path, JsonTypeName(value)));
  }
  return &value.get_object();
}

Status CheckNodeId(Reader& reader, std::string_view key, const std::string& text) {
  if (text.empty()) return Status::Ok();
  Result<NodeId> parsed = NodeId::Parse(text);
  if (!parsed.ok()) return reader.Error(key, parsed.status().message());
  return Status::Ok();
}

Result<OpcUaNodeMapping> ParseNode(Reader& r) {
  OpcUaNodeMapping node;
  DOPPEL_ASSIGN_OR_RETURN(node.node, r.String("node", false));
  DOPPEL_ASSIGN_OR_RETURN(node.browse_path, r.String("browsePath", false));
  DOPPEL_ASSIGN_OR_RETURN(node.twin, r.String("twin", true));
  DOPPEL_ASSIGN_OR_RETURN(node.telemetry, r.String("telemetry", false));
  DOPPEL_ASSIGN_OR_RETURN(node.property, r.String("property", false));
  DOPPEL_ASSIGN_OR_RETURN(node.write, r.Bool("write"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<uint64_t> index, r.Integer("index", 0, 1'000'000));
  if (index) node.index = static_cast<uint32_t>(*index);
  DOPPEL_ASSIGN_OR_RETURN(std::optional<uint64_t> sampling, r.Integer("samplingIntervalMs", 0, 3'600'000));
  if (sampling) node.sampling_interval = std::chrono::milliseconds(*sampling);
  DOPPEL_ASSIGN_OR_RETURN(std::optional<uint64_t> queue, r.Integer("queueSize", 1, 10'000));
  if (queue) node.queue_size = static_cast<uint32_t>(*queue);
  DOPPEL_ASSIGN_OR_RETURN(std::optional<double> deadband, r.Number("deadband", 0, 1e300));
  if (deadband) node.deadband = *deadband;
  DOPPEL_RETURN_IF_ERROR(r.CheckNoOthers(
      "node, browsePath, twin, telemetry, property, write, index, samplingIntervalMs, queueSize, deadband"));
  return node;
}

Result<OpcUaCommandMapping> ParseCommand(Reader& r) {
  OpcUaCommandMapping command;
  DOPPEL_ASSIGN_OR_RETURN(command.twin, r.String("twin", true));
  DOPPEL_ASSIGN_OR_RETURN(command.command, r.String("command", true));
  if (const json::value* method = r.Find("method")) {
    DOPPEL_ASSIGN_OR_RETURN(const json::object* object, ObjectAt(*method, r.prefix(), r.Key("method")));
    Reader m(*object, r.Key("method"), r.prefix());
    DOPPEL_ASSIGN_OR_RETURN(command.object, m.String("object", true));
    DOPPEL_ASSIGN_OR_RETURN(command.method, m.String("method", true));
    DOPPEL_RETURN_IF_ERROR(CheckNodeId(m, "object", command.object));
    DOPPEL_RETURN_IF_ERROR(CheckNodeId(m, "method", command.method));
    DOPPEL_ASSIGN_OR_RETURN(const json::array* inputs, m.Array("inputs"));
    for (std::size_t i = 0; inputs != nullptr && i < inputs->size(); ++i) {
      const json::value& name = (*inputs)[i];
      std::optional<Type> type = name.is_string() ? VariantTypeFromName(name.get_string()) : std::nullopt;
      if (!type || *type == Type::kNull) {
        return m.Error(fmt::format("inputs[{}]", i), "expected a built-in type name such as \"String\", \"Double\", \"Int32\"");
      }
      command.inputs.push_back(*type);
    }
    DOPPEL_RETURN_IF_ERROR(m.CheckNoOthers("object, method, inputs"));
  }
  if (const json::value* write = r.Find("write")) {
    DOPPEL_ASSIGN_OR_RETURN(const json::object* object, ObjectAt(*write, r.prefix(), r.Key("write")));
    Reader w(*object, r.Key("write"), r.prefix());
    DOPPEL_ASSIGN_OR_RETURN(command.write_node, w.String("node", true));
    DOPPEL_RETURN_IF_ERROR(CheckNodeId(w, "node", command.write_node));
    DOPPEL_RETURN_IF_ERROR(w.CheckNoOthers("node"));
  }
  if (command.method.empty() == command.write_node.empty()) {
    return r.Error("method", "exactly one of \"method\" and \"write\" is required");
  }
  DOPPEL_RETURN_IF_ERROR(r.CheckNoOthers("twin, command, method, write"));
  return command;
}

template <typename T, typename Parse>
Status ParseList(Reader& r, std::string_view key, std::vector<T>& out, Parse parse) {
  DOPPEL_ASSIGN_OR_RETURN(const json::array* list, r.Array(key));
  for (std::size_t i = 0; list != nullptr && i < list->size(); ++i) {
    const std::string path = fmt::format("{}[{}]", key, i);
    DOPPEL_ASSIGN_OR_RETURN(const json::object* object, ObjectAt((*list)[i], r.prefix(), path));
    Reader item(*object, path, r.prefix());
    DOPPEL_ASSIGN_OR_RETURN(T parsed, parse(item));
    out.push_back(std::move(parsed));
  }
  return Status::Ok();
}

Status InvalidAt(const OpcUaConnectorConfig& config, const std::string& key, std::string_view problem) {
  return Status::InvalidArgument(fmt::format("{}{}: {}", Prefix(config.name), key, problem));
}

Status ValidateNode(const OpcUaConnectorConfig& config, const OpcUaNodeMapping& node, std::size_t i) {
  const std::string at = fmt::format("nodes[{}]", i);
  if (node.node.empty() == node.browse_path.empty()) {
    return InvalidAt(config, at, "exactly one of \"node\" and \"browsePath\" is required");
  }
  if (!node.node.empty()) {
    if (Result<NodeId> id = NodeId::Parse(node.node); !id.ok()) return InvalidAt(config, at + ".node", id.status().message());
  }
  if (!node.browse_path.empty() && (node.browse_path.front() == '/' || node.browse_path.back() == '/' ||
                                    node.browse_path.find("//") != std::string::npos)) {
    return InvalidAt(config, at + ".browsePath", "expected browse names separated by single '/', e.g. \"Machine/Temperature\"");
  }
  if (node.twin.empty()) return InvalidAt(config, at + ".twin", "must not be empty");
  if (node.telemetry.empty() == node.property.empty()) {
    return InvalidAt(config, at, "exactly one of \"telemetry\" and \"property\" is required");
  }
  if (node.write && node.property.empty()) return InvalidAt(config, at + ".write", "only a \"property\" node can be written");
  if (node.queue_size < 1 || node.queue_size > 10'000) return InvalidAt(config, at + ".queueSize", "must be 1..10000");
  if (!(node.deadband >= 0) || !std::isfinite(node.deadband)) return InvalidAt(config, at + ".deadband", "must be >= 0");
  return Status::Ok();
}

Status ValidateCommand(const OpcUaConnectorConfig& config, const OpcUaCommandMapping& command, std::size_t i) {
  const std::string at = fmt::format("commands[{}]", i);
  if (command.twin.empty()) return InvalidAt(config, at + ".twin", "must not be empty");
  if (command.command.empty()) return InvalidAt(config, at + ".command", "must not be empty");
  const bool method = !command.method.empty() || !command.object.empty();
  if (method == !command.write_node.empty()) return InvalidAt(config, at, "exactly one of \"method\" and \"write\" is required");
  if (method && (command.object.empty() || command.method.empty())) {
    return InvalidAt(config, at + ".method", "needs both \"object\" and \"method\"");
  }
  for (const std::string* text : {&command.object, &command.method, &command.write_node}) {
    if (text->empty()) continue;
    if (Result<NodeId> id = NodeId::Parse(*text); !id.ok()) return InvalidAt(config, at, id.status().message());
  }
  return Status::Ok();
}

Status CheckUniqueTargets(const OpcUaConnectorConfig& config) {
  std::set<std::pair<std::string, std::string>> seen;
  for (std::size_t i = 0; i < config.nodes.size(); ++i) {
    const OpcUaNodeMapping& node = config.nodes[i];
    if (!seen.emplace(node.twin, node.path()).second) {
      return InvalidAt(config, fmt::format("nodes[{}]", i),
                       fmt::format("twin '{}' path '{}' is mapped twice; a value needs one source", node.twin, node.path()));
    }
  }
  std::set<std::pair<std::string, std::string>> commands;
  for (std::size_t i = 0; i < config.commands.size(); ++i) {
    const OpcUaCommandMapping& command = config.commands[i];
    if (!commands.emplace(command.twin, command.command).second) {
      return InvalidAt(config, fmt::format("commands[{}]", i),
                       fmt::format("command '{}' of twin '{}' is mapped twice", command.command, command.twin));
    }
  }
  return Status::Ok();
}

Result<double> NumberOf(const json::value& value, Type type) {
  if (value.is_bool() && type == Type::kNull) return value.get_bool() ? 1.0 : 0.0;
  if (!value.is_number()) {
    return Status::InvalidArgument(fmt::format("expected a number for {}, got {}", VariantTypeName(type), JsonTypeName(value)));
  }
  return value.to_number<double>();
}

// Integer types: the value must be whole and within the type's range.
Status CheckRange(double d, Type type) {
  struct Range { Type type; double min, max; };
  static constexpr Range kRanges[] = {
      {Type::kSByte, -128, 127},       {Type::kByte, 0, 255},
      {Type::kInt16, -32768, 32767},   {Type::kUInt16, 0, 65535},
      {Type::kInt32, -2147483648.0, 2147483647.0}, {Type::kUInt32, 0, 4294967295.0},
      {Type::kInt64, -9223372036854775808.0, 9223372036854775807.0}, {Type::kUInt64, 0, 18446744073709551615.0},
  };
  for (const Range& range : kRanges) {
    if (range.type != type) continue;
    if (d != std::floor(d) || d < range.min || d > range.max) {
      return Status::InvalidArgument(fmt::format("{} does not fit {} (a whole number in {}..{})", d, VariantTypeName(type),
                                                 range.min, range.max));
    }
  }
  return Status::Ok();
}

using Element = std::variant<std::monostate, bool, double, int64_t, std::string>;

Result<std::pair<Type, Element>> ElementFromJson(const json::value& value, Type type) {
  if (type == Type::kNull) {
    if (value.is_string()) return std::pair<Type, Element>(Type::kString, std::string(value.get_string()));
    if (value.is_bool()) return std::pair<Type, Element>(Type::kBoolean, value.get_bool());
    if (value.is_number()) return std::pair<Type, Element>(Type::kDouble, value.to_number<double>());
    return Status::InvalidArgument(fmt::format("cannot send a {} as an OPC UA value", JsonTypeName(value)));
  }
  switch (type) {
    case Type::kBoolean:
      if (!value.is_bool()) return Status::InvalidArgument(fmt::format("expected true or false for Boolean, got {}", JsonTypeName(value)));
      return std::pair<Type, Element>(type, value.get_bool());
    case Type::kString:
      if (!value.is_string()) return Status::InvalidArgument(fmt::format("expected a string for String, got {}", JsonTypeName(value)));
      return std::pair<Type, Element>(type, std::string(value.get_string()));
    case Type::kDateTime: {
      if (!value.is_string()) return Status::InvalidArgument("expected an RFC 3339 time for DateTime");
      DOPPEL_ASSIGN_OR_RETURN(TimePoint t, ParseRfc3339(value.get_string()));
      return std::pair<Type, Element>(type, static_cast<int64_t>(t.time_since_epoch().count()));
    }
    case Type::kFloat:
    case Type::kDouble: {
      DOPPEL_ASSIGN_OR_RETURN(double d, NumberOf(value, type));
      return std::pair<Type, Element>(type, d);
    }
    default: {
      DOPPEL_ASSIGN_OR_RETURN(double d, NumberOf(value, type));
      DOPPEL_RETURN_IF_ERROR(CheckRange(d, type));
      return std::pair<Type, Element>(type, d);
    }
  }
}

}  // namespace

std::optional<Variant::Type> VariantTypeFromName(std::string_view name) {
  for (const auto& [type, type_name] : kTypeNames) {
    if (type_name == name) return type;
  }
  return std::nullopt;
}

std::string_view VariantTypeName(Variant::Type type) {
  for (const auto& [t, name] : kTypeNames) {
    if (t == type) return name;
  }
  return "Other";
}

Result<Variant> VariantFromJson(const json::value& value, Variant::Type type) {
  Variant out;
  out.type = type;
  if (value.is_array()) {
    out.is_array = true;
    for (const json::value& element : value.get_array()) {
      DOPPEL_ASSIGN_OR_RETURN(auto converted, ElementFromJson(element, type));
      if (out.type == Type::kNull) out.type = converted.first;
      if (converted.first != out.type) return Status::InvalidArgument("an array's elements must all be of one type");
      out.values.push_back(std::move(converted.second));
    }
    if (out.type == Type::kNull) out.type = Type::kDouble;  // an empty array: Double[0]
    return out;
  }
  DOPPEL_ASSIGN_OR_RETURN(auto converted, ElementFromJson(value, type));
  out.type = converted.first;
  out.values.push_back(std::move(converted.second));
  return out;
}

json::value VariantToJson(const Variant& value) {
  auto element = [&](const Element& e) -> json::value {
    if (const auto* b = std::get_if<bool>(&e)) return *b;
    if (const auto* d = std::get_if<double>(&e)) return FiniteOrNull(*d);
    if (const auto* s = std::get_if<std::string>(&e)) return json::value(*s);
    if (const auto* i = std::get_if<int64_t>(&e)) {
      if (value.type == Type::kDateTime) return json::value(FormatRfc3339(TimePoint(std::chrono::nanoseconds(*i))));
      return *i;
    }
    return nullptr;
  };
  if (!value.is_array) return value.values.empty() ? json::value(nullptr) : element(value.values.front());
  json::array out;
  for (const Element& e : value.values) out.push_back(element(e));
  return out;
}

bool IsOpcUaConnectorObject(const json::value& config) {
  const json::value* type = config.is_object() ? config.get_object().if_contains("type") : nullptr;
  return type != nullptr && type->is_string() && type->get_string() == "opcua";
}

Status ValidateOpcUaConnectorConfig(const OpcUaConnectorConfig& config) {
  if (config.name.empty()) return Status::InvalidArgument(Prefix(config.name) + "name: must not be empty");
  if (!config.endpoint.starts_with("opc.tcp://") || config.endpoint.size() <= 10) {
    return InvalidAt(config, "endpoint", fmt::format("expected opc.tcp://host:port/path, got \"{}\"", config.endpoint));
  }
  if (config.user.empty() && !config.password.empty()) return InvalidAt(config, "password", "given without a \"user\"");
  if (config.publishing_interval < std::chrono::milliseconds(10) || config.publishing_interval > std::chrono::hours(1)) {
    return InvalidAt(config, "publishingIntervalMs", "must be 10..3600000");
  }
  if (config.request_timeout < std::chrono::milliseconds(100)) return InvalidAt(config, "requestTimeoutMs", "must be >= 100");
  if (config.nodes.empty() && config.commands.empty()) return InvalidAt(config, "nodes", "at least one node or command is required");
  for (std::size_t i = 0; i < config.nodes.size(); ++i) DOPPEL_RETURN_IF_ERROR(ValidateNode(config, config.nodes[i], i));
  for (std::size_t i = 0; i < config.commands.size(); ++i) {
    DOPPEL_RETURN_IF_ERROR(ValidateCommand(config, config.commands[i], i));
  }
  return CheckUniqueTargets(config);
}

Result<OpcUaConnectorConfig> ParseOpcUaConnectorConfig(const json::value& value) {
  if (!value.is_object()) return Status::InvalidArgument(fmt::format("opcua connector: expected an object, got {}", JsonTypeName(value)));
  const json::object& object = value.get_object();
  const json::value* name_value = object.if_contains("name");
  const std::string prefix = Prefix(name_value != nullptr && name_value->is_string() ? std::string_view(name_value->get_string()) : "");
  Reader r(object, "", prefix);
  OpcUaConnectorConfig config;
  DOPPEL_ASSIGN_OR_RETURN(std::string type, r.String("type", true));
  if (type != "opcua") return r.Error("type", fmt::format("expected \"opcua\", got \"{}\"", type));
  DOPPEL_ASSIGN_OR_RETURN(config.name, r.String("name", true));
  DOPPEL_ASSIGN_OR_RETURN(config.endpoint, r.String("endpoint", true));
  DOPPEL_ASSIGN_OR_RETURN(config.user, r.String("user", false));
  DOPPEL_ASSIGN_OR_RETURN(config.password, r.String("password", false));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<uint64_t> publishing, r.Integer("publishingIntervalMs", 10, 3'600'000));
  if (publishing) config.publishing_interval = std::chrono::milliseconds(*publishing);
  DOPPEL_ASSIGN_OR_RETURN(std::optional<uint64_t> timeout, r.Integer("requestTimeoutMs", 100, 600'000));
  if (timeout) config.request_timeout = std::chrono::milliseconds(*timeout);
  DOPPEL_RETURN_IF_ERROR(ParseList(r, "nodes", config.nodes, ParseNode));
  DOPPEL_RETURN_IF_ERROR(ParseList(r, "commands", config.commands, ParseCommand));
  DOPPEL_RETURN_IF_ERROR(
      r.CheckNoOthers("type, name, endpoint, user, password, publishingIntervalMs, requestTimeoutMs, nodes, commands"));
  DOPPEL_RETURN_IF_ERROR(ValidateOpcUaConnectorConfig(config));
  return config;
}

}  // namespace doppel::connect::opcua
