// The serve config file: JSON in, ServeOptions out, every mistake named (serve.h).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "app/serve.h"
#include "connect/modbus/modbus_connector.h"
#include "connect/opcua/opcua_connector.h"
#include "history/history_request.h"

namespace doppel::app {
namespace {

namespace fs = std::filesystem;

Status ConfigError(std::string_view key, std::string_view what) {
  return Status::InvalidArgument("config key \"" + std::string(key) + "\": " + std::string(what));
}

Result<uint64_t> PositiveInteger(std::string_view key, const json::value& v) {
  if (v.is_int64() && v.get_int64() > 0) return static_cast<uint64_t>(v.get_int64());
  if (v.is_uint64() && v.get_uint64() > 0) return v.get_uint64();
  return ConfigError(key, "must be a positive integer");
}

// "retention": [{"keep": "30d", "model"?: dtmi, "twin"?: id, "path"?: path}, ...]
Result<std::vector<tsdb::RetentionRule>> RetentionRules(const json::value& v) {
  if (!v.is_array()) return ConfigError("retention", "must be a list of rules like {\"model\": ..., \"keep\": \"30d\"}");
  std::vector<tsdb::RetentionRule> rules;
  for (std::size_t i = 0; i < v.get_array().size(); ++i) {
    const json::value& item = v.get_array()[i];
    const std::string where = "retention[" + std::to_string(i) + "]";
    if (!item.is_object()) return ConfigError(where, "must be an object");
    tsdb::RetentionRule rule;
    bool has_keep = false;
    for (const auto& [key, value] : item.get_object()) {
      const std::string name = where + "." + std::string(key);
      if (key == "keep") {
        if (!value.is_string()) return ConfigError(name, "must be a duration like \"30d\"");
        auto keep = history::ParseDurationText(value.get_string(), name);
        if (!keep.ok()) return ConfigError(name, keep.status().message());
        rule.keep = *keep;
        has_keep = true;
      } else if (key == "keepRollups") {
        if (!value.is_string()) return ConfigError(name, "must be a duration like \"400d\"");
        auto keep = history::ParseDurationText(value.get_string(), name);
        if (!keep.ok()) return ConfigError(name, keep.status().message());
        rule.keep_rollups = *keep;
      } else if (key == "model" || key == "twin" || key == "path") {
        if (!value.is_string() || value.get_string().empty()) return ConfigError(name, "must be a non-empty string");
        (key == "model" ? rule.model_id : key == "twin" ? rule.twin_id : rule.path) = value.get_string();
      } else {
        return ConfigError(name, "unknown key (known: keep, keepRollups, model, twin, path)");
      }
    }
    if (!has_keep) return ConfigError(where, "needs \"keep\"");
    if (rule.twin_id.empty() != rule.path.empty()) return ConfigError(where, "\"twin\" and \"path\" go together");
    if (!rule.twin_id.empty() && !rule.model_id.empty()) {
      return ConfigError(where, "names a series (twin, path) or a model, not both");
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

Result<std::string> StringValue(std::string_view key, const json::value& v) {
  if (!v.is_string()) return ConfigError(key, std::string("must be a string, got ") + std::string(JsonTypeName(v)));
  return std::string(v.get_string());
}

// "tls": {"certFile": "server.pem", "keyFile": "server.key", "clientCaFile": "clients-ca.pem"}
// (clientCaFile optional: mutual TLS). The files are read at start (HttpServer::Start).
Status ApplyTls(const json::value& value, const std::string& base_dir, ServeOptions& options) {
  if (!value.is_object()) return ConfigError("tls", "must be an object {\"certFile\", \"keyFile\", \"clientCaFile\"}");
  server::TlsOptions tls;
  for (const auto& [key, v] : value.get_object()) {
    std::string* target = key == "certFile" ? &tls.cert_file : key == "keyFile" ? &tls.key_file
                        : key == "clientCaFile" ? &tls.client_ca_file : nullptr;
    if (target == nullptr) return ConfigError("tls." + std::string(key), "unknown key (known: certFile, keyFile, clientCaFile)");
    DOPPEL_ASSIGN_OR_RETURN(std::string file, StringValue("tls." + std::string(key), v));
    fs::path path(file);
    *target = (path.is_relative() && !base_dir.empty()) ? (fs::path(base_dir) / path).lexically_normal().string() : file;
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) return ConfigError("tls", "certFile and keyFile are required");
  options.tls = std::move(tls);
  return Status::Ok();
}

// "analytics": {"detectors": {...}, "rul": {...}, "kpis": {...}} (docs/analytics.md), each
// {name: definition}. The definitions are checked when the server opens the analytics service.
Status ApplyAnalytics(const json::value& value, ServeOptions& options) {
  if (!value.is_object()) return ConfigError("analytics", "must be an object {\"detectors\", \"rul\", \"kpis\"}");
  for (const auto& [key, member] : value.get_object()) {
    if (key != "detectors" && key != "rul" && key != "kpis") {
      return ConfigError("analytics." + std::string(key), "unknown key (known: detectors, rul, kpis)");
    }
    if (!member.is_object()) return ConfigError("analytics." + std::string(key), "must be an object {name: definition}");
  }
  options.analytics = value.get_object();
  return Status::Ok();
}

// "simulation": {"bindings": {"<name>": {binding}}} (docs/simulation.md). Each binding is
// checked against its model when the server opens the simulation service.
Status ApplySimulation(const json::value& value, ServeOptions& options) {
  if (!value.is_object()) return ConfigError("simulation", "must be an object {\"bindings\"}");
  for (const auto& [key, member] : value.get_object()) {
    if (key != "bindings") return ConfigError("simulation." + std::string(key), "unknown key (known: bindings)");
    if (!member.is_object()) return ConfigError("simulation.bindings", "must be an object {name: binding}");
    for (const auto& [name, binding] : member.get_object()) {
      if (!binding.is_object()) {
        return ConfigError("simulation.bindings." + std::string(name), "must be a binding object");
      }
    }
    options.simulation_bindings = member.get_object();
  }
  return Status::Ok();
}

// "maintenance": {"cmmsWebhook": {"url": "https://cmms.example/hooks/doppel", "secret": "…"}}
// (docs/work-orders.md).
Status ApplyMaintenance(const json::value& value, ServeOptions& options) {
  if (!value.is_object()) return ConfigError("maintenance", "must be an object {\"cmmsWebhook\"}");
  for (const auto& [key, member] : value.get_object()) {
    if (key != "cmmsWebhook") return ConfigError("maintenance." + std::string(key), "unknown key (known: cmmsWebhook)");
    if (!member.is_object()) return ConfigError("maintenance.cmmsWebhook", "must be an object {\"url\", \"secret\"}");
    CmmsWebhook webhook;
    for (const auto& [field, v] : member.get_object()) {
      if (field != "url" && field != "secret") {
        return ConfigError("maintenance.cmmsWebhook." + std::string(field), "unknown key (known: url, secret)");
      }
      if (!v.is_string()) return ConfigError("maintenance.cmmsWebhook." + std::string(field), "must be a string");
      (field == "url" ? webhook.url : webhook.secret) = v.get_string();
    }
    if (!webhook.url.starts_with("http://") && !webhook.url.starts_with("https://")) {
      return ConfigError("maintenance.cmmsWebhook.url", "must be an http:// or https:// URL");
    }
    options.cmms_webhook = std::move(webhook);
  }
  return Status::Ok();
}

// "rateLimit": {"requestsPerSecond": 100, "burst": 200} (burst optional: twice the rate).
Status ApplyRateLimit(const json::value& value, ServeOptions& options) {
  if (!value.is_object()) return ConfigError("rateLimit", "must be an object {\"requestsPerSecond\", \"burst\"}");
  for (const auto& [key, v] : value.get_object()) {
    if (key != "requestsPerSecond" && key != "burst") {
      return ConfigError("rateLimit." + std::string(key), "unknown key (known: requestsPerSecond, burst)");
    }
    if (!v.is_number() || v.to_number<double>() <= 0 || v.to_number<double>() > 1e9) {
      return ConfigError("rateLimit." + std::string(key), "must be a number above 0");
    }
    (key == "burst" ? options.request_burst_per_caller : options.requests_per_second_per_caller) = v.to_number<double>();
  }
  if (options.requests_per_second_per_caller <= 0) return ConfigError("rateLimit", "requestsPerSecond is required");
  return Status::Ok();
}

// "classification": {"classes": {...}, "fields": [...]} (auth/classification.h), with the
// retention durations in history's syntax, like "retention" rules.
Status ApplyClassification(const json::value& value, ServeOptions& options) {
  auto parse_duration = [](std::string_view text,
                           std::string_view what) -> Result<std::chrono::nanoseconds> {
    DOPPEL_ASSIGN_OR_RETURN(tsdb::TimeNs ns, history::ParseDurationText(text, what));
    return std::chrono::nanoseconds(ns);
  };
  auto parsed = auth::ParseClassificationConfig(value, parse_duration);
  if (!parsed.ok()) return ConfigError("classification", parsed.status().message());
  options.classification = std::move(parsed).value();
  return Status::Ok();
}

// "auth": {"jwt": {...}, "roles": {...}}; each part checked by its own parser.
Status ApplyAuthConfig(const json::value& value, ServeOptions& options) {
  if (!value.is_object()) return ConfigError("auth", "must be an object {\"jwt\", \"roles\"}");
  for (const auto& [key, part] : value.get_object()) {
    if (key == "jwt") {
      auto jwt = auth::ParseJwtConfig(part);
      if (!jwt.ok()) return ConfigError("auth.jwt", jwt.status().message());
      options.jwt = std::move(jwt).value();
    } else if (key == "roles") {
      auto policy = auth::ParsePolicyConfig(json::object{{"roles", part}});
      if (!policy.ok()) return ConfigError("auth", policy.status().message());
      options.policy = std::move(policy).value();
    } else {
      return ConfigError("auth." + std::string(key), "unknown key (known: jwt, roles)");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ApplyServeConfig(const json::value& config, const std::string& base_dir, ServeOptions& options) {
  if (!config.is_object()) {
    return Status::InvalidArgument(std::string("config must be a JSON object, got ") + std::string(JsonTypeName(config)));
  }
  for (const auto& [key, value] : config.get_object()) {
    if (key == "listen") {
      DOPPEL_ASSIGN_OR_RETURN(options.listen, StringValue(key, value));
    } else if (key == "dataDir") {
      DOPPEL_ASSIGN_OR_RETURN(std::string dir, StringValue(key, value));
      fs::path path(dir);
      options.data_dir = (path.is_relative() && !dir.empty() && !base_dir.empty())
                             ? (fs::path(base_dir) / path).lexically_normal().string()
                             : dir;
    } else if (key == "maxBodyBytes") {
      DOPPEL_ASSIGN_OR_RETURN(options.max_body_bytes, PositiveInteger(key, value));
    } else if (key == "threads") {
      DOPPEL_ASSIGN_OR_RETURN(uint64_t threads, PositiveInteger(key, value));
      if (threads > 1024) return ConfigError(key, "at most 1024");
      options.threads = static_cast<int>(threads);
    } else if (key == "sync") {
      if (!value.is_bool()) return ConfigError(key, "must be true or false");
      options.sync = value.get_bool();
    } else if (key == "readTimeoutMs") {
      DOPPEL_ASSIGN_OR_RETURN(uint64_t ms, PositiveInteger(key, value));
      options.read_timeout = std::chrono::milliseconds(ms);
    } else if (key == "logLevel") {
      DOPPEL_ASSIGN_OR_RETURN(options.log_level, StringValue(key, value));
    } else if (key == "retention") {
      DOPPEL_ASSIGN_OR_RETURN(options.retention, RetentionRules(value));
    } else if (key == "connectors") {
      // A connector's "commands" block is the command transport's (docs/commands.md); the
      // connector parser, strict about keys, sees the rest.
      // OPC UA connectors ("type": "opcua", docs/opcua.md) are parsed apart; the rest are MQTT.
      json::value mqtt_connectors = value;
      if (value.is_array()) {
        json::array others;
        for (const json::value& connector : value.get_array()) {
          // Modbus connectors ("type": "modbus", docs/modbus.md), likewise apart.
          if (connect::modbus::IsModbusConnectorObject(connector)) {
            auto modbus = connect::modbus::ParseModbusConnectorConfig(connector);
            if (!modbus.ok()) return ConfigError(key, modbus.status().message());
            options.modbus_connectors.push_back(std::move(modbus).value());
            continue;
          }
          if (!connect::opcua::IsOpcUaConnectorObject(connector)) {
            others.push_back(connector);
            continue;
          }
          auto opcua = connect::opcua::ParseOpcUaConnectorConfig(connector);
          if (!opcua.ok()) return ConfigError(key, opcua.status().message());
          options.opcua_connectors.push_back(std::move(opcua).value());
        }
        mqtt_connectors = std::move(others);
      }
      auto split = command::SplitCommandConfigs(mqtt_connectors);
      if (!split.ok()) return ConfigError(key, split.status().message());
      auto connectors = connect::mqtt::ParseMqttConnectorConfigs(split->connectors);
      if (!connectors.ok()) return ConfigError(key, connectors.status().message());
      options.connectors = std::move(connectors).value();
      if (split->commands.size() > 1) return ConfigError(key, "at most one connector may have \"commands\"");
      if (!split->commands.empty()) {
        auto& [index, topics] = split->commands.front();
        options.command_transport = command::MqttCommandTransportConfig{.connection = options.connectors[index],
                                                                        .topics = std::move(topics)};
      }
    } else if (key == "tls") {
      DOPPEL_RETURN_IF_ERROR(ApplyTls(value, base_dir, options));
    } else if (key == "rateLimit") {
      DOPPEL_RETURN_IF_ERROR(ApplyRateLimit(value, options));
    } else if (key == "auth") {
      DOPPEL_RETURN_IF_ERROR(ApplyAuthConfig(value, options));
    } else if (key == "classification") {
      DOPPEL_RETURN_IF_ERROR(ApplyClassification(value, options));
    } else if (key == "simulation") {
      DOPPEL_RETURN_IF_ERROR(ApplySimulation(value, options));
    } else if (key == "analytics") {
      DOPPEL_RETURN_IF_ERROR(ApplyAnalytics(value, options));
    } else if (key == "maintenance") {
      DOPPEL_RETURN_IF_ERROR(ApplyMaintenance(value, options));
    } else if (key == "retentionIntervalSeconds") {
      DOPPEL_ASSIGN_OR_RETURN(uint64_t seconds, PositiveInteger(key, value));
      options.retention_interval = std::chrono::seconds(seconds);
    } else {
      return ConfigError(key,
                         "unknown key (known: listen, dataDir, maxBodyBytes, threads, sync, "
                         "readTimeoutMs, logLevel, retention, retentionIntervalSeconds, "
                         "connectors, auth, classification, simulation, analytics, "
                         "maintenance, rateLimit, tls)");
    }
  }
  return Status::Ok();
}

Result<ServeOptions> LoadServeConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto config = ParseJson(text.str(), JsonLimits{.max_bytes = 1u << 20, .max_depth = 16});
  if (!config.ok()) return Status::InvalidArgument("config file " + path + ": " + config.status().message());
  ServeOptions options;
  Status applied = ApplyServeConfig(*config, fs::path(path).parent_path().string(), options);
  if (!applied.ok()) return Status::InvalidArgument("config file " + path + ": " + applied.message());
  return options;
}

}  // namespace doppel::app
