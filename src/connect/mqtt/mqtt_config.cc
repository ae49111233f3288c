// ParseMqttConnectorConfig: the strict reading of a connector's JSON config. Every key is
// checked for its type and range and unknown keys are refused, so a typo cannot silently
// fall back to a default (a misspelt "cleanSession" would otherwise lose queued messages).
#include <charconv>
#include <cmath>
#include <set>
#include <utility>

#include "connect/mqtt/internal/payload_decoder.h"
#include "connect/mqtt/internal/topic_pattern.h"
#include "connect/mqtt/mqtt_connector.h"

namespace doppel::connect::mqtt {
namespace {

std::string Prefix(std::string_view name) {
  return name.empty() ? "mqtt connector: " : "mqtt connector '" + std::string(name) + "': ";
}

// Reads one JSON object's members, remembering which were used so the rest can be refused.
class ObjectReader {
 public:
  ObjectReader(const json::object& object, std::string path, std::string prefix)
      : object_(object), path_(std::move(path)), prefix_(std::move(prefix)) {}

  Status Error(std::string_view key, std::string_view problem) const {
    return Status::InvalidArgument(prefix_ + Key(key) + ": " + std::string(problem));
  }
  std::string Key(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }
  const std::string& prefix() const { return prefix_; }

  const json::value* Find(std::string_view key) {
    seen_.insert(std::string(key));
    return object_.if_contains(key);
  }
  Result<std::optional<std::string>> String(std::string_view key) {
    const json::value* v = Find(key);
    if (v == nullptr) return std::optional<std::string>();
    if (!v->is_string()) return Error(key, "expected a string, got " + std::string(JsonTypeName(*v)));
    return std::optional<std::string>(std::string(v->get_string()));
  }
  Result<std::string> RequiredString(std::string_view key) {
    DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> s, String(key));
    if (!s) return Error(key, "is required");
    if (s->empty()) return Error(key, "must not be empty");
    return *s;
  }
  Status Bool(std::string_view key, bool& out) {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_bool()) return Error(key, "expected a boolean, got " + std::string(JsonTypeName(*v)));
    out = v->get_bool();
    return Status::Ok();
  }
  Status Number(std::string_view key, double& out) {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_number()) return Error(key, "expected a number, got " + std::string(JsonTypeName(*v)));
    out = v->to_number<double>();
    return Status::Ok();
  }
  Status Integer(std::string_view key, int64_t min, int64_t max, int64_t& out) {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    std::optional<int64_t> n;
    if (v->is_int64()) n = v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) n = static_cast<int64_t>(v->get_uint64());
    if (v->is_double() && std::trunc(v->get_double()) == v->get_double() && std::abs(v->get_double()) < 1e15) {
      n = static_cast<int64_t>(v->get_double());
    }
    if (!v->is_number()) return Error(key, "expected an integer, got " + std::string(JsonTypeName(*v)));
    if (!n || *n < min || *n > max) {
      return Error(key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                            ToJson(*v));
    }
    out = *n;
    return Status::Ok();
  }
  Result<const json::object*> Object(std::string_view key) {
    const json::value* v = Find(key);
    if (v == nullptr) return static_cast<const json::object*>(nullptr);
    if (!v->is_object()) return Error(key, "expected an object, got " + std::string(JsonTypeName(*v)));
    return &v->get_object();
  }
  // The first member nobody asked for, as an error.
  Status RefuseUnknown() const {
    for (const auto& member : object_) {
      if (!seen_.contains(std::string(member.key()))) return Error(member.key(), "unknown key");
    }
    return Status::Ok();
  }

 private:
  const json::object& object_;
  std::string path_;
  std::string prefix_;
  std::set<std::string> seen_;
};

template <typename E, std::size_t N>
Result<E> Enum(ObjectReader& r, std::string_view key, const std::pair<std::string_view, E> (&choices)[N], E fallback) {
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> s, r.String(key));
  if (!s) return fallback;
  std::string names;
  for (const auto& [name, value] : choices) {
    if (*s == name) return value;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  return r.Error(key, "expected one of " + names + ", got \"" + *s + "\"");
}

constexpr std::pair<std::string_view, PayloadForm> kPayloadForms[] = {
    {"json", PayloadForm::kJson}, {"value", PayloadForm::kValue}, {"json-array", PayloadForm::kJsonArray}};
