// history_load: the whole-system load generator behind `make bench-history` (issue #3): the
// same sensor data written to Doppel and to InfluxDB over the InfluxDB line protocol, then the
// same four queries asked of both. scripts/bench-history.sh starts the servers, measures disk
// and memory, and merges what each subcommand prints (one JSON object, last line of stdout).
//
//   history_load inprocess --timestamps 1000 --dir /tmp/x     Doppel's own ingest path, no HTTP
//   history_load write --url http://127.0.0.1:8086 --path '/write?db=bench&precision=s' [--long]
//   history_load setup-doppel --url http://127.0.0.1:PORT     models + 1,001 twins
//   history_load query --doppel URL --influx URL --timestamps 1000 --runs 20
//   history_load compact-dir --dir DATA/history               full RocksDB compaction, then size
//
// The data (deterministic, seed --seed): `--sensors` sensors (default 1,000) × 10 fields f0..f9
// × `--timestamps` timestamps 1 s apart from 2026-01-01T00:00:00Z, in measurement `sensor` with
// tag twin=sNNNN; each field is a slow sine + a random walk + occasional steps + Gaussian noise,
// quantised to 0.01 (a sensor's resolution). With --long, instead one series (twin `long0`,
// measurement `long`, field f0) of 30 days at 1 Hz ending where the main data starts.
//
// Writes: each of `--connections` keep-alive connections owns the sensors s with s % C == c
// and sends their lines in time order, `--lines` lines per request (as a fleet of gateways
// would), so no series ever receives a point older than its newest. Both servers get the same
// bytes. Progress goes to stderr.
#include <fmt/format.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numbers>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "client/http_client.h"
#include "ingest/ingestor.h"
#include "tsdb/series_store.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kFields = 10;
constexpr int64_t kMainStartS = 1767225600;  // 2026-01-01T00:00:00Z
constexpr int64_t kLongPoints = 30 * 86400;  // 30 days at 1 Hz
constexpr int64_t kLongStartS = kMainStartS - kLongPoints;
constexpr std::string_view kSensorModel = "dtmi:doppel:bench:Sensor;1";
constexpr std::string_view kLongModel = "dtmi:doppel:bench:LongSensor;1";

struct Options {
  std::string command;
  std::string url, path, doppel, influx, dir;
  int sensors = 1000;
  int timestamps = 1000;
  int connections = 4;
  int lines = 5000;
  int runs = 20;
  int warmups = 2;
  uint64_t seed = 42;
  bool long_series = false;
};

[[noreturn]] void Die(std::string_view what) {
  fmt::print(stderr, "history_load: {}\n", what);
  std::exit(1);
}

void Check(const Status& st, std::string_view what) {
  if (!st.ok()) Die(fmt::format("{}: {}", what, st.ToString()));
}

double Seconds(SteadyClock::time_point since) {
  return std::chrono::duration<double>(SteadyClock::now() - since).count();
}

// ---- data ----------------------------------------------------------------------------------

// One sensor channel: level + slow sine + random walk + rare steps + noise, in cents.
class Signal {
 public:
  Signal(uint64_t seed, uint64_t channel) : rng_(seed * 0x9E3779B97F4A7C15ull + channel) {
    std::uniform_real_distribution<double> u(0, 1);
    level_ = 10 + 40 * u(rng_);
    amplitude_ = 0.5 + 4 * u(rng_);
    period_s_ = 3600 * (1 + 23 * u(rng_));
    phase_ = 2 * std::numbers::pi * u(rng_);
  }

  int32_t Next(int64_t t_s) {
    walk_ += walk_step_(rng_);
    if (step_chance_(rng_) < 1e-4) step_ += step_size_(rng_);
    const double v = level_ + amplitude_ * std::sin(2 * std::numbers::pi * t_s / period_s_ + phase_) +
                     walk_ + step_ + noise_(rng_);
    return static_cast<int32_t>(std::lround(v * 100));
  }

 private:
  std::mt19937_64 rng_;
  std::normal_distribution<double> walk_step_{0, 0.002};
  std::normal_distribution<double> noise_{0, 0.02};
  std::normal_distribution<double> step_size_{0, 1.0};
  std::uniform_real_distribution<double> step_chance_{0, 1};
  double level_, amplitude_, period_s_, phase_, walk_ = 0, step_ = 0;
};

