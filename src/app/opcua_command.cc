#include "app/opcua_command.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

namespace doppel::app {
namespace {

using connect::opcua::DataValue;
using connect::opcua::NodeId;
using connect::opcua::OpcUaClient;
using connect::opcua::ReferenceDescription;
using connect::opcua::Variant;
using NodeClass = ReferenceDescription::NodeClass;

const NodeId kObjectsFolder{.namespace_index = 0, .identifier = uint32_t{85}};
constexpr int kMaxDepth = 6;              // objects inside objects below a top-level one
constexpr std::size_t kMaxNodes = 10'000;  // a huge address space is cut, with a note

struct DiscoverFlags {
  std::string endpoint;
  std::string user;
  std::string password;
  int watch_ms = 1500;
  std::string name = "opcua-1";
};

// "1:Temperature" → "Temperature".
std::string_view BareName(std::string_view browse_name) {
  const std::size_t colon = browse_name.find(':');
  return colon == std::string_view::npos ? browse_name : browse_name.substr(colon + 1);
}

// A DTDL name: letters, digits, '_', starting with a lower-case letter, at most 64 characters.
std::string DtdlName(std::string_view browse_name) {
  std::string out;
  for (char c : BareName(browse_name)) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') out += c;
  }
  if (out.empty() || !std::isalpha(static_cast<unsigned char>(out.front()))) out.insert(0, "n");
  out.front() = static_cast<char>(std::tolower(static_cast<unsigned char>(out.front())));
  while (out.size() > 1 && out.back() == '_') out.pop_back();
  return out.substr(0, 64);
}

// "Press Line 1" → "press-line-1".
std::string TwinId(std::string_view browse_name) {
  std::string out;
  for (char c : BareName(browse_name)) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? std::string("machine") : out;
}

// A DTMI segment: starts with a letter, then letters, digits, '_'.
std::string DtmiSegment(std::string_view browse_name) {
  std::string name = DtdlName(browse_name);
  name.front() = static_cast<char>(std::toupper(static_cast<unsigned char>(name.front())));
  return name;
}

// The DTDL schema of an OPC UA DataType (namespace 0 built-ins), "" for one history cannot keep.
std::string SchemaOfDataType(const NodeId& type) {
  const auto* id = std::get_if<uint32_t>(&type.identifier);
  if (type.namespace_index != 0 || id == nullptr) return "";
  switch (*id) {
    case 1: return "boolean";
    case 2: case 3: case 4: case 5: case 6: return "integer";
    case 7: case 8: case 9: return "long";
    case 10: return "float";
    case 11: return "double";
    case 12: return "string";
    case 13: return "dateTime";
    default: return "";
  }
}

std::string SchemaOfVariant(Variant::Type type) {
  switch (type) {
    case Variant::Type::kBoolean: return "boolean";
    case Variant::Type::kSByte: case Variant::Type::kByte: case Variant::Type::kInt16: case Variant::Type::kUInt16:
    case Variant::Type::kInt32: return "integer";
    case Variant::Type::kUInt32: case Variant::Type::kInt64: case Variant::Type::kUInt64: return "long";
    case Variant::Type::kFloat: return "float";
    case Variant::Type::kDouble: return "double";
    case Variant::Type::kString: case Variant::Type::kLocalizedText: return "string";
    case Variant::Type::kDateTime: return "dateTime";
    default: return "";
  }
}

bool IsNumeric(std::string_view schema) {
  return schema == "integer" || schema == "long" || schema == "float" || schema == "double";
}

bool Changed(const DataValue& a, const DataValue& b) { return a.value.values != b.value.values || a.status != b.status; }

// One interface and its part of the mapping, per top-level object.
struct ObjectOutput {
  json::array contents;
  std::set<std::string> names;
  // A name not used yet in this interface ("temperature", else "temperature2", ...).
  std::string Unique(std::string name) {
    std::string candidate = name;
    for (int i = 2; names.contains(candidate); ++i) candidate = fmt::format("{}{}", name, i);
    names.insert(candidate);
    return candidate;
  }
};

void AddVariable(const DiscoveredVariable& variable, ObjectOutput& object, json::array& nodes,
                 std::vector<std::string>& notes) {
  const ReferenceDescription& node = variable.node;
  if (variable.first.value.is_array) {
    notes.push_back(fmt::format("left out {} ({}): an array; map one element with \"index\"", node.node.ToString(),
                                node.browse_name));
    return;
  }
  std::string schema = SchemaOfDataType(node.data_type);
  if (schema.empty()) schema = SchemaOfVariant(variable.first.value.type);
  if (schema.empty()) {
    notes.push_back(fmt::format("left out {} ({}): its data type {} is not one history keeps", node.node.ToString(),
                                node.browse_name, node.data_type.ToString()));
    return;
  }
  const std::string name = object.Unique(DtdlName(node.browse_name));
  const bool telemetry = !node.writable && IsNumeric(schema) && Changed(variable.first, variable.second);
  json::object content{{"@type", telemetry ? "Telemetry" : "Property"}, {"name", name}, {"schema", schema}};
  if (!node.display_name.empty()) content["displayName"] = node.display_name;
  if (node.writable) content["writable"] = true;
  object.contents.push_back(std::move(content));
  json::object mapping{{"node", node.node.ToString()}, {"twin", TwinId(variable.object)}};
  mapping[telemetry ? "telemetry" : "property"] = name;
  if (node.writable) mapping["write"] = true;
  nodes.push_back(std::move(mapping));
}

void AddMethod(const DiscoveredMethod& method, ObjectOutput& object, json::array& commands,
               std::vector<std::string>& notes) {
  const std::string name = object.Unique(DtdlName(method.method.browse_name));
  json::object content{{"@type", "Command"}, {"name", name}};
  json::array inputs;
  for (std::size_t i = 0; i < method.inputs; ++i) inputs.push_back("String");
  if (method.inputs == 1) {
    content["request"] = json::object{{"name", "input"}, {"schema", "string"}};
  } else if (method.inputs > 1) {
    content["request"] = json::object{{"name", "inputs"},
                                      {"schema", json::object{{"@type", "Array"}, {"elementSchema", "string"}}}};
  }
  if (method.inputs > 0) {
    notes.push_back(fmt::format("method {} ({}) takes {} argument(s): proposed as String; check their types",
                                method.method.node.ToString(), method.method.browse_name, method.inputs));
  }
  object.contents.push_back(std::move(content));
  json::object target{{"object", method.object.ToString()}, {"method", method.method.node.ToString()}};
  if (!inputs.empty()) target["inputs"] = std::move(inputs);
  commands.push_back(json::object{{"twin", TwinId(method.object_name)}, {"command", name}, {"method", std::move(target)}});
}

// Walks the address space below one top-level object.
class Browser {
 public:
  Browser(OpcUaClient& client, Discovery& out) : client_(client), out_(out) {}

