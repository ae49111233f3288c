// The OPC UA client against a real server: node-opcua's test machine (tests/opcua/server.mjs).
#include "connect/opcua/opcua_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "opcua_test_server.h"

namespace doppel::connect::opcua {
namespace {

using testing::OpcUaTestServer;
using namespace std::chrono_literals;

NodeId Id(std::string_view text) { return NodeId::Parse(text).value(); }

// Collects monitored values delivered on the client's thread.
class Collector {
 public:
  OpcUaClient::DataHandler Handler() {
    return [this](std::span<const MonitoredValue> values) {
      std::lock_guard lock(mu_);
      received_.insert(received_.end(), values.begin(), values.end());
      cv_.notify_all();
    };
  }
  // Waits (up to a minute, so a slow machine passes) until `n` values of `item` arrived.
  bool WaitFor(std::size_t item, std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 60s, [&] { return Count(item) >= n; });
  }
  std::vector<MonitoredValue> Of(std::size_t item) {
    std::lock_guard lock(mu_);
    std::vector<MonitoredValue> out;
    for (const auto& v : received_) {
      if (v.item == item) out.push_back(v);
    }
    return out;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    received_.clear();
  }

 private:
  std::size_t Count(std::size_t item) const {
    return std::count_if(received_.begin(), received_.end(), [&](const auto& v) { return v.item == item; });
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<MonitoredValue> received_;
};

class OpcUaClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = OpcUaTestServer::Start();
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  OpcUaClientOptions Options() const { return {.endpoint = server_->url(), .request_timeout = 10'000ms}; }

  static OpcUaTestServer* server_;
};
OpcUaTestServer* OpcUaClientTest::server_ = nullptr;

TEST_F(OpcUaClientTest, ReadsValuesWithTimestamps) {
  OpcUaClient client(Options());
  ASSERT_TRUE(client.Connect().ok());
  EXPECT_TRUE(client.connected());
  const std::vector<NodeId> nodes = {Id("ns=1;s=Temperature"), Id("ns=1;s=State"), Id("ns=1;s=Counter"),
                                     Id("ns=1;s=Spectrum"), Id("ns=1;s=NoSuchNode")};
  auto values = client.Read(nodes);
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  ASSERT_EQ(values->size(), 5u);
  const DataValue& temperature = (*values)[0];
  EXPECT_TRUE(temperature.good());
  EXPECT_EQ(temperature.value.type, Variant::Type::kDouble);
  ASSERT_TRUE(temperature.value.AsNumber().has_value());
  EXPECT_GT(*temperature.value.AsNumber(), 50);
  EXPECT_LT(*temperature.value.AsNumber(), 70);
  ASSERT_TRUE(temperature.source_time_ns.has_value());
  ASSERT_TRUE(temperature.server_time_ns.has_value());
  EXPECT_GT(*temperature.source_time_ns, int64_t{1'600'000'000} * 1'000'000'000);  // after 2020

  EXPECT_EQ((*values)[1].value.type, Variant::Type::kString);
  EXPECT_FALSE(std::get<std::string>((*values)[1].value.values.at(0)).empty());
  EXPECT_EQ((*values)[2].value.type, Variant::Type::kUInt32);
  EXPECT_TRUE((*values)[3].value.is_array);
  EXPECT_EQ((*values)[3].value.values.size(), 10u);
  EXPECT_FALSE((*values)[4].good());
  EXPECT_EQ(StatusCodeName((*values)[4].status), "BadNodeIdUnknown");
}

TEST_F(OpcUaClientTest, WritesAWritableVariableAndRefusesAReadOnlyOne) {
  OpcUaClient client(Options());
  ASSERT_TRUE(client.Connect().ok());
  const NodeId setpoint = Id("ns=1;s=Setpoint");
  ASSERT_TRUE(client.Write(setpoint, Variant::Double(1234.5)).ok());
  auto values = client.Read(std::span(&setpoint, 1));
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ((*values)[0].value.AsNumber(), 1234.5);

  // Server.NamespaceArray is read-only on every server.
  Status refused = client.Write(Id("i=2255"), Variant::String("x"));
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied) << refused.ToString();
  Status unknown = client.Write(Id("ns=1;s=NoSuchNode"), Variant::Double(1));
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound) << unknown.ToString();
  EXPECT_NE(unknown.message().find("BadNodeIdUnknown"), std::string::npos) << unknown.message();
}

TEST_F(OpcUaClientTest, BrowsesTheMachineWithDataTypesAndAccess) {
  OpcUaClient client(Options());
  ASSERT_TRUE(client.Connect().ok());
  auto objects = client.Browse(Id("i=85"));
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  auto machine = std::find_if(objects->begin(), objects->end(), [](const auto& r) { return r.browse_name == "1:Machine"; });
  ASSERT_NE(machine, objects->end());
  EXPECT_EQ(machine->node, Id("ns=1;s=Machine"));
  EXPECT_EQ(machine->node_class, ReferenceDescription::NodeClass::kObject);

  auto children = client.Browse(Id("ns=1;s=Machine"));
  ASSERT_TRUE(children.ok()) << children.status().ToString();
  auto find = [&](std::string_view name) {
    auto it = std::find_if(children->begin(), children->end(), [&](const auto& r) { return r.display_name == name; });
    return it == children->end() ? nullptr : &*it;
  };
  for (const char* name : {"Temperature", "Speed", "Setpoint", "State", "Counter", "Spectrum", "Quality", "Reset"}) {
    EXPECT_NE(find(name), nullptr) << name;
  }
  ASSERT_NE(find("Temperature"), nullptr);
  EXPECT_EQ(find("Temperature")->node_class, ReferenceDescription::NodeClass::kVariable);
  EXPECT_EQ(find("Temperature")->data_type, Id("i=11"));  // Double
  ASSERT_NE(find("Setpoint"), nullptr);
  EXPECT_TRUE(find("Setpoint")->writable);
  ASSERT_NE(find("Counter"), nullptr);
  EXPECT_EQ(find("Counter")->data_type, Id("i=7"));  // UInt32
  ASSERT_NE(find("Reset"), nullptr);
  EXPECT_EQ(find("Reset")->node_class, ReferenceDescription::NodeClass::kMethod);
  EXPECT_EQ(find("Reset")->node, Id("ns=1;s=Reset"));
}

TEST_F(OpcUaClientTest, CallsAMethodWithArguments) {
  OpcUaClient client(Options());
  ASSERT_TRUE(client.Connect().ok());
  const Variant code = Variant::String("t42");
  auto out = client.Call(Id("ns=1;s=Machine"), Id("ns=1;s=Reset"), std::span(&code, 1));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].type, Variant::Type::kBoolean);
  EXPECT_EQ((*out)[0].AsNumber(), 1.0);
  const NodeId state = Id("ns=1;s=State");
  auto values = client.Read(std::span(&state, 1));
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(std::get<std::string>((*values)[0].value.values.at(0)), "Reset:t42");

