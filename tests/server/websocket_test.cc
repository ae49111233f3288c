// /ws end to end: a real Beast WebSocket client against a real HttpServer carrying the
// DigitalTwinsApi and a StreamHub over a TwinGraph and an Ingestor (SeriesStore in a temp dir).
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "base/clock.h"
#include "ingest/ingestor.h"
#include "server/api.h"
#include "server/http_server.h"
#include "stream/stream_hub.h"
#include "stream/websocket_endpoint.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kSensor = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Sensor;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "temperature", "schema": "double"},
    {"@type": "Property", "name": "label", "schema": "string", "writable": true}]})";

// A WebSocket client whose reads give up after a timeout instead of hanging the test.
class WsClient {
 public:
  explicit WsClient(uint16_t port) : ws_(ioc_) {
    beast::get_lowest_layer(ws_).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  // The handshake's HTTP answer status (101 when upgraded).
  unsigned Handshake(std::string target = "/ws") {
    websocket::response_type res;
    beast::error_code ec;
    ws_.handshake(res, "127.0.0.1", target, ec);
    return res.result_int();
  }

  void Send(std::string_view text) {
    ws_.text(true);
    ws_.write(asio::buffer(text));
  }

  // The next message as JSON, or nullopt on timeout or close (see closed()).
  std::optional<json::object> Next(std::chrono::milliseconds timeout = 5s) {
    std::optional<std::string> text = NextText(timeout);
    if (!text) return std::nullopt;
    return J(*text).as_object();
  }

  std::optional<std::string> NextText(std::chrono::milliseconds timeout = 5s) {
    bool done = false;
    beast::error_code result;
    buffer_.consume(buffer_.size());
    ws_.async_read(buffer_, [&](beast::error_code ec, std::size_t) {
      done = true;
      result = ec;
    });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (!done) {
      beast::get_lowest_layer(ws_).cancel();
      ioc_.restart();
      ioc_.run();
      return std::nullopt;
    }
    if (result) {
      error_ = result;
      return std::nullopt;
    }
    return beast::buffers_to_string(buffer_.data());
  }

  beast::error_code error() const { return error_; }
  websocket::close_reason close_reason() const { return ws_.reason(); }

 private:
  asio::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  beast::error_code error_;
};

// One plain HTTP request on a fresh connection.
http::response<http::string_body> HttpCall(uint16_t port, http::verb method, std::string target,
                                           std::string body = "", std::string content_type = "application/json") {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req(method, target, 11);
  req.set(http::field::host, "127.0.0.1");
  if (!body.empty()) req.set(http::field::content_type, content_type);
  req.body() = std::move(body);
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return res;
}

class WebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(graph_.AddModels({J(kSensor)}).ok());
    for (std::string id : {"s-1", "s-2"}) {
      ASSERT_TRUE(graph_.PutTwin(id, J(R"({"$metadata": {"$model": "dtmi:test:Sensor;1"}})"), {}).ok());
    }
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
  }

  void StartServer(stream::StreamLimits limits = {}) {
    hub_ = std::make_unique<stream::StreamHub>(graph_, events_, *ingestor_, limits);
    ApiServices services;
    services.ingestor = ingestor_.get();
    services.metrics.push_back([this](std::string& out) { hub_->RenderMetrics(out); });
    api_ = std::make_unique<DigitalTwinsApi>(graph_, clock_, ApiOptions{}, services);
    HttpServerOptions options{.listen = "127.0.0.1:0", .threads = 2};
    options.websocket = stream::WebSocketEndpointFor(*hub_);
    server_ = std::make_unique<HttpServer>(options, [this](const HttpRequest& r) { return api_->Handle(r); });
    ASSERT_TRUE(server_->Start().ok());
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  std::unique_ptr<WsClient> Connect() {
    auto client = std::make_unique<WsClient>(server_->port());
    EXPECT_EQ(client->Handshake(), 101u);
    return client;
  }

  void Write(std::vector<ingest::Reading> readings) {
    Status s = ingestor_->Write(readings);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  tsdb::testing::TempDir dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<stream::StreamHub> hub_;
  std::unique_ptr<DigitalTwinsApi> api_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(WebSocketTest, SubscribeThenReceiveTwinPatchesAndTelemetry) {
  StartServer();
  auto client = Connect();
  client->Send(R"({"op":"subscribe","id":"mine","twins":["s-1"]})");
  EXPECT_EQ(client->Next(), J(R"({"type":"subscribed","id":"mine","twins":1})").as_object());

  auto patched = HttpCall(server_->port(), http::verb::patch, "/digitaltwins/s-1",
                          R"([{"op":"add","path":"/label","value":"north"}])", "application/json-patch+json");
  ASSERT_EQ(patched.result_int(), 204u) << patched.body();
  auto update = client->Next();
  ASSERT_TRUE(update);
  EXPECT_EQ(update->at("type"), "twin");
  EXPECT_EQ(update->at("subscription"), "mine");
  EXPECT_EQ(update->at("event"), "Twin.Update");
  EXPECT_EQ(update->at("twin"), "s-1");
  EXPECT_EQ(update->at("patch"), J(R"([{"op":"add","path":"/label","value":"north"}])"));
  auto metrics = HttpCall(server_->port(), http::verb::get, "/metrics");
  EXPECT_NE(metrics.body().find("doppel_ws_connections 1\n"), std::string::npos) << metrics.body();
  EXPECT_NE(metrics.body().find("doppel_ws_subscriptions 1\n"), std::string::npos);

  // Through the HTTP line-protocol endpoint, as Telegraf would write it.
  auto written = HttpCall(server_->port(), http::verb::post, "/write?precision=ns",
                          "sensor,twin=s-1 temperature=21.25 1700000000000000042\n"
                          "sensor,twin=s-2 temperature=99 1700000000000000043\n",
                          "text/plain");
  ASSERT_EQ(written.result_int(), 204u) << written.body();
  auto reading = client->Next();
  ASSERT_TRUE(reading);
  EXPECT_EQ(*reading, J(R"({"type":"telemetry","subscription":"mine","twin":"s-1","path":"temperature",
                            "time":"2023-11-14T22:13:20.000000042Z","value":21.25})").as_object());
}

TEST_F(WebSocketTest, UnsubscribeStopsMessages) {
  StartServer();
  auto client = Connect();
  client->Send(R"({"op":"subscribe","id":"a","twins":["s-1"]})");
  client->Send(R"({"op":"subscribe","id":"b","twins":["s-2"]})");
  ASSERT_EQ(client->Next()->at("id"), "a");
  ASSERT_EQ(client->Next()->at("id"), "b");
  client->Send(R"({"op":"unsubscribe","id":"a"})");
  EXPECT_EQ(client->Next(), J(R"({"type":"unsubscribed","id":"a"})").as_object());
  // s-1's reading would come first if "a" still delivered: s-2's proves the stream is live.
  Write({{"s-1", "temperature", 1, 1.5}});
  Write({{"s-2", "temperature", 2, 2.5}});
  auto next = client->Next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->at("subscription"), "b");
  EXPECT_EQ(next->at("twin"), "s-2");
  EXPECT_FALSE(client->Next(300ms));
}

TEST_F(WebSocketTest, MalformedOpsGetErrorFramesAndTheConnectionStays) {
  StartServer();
  auto client = Connect();
  client->Send("{oops");
  auto error = client->Next();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->at("type"), "error");
  EXPECT_NE(std::string(error->at("message").as_string()).find("invalid JSON"), std::string::npos);
  client->Send(R"({"op":"subscribe","id":"q","query":"SELECT T FROM DIGITALTWINS T WHERE"})");
  error = client->Next();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->at("type"), "error");
  EXPECT_NE(std::string(error->at("message").as_string()).find("column"), std::string::npos);
  client->Send(R"({"op":"subscribe","id":"q","query":"SELECT T FROM DIGITALTWINS T WHERE T.$dtId = 's-2'"})");
  EXPECT_EQ(client->Next(), J(R"({"type":"subscribed","id":"q","twins":1})").as_object());
}

