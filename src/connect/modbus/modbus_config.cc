// ParseModbusConnectorConfig: the strict reading of a Modbus connector's JSON config. Every
// member is checked for its type and range and unknown ones are refused, so a misspelt
// "wordOrder" cannot silently decode every value of a plant wrong.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "connect/modbus/internal/register_codec.h"
#include "connect/modbus/modbus_connector.h"

namespace doppel::connect::modbus {
namespace {

using internal::DataTypeName;
using internal::RegisterCount;

// One JSON object's members, read by name; remembers which were read so Finish can refuse the
// rest. `where` is the object's place in messages ("points[2]"), "" at the top.
class Members {
 public:
  Members(const json::object& object, std::string prefix, std::string where)
      : object_(object), prefix_(std::move(prefix)), where_(std::move(where)) {}

  Status Error(std::string_view key, std::string_view problem) const {
    return Status::InvalidArgument(
        fmt::format("{}{}{}{}: {}", prefix_, where_, where_.empty() ? "" : ".", key, problem));
  }
  const json::value* Find(std::string_view key) {
    seen_.insert(std::string(key));
    const json::value* v = object_.if_contains(key);
    return v != nullptr && !v->is_null() ? v : nullptr;
  }
  Result<std::optional<std::string>> String(std::string_view key) {
    const json::value* v = Find(key);
    if (v == nullptr) return std::optional<std::string>();
    if (!v->is_string()) return Error(key, fmt::format("expected a string, got {}", JsonTypeName(*v)));
    if (v->get_string().empty()) return Error(key, "must not be empty");
    return std::optional<std::string>(std::string(v->get_string()));
  }
  Result<std::string> RequiredString(std::string_view key) {
    DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> s, String(key));
    if (!s) return Error(key, "is required");
    return *s;
  }
  Result<std::optional<int64_t>> Integer(std::string_view key, int64_t min, int64_t max) {
    const json::value* v = Find(key);
    if (v == nullptr) return std::optional<int64_t>();
    std::optional<int64_t> n;
    if (v->is_int64()) n = v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) n = static_cast<int64_t>(v->get_uint64());
    if (v->is_double() && std::trunc(v->get_double()) == v->get_double() && std::abs(v->get_double()) < 1e15) {
      n = static_cast<int64_t>(v->get_double());
    }
    if (!n || *n < min || *n > max) {
      return Error(key, fmt::format("expected an integer from {} to {}, got {}", min, max, ToJson(*v)));
    }
    return n;
  }
  template <typename T>
  Status IntegerInto(std::string_view key, int64_t min, int64_t max, T& out) {
    DOPPEL_ASSIGN_OR_RETURN(std::optional<int64_t> n, Integer(key, min, max));
    if (n) out = static_cast<T>(*n);
    return Status::Ok();
  }
  Status Millis(std::string_view key, int64_t min, int64_t max, std::chrono::milliseconds& out) {
    DOPPEL_ASSIGN_OR_RETURN(std::optional<int64_t> n, Integer(key, min, max));
    if (n) out = std::chrono::milliseconds(*n);
    return Status::Ok();
  }
  Status Number(std::string_view key, double& out) {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_number() || !std::isfinite(v->to_number<double>())) {
      return Error(key, fmt::format("expected a finite number, got {}", JsonTypeName(*v)));
    }
    out = v->to_number<double>();
    return Status::Ok();
  }
  // One of `names` (index into it), or nullopt when absent.
  Result<std::optional<std::size_t>> OneOf(std::string_view key, std::initializer_list<std::string_view> names) {
    DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> s, String(key));
    if (!s) return std::optional<std::size_t>();
    std::size_t i = 0;
    for (std::string_view name : names) {
      if (*s == name) return std::optional<std::size_t>(i);
      ++i;
    }
    return Error(key, fmt::format("expected one of {}, got \"{}\"", fmt::join(names, ", "), *s));
  }
  Result<const json::array*> Array(std::string_view key) {
    const json::value* v = Find(key);
    if (v == nullptr) return static_cast<const json::array*>(nullptr);
    if (!v->is_array()) return Error(key, fmt::format("expected an array, got {}", JsonTypeName(*v)));
    return &v->get_array();
  }
  Status Finish(std::string_view known) const {
    for (const auto& [key, value] : object_) {
      if (!seen_.contains(std::string(key))) return Error(key, fmt::format("unknown member (known: {})", known));
    }
    return Status::Ok();
  }
  const std::string& prefix() const { return prefix_; }

 private:
  const json::object& object_;
  std::string prefix_;
  std::string where_;
  std::set<std::string, std::less<>> seen_;
};

