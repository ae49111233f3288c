// Micro-benchmarks of the history engine: codec speed, bytes per point on a realistic sensor
// signal, synced store writes, an hourly-average-over-30-days query, and `last` of 10,000 series
// and a raw 1-hour history query after a restart.
//
//   build/tsdb_benchmark --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "base/clock.h"
#include "history/history_query.h"
#include "tsdb/internal/gorilla.h"
#include "tsdb/query.h"
#include "tsdb/series_chunk.h"
#include "tsdb/series_store.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::tsdb {
namespace {

constexpr TimeNs kSecond = 1'000'000'000;
constexpr TimeNs kStart = 1'735'689'600 * kSecond;  // 2025-01-01T00:00:00Z

// A sensor-like signal: a daily cycle, a slow random drift, noise at the sensor's 0.01
// resolution and an occasional step (a setpoint change).
class Signal {
 public:
  explicit Signal(uint64_t seed) : rng_(seed) {}
  double Next(TimeNs t) {
    drift_ += noise_(rng_) * 0.002;
    if (rng_() % 5000 == 0) step_ += (rng_() & 1) ? 2.0 : -2.0;
    const double day = 2 * M_PI * static_cast<double>(t % (86400 * kSecond)) / (86400.0 * kSecond);
    const double v = 20 + 3 * std::sin(day) + drift_ + step_ + noise_(rng_) * 0.03;
    return std::round(v * 100) / 100;
  }

 private:
  std::mt19937_64 rng_;
  std::normal_distribution<double> noise_{0, 1};
  double drift_ = 0, step_ = 0;
};

std::vector<Point> MakePoints(size_t n, uint64_t seed = 1) {
  Signal signal(seed);
  std::vector<Point> points;
  points.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const TimeNs t = kStart + static_cast<TimeNs>(i) * kSecond;
    points.push_back({t, signal.Next(t)});
  }
  return points;
}

