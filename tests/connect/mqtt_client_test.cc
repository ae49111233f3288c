// Doppel's MQTT client against a real Mosquitto: the PUBACK leaves only after the batch was
// handled (a crash inside the handler gets the messages again), QoS 1 publishing, and TLS to
// the broker (verified, wrong CA, client certificates).
#include "connect/mqtt/internal/mqtt_client.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "base/clock.h"
#include "connect/mqtt/mqtt_connector.h"
#include "ingest/ingestor.h"
#include "support/mosquitto_broker.h"
#include "support/test_ca.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::connect::mqtt {
namespace {

using namespace std::chrono_literals;
using internal::InboundMessage;
using internal::MqttClient;
using internal::MqttClientHandlers;
using internal::MqttClientOptions;

bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

MqttClientOptions Options(int port, std::string client_id, std::vector<internal::SubscribeRequest> subscriptions) {
  MqttClientOptions o;
  o.name = client_id;
  o.host = "127.0.0.1";
  o.port = port;
  o.connect.client_id = std::move(client_id);
  o.connect.session_expiry_seconds = 3600;
  o.connect.maximum_packet_size = static_cast<uint32_t>(o.max_packet_size);
  o.connect.topic_alias_maximum = 16;
  o.subscriptions = std::move(subscriptions);
  return o;
}

// Collects what a subscribing client receives.
struct Inbox {
  std::mutex mu;
  std::multiset<std::string> payloads;  // guarded by mu
  std::atomic<bool> subscribed{false};

  MqttClientHandlers Handlers() {
    return {.on_batch =
                [this](std::span<const InboundMessage> batch) {
                  std::lock_guard lock(mu);
                  for (const InboundMessage& m : batch) payloads.insert(std::string(m.payload));
                },
            .on_connected = [](bool) {},
            .on_subscribed = [this] { subscribed = true; },
            .on_error = [](const std::string&) {}};
  }
  std::size_t distinct() {
    std::lock_guard lock(mu);
    return std::set<std::string>(payloads.begin(), payloads.end()).size();
  }
};

TEST(MqttClientTest, PublishesAtQos1AndRefusesWhenNotConnected) {
  auto broker = testing::MosquittoBroker::Start().value();
  Inbox inbox;
  MqttClient subscriber(Options(broker->port(), "doppel-client-sub", {{"t/#", 1}}), inbox.Handlers());
  ASSERT_TRUE(subscriber.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return inbox.subscribed.load(); })) << broker->Log();

  MqttClient publisher(Options(broker->port(), "doppel-client-pub", {}), {});
  EXPECT_EQ(publisher.Publish("t/a", "x", 1s).code(), StatusCode::kUnavailable);  // not started
  ASSERT_TRUE(publisher.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return publisher.connected(); })) << broker->Log();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(publisher.Publish("t/a", "m" + std::to_string(i), 10s).ok());
  EXPECT_TRUE(WaitFor([&] { return inbox.distinct() == 100; }));
  publisher.Stop();
  EXPECT_EQ(publisher.Publish("t/a", "late", 1s).code(), StatusCode::kUnavailable);
  subscriber.Stop();
}

// The guarantee the connector's durability rests on: a process that dies while handling a
// batch has acknowledged none of it, so the broker sends all of it again to the next session.
TEST(MqttClientTest, AcknowledgesABatchOnlyAfterItWasHandled) {
  auto broker = testing::MosquittoBroker::Start().value();
  tsdb::testing::TempDir dir;
  const std::string ready = dir.path() + "/ready";
  const std::string client_id = "doppel-ack-probe";
  // Forked before this process starts threads of its own (the clients come later).
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    MqttClientHandlers handlers{.on_batch = [](std::span<const InboundMessage>) { ::_exit(0); },  // "crash"
                                .on_connected = [](bool) {},
                                .on_subscribed = [&] { std::ofstream(ready) << "ready\n"; },
                                .on_error = [](const std::string&) {}};
    MqttClient client(Options(broker->port(), client_id, {{"probe/#", 1}}), std::move(handlers));
    if (!client.Start().ok()) ::_exit(2);
    while (true) ::pause();
  }
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(ready); }));

  MqttClient publisher(Options(broker->port(), "doppel-ack-publisher", {}), {});
  ASSERT_TRUE(publisher.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return publisher.connected(); }));
  constexpr int kMessages = 50;
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(publisher.Publish("probe/x", "m" + std::to_string(i), 10s).ok());
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child did not die in its handler";

  // The same session again: everything comes, the batch the child died in included.
  Inbox inbox;
  MqttClient again(Options(broker->port(), client_id, {{"probe/#", 1}}), inbox.Handlers());
  ASSERT_TRUE(again.Start().ok());
  EXPECT_TRUE(WaitFor([&] { return inbox.distinct() == kMessages; })) << inbox.distinct() << "\n" << broker->Log();
  again.Stop();
  publisher.Stop();
}