Result<Table> ReadTable(Members& m, Table fallback, std::initializer_list<Table> allowed) {
  DOPPEL_ASSIGN_OR_RETURN(auto index, m.OneOf("table", {"coil", "discrete", "input", "holding"}));
  const Table table = index ? static_cast<Table>(*index) : fallback;
  for (Table t : allowed) {
    if (t == table) return table;
  }
  std::vector<std::string_view> names;
  for (Table t : allowed) names.push_back(internal::TableName(t));
  return m.Error("table", fmt::format("must be {} here, got \"{}\"", fmt::join(names, " or "), internal::TableName(table)));
}

// "type", "wordOrder", "scale", "offset" (and "bit" when `bits`) for an entry on `table`.
Result<RegisterFormat> ReadFormat(Members& m, Table table, bool bits) {
  RegisterFormat format;
  const bool bit_table = table == Table::kCoil || table == Table::kDiscrete;
  DOPPEL_ASSIGN_OR_RETURN(auto type, m.OneOf("type", {"bool", "int16", "uint16", "int32", "uint32", "float32"}));
  format.type = type ? static_cast<DataType>(*type) : bit_table ? DataType::kBool : DataType::kUint16;
  if (bit_table != (format.type == DataType::kBool)) {
    return m.Error("type", bit_table ? "coils and discrete inputs are \"bool\""
                                     : "\"bool\" is for coils and discrete inputs (use \"bit\" for a register's bit)");
  }
  DOPPEL_ASSIGN_OR_RETURN(auto order, m.OneOf("wordOrder", {"big", "swapped", "little"}));
  if (order && RegisterCount(format.type) != 2) {
    return m.Error("wordOrder", fmt::format("applies to 32-bit types only, not {}", DataTypeName(format.type)));
  }
  if (order) format.word_order = static_cast<WordOrder>(*order);
  DOPPEL_RETURN_IF_ERROR(m.Number("scale", format.scale));
  if (format.scale == 0) return m.Error("scale", "must not be 0");
  DOPPEL_RETURN_IF_ERROR(m.Number("offset", format.offset));
  if (bits) {
    DOPPEL_ASSIGN_OR_RETURN(std::optional<int64_t> bit, m.Integer("bit", 0, 15));
    if (bit && RegisterCount(format.type) != 1) {
      return m.Error("bit", "applies to a 16-bit register (type int16 or uint16) only");
    }
    if (bit) format.bit = static_cast<int>(*bit);
  }
  if (bit_table && (format.scale != 1 || format.offset != 0)) {
    return m.Error(format.scale != 1 ? "scale" : "offset", "does not apply to coils and discrete inputs");
  }
  return format;
}

Result<const json::object*> Entry(const json::value& v, const std::string& prefix, const std::string& where) {
  if (!v.is_object()) {
    return Status::InvalidArgument(fmt::format("{}{}: expected an object, got {}", prefix, where, JsonTypeName(v)));
  }
  return &v.get_object();
}

Result<PointMapping> ReadPoint(const json::value& v, const std::string& prefix, const std::string& where) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* object, Entry(v, prefix, where));
  Members m(*object, prefix, where);
  PointMapping point;
  DOPPEL_ASSIGN_OR_RETURN(point.twin, m.RequiredString("twin"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> telemetry, m.String("telemetry"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> property, m.String("property"));
  if (telemetry.has_value() == property.has_value()) return m.Error("telemetry", "exactly one of telemetry and property is required");
  point.property = property.has_value();
  point.path = property ? *property : *telemetry;
  DOPPEL_ASSIGN_OR_RETURN(point.table, ReadTable(m, Table::kHolding, {Table::kCoil, Table::kDiscrete, Table::kInput, Table::kHolding}));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<int64_t> address, m.Integer("address", 0, 65535));
  if (!address) return m.Error("address", "is required");
  point.address = static_cast<int>(*address);
  DOPPEL_ASSIGN_OR_RETURN(point.format, ReadFormat(m, point.table, true));
  if (point.address + internal::PointWidth(point) > 65536) return m.Error("address", "the value runs past address 65535");
  DOPPEL_RETURN_IF_ERROR(m.Finish("twin, telemetry, property, table, address, type, wordOrder, scale, offset, bit"));
  return point;
}

