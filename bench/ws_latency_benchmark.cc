// Issue #4: latency from a reading's arrival to its WebSocket push, p50 and p99 at 10k
// readings/s (goal p99 < 5 ms). In one process: a TwinGraph with 100 sensor twins, an Ingestor
// over a SeriesStore in a temp dir, the StreamHub behind a real HttpServer, and one real
// WebSocket client (Beast) subscribed to every twin by model. A paced writer calls
// Ingestor::Write (the door every connector uses) with batches spread evenly over each second;
// "arrival" is the moment the batch is handed to Write, "push received" the moment the
// client has the frame. So the figure includes validation, the history write (and its fsync
// when sync is on), the fan-out, the transport and the loopback socket.
//
//   build/ws_latency_benchmark --benchmark_counters_tabular=true
//
// Args: readings per batch, fsync on (1) or off (0). Each run sends 10k readings/s for 3 s.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "ingest/ingestor.h"
#include "server/http_server.h"
#include "stream/stream_hub.h"
#include "stream/websocket_endpoint.h"
#include "tsdb/series_store.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using SteadyNs = std::chrono::nanoseconds;

constexpr int kTwins = 100;
constexpr int kReadingsPerSecond = 10'000;
constexpr int kSeconds = 3;

constexpr std::string_view kSensor = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:bench:Sensor;1", "@type": "Interface",
  "contents": [{"@type": "Telemetry", "name": "seq", "schema": "double"}]})";

int64_t SteadyNow() {
  return std::chrono::duration_cast<SteadyNs>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct TempDir {
  TempDir() {
    std::mt19937_64 rng(std::random_device{}());
    path = std::filesystem::temp_directory_path() / ("doppel-ws-bench-" + std::to_string(rng()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::size_t k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// "s<i>", built by appending: GCC 12 warns falsely (-Wrestrict) on "s" + std::to_string(i).
std::string TwinId(int i) {
  std::string id = "s";
  id += std::to_string(i);
  return id;
}

void BM_WsLatency(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const bool sync = state.range(1) != 0;
  const int total = kReadingsPerSecond * kSeconds;
  for (auto _ : state) {
    TempDir dir;
    twin::MemoryJournal journal;
    twin::EventBus events;
    twin::TwinGraph graph(journal, SystemClock::Instance(), events);
    if (!graph.AddModels({ParseJson(kSensor).value()}).ok()) return state.SkipWithError("models");
    for (int i = 0; i < kTwins; ++i) {
      auto put = graph.PutTwin(TwinId(i), ParseJson(R"({"$metadata":{"$model":"dtmi:bench:Sensor;1"}})").value(), {});
      if (!put.ok()) return state.SkipWithError("twins");
    }
    auto store = tsdb::SeriesStore::Open(dir.path.string(), {.sync = sync});
    if (!store.ok()) return state.SkipWithError(store.status().ToString().c_str());
    ingest::Ingestor ingestor(graph, **store);
    stream::StreamHub hub(graph, events, ingestor, {.queue_capacity = 65536});
    server::HttpServerOptions options{.listen = "127.0.0.1:0", .threads = 2};
    options.websocket = stream::WebSocketEndpointFor(hub);
    server::HttpServer http(options, [](const server::HttpRequest&) { return server::HttpResponse::NoContent(); });
    if (!http.Start().ok()) return state.SkipWithError("server");

    // arrival[i]: steady ns when reading i was handed to Write; latency per received frame.
    std::vector<int64_t> arrival(static_cast<std::size_t>(total), 0);
    std::vector<double> latency_ms;
    latency_ms.reserve(static_cast<std::size_t>(total));
    std::atomic<bool> subscribed{false};
    uint64_t dropped = 0;
    std::thread client([&] {
      asio::io_context ioc;
      websocket::stream<beast::tcp_stream> ws(ioc);
      beast::get_lowest_layer(ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), http.port()));
      ws.handshake("127.0.0.1", "/ws");
      ws.write(asio::buffer(std::string(R"({"op":"subscribe","id":"all","model":"dtmi:bench:Sensor;1"})")));
      beast::flat_buffer buffer;
      while (static_cast<int>(latency_ms.size()) < total) {
        beast::error_code ec;
        buffer.consume(buffer.size());
        ws.read(buffer, ec);
        if (ec) break;
        const int64_t now = SteadyNow();
        auto msg = ParseJson(beast::buffers_to_string(buffer.data()));
        if (!msg.ok()) continue;
        const json::object& o = msg->as_object();
        if (o.at("type") == "subscribed") {
          subscribed = true;
        } else if (o.at("type") == "telemetry") {
          auto i = static_cast<std::size_t>(o.at("value").to_number<double>());
          latency_ms.push_back(static_cast<double>(now - arrival[i]) / 1e6);
        } else if (o.at("type") == "dropped") {
          dropped += o.at("count").to_number<uint64_t>();
          break;
        }
      }
      beast::error_code ec;
      ws.close(websocket::close_code::normal, ec);
    });
    while (!subscribed) std::this_thread::sleep_for(std::chrono::milliseconds(1));

    const auto period = std::chrono::nanoseconds(1'000'000'000LL * batch / kReadingsPerSecond);
    auto next = std::chrono::steady_clock::now();
    std::vector<ingest::Reading> readings;
    for (int sent = 0; sent < total; sent += batch) {
      std::this_thread::sleep_until(next);
      next += period;
      readings.clear();
      const int64_t wall = SystemClock::Instance().Now().time_since_epoch().count();
      for (int j = sent; j < std::min(total, sent + batch); ++j) {
        readings.push_back({TwinId(j % kTwins), "seq", wall + j, static_cast<double>(j)});
      }
      const int64_t t = SteadyNow();
      for (int j = sent; j < std::min(total, sent + batch); ++j) arrival[static_cast<std::size_t>(j)] = t;
      if (!ingestor.Write(readings).ok()) {
        state.SkipWithError("write failed");
        break;
      }
    }
    client.join();
    http.Stop();
    const double p50 = Percentile(latency_ms, 0.50), p99 = Percentile(latency_ms, 0.99);
    const double max = latency_ms.empty() ? 0 : *std::max_element(latency_ms.begin(), latency_ms.end());
    state.counters["p50_ms"] = p50;
    state.counters["p99_ms"] = p99;
    state.counters["max_ms"] = max;
    state.counters["received"] = static_cast<double>(latency_ms.size());
    state.counters["dropped"] = static_cast<double>(dropped);
    std::printf("{\"batch\": %d, \"sync\": %s, \"readings\": %zu, \"ws_latency_p50_ms\": %.3f, "
                "\"ws_latency_p99_ms\": %.3f, \"ws_latency_max_ms\": %.3f}\n",
                batch, sync ? "true" : "false", latency_ms.size(), p50, p99, max);
  }
}
BENCHMARK(BM_WsLatency)
    ->Args({10, 0})
    ->Args({10, 1})
    ->Args({100, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace doppel

BENCHMARK_MAIN();