  Status Run() {
    DOPPEL_ASSIGN_OR_RETURN(std::vector<ReferenceDescription> top, client_.Browse(kObjectsFolder));
    for (const ReferenceDescription& object : top) {
      if (object.node.namespace_index == 0 || object.node_class != NodeClass::kObject) continue;
      if (!visited_.insert(object.node.ToString()).second) continue;
      out_.objects.push_back(object.browse_name);
      DOPPEL_RETURN_IF_ERROR(Walk(object.node, object.browse_name, 0));
    }
    return Status::Ok();
  }

 private:
  Status Walk(const NodeId& at, const std::string& top, int depth) {
    DOPPEL_ASSIGN_OR_RETURN(std::vector<ReferenceDescription> children, client_.Browse(at));
    for (const ReferenceDescription& child : children) {
      if (child.node.namespace_index == 0 || !visited_.insert(child.node.ToString()).second) continue;
      if (visited_.size() > kMaxNodes) {
        out_.notes.push_back(fmt::format("stopped after {} nodes; the rest is left out", kMaxNodes));
        return Status::Ok();
      }
      if (child.node_class == NodeClass::kVariable) {
        out_.variables.push_back({.node = child, .object = top, .first = {}, .second = {}});
      } else if (child.node_class == NodeClass::kMethod) {
        DOPPEL_ASSIGN_OR_RETURN(std::size_t inputs, InputCount(child.node));
        out_.methods.push_back({.object = at, .object_name = top, .method = child, .inputs = inputs});
      } else if (child.node_class == NodeClass::kObject && depth < kMaxDepth) {
        DOPPEL_RETURN_IF_ERROR(Walk(child.node, top, depth + 1));
      }
    }
    return Status::Ok();
  }

  // The length of the method's InputArguments (an array of Argument structures, whose contents
  // the client does not decode: the count is what is known).
  Result<std::size_t> InputCount(const NodeId& method) {
    DOPPEL_ASSIGN_OR_RETURN(std::vector<ReferenceDescription> children, client_.Browse(method));
    for (const ReferenceDescription& child : children) {
      if (BareName(child.browse_name) != "InputArguments") continue;
      const NodeId nodes[] = {child.node};
      DOPPEL_ASSIGN_OR_RETURN(std::vector<DataValue> values, client_.Read(nodes));
      return values.empty() ? std::size_t{0} : values.front().value.values.size();
    }
    return std::size_t{0};
  }