  const Variant empty = Variant::String("");
  out = client.Call(Id("ns=1;s=Machine"), Id("ns=1;s=Reset"), std::span(&empty, 1));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].AsNumber(), 0.0);

  auto missing = client.Call(Id("ns=1;s=Machine"), Id("ns=1;s=Reset"), {});
  EXPECT_FALSE(missing.ok());
}

TEST_F(OpcUaClientTest, SubscribesAndReceivesDataChanges) {
  OpcUaClient client(Options());
  ASSERT_TRUE(client.Connect().ok());
  Collector collector;
  auto id = client.Subscribe({.publishing_interval = 100ms},
                             {{.node = Id("ns=1;s=Temperature")}, {.node = Id("ns=1;s=Counter"), .sampling_interval = 200ms}},
                             collector.Handler());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(collector.WaitFor(0, 10));
  ASSERT_TRUE(collector.WaitFor(1, 2));
  const auto temperatures = collector.Of(0);
  for (const auto& v : temperatures) {
    EXPECT_TRUE(v.value.good());
    ASSERT_TRUE(v.value.value.AsNumber().has_value());
    EXPECT_TRUE(v.value.source_time_ns.has_value());
  }
  // Source timestamps move forward: these are fresh samples, not one value repeated.
  EXPECT_LT(*temperatures.front().value.source_time_ns, *temperatures.back().value.source_time_ns);
  EXPECT_GE(client.counters().notifications, 12u);
}

