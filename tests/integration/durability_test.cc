// Persistence as an operator sees it: a write the server acknowledged survives kill -9, and
// everything survives a graceful restart.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "test_models.h"

namespace doppel::testing {
namespace {

using client::HttpClient;
using client::HttpResponse;

inline constexpr const char* kCounterModel = R"([{
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:doppel:test:Counter;1", "@type": "Interface",
  "contents": [{"@type": "Property", "name": "value", "schema": "long", "writable": true}]}])";

std::string CounterTwin(int64_t value) {
  return ToJson(json::object{{"$metadata", json::object{{"$model", "dtmi:doppel:test:Counter;1"}}},
                             {"value", value}});
}

std::string ValuePatch(int64_t value) {
  return ToJson(json::array{json::object{{"op", "replace"}, {"path", "/value"}, {"value", value}}});
}

// What one writer knows about one twin it owns: the last value the server acknowledged and
// the last value it tried. After a crash the twin may hold either, or anything between.
struct TwinWrites {
  std::optional<int64_t> acked;
  int64_t attempted = -1;
  int acks = 0;
};

// Writes twins dur-<writer>-<n> (PUT once, then PATCHes with a rising value) until the
// server stops answering or `stop` is set.
void Writer(const std::string& url, int writer, std::atomic<bool>& stop,
            std::map<std::string, TwinWrites>& log) {
  client::HttpClientOptions options;
  options.request_timeout = std::chrono::milliseconds(10000);
  auto http = HttpClient::Create(url, options);
  if (!http.ok()) return;
  constexpr int kTwinsPerWriter = 20;
  for (int64_t seq = 1; !stop.load(); ++seq) {
    std::string id = "dur-" + std::to_string(writer) + "-" + std::to_string(seq % kTwinsPerWriter);
    TwinWrites& twin = log[id];
    twin.attempted = seq;
    bool exists = twin.acked.has_value();
    auto r = exists ? (*http)->Patch(TwinPath(id), ValuePatch(seq),
                                     {{"Content-Type", "application/json-patch+json"}})
                    : (*http)->Put(TwinPath(id), CounterTwin(seq));
    if (!r.ok()) return;  // the server is gone
    if (r->status >= 200 && r->status < 300) {
      twin.acked = seq;
      ++twin.acks;
    } else if (r->status >= 500) {
      return;
    }
  }
}

TEST(DurabilityTest, AcknowledgedWritesSurviveKillNine) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.Sub("data"));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  {
    auto http = Connect((*server)->url());
    HttpResponse r = Send(*http, "POST", "/models", kCounterModel);
    ASSERT_EQ(r.status, 201) << r.body;
  }

  constexpr int kWriters = 3;
  std::atomic<bool> stop{false};
  std::vector<std::map<std::string, TwinWrites>> logs(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back(Writer, (*server)->url(), w, std::ref(stop), std::ref(logs[w]));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  (*server)->Kill();  // mid-load: the writers are still sending
  stop = true;
  for (auto& t : writers) t.join();
  std::string output = (*server)->Output();
  server->reset();

  std::size_t acked_twins = 0, acks = 0;
  for (const auto& log : logs) {
    for (const auto& [id, writes] : log) {
      acked_twins += writes.acked.has_value();
      acks += static_cast<std::size_t>(writes.acks);
    }
  }
  std::cout << acks << " writes to " << acked_twins << " twins acknowledged before the kill\n";
  ASSERT_GT(acked_twins, 0u) << "no write was acknowledged before the kill; server output:\n"
                             << output;

  auto restarted = ServerProcess::Start(dir.Sub("data"));
  ASSERT_TRUE(restarted.ok()) << restarted.status().ToString();
  auto http = Connect((*restarted)->url());
  for (const auto& log : logs) {
    for (const auto& [id, writes] : log) {
      HttpResponse r = Send(*http, "GET", TwinPath(id));
      if (!writes.acked) {
        EXPECT_TRUE(r.status == 200 || r.status == 404) << id << ": " << r.status;
        continue;
      }
      ASSERT_EQ(r.status, 200) << id << " was acknowledged (value " << *writes.acked
                               << ") but is gone";
      int64_t value = Json(r.body).at("value").to_number<int64_t>();
      EXPECT_GE(value, *writes.acked) << id << " lost its acknowledged value";
      EXPECT_LE(value, writes.attempted) << id << " holds a value never written";
    }
  }
}