void BM_EncodeTimestamps(benchmark::State& state) {
  const std::vector<Point> points = MakePoints(1000);
  for (auto _ : state) {
    internal::DeltaOfDeltaEncoder e;
    for (const Point& p : points) e.Append(p.time);
    benchmark::DoNotOptimize(e.Bytes());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_EncodeTimestamps);

void BM_EncodeDoubles(benchmark::State& state) {
  const std::vector<Point> points = MakePoints(1000);
  size_t bytes = 0;
  for (auto _ : state) {
    internal::XorEncoder e;
    for (const Point& p : points) e.Append(std::get<double>(p.value));
    bytes = e.Bytes().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.counters["value_bytes_per_point"] = static_cast<double>(bytes) / 1000;
}
BENCHMARK(BM_EncodeDoubles);

SeriesChunk SealChunk(const std::vector<Point>& points) {
  HeadChunk head(ValueType::kDouble);
  for (const Point& p : points) head.Append(p.time, p.value);
  return head.Seal();
}

// Arg: points per chunk (SeriesStoreOptions::max_head_points); shows the compression trade.
void BM_SealChunk(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<Point> points = MakePoints(n);
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = SealChunk(points).bytes().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
  // Header and CRC included.
  state.counters["chunk_bytes_per_point"] = static_cast<double>(bytes) / static_cast<double>(n);
}
BENCHMARK(BM_SealChunk)->Arg(120)->Arg(250)->Arg(500)->Arg(1000)->Arg(2000);

void BM_DecodeChunk(benchmark::State& state) {
  const SeriesChunk chunk = SealChunk(MakePoints(1000));
  for (auto _ : state) {
    std::vector<TimeNs> times;
    std::vector<double> values;
    if (!chunk.DecodeNumeric(&times, &values).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_DecodeChunk);

struct ScratchDir {
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "doppel-tsdb-bench-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  std::string path;
};

// Batches of 10k points over 100 series (100 timestamps × 100 series per batch); Arg 1 syncs
// each batch (the default), Arg 0 does not (the write path's CPU cost).
void BM_StoreWrite(benchmark::State& state) {
  ScratchDir dir;
  SeriesStoreOptions options;
  options.sync = state.range(0) != 0;
  auto store = std::move(SeriesStore::Open(dir.path, options)).value();
  std::vector<SeriesId> ids;
  std::vector<Signal> signals;
  for (int s = 0; s < 100; ++s) {
    ids.push_back(*store->CreateSeries({"twin-" + std::to_string(s), "temperature", ValueType::kDouble, "", "", ""}));
    signals.emplace_back(s);
  }
  TimeNs t = kStart;
  std::vector<SeriesPoint> batch;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    for (int i = 0; i < 100; ++i, t += kSecond) {
      for (int s = 0; s < 100; ++s) batch.push_back({ids[s], t, signals[s].Next(t)});
    }
    state.ResumeTiming();
    if (!store->Write(batch).ok()) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(state.iterations() * 10'000);
}
BENCHMARK(BM_StoreWrite)->ArgName("sync")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

size_t HeapInUse() {
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Resident memory per active series (issue #3's goal: <= 2 KB including its head chunk):
// 10,000 double series each get 500 points of the 0.01-resolution signal (below the seal
// size, so everything sits in head chunks), written as ingest would (all series per
// timestamp). heap_per_series is the malloc heap growth minus RocksDB's memtable (a bounded
// write buffer shared by all series, not per-series state) over the series count; it counts
// the catalog, the Series structs and the heads. Args: max_head_points, points per series.
void BM_MemoryPerSeries(benchmark::State& state) {
  constexpr int kSeries = 10'000;
  const int points = static_cast<int>(state.range(1));
  for (auto _ : state) {
    ScratchDir dir;
    SeriesStoreOptions options;
    options.sync = false;
    options.max_head_points = static_cast<uint32_t>(state.range(0));
    auto store = std::move(SeriesStore::Open(dir.path, options)).value();
    std::vector<SeriesId> ids;  // the bench's own state is allocated before measuring
    ids.reserve(kSeries);
    std::vector<Signal> signals;
    for (int s = 0; s < kSeries; ++s) signals.emplace_back(s);
    std::vector<SeriesPoint> batch;
    batch.reserve(10 * kSeries);
    const size_t heap_before = HeapInUse();
    const uint64_t memtable_before = store->TotalStats().memtable_bytes;
    for (int s = 0; s < kSeries; ++s) {
      ids.push_back(*store->CreateSeries({"pump-" + std::to_string(100000 + s), "temperature", ValueType::kDouble,
                                          "dtmi:com:example:Pump;1", "degreeCelsius", "Temperature"}));
    }
    for (int i = 0; i < points; i += 10) {
      batch.clear();
      for (int k = i; k < std::min(i + 10, points); ++k) {
        const TimeNs t = kStart + k * kSecond;
        for (int s = 0; s < kSeries; ++s) batch.push_back({ids[s], t, signals[s].Next(t)});
      }
      if (!store->Write(batch).ok()) state.SkipWithError("write failed");
    }
    const double heap = static_cast<double>(HeapInUse()) - static_cast<double>(heap_before);
    const double memtable = static_cast<double>(store->TotalStats().memtable_bytes - memtable_before);
    state.counters["heap_per_series"] = (heap - memtable) / kSeries;
    state.counters["memtable_per_series"] = memtable / kSeries;
  }
}
BENCHMARK(BM_MemoryPerSeries)
    ->ArgNames({"max_head_points", "points"})
    ->Args({1000, 0})
    ->Args({1000, 500})    // the figure: a half-full head
    ->Args({1000, 1000})   // the largest head (the seal comes with the next point)
    ->Args({500, 1000})    // one sealed chunk (its index entry) and a full head
    ->Iterations(1)->Unit(benchmark::kMillisecond);

// The head chunks alone (no store, no RocksDB): heap bytes of 10,000 double heads holding
// `points` points each of the 0.01-resolution signal, per head and per point.
void BM_HeadChunkMemory(benchmark::State& state) {
  constexpr int kHeads = 10'000;
  const int points = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::vector<Signal> signals;
    for (int h = 0; h < kHeads; ++h) signals.emplace_back(h);
    std::vector<HeadChunk> heads;
    heads.reserve(kHeads);
    const size_t before = HeapInUse();
    for (int h = 0; h < kHeads; ++h) heads.emplace_back(ValueType::kDouble);
    for (int i = 0; i < points; ++i) {
      const TimeNs t = kStart + i * kSecond;
      for (int h = 0; h < kHeads; ++h) heads[h].Append(t, signals[h].Next(t));
    }
    const double per_head = (static_cast<double>(HeapInUse()) - static_cast<double>(before)) / kHeads;
    state.counters["heap_per_head"] = per_head + sizeof(HeadChunk);
    state.counters["heap_per_point"] = per_head / points;
  }
}
BENCHMARK(BM_HeadChunkMemory)->Arg(500)->Arg(1000)->Iterations(1)->Unit(benchmark::kMillisecond);

// Open time of a store holding `series` × `chunks` sealed chunks of `points` each (flushed, so
// nothing is replayed): what a restart costs before the first query.
void BM_OpenStore(benchmark::State& state) {
  const int series = static_cast<int>(state.range(0));
  const int chunks = static_cast<int>(state.range(1));
  const int points = static_cast<int>(state.range(2));
  ScratchDir dir;
  SeriesStoreOptions options;
  options.sync = false;
  options.max_head_points = static_cast<uint32_t>(points);
  {
    auto store = std::move(SeriesStore::Open(dir.path, options)).value();
    std::vector<SeriesId> ids;
    std::vector<Signal> signals;
    for (int s = 0; s < series; ++s) {
      ids.push_back(*store->CreateSeries({"pump-" + std::to_string(s), "temperature", ValueType::kDouble, "", "", ""}));
      signals.emplace_back(s);
    }
    std::vector<SeriesPoint> batch;
    for (int i = 0; i < chunks * points; ++i) {
      const TimeNs t = kStart + i * kSecond;
      for (int s = 0; s < series; ++s) batch.push_back({ids[s], t, signals[s].Next(t)});
      if (batch.size() >= 200'000) (void)store->Write(batch), batch.clear();
    }
    (void)store->Write(batch);
    (void)store->Flush();
  }
  // One untimed open first: it replays RocksDB's own log into a table file, which would
  // otherwise dominate the first timed open.
  (void)SeriesStore::Open(dir.path, options);
  for (auto _ : state) {
    auto store = SeriesStore::Open(dir.path, options);
    if (!store.ok()) state.SkipWithError("open failed");
    state.PauseTiming();
    store = Status::Internal("closed");
    state.ResumeTiming();
  }
  state.counters["chunks"] = static_cast<double>(series) * chunks;
}
BENCHMARK(BM_OpenStore)
    ->ArgNames({"series", "chunks", "points"})
    ->Args({10'000, 50, 100})  // many small chunks: the per-chunk cost
    ->Args({1'000, 50, 1000})  // realistic chunks: what reading whole chunks used to cost
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// 30 days of 1 Hz data in one series, hourly averages (720 buckets).
void BM_HourlyAverage30Days(benchmark::State& state) {
  static ScratchDir dir;
  static std::unique_ptr<SeriesStore> store;
  static SeriesId id = 0;
  constexpr size_t kPoints = 30 * 86400;
  if (!store) {
    SeriesStoreOptions options;
    options.sync = false;  // loading the fixture is not what is measured
    store = std::move(SeriesStore::Open(dir.path, options)).value();
    id = *store->CreateSeries({"pump-1", "temperature", ValueType::kDouble, "", "", ""});
    Signal signal(7);
    std::vector<SeriesPoint> batch;
    for (size_t i = 0; i < kPoints; ++i) {
      const TimeNs t = kStart + static_cast<TimeNs>(i) * kSecond;
      batch.push_back({id, t, signal.Next(t)});
      if (batch.size() == 100'000) (void)store->Write(batch), batch.clear();
    }
    (void)store->Write(batch);
    (void)store->Flush();
  }
  const AggregateRequest req{id, kStart, kStart + static_cast<TimeNs>(kPoints) * kSecond, 3600 * kSecond, false};
  for (auto _ : state) {
    auto buckets = QueryAggregate(*store, req);
    if (!buckets.ok() || buckets->size() != 720) state.SkipWithError("wrong result");
    benchmark::DoNotOptimize(buckets);
  }
  state.SetItemsProcessed(state.iterations() * kPoints);
}
BENCHMARK(BM_HourlyAverage30Days)->Unit(benchmark::kMillisecond);

// A restarted server's store: 10,000 series ("sensor-N"/"f0") of 1,000 points each, sealed
// (one chunk each, nothing left in a head), plus "long0"/"f0" with 2 h at 1 Hz; reopened.
struct ReopenedFleet {
  static constexpr char kFleetModel[] = "dtmi:doppel:bench:Sensor;1";  // recorded in the series
  static constexpr int kSeries = 10'000;
  static constexpr int kPoints = 1000;
  ReopenedFleet() {
    SeriesStoreOptions options;
    options.sync = false;  // loading the fixture is not what is measured
    {
      auto writer = std::move(SeriesStore::Open(dir.path, options)).value();
      std::vector<SeriesId> fleet;
      for (int s = 0; s < kSeries; ++s) {
        fleet.push_back(*writer->CreateSeries({"sensor-" + std::to_string(s), "f0", ValueType::kDouble, kFleetModel, "", ""}));
      }
      const SeriesId long0 = *writer->CreateSeries({"long0", "f0", ValueType::kDouble, "", "", ""});
      Signal signal(3);
      std::vector<SeriesPoint> batch;
      for (int i = 0; i < kPoints; ++i) {
        const TimeNs t = kStart + i * kSecond;
        const double v = signal.Next(t);
        for (SeriesId id : fleet) batch.push_back({id, t, v});
        if (batch.size() >= 200'000) (void)writer->Write(batch), batch.clear();
      }
      for (int i = 0; i < 7200; ++i) batch.push_back({long0, kStart + i * kSecond, signal.Next(kStart + i * kSecond)});
      (void)writer->Write(batch);
      (void)writer->Flush();
    }
    store = std::move(SeriesStore::Open(dir.path, options)).value();
    for (const SeriesInfo& info : store->ListSeries()) {
      if (info.spec.twin_id != "long0") ids.push_back(info.id);
    }
  }
  ScratchDir dir;
  std::unique_ptr<SeriesStore> store;
  std::vector<SeriesId> ids;  // the 10,000 fleet series
};
ReopenedFleet& Fleet() {
  static ReopenedFleet fleet;
  return fleet;
}

// SeriesStore::Last of 10,000 series after a restart (heads empty): history's mode "last".
void BM_LastAfterReopen(benchmark::State& state) {
  ReopenedFleet& fleet = Fleet();
  for (auto _ : state) {
    auto last = fleet.store->Last(fleet.ids);
    if (!last.ok() || last->size() != fleet.ids.size() || !last->back()) state.SkipWithError("wrong result");
    benchmark::DoNotOptimize(last);
  }
  state.SetItemsProcessed(state.iterations() * fleet.ids.size());
}
BENCHMARK(BM_LastAfterReopen)->Unit(benchmark::kMillisecond);

// A raw 1-hour history query of one series selected by twin and path, beside 10,000 others:
// bench/history_load's raw_1h_one_series without HTTP and JSON.
void BM_HistoryRawHourOneSeries(benchmark::State& state) {
  ReopenedFleet& fleet = Fleet();
  ManualClock clock;
  twin::MemoryJournal journal;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  for (auto _ : state) {
    history::HistoryRequest req;
    req.twins = {"long0"};
    req.paths = {"f0"};
    req.start = kStart + 1800 * kSecond;
    req.end = kStart + 5400 * kSecond;
    auto result = history::RunHistoryQuery(graph, *fleet.store, std::move(req));
    if (!result.ok() || result->series.size() != 1 || result->series[0].points.size() != 3600) {
      state.SkipWithError("wrong result");
    }
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_HistoryRawHourOneSeries)->Unit(benchmark::kMicrosecond);

// History mode "last" of the 10,000 fleet series selected by (recorded) model: bench/history_load's
// last_all_series without HTTP and JSON (model selection lists the whole catalog).
void BM_HistoryLastByModel(benchmark::State& state) {
  ReopenedFleet& fleet = Fleet();
  ManualClock clock;
  twin::MemoryJournal journal;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  for (auto _ : state) {
    history::HistoryRequest req;
    req.model = ReopenedFleet::kFleetModel;
    req.mode = history::Mode::kLast;
    auto result = history::RunHistoryQuery(graph, *fleet.store, std::move(req));
    if (!result.ok() || result->series.size() != fleet.ids.size() || !result->series[0].last) {
      state.SkipWithError("wrong result");
    }
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_HistoryLastByModel)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace doppel::tsdb

BENCHMARK_MAIN();