// Stop while a batch is being handled: the batch finishes and is acknowledged before the
// DISCONNECT, so the next session gets only what the first never handled.
TEST(MqttClientTest, StopFinishesTheBatchInHandAndAcknowledgesIt) {
  auto broker = testing::MosquittoBroker::Start().value();
  const std::string client_id = "doppel-stop-probe";
  std::promise<void> in_batch, release;
  std::shared_future<void> released = release.get_future().share();
  std::mutex mu;
  std::set<std::string> handled_first;  // guarded by mu
  std::atomic<bool> subscribed{false};
  MqttClientHandlers handlers{.on_batch =
                                  [&](std::span<const InboundMessage> batch) {
                                    bool first = false;
                                    {
                                      std::lock_guard lock(mu);
                                      first = handled_first.empty();
                                      for (const InboundMessage& m : batch) handled_first.insert(std::string(m.payload));
                                    }
                                    if (first) {
                                      in_batch.set_value();
                                      released.wait();  // Stop is called meanwhile
                                    }
                                  },
                              .on_connected = [](bool) {},
                              .on_subscribed = [&] { subscribed = true; },
                              .on_error = [](const std::string&) {}};
  MqttClient first(Options(broker->port(), client_id, {{"stop/#", 1}}), std::move(handlers));
  ASSERT_TRUE(first.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return subscribed.load(); }));

  MqttClient publisher(Options(broker->port(), "doppel-stop-publisher", {}), {});
  ASSERT_TRUE(publisher.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return publisher.connected(); }));
  constexpr int kMessages = 30;
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(publisher.Publish("stop/x", "m" + std::to_string(i), 10s).ok());
  ASSERT_EQ(in_batch.get_future().wait_for(30s), std::future_status::ready);
  std::thread stopper([&] { first.Stop(); });
  release.set_value();
  stopper.join();

  Inbox inbox;
  MqttClient second(Options(broker->port(), client_id, {{"stop/#", 1}}), inbox.Handlers());
  ASSERT_TRUE(second.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return inbox.subscribed.load(); }));
  // Queued messages come before a new one: once the sentinel is here, the rest has come.
  ASSERT_TRUE(publisher.Publish("stop/x", "sentinel", 10s).ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(inbox.mu);
    return inbox.payloads.contains("sentinel");
  }));
  std::lock_guard lock(mu);
  EXPECT_FALSE(handled_first.empty());
  std::lock_guard inbox_lock(inbox.mu);
  for (const std::string& p : handled_first) EXPECT_FALSE(inbox.payloads.contains(p)) << p << " came again";
  EXPECT_EQ(handled_first.size() + inbox.payloads.size() - 1, static_cast<std::size_t>(kMessages));
  second.Stop();
  publisher.Stop();
}

// ---- TLS to the broker ---------------------------------------------------------------------

class MqttTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = testing::TestCa::Create();
    ASSERT_TRUE(ca.ok()) << ca.status().ToString();
    ca_ = std::move(ca).value();
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
  }

  // A broker whose only listener speaks TLS with the test CA's server certificate.
  void StartBroker(bool require_certificate) {
    testing::MosquittoBrokerOptions options;
    options.extra_config = "cafile " + ca_->ca_cert_file() + "\ncertfile " + ca_->server_cert_file() + "\nkeyfile " +
                           ca_->server_key_file() + "\nrequire_certificate " +
                           (require_certificate ? "true" : "false") + "\n";
    auto broker = testing::MosquittoBroker::Start(options);
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
  }

  MqttConnectorConfig Config(const std::string& ca_file, bool client_cert) {
    json::object tls{{"ca", ca_file}};
    if (client_cert) {
      tls["cert"] = ca_->client_cert_file();
      tls["key"] = ca_->client_key_file();
    }
    json::object c{{"name", "tls"},
                   {"broker", "mqtts://127.0.0.1:" + std::to_string(broker_->port())},
                   {"clientId", "doppel-tls"},
                   {"tls", tls},
                   {"reconnect", json::object{{"minSeconds", 1}, {"maxSeconds", 1}}},
                   {"mappings", json::array{json::object{{"topic", "doppel/{twinId}/telemetry"}}}}};
    auto config = ParseMqttConnectorConfig(c);
    EXPECT_TRUE(config.ok()) << config.status().ToString();
    return config.value();
  }

  std::unique_ptr<testing::TestCa> ca_;
  std::unique_ptr<testing::MosquittoBroker> broker_;
  tsdb::testing::TempDir dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
};

TEST_F(MqttTlsTest, VerifiesTheBrokerAndReceivesOverTls) {
  StartBroker(/*require_certificate=*/false);
  MqttConnector connector(Config(ca_->ca_cert_file(), false), *ingestor_, graph_);
  ASSERT_TRUE(connector.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return connector.stats().subscribed; })) << ToJson(connector.HealthJson()) << broker_->Log();

  MqttClientOptions o = Options(broker_->port(), "doppel-tls-publisher", {});
  o.tls = TlsConfig{.ca_file = ca_->ca_cert_file(), .cert_file = "", .key_file = "", .insecure = false};
  MqttClient publisher(o, {});
  ASSERT_TRUE(publisher.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return publisher.connected(); }));
  ASSERT_TRUE(publisher.Publish("doppel/ghost/telemetry", R"({"power": 1})", 10s).ok());
  // Through the broker and over TLS both ways: refused only because the graph has no twins.
  EXPECT_TRUE(WaitFor([&] { return connector.stats().rejected_for(MqttRejectReason::kUnknownTwin) == 1; }));
  EXPECT_EQ(connector.stats().last_connection_error, "");
  connector.Stop();
}

TEST_F(MqttTlsTest, RefusesABrokerSignedByAnotherCa) {
  StartBroker(/*require_certificate=*/false);
  auto other = testing::TestCa::Create("Some Other CA").value();
  MqttConnector connector(Config(other->ca_cert_file(), false), *ingestor_, graph_);
  ASSERT_TRUE(connector.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return !connector.stats().last_connection_error.empty(); }));
  const std::string error = connector.stats().last_connection_error;
  EXPECT_EQ(error.rfind("tls handshake: certificate verify failed", 0), 0u) << error;
  // OpenSSL's verdict follows, e.g. "(self-signed certificate in certificate chain)".
  EXPECT_NE(error.find("certificate verify failed (SSL routines) ("), std::string::npos) << error;
  EXPECT_FALSE(connector.stats().connected);
  connector.Stop();
}

TEST_F(MqttTlsTest, PresentsAClientCertificateWhenTheBrokerRequiresOne) {
  StartBroker(/*require_certificate=*/true);
  MqttConnector with_cert(Config(ca_->ca_cert_file(), true), *ingestor_, graph_);
  ASSERT_TRUE(with_cert.Start().ok());
  EXPECT_TRUE(WaitFor([&] { return with_cert.stats().subscribed; })) << ToJson(with_cert.HealthJson())
                                                                     << broker_->Log();
  with_cert.Stop();

  MqttConnector without(Config(ca_->ca_cert_file(), false), *ingestor_, graph_);
  ASSERT_TRUE(without.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return !without.stats().last_connection_error.empty(); }));
  EXPECT_FALSE(without.stats().connected) << without.stats().last_connection_error;
  without.Stop();
}

TEST_F(MqttTlsTest, AnUnreadableCaFileIsAnErrorAtStart) {
  StartBroker(/*require_certificate=*/false);
  MqttConnector connector(Config(dir_.path() + "/missing.pem", false), *ingestor_, graph_);
  Status s = connector.Start();
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("tls: cannot use ca file '" + dir_.path() + "/missing.pem'"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace doppel::connect::mqtt