constexpr std::pair<std::string_view, MappingTarget> kTargets[] = {
    {"telemetry", MappingTarget::kTelemetry}, {"properties", MappingTarget::kProperties}};
constexpr std::pair<std::string_view, TimestampFormat> kFormats[] = {{"rfc3339", TimestampFormat::kRfc3339},
                                                                     {"epoch_s", TimestampFormat::kEpochS},
                                                                     {"epoch_ms", TimestampFormat::kEpochMs},
                                                                     {"epoch_us", TimestampFormat::kEpochUs},
                                                                     {"epoch_ns", TimestampFormat::kEpochNs}};

// "name" or "component/name", each a DTDL name.
Status CheckReadingPath(std::string_view path) {
  std::size_t slash = path.find('/');
  if (slash == std::string_view::npos) return internal::CheckNameLevel(path, "path");
  DOPPEL_RETURN_IF_ERROR(internal::CheckNameLevel(path.substr(0, slash), "path component"));
  return internal::CheckNameLevel(path.substr(slash + 1), "path name");
}

Result<FieldMapping> ParseField(const json::value& v, const std::string& key, const std::string& prefix) {
  if (!v.is_object()) return Status::InvalidArgument(prefix + key + ": expected an object, got " + std::string(JsonTypeName(v)));
  ObjectReader r(v.get_object(), key, prefix);
  FieldMapping field;
  DOPPEL_ASSIGN_OR_RETURN(field.path, r.RequiredString("path"));
  if (Status s = CheckReadingPath(field.path); !s.ok()) return r.Error("path", s.message());
  DOPPEL_RETURN_IF_ERROR(r.Number("scale", field.scale));
  DOPPEL_RETURN_IF_ERROR(r.Number("offset", field.offset));
  if (!std::isfinite(field.scale) || field.scale == 0) return r.Error("scale", "must be a non-zero finite number");
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> convert, r.String("convert"));
  if (convert) {
    if (!internal::FindConversion(*convert)) {
      std::string known;
      for (const std::string& c : internal::KnownConversions()) known += (known.empty() ? "" : ", ") + c;
      return r.Error("convert", "unknown conversion \"" + *convert + "\" (known: " + known + ")");
    }
    field.convert = *convert;
  }
  DOPPEL_RETURN_IF_ERROR(r.RefuseUnknown());
  return field;
}

Status ParseTimestampSpec(ObjectReader& m, TopicMapping& mapping) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* ts, m.Object("timestamp"));
  if (ts == nullptr) return Status::Ok();
  ObjectReader r(*ts, m.Key("timestamp"), m.prefix());
  TimestampSpec spec;
  DOPPEL_ASSIGN_OR_RETURN(spec.field, r.RequiredString("field"));
  DOPPEL_ASSIGN_OR_RETURN(spec.format, Enum(r, "format", kFormats, TimestampFormat::kRfc3339));
  DOPPEL_RETURN_IF_ERROR(r.RefuseUnknown());
  mapping.timestamp = std::move(spec);
  return Status::Ok();
}

Status ParseFields(ObjectReader& m, TopicMapping& mapping) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* fields, m.Object("fields"));
  if (fields == nullptr) return Status::Ok();
  for (const auto& member : *fields) {
    if (member.key().empty()) return m.Error("fields", "a field name must not be empty");
    DOPPEL_ASSIGN_OR_RETURN(FieldMapping field,
                            ParseField(member.value(), m.Key("fields") + "." + std::string(member.key()), m.prefix()));
    mapping.fields.emplace(std::string(member.key()), std::move(field));
  }
  return Status::Ok();
}

// The combinations that cannot work, refused at load rather than at the first message.
Status CheckMappingShape(ObjectReader& m, const TopicMapping& mapping, const internal::TopicPattern& pattern) {
  if (mapping.payload == PayloadForm::kValue && !pattern.has_path()) {
    return m.Error("topic", "a \"value\" payload needs a {path} level naming the telemetry or property");
  }
  if (mapping.payload != PayloadForm::kValue && pattern.has_path()) {
    return m.Error("topic", "{path} is only for \"value\" payloads (a JSON payload names its members)");
  }
  if (mapping.payload == PayloadForm::kValue && mapping.timestamp) {
    return m.Error("timestamp", "a \"value\" payload has no member to take the time from");
  }
  if (mapping.payload == PayloadForm::kJsonArray && mapping.target == MappingTarget::kProperties) {
    return m.Error("target", "\"properties\" takes \"json\" or \"value\" payloads, not \"json-array\"");
  }
  return Status::Ok();
}

