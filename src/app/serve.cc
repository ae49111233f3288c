#include "app/serve.h"

#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <sstream>

#include "base/clock.h"
#include "history/history_request.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "server/api.h"
#include "server/http_server.h"
#include "store/rocks_journal.h"
#include "stream/stream_hub.h"
#include "stream/websocket_endpoint.h"
#include "tsdb/series_store.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::app {
namespace {

namespace fs = std::filesystem;

Status ConfigError(std::string_view key, std::string_view what) {
  return Status::InvalidArgument("config key \"" + std::string(key) + "\": " + std::string(what));
}

Result<uint64_t> PositiveInteger(std::string_view key, const json::value& v) {
  if (v.is_int64() && v.get_int64() > 0) return static_cast<uint64_t>(v.get_int64());
  if (v.is_uint64() && v.get_uint64() > 0) return v.get_uint64();
  return ConfigError(key, "must be a positive integer");
}

// "retention": [{"keep": "30d", "model"?: dtmi, "twin"?: id, "path"?: path}, ...]
Result<std::vector<tsdb::RetentionRule>> RetentionRules(const json::value& v) {
  if (!v.is_array()) return ConfigError("retention", "must be a list of rules like {\"model\": ..., \"keep\": \"30d\"}");
  std::vector<tsdb::RetentionRule> rules;
  for (std::size_t i = 0; i < v.get_array().size(); ++i) {
    const json::value& item = v.get_array()[i];
    const std::string where = "retention[" + std::to_string(i) + "]";
    if (!item.is_object()) return ConfigError(where, "must be an object");
    tsdb::RetentionRule rule;
    bool has_keep = false;
    for (const auto& [key, value] : item.get_object()) {
      const std::string name = where + "." + std::string(key);
      if (key == "keep") {
        if (!value.is_string()) return ConfigError(name, "must be a duration like \"30d\"");
        auto keep = history::ParseDurationText(value.get_string(), name);
        if (!keep.ok()) return ConfigError(name, keep.status().message());
        rule.keep = *keep;
        has_keep = true;
      } else if (key == "keepRollups") {
        if (!value.is_string()) return ConfigError(name, "must be a duration like \"400d\"");
        auto keep = history::ParseDurationText(value.get_string(), name);
        if (!keep.ok()) return ConfigError(name, keep.status().message());
        rule.keep_rollups = *keep;
      } else if (key == "model" || key == "twin" || key == "path") {
        if (!value.is_string() || value.get_string().empty()) return ConfigError(name, "must be a non-empty string");
        (key == "model" ? rule.model_id : key == "twin" ? rule.twin_id : rule.path) = value.get_string();
      } else {
        return ConfigError(name, "unknown key (known: keep, keepRollups, model, twin, path)");
      }
    }
    if (!has_keep) return ConfigError(where, "needs \"keep\"");
    if (rule.twin_id.empty() != rule.path.empty()) return ConfigError(where, "\"twin\" and \"path\" go together");
    if (!rule.twin_id.empty() && !rule.model_id.empty()) {
      return ConfigError(where, "names a series (twin, path) or a model, not both");
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

Result<std::string> StringValue(std::string_view key, const json::value& v) {
  if (!v.is_string()) return ConfigError(key, std::string("must be a string, got ") + std::string(JsonTypeName(v)));
  return std::string(v.get_string());
}

// The data directory's layout: one directory per store, so each can be backed up, moved or
// inspected on its own (docs/operations.md).
std::string GraphDir(const std::string& data_dir) { return (fs::path(data_dir) / "graph").string(); }
std::string HistoryDir(const std::string& data_dir) { return (fs::path(data_dir) / "history").string(); }

Result<std::unique_ptr<twin::Journal>> OpenJournal(const ServeOptions& options) {
  if (options.data_dir.empty()) {
    spdlog::warn("no data directory given: running in memory, nothing will be persisted");
    return std::unique_ptr<twin::Journal>(std::make_unique<twin::MemoryJournal>());
  }
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec) return Status::Unavailable("cannot create data directory " + options.data_dir + ": " + ec.message());
  DOPPEL_ASSIGN_OR_RETURN(auto journal, store::RocksJournal::Open(GraphDir(options.data_dir), {.sync = options.sync}));
  return std::unique_ptr<twin::Journal>(std::move(journal));
}

// History lives in <data-dir>/history; without a data directory in a scratch directory that
// is removed at exit (like the in-memory graph, nothing outlives the process).
class HistoryStore {
 public:
  static Result<std::unique_ptr<HistoryStore>> Open(const ServeOptions& options) {
    std::unique_ptr<HistoryStore> h(new HistoryStore());
    std::string dir;
    if (options.data_dir.empty()) {
      std::string pattern = (fs::temp_directory_path() / "doppel-history.XXXXXX").string();
      if (mkdtemp(pattern.data()) == nullptr) return Status::Unavailable("cannot create a scratch history directory");
      dir = h->scratch_ = pattern;
    } else {
      dir = HistoryDir(options.data_dir);
    }
    DOPPEL_ASSIGN_OR_RETURN(h->store_, tsdb::SeriesStore::Open(dir, {.sync = options.sync}));
    return h;
  }
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;
  ~HistoryStore() {
    store_.reset();
    std::error_code ec;
    if (!scratch_.empty()) fs::remove_all(scratch_, ec);
  }
  tsdb::SeriesStore& store() { return *store_; }

 private:
  HistoryStore() = default;
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::string scratch_;
};

// POST /backup: <dir>/graph and <dir>/history, each a RocksDB checkpoint taken while serving
// (docs/operations.md). `dir` must not exist; a failed backup removes what it wrote.
Status BackupTo(const std::string& dir, store::RocksJournal& graph_store, tsdb::SeriesStore& history) {
  fs::path path(dir);
  std::error_code ec;
  if (fs::exists(path, ec)) return Status::AlreadyExists("backup directory " + dir + " already exists; name a new one");
  if (!fs::is_directory(path.parent_path(), ec)) {
    return Status::InvalidArgument("the parent of the backup directory, " + path.parent_path().string() +
                                   ", is not a directory on the server");
  }
  if (!fs::create_directory(path, ec)) return Status::Unavailable("cannot create " + dir + ": " + ec.message());
  Status done = graph_store.Checkpoint((path / "graph").string());
  if (done.ok()) done = history.Checkpoint((path / "history").string());
  if (!done.ok()) {
    fs::remove_all(path, ec);
    return done;
  }
  spdlog::info("backup written to {}", dir);
  return Status::Ok();
}

// Applies the retention rules every `interval` until destroyed (a thread of its own: dropping
// chunks is a few RocksDB deletes, but it must never wait behind a request).
class RetentionRunner {
 public:
  RetentionRunner(tsdb::SeriesStore& store, std::vector<tsdb::RetentionRule> rules, std::chrono::seconds interval,
                  const Clock& clock)
      : store_(store), rules_(std::move(rules)), interval_(interval), clock_(clock) {
    if (rules_.empty()) return;
    thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
  }
  ~RetentionRunner() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      thread_.request_stop();
    }
    wake_.notify_all();
  }

 private:
  void Run(std::stop_token stop) {
    std::unique_lock lock(mu_);
    while (!wake_.wait_for(lock, interval_, [&] { return stop.stop_requested(); })) {
      lock.unlock();
      auto dropped = store_.ApplyRetention(rules_, clock_.Now().time_since_epoch().count());
      if (!dropped.ok()) {
        spdlog::warn("history retention failed: {}", dropped.status().ToString());
      } else if (*dropped > 0) {
        spdlog::info("history retention dropped {} chunks", *dropped);
      }
      lock.lock();
    }
  }

  tsdb::SeriesStore& store_;
  const std::vector<tsdb::RetentionRule> rules_;
  const std::chrono::seconds interval_;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::jthread thread_;  // last: joined first on destruction
};

// Logs go to stderr: stdout carries only the "listening" line that scripts wait for.
void ConfigureLogging(const std::string& level) {
  if (spdlog::get("doppel") == nullptr) spdlog::set_default_logger(spdlog::stderr_color_mt("doppel"));
  auto parsed = spdlog::level::from_str(level);
  // from_str maps unknown names to "off"; only believe it when "off" was asked for.
  if (parsed == spdlog::level::off && level != "off") {
    spdlog::warn("unknown log level '{}', using info", level);
    parsed = spdlog::level::info;
  }
  spdlog::set_level(parsed);
}

// Runs with SIGINT and SIGTERM blocked in every thread; returns the exit code.
int Run(const ServeOptions& options, const sigset_t& stop_signals) {
  auto journal = OpenJournal(options);
  if (!journal.ok()) {
    spdlog::error("cannot open the store: {}", journal.status().ToString());
    return 1;
  }
  const Clock& clock = SystemClock::Instance();
  twin::EventBus events;
  twin::TwinGraph graph(**journal, clock, events);
  auto restore_start = std::chrono::steady_clock::now();
  if (Status restored = graph.Restore(); !restored.ok()) {
    spdlog::error("cannot restore the twin graph from {}: {}", options.data_dir, restored.ToString());
    return 1;
  }
  auto restore_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - restore_start).count();
  spdlog::info("restored {} models, {} twins, {} relationships in {:.1f} ms", graph.model_count(),
               graph.twin_count(), graph.Read([](const twin::GraphState& s) { return s.relationship_count(); }),
               restore_ms);

