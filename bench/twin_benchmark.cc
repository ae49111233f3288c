// Twin graph benchmarks: the cost of a property PATCH (domain only, and durable on RocksDB with
// fsync) and the time to restore N twins from RocksDB at start-up.
//
//   twin_benchmark                                   # PATCH figures + restore of 100k twins
//   twin_benchmark --benchmark_filter=Restore        # restore of 100k and 1M twins
//
// The 1M-twin restore is registered only when --benchmark_filter is given (generating its
// store takes a while), so the quick default run stays quick.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include "store/rocks_journal.h"
#include "twin/twin_graph.h"

namespace doppel::twin {
namespace {

constexpr std::string_view kHvac = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:Hvac;1", "@type": "Interface",
  "contents": [{"@type": "Property", "name": "setpoint", "schema": "double"},
               {"@type": "Property", "name": "mode", "schema": "string"}]})";

constexpr std::string_view kRoom = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:Room;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "name", "schema": "string"},
    {"@type": "Property", "name": "temperature", "schema": "double"},
    {"@type": "Property", "name": "humidity", "schema": "double"},
    {"@type": "Property", "name": "occupied", "schema": "boolean"},
    {"@type": "Property", "name": "floor", "schema": "integer"},
    {"@type": "Component", "name": "hvac", "schema": "dtmi:bench:Hvac;1"},
    {"@type": "Relationship", "name": "adjacentTo", "target": "dtmi:bench:Room;1"}
  ]})";

constexpr int kPatchTwins = 1000;

json::value J(std::string_view text) { return ParseJson(text).value(); }

json::value RoomBody(int i) {
  json::object body{
      {"$metadata", json::object{{"$model", "dtmi:bench:Room;1"}}},
      {"name", fmt::format("Room {}", i)},
      {"temperature", 20.0 + i % 10},
      {"humidity", 0.4},
      {"occupied", i % 2 == 0},
      {"floor", i % 50},
      {"hvac", json::object{{"$metadata", json::object()}, {"setpoint", 21.0}, {"mode", "auto"}}}};
  return body;
}

std::string TwinId(int i) { return fmt::format("room-{:07d}", i); }

void Check(const Status& st, std::string_view what) {
  if (!st.ok()) {
    fmt::print(stderr, "{}: {}\n", what, st.ToString());
    std::abort();
  }
}

// A directory under the temp dir, removed when the process ends.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view name) {
    path_ = (std::filesystem::temp_directory_path() /
             fmt::format("doppel-bench-{}-{}", name, ::getpid()))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A graph of kPatchTwins rooms over `journal`.
std::unique_ptr<TwinGraph> MakeGraph(Journal& journal, const Clock& clock, EventBus& events) {
  auto graph = std::make_unique<TwinGraph>(journal, clock, events);
  Check(graph->Restore(), "restore");
  Check(graph->AddModels({J(kHvac), J(kRoom)}).status(), "models");
  for (int i = 0; i < kPatchTwins; ++i)
    Check(graph->PutTwin(TwinId(i), RoomBody(i), {}).status(), "put");
  return graph;
}

// One property replace per iteration, round-robin over the twins: validation, metadata, the
// journal commit, the index update and the event.
void RunPatches(benchmark::State& state, TwinGraph& graph) {
  json::value patch = J(R"([{"op":"replace","path":"/temperature","value":0}])");
  json::value& value = patch.as_array()[0].as_object()["value"];
  std::vector<std::string> ids;
  for (int i = 0; i < kPatchTwins; ++i) ids.push_back(TwinId(i));
  int64_t n = 0;
  for (auto _ : state) {
    value = 18.0 + static_cast<double>(n % 100) / 10;
    auto result = graph.PatchTwin(ids[n % kPatchTwins], patch, {});
    if (!result.ok()) state.SkipWithError(result.status().ToString().c_str());
    benchmark::DoNotOptimize(result);
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_PatchTwinMemoryJournal(benchmark::State& state) {
  MemoryJournal journal;
  ManualClock clock;
  EventBus events;
  auto graph = MakeGraph(journal, clock, events);
  RunPatches(state, *graph);
}
BENCHMARK(BM_PatchTwinMemoryJournal)->UseRealTime();

void RocksPatches(benchmark::State& state, bool sync) {
  ScratchDir dir(sync ? "patch-sync" : "patch-nosync");
  auto journal = store::RocksJournal::Open(dir.path(), store::StoreOptions{.sync = sync});
  Check(journal.status(), "open");
  ManualClock clock;
  EventBus events;
  auto graph = MakeGraph(**journal, clock, events);
  RunPatches(state, *graph);
}

void BM_PatchTwinRocksSync(benchmark::State& state) { RocksPatches(state, true); }
BENCHMARK(BM_PatchTwinRocksSync)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_PatchTwinRocksNoSync(benchmark::State& state) { RocksPatches(state, false); }
BENCHMARK(BM_PatchTwinRocksNoSync)->Unit(benchmark::kMicrosecond)->UseRealTime();

// ---- restore ----

// Compacts the whole store, as it would be after running a while: otherwise the restore
// competes with the compactions the bulk load left pending.
void Settle(const std::string& dir) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Options options;
  options.compression = rocksdb::kLZ4Compression;  // as RocksJournal writes (where LZ4 is linked)
  auto s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) Check(Status::Internal(s.ToString()), "settle open");
  std::unique_ptr<rocksdb::DB> db(raw);
  s = db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr);
  if (!s.ok()) Check(Status::Internal(s.ToString()), "settle compact");
  s = db->Close();
  if (!s.ok()) Check(Status::Internal(s.ToString()), "settle close");
}