  OpcUaClient& client_;
  Discovery& out_;
  std::set<std::string> visited_;
};

Status ReadAll(OpcUaClient& client, Discovery& discovery, DataValue DiscoveredVariable::*into) {
  std::vector<NodeId> nodes;
  for (const DiscoveredVariable& variable : discovery.variables) nodes.push_back(variable.node.node);
  if (nodes.empty()) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(std::vector<DataValue> values, client.Read(nodes));
  for (std::size_t i = 0; i < values.size() && i < discovery.variables.size(); ++i) {
    discovery.variables[i].*into = std::move(values[i]);
  }
  return Status::Ok();
}

int RunDiscover(const DiscoverFlags& flags) {
  // Stdout carries the suggestion alone, so that it can be piped: the client's log lines go to stderr.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("opcua-discover"));
  OpcUaClient client({.endpoint = flags.endpoint, .user = flags.user, .password = flags.password});
  Discovery discovery;
  Status status = client.Connect();
  if (status.ok()) status = Browser(client, discovery).Run();
  if (status.ok()) status = ReadAll(client, discovery, &DiscoveredVariable::first);
  if (status.ok()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(flags.watch_ms));
    status = ReadAll(client, discovery, &DiscoveredVariable::second);
  }
  client.Disconnect();
  if (!status.ok()) {
    std::cerr << "error: " << status.ToString() << "\n";
    return 1;
  }
  std::vector<std::string> notes = discovery.notes;
  json::object document = SuggestMapping(discovery, flags.endpoint, notes);
  document["connector"].as_object()["name"] = flags.name;
  if (!flags.user.empty()) {
    document["connector"].as_object()["user"] = flags.user;
    document["connector"].as_object()["password"] = flags.password;
  }
  std::cout << ToPrettyJson(document) << std::endl;
  for (const std::string& note : notes) std::cerr << "note: " << note << "\n";
  return 0;
}

}  // namespace

json::object SuggestMapping(const Discovery& discovery, const std::string& endpoint, std::vector<std::string>& notes) {
  std::vector<ObjectOutput> objects(discovery.objects.size());
  auto object_of = [&](const std::string& name) -> ObjectOutput& {
    for (std::size_t i = 0; i < discovery.objects.size(); ++i) {
      if (discovery.objects[i] == name) return objects[i];
    }
    return objects.front();  // unreachable: every node was found under one of them
  };
  json::array nodes;
  json::array commands;
  for (const DiscoveredVariable& variable : discovery.variables) AddVariable(variable, object_of(variable.object), nodes, notes);
  for (const DiscoveredMethod& method : discovery.methods) AddMethod(method, object_of(method.object_name), commands, notes);
  json::array interfaces;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (objects[i].contents.empty()) continue;
    interfaces.push_back(json::object{{"@context", "dtmi:dtdl:context;3"},
                                      {"@id", fmt::format("dtmi:doppel:opcua:{};1", DtmiSegment(discovery.objects[i]))},
                                      {"@type", "Interface"},
                                      {"displayName", std::string(BareName(discovery.objects[i]))},
                                      {"contents", std::move(objects[i].contents)}});
  }
  json::object connector{{"type", "opcua"}, {"name", "opcua-1"}, {"endpoint", endpoint}, {"publishingIntervalMs", 100},
                         {"nodes", std::move(nodes)}};
  if (!commands.empty()) connector["commands"] = std::move(commands);
  return json::object{{"connector", std::move(connector)}, {"interfaces", std::move(interfaces)}};
}

void AddOpcUaCommand(CLI::App& app, const std::function<void(std::function<int()>)>& set_action) {
  auto* opcua = app.add_subcommand("opcua", "OPC UA tools (docs/opcua.md)");
  opcua->require_subcommand(1);
  auto flags = std::make_shared<DiscoverFlags>();
  auto* discover = opcua->add_subcommand(
      "discover", "Browse an OPC UA server and print a suggested connector mapping and DTDL interfaces");
  discover->add_option("endpoint", flags->endpoint, "opc.tcp://host:port/path")->required();
  discover->add_option("--user", flags->user, "User name (default: anonymous)");
  discover->add_option("--password", flags->password, "Password of --user");
  discover->add_option("--watch-ms", flags->watch_ms, "How long to watch values to tell telemetry from properties")
      ->check(CLI::Range(0, 600'000))
      ->capture_default_str();
  discover->add_option("--name", flags->name, "The connector's name in the suggestion")->capture_default_str();
  discover->callback([flags, set_action] { set_action([flags] { return RunDiscover(*flags); }); });
}

}  // namespace doppel::app
