// `doppel opcua discover <endpoint>`: browses an OPC UA server from its Objects folder and
// prints a starting point for connecting it (docs/opcua.md, "Discovery"): one JSON document
//
//   {"connector": {"type": "opcua", "name", "endpoint", "nodes": [...], "commands": [...]},
//    "interfaces": [<one DTDL v3 interface per object found under Objects>]}
//
// Variables become DTDL contents by what they do: numeric variables whose value changes
// while discovery watches (--watch-ms, default 1500 ms) are Telemetry; writable variables are
// writable Properties (mapped with "write": true); other scalars are read-only Properties;
// methods are Commands (argument types cannot be read over the wire yet: each is proposed as a
// string, stated on stderr). Arrays and types history cannot keep are left out, named on stderr.
// Twin ids and names are derived from browse names ("Machine" → twin "machine", "Temperature"
// → "temperature"); edit them before use.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "connect/opcua/opcua_client.h"

namespace CLI {
class App;
}

namespace doppel::app {

// Adds the `opcua` subcommand (with `discover`) to `app`; as AddDevsimCommand.
void AddOpcUaCommand(CLI::App& app, const std::function<void(std::function<int()>)>& set_action);

// What discovery found, before it is printed (for tests).
struct DiscoveredVariable {
  connect::opcua::ReferenceDescription node;
  std::string object;  // browse name of the top-level object it belongs to
  connect::opcua::DataValue first;
  connect::opcua::DataValue second;  // after the watch period
};
struct DiscoveredMethod {
  connect::opcua::NodeId object;  // the object it is called on
  std::string object_name;        // top-level object's browse name
  connect::opcua::ReferenceDescription method;
  std::size_t inputs = 0;  // number of input arguments
};
struct Discovery {
  std::vector<std::string> objects;  // top-level objects, in browse order
  std::vector<DiscoveredVariable> variables;
  std::vector<DiscoveredMethod> methods;
  std::vector<std::string> notes;  // what was left out and why
};

// The document described above; `notes` receives what was left out.
json::object SuggestMapping(const Discovery& discovery, const std::string& endpoint, std::vector<std::string>& notes);

}  // namespace doppel::app
