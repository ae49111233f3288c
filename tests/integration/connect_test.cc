// The physical side through the real binary: a real Mosquitto, `doppel serve --config` with an
// MQTT connector, messages published with mosquitto_pub, read back over HTTP.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <thread>

#include "support/mosquitto_broker.h"
#include "test_models.h"

namespace doppel::testing {
namespace {

// Publishes one QoS 1 message with the mosquitto_pub client (mosquitto-clients).
void Publish(int port, const std::string& topic, const std::string& payload) {
  std::string escaped;
  for (char c : payload) escaped += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  std::string command = "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(port) + " -q 1 -t '" + topic + "' -m '" +
                        escaped + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

// Polls `probe` until it returns true or 15 s pass.
bool Eventually(const std::function<bool()>& probe) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return probe();
}

TEST(ConnectTest, MqttReadingsAndPropertiesReachTheTwinThroughTheServersConnector) {
  auto broker = MosquittoBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  TempDir dir;
  const std::string config = dir.Sub("doppel.json");
  WriteFile(config, R"({"connectors": [{"name": "it", "broker": ")" + (*broker)->url() +
                        R"(", "clientId": "doppel-it", "mappings": [
      {"topic": "doppel/+/{twinId}/telemetry", "timestamp": {"field": "ts", "format": "rfc3339"}},
      {"topic": "doppel/+/{twinId}/properties", "target": "properties"}]}]})");
  auto server = ServerProcess::Start(dir.Sub("data"), {"--config", config});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = Connect((*server)->url());
  ASSERT_EQ(Send(*http, "POST", "/models", kTestModels).status, 201);
  ASSERT_EQ(Send(*http, "PUT", "/digitaltwins/m-1", SensorTwin(20)).status, 200);
  ASSERT_TRUE(Eventually([&] {
    auto r = Send(*http, "GET", "/connectors/it");
    return r.status == 200 && Json(r.body).at("subscribed").as_bool();
  })) << (*broker)->Log();

  const int port = (*broker)->port();
  Publish(port, "doppel/site/m-1/telemetry", R"({"ts": "2026-11-25T10:00:00Z", "temperature": 21.5})");
  ASSERT_TRUE(Eventually([&] {
    const json::value body = Json(Send(*http, "GET", "/digitaltwins/m-1/telemetry").body);
    const json::object& t = body.at("telemetry").as_object();
    return t.contains("temperature") && t.at("temperature").at("value").to_number<double>() == 21.5;
  }));
  auto live = Json(Send(*http, "GET", "/digitaltwins/m-1/telemetry").body);
  EXPECT_EQ(live.at("telemetry").at("temperature").at("time").as_string(), "2026-11-25T10:00:00Z");

  Publish(port, "doppel/site/m-1/properties", R"({"label": "from-mqtt"})");
  ASSERT_TRUE(Eventually([&] {
    return Json(Send(*http, "GET", "/digitaltwins/m-1").body).at("label").as_string() == "from-mqtt";
  }));

  // A malformed message is refused and counted; the connector keeps going.
  Publish(port, "doppel/site/m-1/telemetry", "{not json");
  Publish(port, "doppel/site/m-1/telemetry", R"({"ts": "2026-11-25T10:00:01Z", "temperature": 22})");
  ASSERT_TRUE(Eventually([&] {
    const json::value body = Json(Send(*http, "GET", "/connectors/it").body);
    const json::object& c = body.as_object();
    return c.at("rejected").at("malformed_payload").to_number<int64_t>() == 1 &&
           c.at("messagesAccepted").to_number<int64_t>() == 3;
  })) << Send(*http, "GET", "/connectors/it").body;
  std::string metrics = Send(*http, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("doppel_mqtt_rejected_total{connector=\"it\",reason=\"malformed_payload\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(Send(*http, "GET", "/connectors/nope").status, 404);
  json::value health = Json(Send(*http, "GET", "/healthz").body);
  EXPECT_EQ(ToJson(health.at("connectors")), R"([{"name":"it","connected":true}])");
  EXPECT_EQ((*server)->Stop().value(), 0);
}

// /ws through the real binary: a WebSocket client subscribes to a twin and receives the
// telemetry a line-protocol write stores.
TEST(ConnectTest, WebSocketSubscriberReceivesTelemetryWrittenOverHttp) {
  namespace beast = boost::beast;
  namespace websocket = beast::websocket;
  using tcp = boost::asio::ip::tcp;
  TempDir dir;
  auto server = ServerProcess::Start(dir.Sub("data"));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = Connect((*server)->url());
  ASSERT_EQ(Send(*http, "POST", "/models", kTestModels).status, 201);
  ASSERT_EQ(Send(*http, "PUT", "/digitaltwins/w-1", SensorTwin(20)).status, 200);

  const std::string hostport = (*server)->url().substr(std::string("http://").size());
  const std::string host = hostport.substr(0, hostport.rfind(':'));
  const std::string port = hostport.substr(hostport.rfind(':') + 1);
  boost::asio::io_context ioc;
  tcp::resolver resolver(ioc);
  websocket::stream<tcp::socket> ws(ioc);
  boost::asio::connect(ws.next_layer(), resolver.resolve(host, port));
  ws.handshake(hostport, "/ws");
  auto read = [&ws] {
    beast::flat_buffer buffer;
    ws.read(buffer);
    return Json(beast::buffers_to_string(buffer.data()));
  };
  ws.write(boost::asio::buffer(std::string(R"({"op": "subscribe", "id": "s1", "twins": ["w-1"]})")));
  json::value subscribed = read();
  EXPECT_EQ(subscribed.at("type").as_string(), "subscribed") << ToJson(subscribed);

  ASSERT_EQ(Send(*http, "POST", "/write", "m,twin=w-1 temperature=23.5 1764064800000000000").status, 204);
  json::value pushed = read();
  EXPECT_EQ(pushed.at("type").as_string(), "telemetry") << ToJson(pushed);
  EXPECT_EQ(pushed.at("twin").as_string(), "w-1");
  EXPECT_EQ(pushed.at("path").as_string(), "temperature");
  EXPECT_EQ(pushed.at("value").to_number<double>(), 23.5);
  ws.close(websocket::close_code::normal);
  EXPECT_EQ((*server)->Stop().value(), 0);
}

}  // namespace
}  // namespace doppel::testing