Result<TopicMapping> ParseMapping(const json::value& v, const std::string& key, const std::string& prefix) {
  if (!v.is_object()) return Status::InvalidArgument(prefix + key + ": expected an object, got " + std::string(JsonTypeName(v)));
  ObjectReader m(v.get_object(), key, prefix);
  TopicMapping mapping;
  DOPPEL_ASSIGN_OR_RETURN(mapping.topic, m.RequiredString("topic"));
  Result<internal::TopicPattern> pattern = internal::TopicPattern::Compile(mapping.topic);
  if (!pattern.ok()) return m.Error("topic", pattern.status().message());
  DOPPEL_ASSIGN_OR_RETURN(mapping.payload, Enum(m, "payload", kPayloadForms, PayloadForm::kJson));
  DOPPEL_ASSIGN_OR_RETURN(mapping.target, Enum(m, "target", kTargets, MappingTarget::kTelemetry));
  DOPPEL_RETURN_IF_ERROR(ParseTimestampSpec(m, mapping));
  DOPPEL_RETURN_IF_ERROR(ParseFields(m, mapping));
  DOPPEL_RETURN_IF_ERROR(m.Bool("ignoreUnmapped", mapping.ignore_unmapped));
  DOPPEL_RETURN_IF_ERROR(m.RefuseUnknown());
  DOPPEL_RETURN_IF_ERROR(CheckMappingShape(m, mapping, *pattern));
  return mapping;
}

// "mqtt://host:port" / "mqtts://host:port" (IPv6 in brackets); no path, user info or query.
Status ParseBroker(ObjectReader& r, MqttConnectorConfig& config) {
  std::string_view url = config.broker;
  bool tls = false;
  if (url.starts_with("mqtt://")) {
    url.remove_prefix(7);
  } else if (url.starts_with("mqtts://")) {
    url.remove_prefix(8);
    tls = true;
  } else {
    return r.Error("broker", "expected mqtt://host:port or mqtts://host:port, got \"" + config.broker + "\"");
  }
  if (url.ends_with("/")) url.remove_suffix(1);
  std::string_view host = url, port;
  if (url.starts_with("[")) {
    std::size_t close = url.find(']');
    if (close == std::string_view::npos) return r.Error("broker", "unterminated IPv6 address");
    host = url.substr(1, close - 1);
    std::string_view rest = url.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(":")) return r.Error("broker", "unexpected text after the host");
    if (!rest.empty()) port = rest.substr(1);
  } else if (std::size_t colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
  }
  if (host.empty() || host.find_first_of("/@?# ") != std::string_view::npos) {
    return r.Error("broker", "expected mqtt://host:port, got \"" + config.broker + "\"");
  }
  config.host = std::string(host);
  config.port = tls ? 8883 : 1883;
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
      return r.Error("broker", "the port must be 1..65535, got \"" + std::string(port) + "\"");
    }
    config.port = p;
  }
  if (tls && !config.tls) return r.Error("tls", "an mqtts:// broker needs \"tls\": {\"ca\": file}");
  if (!tls && config.tls) return r.Error("tls", "TLS settings need an mqtts:// broker URL");
  return Status::Ok();
}

Status ParseTls(ObjectReader& r, MqttConnectorConfig& config) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* tls, r.Object("tls"));
  if (tls == nullptr) return Status::Ok();
  ObjectReader t(*tls, "tls", r.prefix());
  TlsConfig out;
  DOPPEL_ASSIGN_OR_RETURN(out.ca_file, t.RequiredString("ca"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> cert, t.String("cert"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> key, t.String("key"));
  if (cert.has_value() != key.has_value()) return t.Error(cert ? "key" : "cert", "\"cert\" and \"key\" go together");
  out.cert_file = cert.value_or("");
  out.key_file = key.value_or("");
  DOPPEL_RETURN_IF_ERROR(t.Bool("insecure", out.insecure));
  DOPPEL_RETURN_IF_ERROR(t.RefuseUnknown());
  config.tls = std::move(out);
  return Status::Ok();
}

Status ParseReconnect(ObjectReader& r, MqttConnectorConfig& config) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* reconnect, r.Object("reconnect"));
  if (reconnect == nullptr) return Status::Ok();
  ObjectReader rr(*reconnect, "reconnect", r.prefix());
  int64_t min = config.reconnect_min_seconds, max = config.reconnect_max_seconds;
  DOPPEL_RETURN_IF_ERROR(rr.Integer("minSeconds", 1, 3600, min));
  DOPPEL_RETURN_IF_ERROR(rr.Integer("maxSeconds", 1, 3600, max));
  if (max < min) return rr.Error("maxSeconds", "must not be less than minSeconds");
  DOPPEL_RETURN_IF_ERROR(rr.RefuseUnknown());
  config.reconnect_min_seconds = static_cast<int>(min);
  config.reconnect_max_seconds = static_cast<int>(max);
  return Status::Ok();
}

