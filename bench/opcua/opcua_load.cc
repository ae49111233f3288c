// The OPC UA load tool of `make bench-opcua` (scripts/bench-opcua.sh, bench/RESULTS.md):
// monitored-item updates per second that Doppel ingests from one node-opcua server with many
// fast-changing variables (tests/opcua/server.mjs --load N), against the ceiling of a trivial
// client — a second OpcUaClient that only counts its notifications — on the same server, in
// the same time window.
//
//   opcua_load config  --endpoint URL --nodes N              the serve config to start Doppel with
//   opcua_load measure --endpoint URL --doppel URL --nodes N --seconds S
//                                                             sets up the model and twins, then
//                                                             prints one JSON line of figures
//
// Mapping: node ns=1;s=Load.Value<i> → twin "load-<i/10>", telemetry "v<i%10>" (double), every
// item sampled on change (samplingInterval 0) with a queue of 1000, so neither client drops
// updates the server makes; the publishing interval is the same for both (--publishing-ms).
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "client/http_client.h"
#include "connect/opcua/opcua_client.h"

namespace doppel::bench {
namespace {

using connect::opcua::MonitoredItemRequest;
using connect::opcua::MonitoredValue;
using connect::opcua::NodeId;
using connect::opcua::OpcUaClient;

struct Options {
  std::string mode;
  std::string endpoint;
  std::string doppel = "http://127.0.0.1:8080";
  int nodes = 200;
  int seconds = 10;
  int publishing_ms = 100;
  int warmup_s = 3;
};

constexpr int kPerTwin = 10;
constexpr uint32_t kQueueSize = 1000;
constexpr const char* kModelId = "dtmi:bench:OpcUaLoad;1";

std::string NodeOf(int i) { return fmt::format("ns=1;s=Load.Value{}", i); }
std::string TwinOf(int i) { return fmt::format("load-{:03}", i / kPerTwin); }

int Fail(const std::string& message) {
  std::fprintf(stderr, "opcua_load: %s\n", message.c_str());
  return 1;
}

std::string ServeConfig(const Options& o) {
  json::array nodes;
  for (int i = 0; i < o.nodes; ++i) {
    nodes.push_back(json::object{{"node", NodeOf(i)},
                                 {"twin", TwinOf(i)},
                                 {"telemetry", fmt::format("v{}", i % kPerTwin)},
                                 {"samplingIntervalMs", 0},
                                 {"queueSize", kQueueSize}});
  }
  json::object connector{{"type", "opcua"},
                         {"name", "bench"},
                         {"endpoint", o.endpoint},
                         {"publishingIntervalMs", o.publishing_ms},
                         {"nodes", std::move(nodes)}};
  return ToJson(json::object{{"connectors", json::array{std::move(connector)}}});
}

Status SetUpTwins(client::HttpClient& http, const Options& o) {
  json::array contents;
  for (int k = 0; k < kPerTwin; ++k) {
    contents.push_back(json::object{{"@type", "Telemetry"}, {"name", fmt::format("v{}", k)}, {"schema", "double"}});
  }
  json::array models{json::object{
      {"@context", "dtmi:dtdl:context;3"}, {"@id", kModelId}, {"@type", "Interface"}, {"contents", std::move(contents)}}};
  DOPPEL_ASSIGN_OR_RETURN(client::HttpResponse created, http.Post("/models", ToJson(models)));
  if (created.status != 201 && created.status != 409) return Status::Internal(fmt::format("POST /models: {}", created.body));
  for (int t = 0; t * kPerTwin < o.nodes; ++t) {
    const std::string twin = TwinOf(t * kPerTwin);
    DOPPEL_ASSIGN_OR_RETURN(client::HttpResponse put,
                            http.Put("/digitaltwins/" + twin, fmt::format(R"({{"$metadata": {{"$model": "{}"}}}})", kModelId)));
    if (put.status != 200) return Status::Internal(fmt::format("PUT twin {}: {}", twin, put.body));
  }
  return Status::Ok();
}

// A sample's value in Prometheus text ("name{labels} value"); -1 when absent.
int64_t MetricValue(const std::string& text, const std::string& sample) {
  const std::size_t at = text.find(sample + " ");
  if (at == std::string::npos) return -1;
  return std::strtoll(text.c_str() + at + sample.size() + 1, nullptr, 10);
}

Result<int64_t> DoppelReadings(client::HttpClient& http) {
  DOPPEL_ASSIGN_OR_RETURN(client::HttpResponse r, http.Get("/metrics"));
  const int64_t readings = MetricValue(r.body, "doppel_opcua_readings_total{connector=\"bench\"}");
  if (readings < 0) return Status::Unavailable("no doppel_opcua_readings_total{connector=\"bench\"} in /metrics");
  return readings;
}

double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

int Measure(const Options& o) {
  auto http = client::HttpClient::Create(o.doppel);
  if (!http.ok()) return Fail(http.status().ToString());
  if (Status set_up = SetUpTwins(**http, o); !set_up.ok()) return Fail(set_up.ToString());

  OpcUaClient ceiling({.endpoint = o.endpoint, .application_name = "Doppel bench ceiling"});
  if (Status connected = ceiling.Connect(); !connected.ok()) return Fail(connected.ToString());
  std::vector<MonitoredItemRequest> items;
  for (int i = 0; i < o.nodes; ++i) {
    items.push_back({.node = NodeId::Parse(NodeOf(i)).value(),
                     .sampling_interval = std::chrono::milliseconds(0),
                     .queue_size = kQueueSize});
  }
  std::atomic<uint64_t> counted{0};
  auto subscribed = ceiling.Subscribe({.publishing_interval = std::chrono::milliseconds(o.publishing_ms)}, std::move(items),
                                      [&counted](std::span<const MonitoredValue> values) {
                                        counted.fetch_add(values.size(), std::memory_order_relaxed);
                                      });
  if (!subscribed.ok()) return Fail(subscribed.status().ToString());

  // Both must be flowing before the window opens: Doppel's connector connects by itself.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    Result<int64_t> readings = DoppelReadings(**http);
    if (readings.ok() && *readings > 0 && counted.load() > 0) break;
    if (std::chrono::steady_clock::now() > give_up) return Fail("no updates reached Doppel or the ceiling client in 60 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::this_thread::sleep_for(std::chrono::seconds(o.warmup_s));

  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t c0 = counted.load();
  Result<int64_t> r0 = DoppelReadings(**http);
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  Result<int64_t> r1 = DoppelReadings(**http);
  const uint64_t c1 = counted.load();
  const double elapsed = Seconds(std::chrono::steady_clock::now() - t0);
  if (!r0.ok() || !r1.ok()) return Fail("cannot read Doppel's metrics");
  const auto counters = ceiling.counters();
  ceiling.Disconnect();

  const double doppel_rate = static_cast<double>(*r1 - *r0) / elapsed;
  const double ceiling_rate = static_cast<double>(c1 - c0) / elapsed;
  json::object figures{{"opcua_updates_per_s", std::round(doppel_rate)},
                       {"ceiling_updates_per_s", std::round(ceiling_rate)},
                       {"ratio", ceiling_rate > 0 ? std::round(1000 * doppel_rate / ceiling_rate) / 1000 : 0.0},
                       {"nodes", o.nodes},
                       {"seconds", std::round(elapsed * 10) / 10},
                       {"publishing_interval_ms", o.publishing_ms},
                       {"ceiling_protocol_errors", counters.protocol_errors}};
  std::cout << ToJson(figures) << std::endl;
  return 0;
}

int Run(int argc, char** argv) {
  Options o;
  if (argc < 2) return Fail("usage: opcua_load config|measure --endpoint URL [--doppel URL] [--nodes N] [--seconds S]");
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--endpoint") o.endpoint = value;
    else if (flag == "--doppel") o.doppel = value;
    else if (flag == "--nodes") o.nodes = std::atoi(value.c_str());
    else if (flag == "--seconds") o.seconds = std::atoi(value.c_str());
    else if (flag == "--publishing-ms") o.publishing_ms = std::atoi(value.c_str());
    else if (flag == "--warmup") o.warmup_s = std::atoi(value.c_str());
    else return Fail("unknown flag " + flag);
  }
  if (o.endpoint.empty() || o.nodes <= 0 || o.seconds <= 0 || o.publishing_ms < 10) return Fail("bad options");
  if (o.mode == "config") {
    std::cout << ServeConfig(o) << std::endl;
    return 0;
  }
  if (o.mode == "measure") return Measure(o);
  return Fail("unknown mode " + o.mode);
}

}  // namespace
}  // namespace doppel::bench

int main(int argc, char** argv) { return doppel::bench::Run(argc, argv); }