TEST_F(WebSocketTest, OversizedClientMessageClosesWith1009) {
  StartServer({.max_message_bytes = 1024});
  auto client = Connect();
  client->Send(std::string(4096, ' '));
  EXPECT_FALSE(client->Next());
  // The close frame arrives; the rest of the oversized message is never read, so the
  // connection may end in a reset rather than a clean teardown.
  EXPECT_EQ(client->close_reason().code, websocket::close_code::too_big);
}

TEST_F(WebSocketTest, StopClosesClientsWithGoingAway) {
  StartServer();
  auto client = Connect();
  client->Send(R"({"op":"subscribe","id":"a","twins":["s-1"]})");
  ASSERT_TRUE(client->Next());
  EXPECT_EQ(hub_->counters().connections, 1u);
  // The client keeps reading while the server stops, as a live client does, so the close
  // handshake completes.
  std::thread stopper([&] { server_->Stop(); });
  EXPECT_FALSE(client->Next());
  stopper.join();
  EXPECT_EQ(client->error(), websocket::error::closed);
  EXPECT_EQ(client->close_reason().code, websocket::close_code::going_away);
  EXPECT_EQ(hub_->counters().connections, 0u);
  EXPECT_EQ(hub_->counters().subscriptions, 0u);
}

TEST_F(WebSocketTest, AClientThatStopsReadingIsCutOffWhileIngestGoesOn) {
  StartServer({.queue_capacity = 64, .disconnect_after_drops = 256});
  auto stalled = Connect();
  auto healthy = Connect();
  stalled->Send(R"({"op":"subscribe","id":"a","twins":["s-1"]})");
  healthy->Send(R"({"op":"subscribe","id":"h","twins":["s-2"]})");
  ASSERT_TRUE(stalled->Next());
  ASSERT_TRUE(healthy->Next());
  // `stalled` never reads again. Batches smaller than its queue: drops start once the
  // transport cannot drain, at the latest when the loopback socket buffers are full (~30 MB
  // of frames is far past them). Then the session is closed, and every Write returned.
  int batches = 0;
  for (; batches < 4000 && hub_->counters().slow_disconnects == 0; ++batches) {
    std::vector<ingest::Reading> batch;
    for (int i = 0; i < 50; ++i) batch.push_back({"s-1", "temperature", batches * 50 + i, 1.0});
    Write(batch);
  }
  EXPECT_EQ(hub_->counters().slow_disconnects, 1u) << "after " << batches << " batches of 50";
  EXPECT_GE(hub_->counters().messages_dropped, 256u);
  EXPECT_EQ(ingestor_->accepted(), static_cast<uint64_t>(batches) * 50);
  // The other client is unaffected.
  Write({{"s-2", "temperature", 5, 5.5}});
  auto reading = healthy->Next();
  ASSERT_TRUE(reading);
  EXPECT_EQ(reading->at("twin"), "s-2");
}

TEST_F(WebSocketTest, PlainGetOfWsIs426AndTooManyConnectionsIs429) {
  StartServer({.max_connections = 1});
  auto plain = HttpCall(server_->port(), http::verb::get, "/ws");
  EXPECT_EQ(plain.result_int(), 426u);
  EXPECT_EQ(plain[http::field::upgrade], "websocket");
  EXPECT_NE(plain.body().find("WebSocket"), std::string::npos);
  auto first = Connect();
  WsClient second(server_->port());
  EXPECT_EQ(second.Handshake(), 429u);
  // Other routes are untouched.
  EXPECT_EQ(HttpCall(server_->port(), http::verb::get, "/healthz").result_int(), 200u);
}

}  // namespace
}  // namespace doppel::server