Result<SetpointMapping> ReadSetpoint(const json::value& v, const std::string& prefix, const std::string& where) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* object, Entry(v, prefix, where));
  Members m(*object, prefix, where);
  SetpointMapping setpoint;
  DOPPEL_ASSIGN_OR_RETURN(setpoint.twin, m.RequiredString("twin"));
  DOPPEL_ASSIGN_OR_RETURN(setpoint.property, m.RequiredString("property"));
  DOPPEL_RETURN_IF_ERROR(ReadTable(m, Table::kHolding, {Table::kHolding}).status());
  DOPPEL_ASSIGN_OR_RETURN(std::optional<int64_t> address, m.Integer("address", 0, 65534));
  if (!address) return m.Error("address", "is required");
  setpoint.address = static_cast<int>(*address);
  DOPPEL_ASSIGN_OR_RETURN(setpoint.format, ReadFormat(m, Table::kHolding, false));
  DOPPEL_RETURN_IF_ERROR(m.Finish("twin, property, table, address, type, wordOrder, scale, offset"));
  return setpoint;
}

Result<CommandMapping> ReadCommand(const json::value& v, const std::string& prefix, const std::string& where) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* object, Entry(v, prefix, where));
  Members m(*object, prefix, where);
  CommandMapping command;
  DOPPEL_ASSIGN_OR_RETURN(command.twin, m.RequiredString("twin"));
  DOPPEL_ASSIGN_OR_RETURN(command.command, m.RequiredString("command"));
  DOPPEL_ASSIGN_OR_RETURN(command.table, ReadTable(m, Table::kCoil, {Table::kCoil, Table::kHolding}));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<int64_t> address, m.Integer("address", 0, 65534));
  if (!address) return m.Error("address", "is required");
  command.address = static_cast<int>(*address);
  DOPPEL_ASSIGN_OR_RETURN(command.format, ReadFormat(m, command.table, false));
  if (const json::value* value = m.Find("value")) {
    if (command.table == Table::kCoil && !value->is_bool()) {
      return m.Error("value", fmt::format("a coil takes true or false, got {}", JsonTypeName(*value)));
    }
    if (command.table == Table::kHolding) {
      DOPPEL_RETURN_IF_ERROR(internal::EncodeRegisters(*value, command.format, m.prefix() + where + ".value").status());
    }
    command.value = *value;
  }
  DOPPEL_RETURN_IF_ERROR(m.Finish("twin, command, table, address, value, type, wordOrder, scale, offset"));
  return command;
}

// Reads the array `key` with `read` for each entry ("points[3]" in messages).
template <typename T, typename Read>
Status ReadList(Members& m, std::string_view key, Read read, std::vector<T>& out) {
  DOPPEL_ASSIGN_OR_RETURN(const json::array* list, m.Array(key));
  if (list == nullptr) return Status::Ok();
  for (std::size_t i = 0; i < list->size(); ++i) {
    DOPPEL_ASSIGN_OR_RETURN(T entry, read((*list)[i], m.prefix(), fmt::format("{}[{}]", key, i)));
    out.push_back(std::move(entry));
  }
  return Status::Ok();
}

std::string Prefix(std::string_view name) {
  return name.empty() ? "modbus connector: " : fmt::format("modbus connector '{}': ", name);
}

}  // namespace