// Values in cents, series-major: value(s, f, t) = cents[(s * kFields + f) * timestamps + t].
struct Dataset {
  int sensors = 0;
  int timestamps = 0;
  std::vector<int32_t> cents;

  int32_t At(int s, int f, int t) const {
    return cents[(static_cast<size_t>(s) * kFields + f) * timestamps + t];
  }
  int64_t points() const { return int64_t{sensors} * kFields * timestamps; }
};

Dataset MakeMain(const Options& o) {
  Dataset d{o.sensors, o.timestamps, {}};
  d.cents.resize(static_cast<size_t>(d.points()));
  for (int s = 0; s < o.sensors; ++s) {
    for (int f = 0; f < kFields; ++f) {
      Signal signal(o.seed, static_cast<uint64_t>(s) * kFields + f);
      int32_t* out = &d.cents[(static_cast<size_t>(s) * kFields + f) * o.timestamps];
      for (int t = 0; t < o.timestamps; ++t) out[t] = signal.Next(kMainStartS + t);
    }
  }
  return d;
}

std::vector<int32_t> MakeLong(const Options& o) {
  Signal signal(o.seed, 1u << 30);
  std::vector<int32_t> cents(kLongPoints);
  for (int64_t t = 0; t < kLongPoints; ++t) cents[t] = signal.Next(kLongStartS + t);
  return cents;
}

std::string TwinId(int s) { return fmt::format("s{:04d}", s); }

void AppendCents(std::string& out, int32_t cents) {
  if (cents < 0) {
    out += '-';
    cents = -cents;
  }
  fmt::format_to(std::back_inserter(out), "{}.{:02d}", cents / 100, cents % 100);
}

// The request bodies of connection `c`: its sensors' lines in time order, `lines` per body.
std::vector<std::string> MainBodies(const Dataset& d, int c, const Options& o) {
  std::vector<std::string> bodies;
  std::string body;
  int in_body = 0;
  for (int t = 0; t < d.timestamps; ++t) {
    for (int s = c; s < d.sensors; s += o.connections) {
      fmt::format_to(std::back_inserter(body), "sensor,twin={} ", TwinId(s));
      for (int f = 0; f < kFields; ++f) {
        fmt::format_to(std::back_inserter(body), "{}f{}=", f == 0 ? "" : ",", f);
        AppendCents(body, d.At(s, f, t));
      }
      fmt::format_to(std::back_inserter(body), " {}\n", kMainStartS + t);
      if (++in_body == o.lines) {
        bodies.push_back(std::move(body));
        body.clear();
        in_body = 0;
      }
    }
  }
  if (!body.empty()) bodies.push_back(std::move(body));
  return bodies;
}

std::vector<std::string> LongBodies(const std::vector<int32_t>& cents, int lines) {
  std::vector<std::string> bodies;
  std::string body;
  for (size_t t = 0; t < cents.size(); ++t) {
    body += "long,twin=long0 f0=";
    AppendCents(body, cents[t]);
    fmt::format_to(std::back_inserter(body), " {}\n", kLongStartS + static_cast<int64_t>(t));
    if ((t + 1) % lines == 0 || t + 1 == cents.size()) {
      bodies.push_back(std::move(body));
      body.clear();
    }
  }
  return bodies;
}

// ---- HTTP ----------------------------------------------------------------------------------

std::unique_ptr<client::HttpClient> Connect(const std::string& url) {
  auto http = client::HttpClient::Create(url, {.request_timeout = std::chrono::minutes(10)});
  Check(http.status(), "client");
  return std::move(*http);
}