TEST(RestartTest, GracefulStopKeepsModelsTwinsAndRelationships) {
  TempDir dir;
  std::string etag;
  {
    auto server = ServerProcess::Start(dir.Sub("data"));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    auto http = Connect((*server)->url());
    ASSERT_EQ(Send(*http, "POST", "/models", kTestModels).status, 201);
    ASSERT_EQ(Send(*http, "PUT", TwinPath("r-1"), SensorTwin(1.5, "one")).status, 200);
    ASSERT_EQ(Send(*http, "PUT", TwinPath("r-2"), SensorTwin(2.5, "two")).status, 200);
    ASSERT_EQ(Send(*http, "PUT", TwinPath("r-gone"), SensorTwin(0, "deleted")).status, 200);
    ASSERT_EQ(Send(*http, "PUT", TwinPath("r-1") + "/relationships/r1-r2",
                   R"({"$relationshipName": "feeds", "$targetId": "r-2", "weight": 3})")
                  .status,
              200);
    HttpResponse patched =
        Send(*http, "PATCH", TwinPath("r-2"),
             R"([{"op": "replace", "path": "/thermostat/setpoint", "value": 16}])");
    ASSERT_EQ(patched.status, 204) << patched.body;
    ASSERT_EQ(Send(*http, "DELETE", TwinPath("r-gone")).status, 204);
    etag = HeaderOf(Send(*http, "GET", TwinPath("r-2")), "etag");
    http->Close();  // GracefulStopClosesIdleConnections covers stopping with a client attached
    auto code = (*server)->Stop();
    ASSERT_TRUE(code.ok()) << code.status().ToString() << "\n" << (*server)->Output();
    EXPECT_EQ(*code, 0) << (*server)->Output();
  }
  auto server = ServerProcess::Start(dir.Sub("data"));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = Connect((*server)->url());
  EXPECT_EQ(Send(*http, "GET", "/models/" + client::EncodePathSegment(kSensorId)).status, 200);
  HttpResponse r2 = Send(*http, "GET", TwinPath("r-2"));
  ASSERT_EQ(r2.status, 200);
  json::value twin = Json(r2.body);
  EXPECT_EQ(twin.at("label").as_string(), "two");
  EXPECT_EQ(twin.at("thermostat").at("setpoint").to_number<double>(), 16.0);
  EXPECT_EQ(HeaderOf(r2, "etag"), etag);
  EXPECT_EQ(Json(Send(*http, "GET", TwinPath("r-1")).body).at("temperature").to_number<double>(),
            1.5);
  EXPECT_EQ(Send(*http, "GET", TwinPath("r-gone")).status, 404);
  HttpResponse rel = Send(*http, "GET", TwinPath("r-1") + "/relationships/r1-r2");
  ASSERT_EQ(rel.status, 200);
  EXPECT_EQ(Json(rel.body).at("$targetId").as_string(), "r-2");
  HttpResponse incoming = Send(*http, "GET", TwinPath("r-2") + "/incomingrelationships");
  ASSERT_EQ(incoming.status, 200);
  EXPECT_EQ(Json(incoming.body).at("value").as_array().size(), 1u);
  // The deleted twin stays deleted for queries too, and nothing is duplicated by recovery.
  auto api = client::ApiClient::Create((*server)->url());
  auto rows = (*api)->Query("SELECT * FROM digitaltwins");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 2u);
}

// Stopping must not wait for clients that hold a kept-alive connection open without sending
// anything (browsers, the CLI, connection pools all do). The idle timeout is set far beyond
// the stop timeout, so only closing idle connections lets the server exit in time.
TEST(RestartTest, GracefulStopClosesIdleConnections) {
  TempDir dir;
  WriteFile(dir.Sub("doppel.json"), R"({"readTimeoutMs": 600000})");
  auto server = ServerProcess::Start(dir.Sub("data"), {"--config", dir.Sub("doppel.json")});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::vector<std::unique_ptr<HttpClient>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(Connect((*server)->url()));
    ASSERT_EQ(Send(*idle.back(), "GET", "/healthz").status, 200);
  }
  auto code = (*server)->Stop(std::chrono::seconds(60));
  ASSERT_TRUE(code.ok()) << code.status().ToString() << "\n" << (*server)->Output();
  EXPECT_EQ(*code, 0) << (*server)->Output();
}

}  // namespace
}  // namespace doppel::testing