Result<ModbusConnectorConfig> ParseModbusConnectorConfig(const json::value& value) {
  if (!value.is_object()) {
    return Status::InvalidArgument(fmt::format("modbus connector: expected an object, got {}", JsonTypeName(value)));
  }
  const json::value* name = value.get_object().if_contains("name");
  Members m(value.get_object(), Prefix(name != nullptr && name->is_string() ? name->get_string() : ""), "");
  ModbusConnectorConfig config;
  DOPPEL_ASSIGN_OR_RETURN(std::string type, m.RequiredString("type"));
  if (type != "modbus") return m.Error("type", fmt::format("expected \"modbus\", got \"{}\"", type));
  DOPPEL_ASSIGN_OR_RETURN(config.name, m.RequiredString("name"));
  DOPPEL_ASSIGN_OR_RETURN(config.host, m.RequiredString("host"));
  DOPPEL_RETURN_IF_ERROR(m.IntegerInto("port", 1, 65535, config.port));
  DOPPEL_RETURN_IF_ERROR(m.IntegerInto("unitId", 0, 255, config.unit_id));
  DOPPEL_RETURN_IF_ERROR(m.Millis("timeoutMs", 1, 600'000, config.timeout));
  DOPPEL_RETURN_IF_ERROR(m.Millis("pollIntervalMs", 10, 86'400'000, config.poll_interval));
  DOPPEL_RETURN_IF_ERROR(m.Millis("reconnectMinMs", 10, 3'600'000, config.reconnect_min));
  DOPPEL_RETURN_IF_ERROR(m.Millis("reconnectMaxMs", 10, 3'600'000, config.reconnect_max));
  DOPPEL_RETURN_IF_ERROR(m.IntegerInto("bufferMaxBytes", 1024, int64_t{1} << 40, config.buffer_max_bytes));
  DOPPEL_RETURN_IF_ERROR(ReadList(m, "points", ReadPoint, config.points));
  DOPPEL_RETURN_IF_ERROR(ReadList(m, "setpoints", ReadSetpoint, config.setpoints));
  DOPPEL_RETURN_IF_ERROR(ReadList(m, "commands", ReadCommand, config.commands));
  DOPPEL_RETURN_IF_ERROR(m.Finish(
      "type, name, host, port, unitId, timeoutMs, pollIntervalMs, reconnectMinMs, reconnectMaxMs, bufferMaxBytes, "
      "points, setpoints, commands"));
  DOPPEL_RETURN_IF_ERROR(ValidateModbusConnectorConfig(config));
  return config;
}

Status ValidateModbusConnectorConfig(const ModbusConnectorConfig& config) {
  const std::string prefix = Prefix(config.name);
  auto error = [&](std::string_view problem) { return Status::InvalidArgument(prefix + std::string(problem)); };
  if (config.name.empty()) return error("name: is required");
  const bool name_ok = config.name.size() <= 64 && config.name.front() != '.' &&
                       std::all_of(config.name.begin(), config.name.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
                       });
  if (!name_ok) return error("name: letters, digits, '.', '_' and '-' only (not starting with '.'), at most 64");
  if (config.host.empty()) return error("host: is required");
  if (config.port < 1 || config.port > 65535) return error("port: expected 1 to 65535");
  if (config.unit_id < 0 || config.unit_id > 255) return error("unitId: expected 0 to 255");
  if (config.timeout.count() <= 0 || config.poll_interval.count() <= 0) return error("timeoutMs and pollIntervalMs must be positive");
  if (config.reconnect_min > config.reconnect_max) return error("reconnectMinMs: must not exceed reconnectMaxMs");
  if (config.points.empty() && config.setpoints.empty() && config.commands.empty()) {
    return error("points: at least one point, setpoint or command is required");
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (std::size_t i = 0; i < config.setpoints.size(); ++i) {
    if (!seen.emplace(config.setpoints[i].twin, config.setpoints[i].property).second) {
      return error(fmt::format("setpoints[{}]: a second setpoint for '{}' property '{}'", i, config.setpoints[i].twin,
                               config.setpoints[i].property));
    }
  }
  seen.clear();
  for (std::size_t i = 0; i < config.commands.size(); ++i) {
    if (!seen.emplace(config.commands[i].twin, config.commands[i].command).second) {
      return error(fmt::format("commands[{}]: a second mapping for '{}' command '{}'", i, config.commands[i].twin,
                               config.commands[i].command));
    }
  }
  return Status::Ok();
}

bool IsModbusConnectorObject(const json::value& config) {
  const json::object* object = config.if_object();
  const json::value* type = object != nullptr ? object->if_contains("type") : nullptr;
  return type != nullptr && type->is_string() && type->get_string() == "modbus";
}

}  // namespace doppel::connect::modbus