Status CheckName(ObjectReader& r, std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
  }
  if (!ok) return r.Error("name", "expected 1..64 letters, digits, '-', '_' or '.'");
  return Status::Ok();
}

Status CheckClientId(ObjectReader& r, std::string_view id) {
  if (id.size() > 256) return r.Error("clientId", "is longer than 256 bytes");
  if (!internal::IsValidUtf8(id)) return r.Error("clientId", "is not valid UTF-8");
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return r.Error("clientId", "contains a control character");
  }
  return Status::Ok();
}

Status ParseConnection(ObjectReader& r, MqttConnectorConfig& config) {
  DOPPEL_ASSIGN_OR_RETURN(config.broker, r.RequiredString("broker"));
  DOPPEL_ASSIGN_OR_RETURN(config.client_id, r.RequiredString("clientId"));
  DOPPEL_RETURN_IF_ERROR(CheckClientId(r, config.client_id));
  DOPPEL_ASSIGN_OR_RETURN(config.username, r.String("username"));
  DOPPEL_ASSIGN_OR_RETURN(config.password, r.String("password"));
  if (config.password && !config.username) return r.Error("password", "needs a \"username\"");
  DOPPEL_RETURN_IF_ERROR(ParseTls(r, config));
  DOPPEL_RETURN_IF_ERROR(ParseBroker(r, config));
  int64_t keep_alive = config.keep_alive_seconds, qos = config.qos;
  DOPPEL_RETURN_IF_ERROR(r.Integer("keepAliveSeconds", 5, 65535, keep_alive));
  DOPPEL_RETURN_IF_ERROR(r.Bool("cleanSession", config.clean_session));
  DOPPEL_RETURN_IF_ERROR(r.Integer("qos", 0, 1, qos));
  config.keep_alive_seconds = static_cast<int>(keep_alive);
  config.qos = static_cast<int>(qos);
  int64_t session_expiry = config.session_expiry_seconds, receive_maximum = config.receive_maximum;
  DOPPEL_RETURN_IF_ERROR(r.Integer("sessionExpirySeconds", 0, 0xFFFFFFFF, session_expiry));
  DOPPEL_RETURN_IF_ERROR(r.Integer("receiveMaximum", 1, 65535, receive_maximum));
  config.session_expiry_seconds = static_cast<uint32_t>(session_expiry);
  config.receive_maximum = static_cast<int>(receive_maximum);
  DOPPEL_RETURN_IF_ERROR(ParseReconnect(r, config));
  int64_t max_payload = static_cast<int64_t>(config.max_payload_bytes);
  DOPPEL_RETURN_IF_ERROR(r.Integer("maxPayloadBytes", 1, int64_t{256} << 20, max_payload));
  config.max_payload_bytes = static_cast<std::size_t>(max_payload);
  return Status::Ok();
}

Status ParseMappings(ObjectReader& r, MqttConnectorConfig& config) {
  const json::value* mappings = r.Find("mappings");
  if (mappings == nullptr) return r.Error("mappings", "is required");
  if (!mappings->is_array()) return r.Error("mappings", "expected an array, got " + std::string(JsonTypeName(*mappings)));
  if (mappings->get_array().empty()) return r.Error("mappings", "needs at least one mapping");
  for (std::size_t i = 0; i < mappings->get_array().size(); ++i) {
    DOPPEL_ASSIGN_OR_RETURN(TopicMapping mapping,
                            ParseMapping(mappings->get_array()[i], "mappings[" + std::to_string(i) + "]", r.prefix()));
    config.mappings.push_back(std::move(mapping));
  }
  return Status::Ok();
}

}  // namespace

