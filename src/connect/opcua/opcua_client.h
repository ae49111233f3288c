// Doppel's OPC UA client (docs/opcua.md): the binary protocol over opc.tcp, written here — no
// OPC UA library is packaged for Debian 12. It speaks UA TCP (Hello/Acknowledge, chunked
// messages), a secure channel (SecurityPolicy None; Basic256Sha256 Sign/SignAndEncrypt with
// OpenSSL is the next step), a session (anonymous or user name/password), and the services a
// twin platform needs: Browse, Read, Write, Call, and subscriptions with monitored items and the
// Publish loop. It reconnects by itself and re-creates its subscriptions.
//
//   OpcUaClient client({.endpoint = "opc.tcp://127.0.0.1:4840/doppel"});
//   DOPPEL_RETURN_IF_ERROR(client.Connect());                 // channel + session
//   auto values = client.Read({NodeId::Parse("ns=1;s=Temperature").value()});
//   client.Subscribe({.publishing_interval = 100ms}, items, [](std::span<const MonitoredValue> v) { ... });
//   client.Write(NodeId::Parse("ns=1;s=Setpoint").value(), Variant::Double(42));
//
// Hostile servers: every length, array size and string read from the wire is checked against
// the limits below before anything is allocated; a malformed message closes the connection with
// an error naming what was wrong ("ReadResponse: array of 2147483647 elements exceeds 1,000,000").
//
// Threads: the client has one I/O thread (its own). Every public method may be called from any
// other thread; calls block until the server answers or `request_timeout` passes. Data-change
// callbacks run on the client's thread and must not block or call the client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"

namespace doppel::connect::opcua {

// ns=<n>;i=<n> | ns=<n>;s=<string> | ns=<n>;g=<guid> | ns=<n>;b=<base64>; "i=85" (ns 0).
struct NodeId {
  uint16_t namespace_index = 0;
  std::variant<uint32_t, std::string> identifier = uint32_t{0};  // numeric, or string/guid/opaque text
  enum class Kind : uint8_t { kNumeric, kString, kGuid, kOpaque } kind = Kind::kNumeric;
  static Result<NodeId> Parse(std::string_view text);  // InvalidArgument naming the problem
  std::string ToString() const;
  bool operator==(const NodeId&) const = default;
};

// An OPC UA value: scalars and one-dimensional arrays of the built-in types a machine exposes.
struct Variant {
  enum class Type : uint8_t {
    kNull, kBoolean, kSByte, kByte, kInt16, kUInt16, kInt32, kUInt32, kInt64, kUInt64, kFloat, kDouble,
    kString, kDateTime, kStatusCode, kByteString, kNodeId, kLocalizedText, kQualifiedName, kOther
  };
  Type type = Type::kNull;
  bool is_array = false;
  // Scalars: one element. Numbers as double (Int64/UInt64 beyond 2^53 lose precision, stated
  // in docs/opcua.md); DateTime as ns since the Unix epoch; strings/text as UTF-8.
  std::vector<std::variant<std::monostate, bool, double, int64_t, std::string>> values;
  static Variant Double(double v);
  static Variant Boolean(bool v);
  static Variant String(std::string v);
  std::optional<double> AsNumber() const;  // scalar number or boolean
};

struct DataValue {
  Variant value;
  uint32_t status = 0;  // StatusCode: 0 Good; severity in the top two bits (0x80000000 Bad, 0x40000000 Uncertain)
  std::optional<int64_t> source_time_ns = {};
  std::optional<int64_t> server_time_ns = {};
  bool good() const { return (status >> 30) == 0; }
};
std::string StatusCodeName(uint32_t status);  // "Good", "BadNodeIdUnknown", ... or "0x80340000"

struct ReferenceDescription {
  NodeId node;
  std::string browse_name;   // "ns:name" without ns 0's prefix
  std::string display_name;
  enum class NodeClass : uint8_t { kUnspecified, kObject, kVariable, kMethod, kObjectType, kVariableType, kReferenceType, kDataType, kView } node_class = NodeClass::kUnspecified;
  NodeId type_definition;
  NodeId data_type = {};  // variables: their DataType (filled by Browse's follow-up Read)
  bool writable = false;  // variables: AccessLevel has CurrentWrite
};

struct MonitoredItemRequest {
  NodeId node;
  std::chrono::milliseconds sampling_interval{100};
  uint32_t queue_size = 10;
  double deadband_absolute = 0;  // 0 = every change
};

struct MonitoredValue {
  std::size_t item = 0;  // index into the Subscribe call's items
  DataValue value;
};

struct SubscriptionOptions {
  std::chrono::milliseconds publishing_interval{100};
  uint32_t keep_alive_count = 10;
  uint32_t lifetime_count = 100;
};

struct OpcUaClientOptions {
  std::string endpoint;                 // opc.tcp://host:port/path
  std::string user = {};                // "" = anonymous
  std::string password = {};
  std::string application_name = "Doppel";
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{30'000};
  // Limits against hostile servers.
  uint32_t max_message_bytes = 16u << 20;
  uint32_t max_chunk_count = 64;
  uint32_t max_array_length = 1'000'000;
  uint32_t max_string_bytes = 1u << 20;
};

class OpcUaClient {
 public:
  explicit OpcUaClient(OpcUaClientOptions options);
  ~OpcUaClient();  // Disconnect()
  OpcUaClient(const OpcUaClient&) = delete;
  OpcUaClient& operator=(const OpcUaClient&) = delete;

  // Opens the channel and the session (Unavailable when the server cannot be reached;
  // PermissionDenied for a refused identity). After a lost connection the client reconnects by
  // itself, re-creating its session and subscriptions.
  Status Connect();
  void Disconnect();  // CloseSession, CloseSecureChannel; idempotent; forgets the subscriptions
  bool connected() const;

  Result<std::vector<ReferenceDescription>> Browse(const NodeId& node);  // hierarchical, forward
  Result<std::vector<DataValue>> Read(std::span<const NodeId> nodes);     // the Value attribute
  Status Write(const NodeId& node, const Variant& value);  // the server's StatusCode as an error
  // Calls a method on an object; answers its output arguments.
  Result<std::vector<Variant>> Call(const NodeId& object, const NodeId& method, std::span<const Variant> inputs);

  using DataHandler = std::function<void(std::span<const MonitoredValue> values)>;
  // Creates a subscription with these items (re-created after a reconnect); answers its id.
  // Items the server refuses are reported in the error with their node ids.
  Result<uint32_t> Subscribe(const SubscriptionOptions& options, std::vector<MonitoredItemRequest> items,
                             DataHandler on_data);

  struct Counters {
    uint64_t connects = 0;
    uint64_t reconnects = 0;
    uint64_t notifications = 0;  // monitored values delivered
    uint64_t protocol_errors = 0;
  };
  Counters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace doppel::connect::opcua