  auto history = HistoryStore::Open(options);
  if (!history.ok()) {
    spdlog::error("cannot open the history store: {}", history.status().ToString());
    return 1;
  }
  ingest::Ingestor ingestor(graph, (*history)->store());
  ingest::LiveState live;
  if (Status warmed = live.Warm((*history)->store()); !warmed.ok()) {
    spdlog::error("cannot read the latest values from history: {}", warmed.ToString());
    return 1;
  }
  ingestor.Subscribe([&live](std::span<const ingest::Reading> batch) { live.Apply(batch); });
  auto forget_deleted = events.Subscribe([&live](const twin::GraphEvent& e) {
    if (e.type == twin::EventType::kTwinDeleted) live.EraseTwin(e.subject);
  });
  if (!options.retention.empty()) {
    // Once now, so a rule set the store refuses (two rules for the same series) stops the start.
    auto dropped = (*history)->store().ApplyRetention(options.retention, clock.Now().time_since_epoch().count());
    if (!dropped.ok()) {
      spdlog::error("cannot apply the history retention rules: {}", dropped.status().ToString());
      return 1;
    }
    spdlog::info("history retention: {} rules, {} chunks dropped at start", options.retention.size(), *dropped);
  }
  RetentionRunner retention((*history)->store(), options.retention, options.retention_interval, clock);