TEST_F(OpcUaClientTest, RefusedMonitoredItemsAreNamed) {
  OpcUaClient client(Options());
  ASSERT_TRUE(client.Connect().ok());
  auto id = client.Subscribe({}, {{.node = Id("ns=1;s=Temperature")}, {.node = Id("ns=1;s=Nope")}},
                             [](std::span<const MonitoredValue>) {});
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("ns=1;s=Nope"), std::string::npos) << id.status().message();
}

TEST_F(OpcUaClientTest, UserNameLogin) {
  OpcUaClientOptions options = Options();
  options.user = "operator";
  options.password = "secret";
  OpcUaClient client(options);
  ASSERT_TRUE(client.Connect().ok());
  const NodeId speed = Id("ns=1;s=Speed");
  EXPECT_TRUE(client.Read(std::span(&speed, 1)).ok());

  options.password = "wrong";
  OpcUaClient refused(options);
  Status s = refused.Connect();
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_FALSE(refused.connected());
}

TEST_F(OpcUaClientTest, DisconnectThenRequestsAreUnavailable) {
  OpcUaClient client(Options());
  ASSERT_TRUE(client.Connect().ok());
  client.Disconnect();
  client.Disconnect();  // idempotent
  EXPECT_FALSE(client.connected());
  const NodeId speed = Id("ns=1;s=Speed");
  EXPECT_EQ(client.Read(std::span(&speed, 1)).status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(client.Connect().ok());  // the same client connects again
  EXPECT_TRUE(client.Read(std::span(&speed, 1)).ok());
  EXPECT_EQ(client.counters().connects, 2u);
}

TEST_F(OpcUaClientTest, AnAbsoluteDeadbandHoldsBackSmallChanges) {
  OpcUaClient client(Options());
  ASSERT_TRUE(client.Connect().ok());
  Collector collector;
  // Quality rises by 0.001 every 100 ms: a deadband of 1000 lets only the first value through.
  auto id = client.Subscribe({.publishing_interval = 100ms},
                             {{.node = Id("ns=1;s=Speed")}, {.node = Id("ns=1;s=Quality"), .deadband_absolute = 1000}},
                             collector.Handler());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(collector.WaitFor(0, 15));
  EXPECT_EQ(collector.Of(1).size(), 1u);
}

TEST(OpcUaClientNoServerTest, UnreachableEndpointIsUnavailable) {
  // Port 1: nothing listens there on a test machine.
  OpcUaClient client({.endpoint = "opc.tcp://127.0.0.1:1/none", .request_timeout = 2'000ms});
  Status s = client.Connect();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  OpcUaClient bad({.endpoint = "http://127.0.0.1:4840"});
  EXPECT_EQ(bad.Connect().code(), StatusCode::kInvalidArgument);
}

TEST(OpcUaClientReconnectTest, ReconnectsAndResubscribesAfterTheServerRestarts) {
  auto server = OpcUaTestServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const int port = (*server)->port();
  OpcUaClient client({.endpoint = (*server)->url(), .request_timeout = 5'000ms, .reconnect_min = 100ms,
                      .reconnect_max = 1'000ms});
  ASSERT_TRUE(client.Connect().ok());
  Collector collector;
  ASSERT_TRUE(client.Subscribe({}, {{.node = Id("ns=1;s=Speed")}}, collector.Handler()).ok());
  ASSERT_TRUE(collector.WaitFor(0, 3));

  (*server)->Kill();
  for (int i = 0; i < 600 && client.connected(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_FALSE(client.connected());
  const NodeId speed = Id("ns=1;s=Speed");
  EXPECT_EQ(client.Read(std::span(&speed, 1)).status().code(), StatusCode::kUnavailable);

  auto again = OpcUaTestServer::Start(port);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  collector.Clear();
  ASSERT_TRUE(collector.WaitFor(0, 3));  // the subscription was re-created
  EXPECT_TRUE(client.connected());
  EXPECT_TRUE(client.Read(std::span(&speed, 1)).ok());
  EXPECT_GE(client.counters().reconnects, 1u);
  EXPECT_EQ(client.counters().connects, client.counters().reconnects + 1);
}

}  // namespace
}  // namespace doppel::connect::opcua