// Writes the models and `count` rooms into a new store under `dir`: one template twin made by
// the graph, cloned with new ids and values, committed 10k per batch.
void WriteRooms(const std::string& dir, int count) {
  auto journal = store::RocksJournal::Open(dir, store::StoreOptions{.sync = false});
  Check(journal.status(), "open");
  ManualClock clock;
  EventBus events;
  TwinGraph graph(**journal, clock, events);
  Check(graph.Restore(), "restore");
  Check(graph.AddModels({J(kHvac), J(kRoom)}).status(), "models");
  json::object tmpl = graph.PutTwin("template", RoomBody(0), {}).value();
  Check(graph.DeleteTwin("template", {}), "delete");
  std::vector<Mutation> batch;
  for (int i = 0; i < count; ++i) {
    json::object doc = tmpl;
    doc["$dtId"] = TwinId(i);
    doc["$etag"] = fmt::format("W/\"bench-{}\"", i);
    doc["name"] = fmt::format("Room {}", i);
    doc["temperature"] = 20.0 + i % 10 + 0.5;
    doc["floor"] = i % 50;
    batch.push_back({Mutation::Kind::kPutTwin, TwinId(i), ToJson(doc)});
    if (batch.size() == 10000 || i + 1 == count) {
      Check((*journal)->Commit(batch, graph.last_event_seq()), "commit");
      batch.clear();
    }
  }
}

// A settled store of `count` rooms, made once per process.
const std::string& RestoreStore(int count) {
  static std::map<int, std::unique_ptr<ScratchDir>> stores;
  auto& dir = stores[count];
  if (!dir) {
    dir = std::make_unique<ScratchDir>(fmt::format("restore-{}", count));
    WriteRooms(dir->path(), count);
    Settle(dir->path());
  }
  return dir->path();
}

void BM_RestoreFromRocks(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const std::string& dir = RestoreStore(count);
  ManualClock clock;
  for (auto _ : state) {
    auto opened = store::RocksJournal::Open(dir);
    Check(opened.status(), "open");
    std::unique_ptr<store::RocksJournal> journal = std::move(opened).value();
    EventBus events;
    auto graph = std::make_unique<TwinGraph>(*journal, clock, events);
    Check(graph->Restore(), "restore");
    if (graph->twin_count() != static_cast<std::size_t>(count))
      state.SkipWithError("twin count mismatch");
    state.PauseTiming();  // tearing down a million twins is not part of start-up
    graph.reset();
    journal.reset();
    state.ResumeTiming();
  }
  state.counters["twins"] = count;
  state.counters["twins_per_second"] =
      benchmark::Counter(static_cast<double>(count), benchmark::Counter::kIsIterationInvariantRate);
}

bool FilterGiven() {
  std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
  std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  return args.find("--benchmark_filter") != std::string::npos;
}

[[maybe_unused]] const auto* kRestore = [] {
  auto* b = benchmark::RegisterBenchmark("BM_RestoreFromRocks", BM_RestoreFromRocks)
                ->Unit(benchmark::kMillisecond)
                ->MeasureProcessCPUTime()
                ->UseRealTime()
                ->Arg(100'000);
  if (FilterGiven()) b->Arg(1'000'000);
  return b;
}();

}  // namespace
}  // namespace doppel::twin

BENCHMARK_MAIN();