  // WebSocket streams (/ws): declared before `http` so it outlives every session.
  stream::StreamHub hub(graph, events, ingestor);
  server::ApiServices services;
  services.metrics.push_back([&hub](std::string& out) { hub.RenderMetrics(out); });
  services.ingestor = &ingestor;
  services.history = &(*history)->store();
  services.live = &live;
  if (auto* graph_store = dynamic_cast<store::RocksJournal*>(journal->get())) {
    services.backup = [graph_store, &history](const std::string& dir) {
      return BackupTo(dir, *graph_store, (*history)->store());
    };
  }
  std::vector<std::unique_ptr<connect::mqtt::MqttConnector>> connectors;
  for (const auto& config : options.connectors) {
    connectors.push_back(std::make_unique<connect::mqtt::MqttConnector>(config, ingestor, graph, clock));
  }
  services.connectors = [&connectors] {
    json::array all;
    for (const auto& c : connectors) all.push_back(c->HealthJson());
    return all;
  };
  services.metrics.push_back([&connectors](std::string& out) {
    std::vector<const connect::mqtt::MqttConnector*> all;
    for (const auto& c : connectors) all.push_back(c.get());
    if (!all.empty()) connect::mqtt::RenderMqttMetrics(all, out);
  });
  server::ApiOptions api_options;
  api_options.max_body_bytes = options.max_body_bytes;
  // Writes may take all workers but one, which stays free for reads.
  api_options.max_ingest_in_flight = std::max(1, server::WorkerThreads(options.threads) - 1);
  server::DigitalTwinsApi api(graph, clock, api_options, services);
  server::HttpServerOptions http_options;
  http_options.listen = options.listen;
  http_options.threads = options.threads;
  http_options.max_body_bytes = options.max_body_bytes;
  http_options.read_timeout = options.read_timeout;
  http_options.websocket = stream::WebSocketEndpointFor(hub);
  server::HttpServer http(http_options, [&api](const server::HttpRequest& request) { return api.Handle(request); });
  if (Status started = http.Start(); !started.ok()) {
    spdlog::error("cannot start the HTTP server: {}", started.ToString());
    return 1;
  }
  for (const auto& connector : connectors) {
    if (Status started = connector->Start(); !started.ok()) {
      spdlog::error("cannot start MQTT connector '{}': {}", connector->config().name, started.ToString());
      for (const auto& c : connectors) c->Stop();
      http.Stop();
      return 1;
    }
    spdlog::info("MQTT connector '{}' started ({})", connector->config().name, connector->config().broker);
  }
  std::printf("doppel listening on http://%s\n", http.address().c_str());
  std::fflush(stdout);
  spdlog::info("serving {} (data: {}, sync: {})", http.address(),
               options.data_dir.empty() ? "in memory" : options.data_dir, options.sync);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("received {}, stopping: finishing requests in flight", signal == SIGINT ? "SIGINT" : "SIGTERM");
  for (const auto& connector : connectors) connector->Stop();  // first: no new readings in flight
  http.Stop();
  events.Unsubscribe(forget_deleted);
  if (Status flushed = (*history)->store().Flush(); !flushed.ok()) {
    // Not fatal: every acknowledged point is in the history log and is replayed at start.
    spdlog::warn("could not seal the open history chunks: {}", flushed.ToString());
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace

Status ApplyServeConfig(const json::value& config, const std::string& base_dir, ServeOptions& options) {
  if (!config.is_object()) {
    return Status::InvalidArgument(std::string("config must be a JSON object, got ") + std::string(JsonTypeName(config)));
  }
  for (const auto& [key, value] : config.get_object()) {
    if (key == "listen") {
      DOPPEL_ASSIGN_OR_RETURN(options.listen, StringValue(key, value));
    } else if (key == "dataDir") {
      DOPPEL_ASSIGN_OR_RETURN(std::string dir, StringValue(key, value));
      fs::path path(dir);
      options.data_dir = (path.is_relative() && !dir.empty() && !base_dir.empty())
                             ? (fs::path(base_dir) / path).lexically_normal().string()
                             : dir;
    } else if (key == "maxBodyBytes") {
      DOPPEL_ASSIGN_OR_RETURN(options.max_body_bytes, PositiveInteger(key, value));
    } else if (key == "threads") {
      DOPPEL_ASSIGN_OR_RETURN(uint64_t threads, PositiveInteger(key, value));
      if (threads > 1024) return ConfigError(key, "at most 1024");
      options.threads = static_cast<int>(threads);
    } else if (key == "sync") {
      if (!value.is_bool()) return ConfigError(key, "must be true or false");
      options.sync = value.get_bool();
    } else if (key == "readTimeoutMs") {
      DOPPEL_ASSIGN_OR_RETURN(uint64_t ms, PositiveInteger(key, value));
      options.read_timeout = std::chrono::milliseconds(ms);
    } else if (key == "logLevel") {
      DOPPEL_ASSIGN_OR_RETURN(options.log_level, StringValue(key, value));
    } else if (key == "retention") {
      DOPPEL_ASSIGN_OR_RETURN(options.retention, RetentionRules(value));
    } else if (key == "connectors") {
      auto connectors = connect::mqtt::ParseMqttConnectorConfigs(value);
      if (!connectors.ok()) return ConfigError(key, connectors.status().message());
      options.connectors = std::move(connectors).value();
    } else if (key == "retentionIntervalSeconds") {
      DOPPEL_ASSIGN_OR_RETURN(uint64_t seconds, PositiveInteger(key, value));
      options.retention_interval = std::chrono::seconds(seconds);
    } else {
      return ConfigError(key, "unknown key (known: listen, dataDir, maxBodyBytes, threads, sync, "
                              "readTimeoutMs, logLevel, retention, retentionIntervalSeconds, connectors)");
    }
  }
  return Status::Ok();
}

Result<ServeOptions> LoadServeConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto config = ParseJson(text.str(), JsonLimits{.max_bytes = 1u << 20, .max_depth = 16});
  if (!config.ok()) return Status::InvalidArgument("config file " + path + ": " + config.status().message());
  ServeOptions options;
  Status applied = ApplyServeConfig(*config, fs::path(path).parent_path().string(), options);
  if (!applied.ok()) return Status::InvalidArgument("config file " + path + ": " + applied.message());
  return options;
}

int Serve(const ServeOptions& options) {
  ConfigureLogging(options.log_level);
  // Block the stop signals before any thread exists (RocksDB's and the HTTP workers inherit the
  // mask), then collect them with sigwait: no async-signal-safety puzzles in a handler.
  sigset_t stop_signals, previous;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);
  int code = Run(options, stop_signals);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return code;
}

}  // namespace doppel::app