Result<MqttConnectorConfig> ParseMqttConnectorConfig(const json::value& value) {
  if (!value.is_object()) {
    return Status::InvalidArgument("mqtt connector: expected an object, got " + std::string(JsonTypeName(value)));
  }
  const json::object& object = value.get_object();
  MqttConnectorConfig config;
  // The name first: every later error names the connector.
  {
    ObjectReader r(object, "", Prefix(""));
    DOPPEL_ASSIGN_OR_RETURN(config.name, r.RequiredString("name"));
    DOPPEL_RETURN_IF_ERROR(CheckName(r, config.name));
  }
  ObjectReader r(object, "", Prefix(config.name));
  r.Find("name");
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> type, r.String("type"));
  if (type && *type != "mqtt") return r.Error("type", "expected \"mqtt\", got \"" + *type + "\"");
  DOPPEL_RETURN_IF_ERROR(ParseConnection(r, config));
  DOPPEL_RETURN_IF_ERROR(ParseMappings(r, config));
  DOPPEL_RETURN_IF_ERROR(r.RefuseUnknown());
  return config;
}

Result<std::vector<MqttConnectorConfig>> ParseMqttConnectorConfigs(const json::value& configs) {
  if (!configs.is_array()) {
    return Status::InvalidArgument("mqtt connectors: expected an array, got " + std::string(JsonTypeName(configs)));
  }
  std::vector<MqttConnectorConfig> out;
  std::set<std::string> names, client_ids;
  for (const json::value& c : configs.get_array()) {
    DOPPEL_ASSIGN_OR_RETURN(MqttConnectorConfig config, ParseMqttConnectorConfig(c));
    if (!names.insert(config.name).second) {
      return Status::InvalidArgument("mqtt connectors: the name '" + config.name + "' is used twice");
    }
    // Two clients with one id make the broker disconnect each in turn, forever.
    if (!client_ids.insert(config.client_id + "\n" + config.broker).second) {
      return Status::InvalidArgument(Prefix(config.name) + "clientId: '" + config.client_id +
                                     "' is already used by another connector on this broker");
    }
    out.push_back(std::move(config));
  }
  return out;
}

Status ValidateMqttConnectorConfig(const MqttConnectorConfig& config) {
  const std::string prefix = Prefix(config.name);
  if (config.name.empty()) return Status::InvalidArgument(prefix + "name: must not be empty");
  if (config.host.empty() || config.port < 1 || config.port > 65535) {
    return Status::InvalidArgument(prefix + "broker: no host or port");
  }
  if (config.client_id.empty()) return Status::InvalidArgument(prefix + "clientId: must not be empty");
  if (config.keep_alive_seconds < 5) return Status::InvalidArgument(prefix + "keepAliveSeconds: must be at least 5");
  if (config.qos < 0 || config.qos > 1) return Status::InvalidArgument(prefix + "qos: must be 0 or 1");
  if (config.reconnect_min_seconds < 1 || config.reconnect_max_seconds < config.reconnect_min_seconds) {
    return Status::InvalidArgument(prefix + "reconnect: need 1 <= minSeconds <= maxSeconds");
  }
  if (config.max_payload_bytes == 0) return Status::InvalidArgument(prefix + "maxPayloadBytes: must be positive");
  if (config.receive_maximum < 1 || config.receive_maximum > 65535) {
    return Status::InvalidArgument(prefix + "receiveMaximum: must be from 1 to 65535");
  }
  if (config.mappings.empty()) return Status::InvalidArgument(prefix + "mappings: needs at least one mapping");
  for (std::size_t i = 0; i < config.mappings.size(); ++i) {
    const TopicMapping& m = config.mappings[i];
    const std::string key = "mappings[" + std::to_string(i) + "]";
    Result<internal::TopicPattern> pattern = internal::TopicPattern::Compile(m.topic);
    if (!pattern.ok()) return Status::InvalidArgument(prefix + key + ".topic: " + pattern.status().message());
    json::object dummy;
    ObjectReader r(dummy, key, prefix);
    DOPPEL_RETURN_IF_ERROR(CheckMappingShape(r, m, *pattern));
    for (const auto& [name, field] : m.fields) {
      if (Status s = CheckReadingPath(field.path); !s.ok()) {
        return Status::InvalidArgument(prefix + key + ".fields." + name + ".path: " + s.message());
      }
      if (!field.convert.empty() && !internal::FindConversion(field.convert)) {
        return Status::InvalidArgument(prefix + key + ".fields." + name + ".convert: unknown conversion");
      }
    }
  }
  return Status::Ok();
}

}  // namespace doppel::connect::mqtt