// Sends every body of `per_connection[c]` on its own connection, all connections at once.
// Every answer must be 2xx; 429/503 is backpressure (Doppel keeps a worker free for reads):
// the body is sent again after a short pause, as Telegraf and the Influx clients do. Returns
// the wall time.
double SendAll(const std::string& url, const std::string& path,
               const std::vector<std::vector<std::string>>& per_connection) {
  const auto start = SteadyClock::now();
  std::vector<std::thread> threads;
  for (const auto& bodies : per_connection) {
    threads.emplace_back([&url, &path, &bodies] {
      auto http = Connect(url);
      const client::HttpHeaders headers{{"Content-Type", "text/plain; charset=utf-8"}};
      for (const std::string& body : bodies) {
        for (;;) {
          auto r = http->Post(path, body, headers);
          Check(r.status(), "write");
          if (r->status / 100 == 2) break;
          if (r->status != 429 && r->status != 503) {
            Die(fmt::format("write: HTTP {}: {}", r->status, r->body.substr(0, 500)));
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return Seconds(start);
}

int RunWrite(const Options& o) {
  std::vector<std::vector<std::string>> bodies;
  int64_t points = 0;
  if (o.long_series) {
    bodies.push_back(LongBodies(MakeLong(o), o.lines));  // one series: one connection, in order
    points = kLongPoints;
  } else {
    const Dataset d = MakeMain(o);
    for (int c = 0; c < o.connections; ++c) bodies.push_back(MainBodies(d, c, o));
    points = d.points();
  }
  size_t bytes = 0, requests = 0;
  for (const auto& b : bodies) {
    requests += b.size();
    for (const auto& s : b) bytes += s.size();
  }
  fmt::print(stderr, "history_load: writing {} points ({} requests, {:.1f} MB) to {}{}\n", points,
             requests, bytes / 1e6, o.url, o.path);
  const double seconds = SendAll(o.url, o.path, bodies);
  fmt::print(stderr, "history_load: {:.2f} s, {:.0f} points/s\n", seconds, points / seconds);
  fmt::print("{{\"points\": {}, \"seconds\": {:.3f}, \"points_per_s\": {:.0f}, \"body_bytes\": {}}}\n",
             points, seconds, points / seconds, bytes);
  return 0;
}

// ---- models and twins ----------------------------------------------------------------------

std::string ModelJson(std::string_view id, int fields) {
  std::string contents;
  for (int f = 0; f < fields; ++f)
    contents += fmt::format(R"({}{{"@type":"Telemetry","name":"f{}","schema":"double"}})", f ? "," : "", f);
  return fmt::format(R"({{"@context":"dtmi:dtdl:context;3","@id":"{}","@type":"Interface","contents":[{}]}})",
                     id, contents);
}

std::string TwinJson(std::string_view model) {
  return fmt::format(R"({{"$metadata":{{"$model":"{}"}}}})", model);
}

int RunSetupDoppel(const Options& o) {
  auto http = Connect(o.url);
  auto r = http->Post("/models", fmt::format("[{},{}]", ModelJson(kSensorModel, kFields), ModelJson(kLongModel, 1)));
  Check(r.status(), "models");
  if (r->status / 100 != 2) Die(fmt::format("models: HTTP {}: {}", r->status, r->body));
  auto put = [&](const std::string& id, std::string_view model) {
    auto t = http->Put("/digitaltwins/" + id, TwinJson(model));
    Check(t.status(), "twin");
    if (t->status / 100 != 2) Die(fmt::format("twin {}: HTTP {}: {}", id, t->status, t->body));
  };
  for (int s = 0; s < o.sensors; ++s) put(TwinId(s), kSensorModel);
  put("long0", kLongModel);
  fmt::print("{{\"twins\": {}}}\n", o.sensors + 1);
  return 0;
}

// ---- in-process ingest ---------------------------------------------------------------------

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

// A full RocksDB compaction of a closed store directory (what InfluxDB's full compaction is to
// its TSM files): flushes the memtable replayed from RocksDB's log, and drops the history
// engine's superseded write-ahead records ("w/" keys rewritten at every seal) and tombstones.
// Returns the directory's size afterwards.
uint64_t CompactDir(const std::string& dir) {
  rocksdb::Options options;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status st = rocksdb::DB::Open(options, dir, &raw);
  if (!st.ok()) Die(fmt::format("open {}: {}", dir, st.ToString()));
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  st = db->CompactRange(compact, nullptr, nullptr);
  if (!st.ok()) Die(fmt::format("compact {}: {}", dir, st.ToString()));
  st = db->Close();
  if (!st.ok()) Die(fmt::format("close {}: {}", dir, st.ToString()));
  db.reset();
  return DirBytes(dir);
}

int RunCompactDir(const Options& o) {
  const uint64_t before = DirBytes(o.dir);
  const uint64_t after = CompactDir(o.dir);
  fmt::print(stderr, "history_load: {} compacted: {} -> {} bytes\n", o.dir, before, after);
  fmt::print("{{\"bytes_before\": {}, \"bytes\": {}}}\n", before, after);
  return 0;
}

// The readings of timestamps [t0, t1) of every sensor, in the order the HTTP bodies carry them.
std::vector<ingest::Reading> Readings(const Dataset& d, int t0, int t1) {
  static const std::vector<std::string> kPaths = [] {
    std::vector<std::string> p;
    for (int f = 0; f < kFields; ++f) p.push_back(fmt::format("f{}", f));
    return p;
  }();
  std::vector<ingest::Reading> out;
  out.reserve(static_cast<size_t>(t1 - t0) * d.sensors * kFields);
  for (int t = t0; t < t1; ++t) {
    const tsdb::TimeNs time = (kMainStartS + t) * tsdb::TimeNs{1'000'000'000};
    for (int s = 0; s < d.sensors; ++s) {
      const std::string twin = TwinId(s);
      for (int f = 0; f < kFields; ++f)
        out.push_back({twin, kPaths[f], time, tsdb::Value{d.At(s, f, t) / 100.0}});
    }
  }
  return out;
}

// Doppel's own ingest path without HTTP: the Ingestor validating against a twin graph and
// writing durably (fsync per batch, the server's default) to a SeriesStore. Timed: Write only.
int RunInProcess(const Options& o) {
  const Dataset d = MakeMain(o);
  twin::MemoryJournal journal;
  SystemClock clock;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  Check(graph.Restore(), "restore");
  Check(graph.AddModels({ParseJson(ModelJson(kSensorModel, kFields)).value()}).status(), "models");
  for (int s = 0; s < d.sensors; ++s)
    Check(graph.PutTwin(TwinId(s), ParseJson(TwinJson(kSensorModel)).value(), {}).status(), "twin");
  std::filesystem::create_directories(o.dir);
  auto store = tsdb::SeriesStore::Open(o.dir);
  Check(store.status(), "open store");
  ingest::Ingestor ingestor(graph, **store);

  const int per_batch = std::max(1, o.lines / d.sensors);  // timestamps per batch
  double write_s = 0;
  for (int t = 0; t < d.timestamps; t += per_batch) {
    const auto batch = Readings(d, t, std::min(d.timestamps, t + per_batch));
    const auto start = SteadyClock::now();
    Check(ingestor.Write(batch), "ingest");
    write_s += Seconds(start);
  }
  Check((*store)->Flush(), "flush");
  for (const auto& info : (*store)->ListSeries()) Check((*store)->Compact(info.id).status(), "compact");
  store->reset();  // close, so RocksDB's files are complete
  const double bytes_per_point = static_cast<double>(CompactDir(o.dir)) / d.points();
  fmt::print(stderr, "history_load: in-process ingest {} points in {:.2f} s: {:.0f} points/s, {:.3f} bytes/point\n",
             d.points(), write_s, d.points() / write_s, bytes_per_point);
  fmt::print("{{\"ingest_points_per_s\": {:.0f}, \"ingest_seconds\": {:.3f}, \"inprocess_bytes_per_point\": {:.3f}}}\n",
             d.points() / write_s, write_s, bytes_per_point);
  return 0;
}

// ---- queries -------------------------------------------------------------------------------

struct QuerySpec {
  std::string name;
  std::string doppel_body;  // POST /timeseries/query
  std::string influxql;     // GET /query?db=bench&q=...
};

// Doppel answers with "timeFormat":"ns" and InfluxDB with epoch=ns, so neither formats dates.
std::vector<QuerySpec> Queries(const Options& o) {
  const int64_t main_end = kMainStartS + o.timestamps;
  const int64_t raw_start = kLongStartS + 15 * 86400 + 1800;  // one hour mid-series, unaligned
  auto ns = [](int64_t s) { return fmt::format("{}000000000", s); };
  return {
      {"hourly_avg_30d_one_series",
       fmt::format(R"({{"twins":["long0"],"paths":["f0"],"start":{},"end":{},"step":"1h","aggregations":["avg"],"timeFormat":"ns"}})",
                   ns(kLongStartS), ns(kMainStartS)),
       fmt::format("SELECT mean(f0) FROM long WHERE twin='long0' AND time >= {} AND time < {} GROUP BY time(1h)",
                   ns(kLongStartS), ns(kMainStartS))},
      {"minute_avg_grouped_by_twin",
       fmt::format(R"({{"model":"{}","paths":["f0"],"start":{},"end":{},"step":"1m","aggregations":["avg"],"groupBy":"twin","timeFormat":"ns"}})",
                   kSensorModel, ns(kMainStartS), ns(main_end)),
       fmt::format("SELECT mean(f0) FROM sensor WHERE time >= {} AND time < {} GROUP BY time(1m), twin",
                   ns(kMainStartS), ns(main_end))},
      {"last_all_series", fmt::format(R"({{"model":"{}","mode":"last","timeFormat":"ns"}})", kSensorModel),
       "SELECT last(*) FROM sensor GROUP BY twin"},
      {"raw_1h_one_series",
       fmt::format(R"({{"twins":["long0"],"paths":["f0"],"start":{},"end":{},"timeFormat":"ns"}})", ns(raw_start),
                   ns(raw_start + 3600)),
       fmt::format("SELECT f0 FROM long WHERE twin='long0' AND time >= {} AND time < {}", ns(raw_start),
                   ns(raw_start + 3600))},
  };
}

struct Latency {
  double p50_ms = 0, p99_ms = 0;
  size_t response_bytes = 0;
  std::string body;  // the last answer, for the cross-check
};

// p50 is the median; p99 the nearest-rank 99th percentile (with 20 runs, the slowest).
Latency Percentiles(std::vector<double> ms, std::string body) {
  std::sort(ms.begin(), ms.end());
  auto rank = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(std::ceil(q * ms.size())) - 1)]; };
  return {rank(0.5), rank(0.99), body.size(), std::move(body)};
}

// Runs `send` warm-up + measured times; every answer must be 200 without an "error" member.
template <typename Send>
Latency Measure(const Options& o, std::string_view what, Send send) {
  std::vector<double> ms;
  std::string body;
  for (int i = 0; i < o.warmups + o.runs; ++i) {
    const auto start = SteadyClock::now();
    auto r = send();
    const double elapsed = Seconds(start) * 1e3;
    Check(r.status(), what);
    if (r->status != 200 || r->body.find("\"error\"") != std::string::npos)
      Die(fmt::format("{}: HTTP {}: {}", what, r->status, r->body.substr(0, 500)));
    if (i >= o.warmups) ms.push_back(elapsed);
    body = std::move(r->body);
  }
  return Percentiles(std::move(ms), std::move(body));
}

// The cross-check that both answered the same question: the number of non-null values in an
// answer (points, buckets or last values). -1 if the answer does not parse.
int64_t CountValues(const json::value& v) {
  if (v.is_array()) {
    int64_t n = 0;
    for (const auto& e : v.as_array()) n += CountValues(e);
    return n;
  }
  if (!v.is_object()) return 0;
  const auto& o = v.as_object();
  int64_t n = 0;
  for (const auto& [key, member] : o) {
    if (key == "values" && member.is_array()) {  // InfluxDB: rows of [time, v1, v2, ...]
      for (const auto& row : member.as_array())
        for (size_t i = 1; i < row.as_array().size(); ++i) n += row.as_array()[i].is_null() ? 0 : 1;
    } else if (key == "points" && member.is_array()) {  // Doppel raw: [[time, value], ...]
      n += static_cast<int64_t>(member.as_array().size());
    } else if (key == "buckets" && member.is_array()) {  // Doppel aggregate, one aggregation
      n += static_cast<int64_t>(member.as_array().size());
    } else if (key == "last") {  // Doppel last: {"time", "value"} or null
      n += member.is_null() ? 0 : 1;
    } else {
      n += CountValues(member);
    }
  }
  return n;
}

int64_t CountValues(std::string_view body) {
  auto parsed = ParseJson(body, {.max_bytes = 1u << 30, .max_depth = 64});
  return parsed.ok() ? CountValues(*parsed) : -1;
}

int RunQueries(const Options& o) {
  auto doppel = Connect(o.doppel);
  auto influx = Connect(o.influx);
  std::string json = "{";
  std::string speedups;
  for (const QuerySpec& q : Queries(o)) {
    const Latency d = Measure(o, "doppel " + q.name, [&] { return doppel->Post("/timeseries/query", q.doppel_body); });
    const Latency i = Measure(o, "influxdb " + q.name, [&] {
      return influx->Get("/query?db=bench&epoch=ns&q=" + client::EncodeQueryValue(q.influxql));
    });
    const double speedup = i.p50_ms / d.p50_ms;
    const int64_t doppel_values = CountValues(d.body), influx_values = CountValues(i.body);
    if (doppel_values != influx_values)
      fmt::print(stderr, "history_load: WARNING {}: Doppel answered {} values, InfluxDB {}\n", q.name,
                 doppel_values, influx_values);
    fmt::print(stderr, "history_load: {:28s} doppel p50 {:8.2f} ms p99 {:8.2f} ms ({} B) | influxdb p50 {:8.2f} ms p99 {:8.2f} ms ({} B) | {:.1f}x\n",
               q.name, d.p50_ms, d.p99_ms, d.response_bytes, i.p50_ms, i.p99_ms, i.response_bytes, speedup);
    json += fmt::format(
        "\"{0}_p50_ms\": {1:.3f}, \"{0}_p99_ms\": {2:.3f}, \"influxdb_{0}_p50_ms\": {3:.3f}, "
        "\"influxdb_{0}_p99_ms\": {4:.3f}, \"{0}_p99_speedup\": {5:.2f}, \"{0}_values\": {6}, "
        "\"influxdb_{0}_values\": {7}, ",
        q.name, d.p50_ms, d.p99_ms, i.p50_ms, i.p99_ms, i.p99_ms / d.p99_ms, doppel_values, influx_values);
    speedups += fmt::format("{}\"{}\": {:.2f}", speedups.empty() ? "" : ", ", q.name, speedup);
  }
  fmt::print("{}\"query_speedup_vs_influxdb\": {{{}}}}}\n", json, speedups);
  return 0;
}

// ---- command line --------------------------------------------------------------------------

Options Parse(int argc, char** argv) {
  if (argc < 2) Die("usage: history_load inprocess|write|setup-doppel|query|compact-dir [--flag value ...]");
  Options o;
  o.command = argv[1];
  const std::map<std::string, std::string*> strings{
      {"--url", &o.url}, {"--path", &o.path}, {"--doppel", &o.doppel}, {"--influx", &o.influx}, {"--dir", &o.dir}};
  const std::map<std::string, int*> ints{{"--sensors", &o.sensors},         {"--timestamps", &o.timestamps},
                                         {"--connections", &o.connections}, {"--lines", &o.lines},
                                         {"--runs", &o.runs},               {"--warmups", &o.warmups}};
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--long") {
      o.long_series = true;
    } else if (i + 1 >= argc) {
      Die("missing value for " + flag);
    } else if (auto s = strings.find(flag); s != strings.end()) {
      *s->second = argv[++i];
    } else if (auto n = ints.find(flag); n != ints.end()) {
      *n->second = std::atoi(argv[++i]);
      if (*n->second <= 0) Die(flag + " must be positive");
    } else if (flag == "--seed") {
      o.seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      Die("unknown flag " + flag);
    }
  }
  return o;
}

}  // namespace
}  // namespace doppel::bench

int main(int argc, char** argv) {
  using namespace doppel::bench;
  const Options o = Parse(argc, argv);
  if (o.command == "write") return RunWrite(o);
  if (o.command == "setup-doppel") return RunSetupDoppel(o);
  if (o.command == "inprocess") return RunInProcess(o);
  if (o.command == "query") return RunQueries(o);
  if (o.command == "compact-dir") return RunCompactDir(o);
  Die("unknown command " + o.command);
}
