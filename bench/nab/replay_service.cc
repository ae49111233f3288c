// The NAB corpus as telemetry: an in-process Doppel (TwinGraph on a MemoryJournal, a SeriesStore
// in a temporary directory, the Ingestor, LiveState, EventBus and the AnalyticsService), one twin
// per series, the detector put for the twins' model, every row written through the Ingestor at
// full speed with its CSV timestamp, and the scores taken from the "anomalyScore" readings the
// service writes back.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>
#include <unistd.h>

#include "analytics/analytics_service.h"
#include "base/clock.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "nab/replay.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"
#include "tsdb/series_store.h"

namespace doppel::nab {
namespace {

constexpr std::string_view kModelId = "dtmi:doppel:nab:Series;1";
constexpr std::string_view kModel = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:doppel:nab:Series;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "value", "schema": "double"},
    {"@type": "Telemetry", "name": "anomalyScore", "schema": "double"}
  ]})";
constexpr std::size_t kBatch = 1000;  // rows per Ingestor::Write

std::string TwinId(std::size_t file) { return fmt::format("nab-{}", file); }

// A temporary directory removed on scope exit.
struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               fmt::format("doppel-nab-{}-{}", ::getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

Result<Replay> ReplayThroughService(const Corpus& corpus, const json::object& detector) {
  TempDir dir;
  twin::MemoryJournal journal;
  ManualClock clock{TimePoint(std::chrono::nanoseconds(corpus.files.empty() ? 0 : corpus.files[0].times_ns[0]))};
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  DOPPEL_ASSIGN_OR_RETURN(json::value model, ParseJson(kModel));
  DOPPEL_RETURN_IF_ERROR(graph.AddModels({model}).status());
  for (std::size_t f = 0; f < corpus.files.size(); ++f) {
    json::value twin = json::object{{"$metadata", json::object{{"$model", kModelId}}}};
    DOPPEL_RETURN_IF_ERROR(graph.PutTwin(TwinId(f), twin, {}).status());
  }
  DOPPEL_ASSIGN_OR_RETURN(auto store, tsdb::SeriesStore::Open((dir.path / "history").string(), {.sync = false}));
  ingest::Ingestor ingestor(graph, *store);
  ingest::LiveState live;
  DOPPEL_ASSIGN_OR_RETURN(auto service,
                          analytics::AnalyticsService::Open({.dir = "", .kpi_interval = std::chrono::seconds(0)}, graph,
                                                            events, ingestor, live, clock));
  service->Start();

  // The scores, by file and row, as the service writes them back.
  Replay replay;
  for (const Series& s : corpus.files) replay.scores.emplace_back(s.values.size(), 0.0);
  std::mutex mu;
  std::size_t collected = 0, unmatched = 0;
  const uint64_t listener = ingestor.Subscribe([&](std::span<const ingest::Reading> readings) {
    std::lock_guard lock(mu);
    for (const ingest::Reading& r : readings) {
      if (r.path != "anomalyScore" || r.twin_id.rfind("nab-", 0) != 0) continue;
      const std::size_t f = std::stoul(r.twin_id.substr(4));
      const auto& times = corpus.files[f].times_ns;
      const auto at = std::lower_bound(times.begin(), times.end(), r.time);
      const double* score = std::get_if<double>(&r.value);
      if (at == times.end() || *at != r.time || score == nullptr) {
        ++unmatched;
        continue;
      }
      replay.scores[f][static_cast<std::size_t>(at - times.begin())] = *score;
      ++collected;
    }
  });

  json::object body = detector;
  body["model"] = kModelId;
  body["signals"] = json::array{"value"};
  body["output"] = "anomalyScore";
  if (auto put = service->PutDetector("nab", body); !put.ok()) {
    ingestor.Unsubscribe(listener);
    return put.status();
  }

  std::size_t readings = 0;
  const auto started = std::chrono::steady_clock::now();
  std::vector<ingest::Reading> batch;
  batch.reserve(kBatch);
  for (std::size_t f = 0; f < corpus.files.size(); ++f) {
    const Series& s = corpus.files[f];
    const std::string id = TwinId(f);
    for (std::size_t i = 0; i < s.values.size(); ++i) {
      batch.push_back({.twin_id = id, .path = "value", .time = s.times_ns[i], .value = s.values[i]});
      if (batch.size() == kBatch || i + 1 == s.values.size()) {
        if (Status written = ingestor.Write(batch); !written.ok()) {
          ingestor.Unsubscribe(listener);
          return written;
        }
        batch.clear();
      }
    }
    readings += s.values.size();
  }
  service->Flush();
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - started).count();
  ingestor.Unsubscribe(listener);
  service->Stop();
  replay.ns_per_reading = readings > 0 ? ns / static_cast<double>(readings) : 0;
  if (collected != readings || unmatched != 0) {
    return Status::Internal(fmt::format("service path: {} scores collected for {} readings ({} unmatched)", collected,
                                        readings, unmatched));
  }
  return replay;
}

}  // namespace doppel::nab
