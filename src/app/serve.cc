#include "app/serve.h"

#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "alerts/alert_service.h"
#include "analytics/analytics_service.h"
#include "app/connector_registry.h"
#include "app/serve_security.h"
#include "automation/automation_service.h"
#include "base/clock.h"
#include "client/webhook_sender.h"
#include "ingest/erasure.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "maintenance/work_order_service.h"
#include "server/api.h"
#include "server/http_server.h"
#include "command/command_service.h"
#include "command/mqtt_command_transport.h"
#include "command/modbus_command_transport.h"
#include "command/opcua_command_transport.h"
#include "command/routing_command_transport.h"
#include "sim/simulation_service.h"
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
// Copies the small file-based stores (API keys, the audit log, the API-defined connectors,
// simulation bindings, shadow states, scenario results and FMUs, analytics definitions, detector
// states and trained models, the command journal, alerts, work orders and enterprise records,
// rules and recommendations, pending webhooks) of
// `data_dir` into `backup`. Each file is replaced atomically (keys, connectors) or only
// appended to (audit), so a plain copy is a consistent version; a torn last audit line is
// dropped when the copy is opened.
Status CopyFileStores(const fs::path& data_dir, const fs::path& backup) {
  for (const char* store :
       {"auth", "audit", "simulation", "analytics", "commands", "alerts", "maintenance", "automation", "webhooks"}) {
    std::error_code ec;
    if (!fs::is_directory(data_dir / store, ec)) continue;
    fs::copy(data_dir / store, backup / store, fs::copy_options::recursive, ec);
    if (ec) return Status::Unavailable("copying " + (data_dir / store).string() + " failed: " + ec.message());
  }
  std::error_code ec;
  if (fs::exists(data_dir / kConnectorsFile, ec)) {
    fs::copy_file(data_dir / kConnectorsFile, backup / kConnectorsFile, ec);
    if (ec) return Status::Unavailable("copying " + (data_dir / kConnectorsFile).string() + " failed: " + ec.message());
  }
  return Status::Ok();
}

Status BackupTo(const std::string& dir, const std::string& data_dir, store::RocksJournal& graph_store,
                tsdb::SeriesStore& history) {
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
  if (done.ok()) done = CopyFileStores(data_dir, path);
  if (!done.ok()) {
    fs::remove_all(path, ec);
    return done;
  }
  spdlog::info("backup written to {}", dir);
  return Status::Ok();
}

// The history retention rules in force now: the config's, plus one per classified field whose
// class has a retention, for every model that is or extends the field's (recomputed on each
// run, as models come and go). The classification's rules name a model and a path, so they
// are more specific than a model-wide rule and less than a single series' (tsdb::RetentionRule).
std::vector<tsdb::RetentionRule> RetentionRulesNow(const ServeOptions& options,
                                                   const auth::DataClassification* classification) {
  std::vector<tsdb::RetentionRule> rules = options.retention;
  if (classification == nullptr) return rules;
  for (const auth::ClassRetention& r : classification->RetentionRules()) {
    tsdb::RetentionRule rule;
    rule.model_id = r.model_id;
    rule.path = r.path;
    rule.keep = r.keep.count();
    rules.push_back(std::move(rule));
  }
  return rules;
}

bool HasRetention(const ServeOptions& options) {
  if (!options.retention.empty()) return true;
  if (!options.classification) return false;
  const auto& classes = options.classification->classes;
  return std::any_of(classes.begin(), classes.end(),
                     [](const auth::DataClass& c) { return c.retention.count() > 0; });
}

// Applies the retention rules every `interval` until destroyed (a thread of its own: dropping
// chunks is a few RocksDB deletes, but it must never wait behind a request).
class RetentionRunner {
 public:
  using Rules = std::function<std::vector<tsdb::RetentionRule>()>;
  // `rules` null: nothing to apply, no thread.
  RetentionRunner(tsdb::SeriesStore& store, Rules rules, std::chrono::seconds interval,
                  const Clock& clock)
      : store_(store), rules_(std::move(rules)), interval_(interval), clock_(clock) {
    if (!rules_) return;
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
      auto dropped = store_.ApplyRetention(rules_(), clock_.Now().time_since_epoch().count());
      if (!dropped.ok()) {
        spdlog::warn("history retention failed: {}", dropped.status().ToString());
      } else if (*dropped > 0) {
        spdlog::info("history retention dropped {} chunks", *dropped);
      }
      lock.lock();
    }
  }

  tsdb::SeriesStore& store_;
  const Rules rules_;
  const std::chrono::seconds interval_;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::jthread thread_;  // last: joined first on destruction
};

// Once at start, so a rule set the store refuses (two rules for one series) stops the start.
Status ApplyRetentionAtStart(tsdb::SeriesStore& store,
                             const std::vector<tsdb::RetentionRule>& rules, const Clock& clock) {
  if (rules.empty()) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(size_t dropped,
                          store.ApplyRetention(rules, clock.Now().time_since_epoch().count()));
  spdlog::info("history retention: {} rules, {} chunks dropped at start", rules.size(), dropped);
  return Status::Ok();
}

server::ApiOptions ApiOptionsOf(const ServeOptions& options) {
  server::ApiOptions api;
  api.max_body_bytes = options.max_body_bytes;
  // Writes may take all workers but one, which stays free for reads.
  api.max_ingest_in_flight = std::max(1, server::WorkerThreads(options.threads) - 1);
  api.requests_per_second_per_caller = options.requests_per_second_per_caller;
  api.request_burst_per_caller = options.request_burst_per_caller;
  return api;
}

server::HttpServerOptions HttpOptionsOf(const ServeOptions& options) {
  server::HttpServerOptions http;
  http.listen = options.listen;
  http.threads = options.threads;
  http.max_body_bytes = options.max_body_bytes;
  http.read_timeout = options.read_timeout;
  http.tls = options.tls;
  return http;
}

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

  auto security = ServerSecurity::Open(options, graph, events);
  if (!security.ok()) {
    spdlog::error("cannot set up security: {}", security.status().ToString());
    return 1;
  }
  if (Status checked = (*security)->CheckListenAddress(options.listen); !checked.ok()) {
    spdlog::error("{}", checked.message());
    return 1;
  }

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
  const auth::DataClassification* classification = (*security)->classification();
  if (Status applied = ApplyRetentionAtStart((*history)->store(),
                                             RetentionRulesNow(options, classification), clock);
      !applied.ok()) {
    spdlog::error("cannot apply the history retention rules: {}", applied.ToString());
    return 1;
  }
  RetentionRunner retention((*history)->store(),
                            HasRetention(options)
                                ? RetentionRunner::Rules([&options, classification] {
                                    return RetentionRulesNow(options, classification);
                                  })
                                : RetentionRunner::Rules(),
                            options.retention_interval, clock);

  // WebSocket streams (/ws): declared before `http` so it outlives every session.
  stream::StreamHub hub(graph, events, ingestor);
  server::ApiServices services;
  services.metrics.push_back([&hub](std::string& out) { hub.RenderMetrics(out); });
  services.ingestor = &ingestor;
  services.history = &(*history)->store();
  services.live = &live;
  // The dashboard's built assets (docs/dashboard.md): $DOPPEL_WEB_ROOT, else web/ beside the binary.
  std::error_code exe_error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", exe_error);
  const char* web_root = std::getenv("DOPPEL_WEB_ROOT");
  services.web_root = web_root != nullptr ? std::string(web_root)
                      : exe_error         ? ""
                                          : (exe.parent_path() / "web").string();
  services.erase_twin = [&graph, &ingestor, &history, &live](std::string_view id) -> Result<json::object> {
    DOPPEL_ASSIGN_OR_RETURN(ingest::TwinErasure erased,
                            ingest::EraseTwinEverywhere(id, graph, ingestor, (*history)->store(), live));
    spdlog::info("erased twin '{}': {} relationships, {} series, {} points", id, erased.relationships,
                 erased.history.series, erased.history.points);
    return json::object{{"twin", id},
                        {"relationships", erased.relationships},
                        {"series", erased.history.series},
                        {"points", erased.history.points}};
  };
  (*security)->AddTo(services);
  if (auto* graph_store = dynamic_cast<store::RocksJournal*>(journal->get())) {
    services.backup = [graph_store, &history, &options](const std::string& dir) {
      return BackupTo(dir, options.data_dir, *graph_store, (*history)->store());
    };
  }
  // The config file's connectors and the API-defined ones (<data-dir>/connectors.json).
  auto connectors = ConnectorRegistry::Open(options.connectors, options.data_dir, ingestor, graph, clock);
  if (!connectors.ok()) {
    spdlog::error("cannot load the MQTT connectors: {}", connectors.status().ToString());
    return 1;
  }
  // Modbus TCP connectors (docs/modbus.md), config file only; started with the others.
  if (Status added = (*connectors)->AddModbus(options.modbus_connectors); !added.ok()) {
    spdlog::error("cannot set up the Modbus connectors: {}", added.ToString());
    return 1;
  }
  // OPC UA connectors (docs/opcua.md), config file only; started with the others.
  if (Status added = (*connectors)->AddOpcUa(options.opcua_connectors); !added.ok()) {
    spdlog::error("cannot set up the OPC UA connectors: {}", added.ToString());
    return 1;
  }
  (*connectors)->AddTo(services);
  // Simulation (docs/simulation.md): the model catalogue, bindings, shadow runs, what-if jobs.
  sim::ModelCatalog catalog = sim::ModelCatalog::WithBuiltins();
  auto simulation = sim::SimulationService::Open(
      {.dir = options.data_dir.empty() ? "" : (fs::path(options.data_dir) / "simulation").string(),
       .config_bindings = options.simulation_bindings},
      catalog, graph, events, ingestor, live, clock);
  if (!simulation.ok()) {
    spdlog::error("cannot open the simulation service: {}", simulation.status().ToString());
    return 1;
  }
  services.simulation = simulation->get();
  services.metrics.push_back(
      [&simulation](std::string& out) { (*simulation)->RenderMetrics(out); });
  (*simulation)->Start();
  // Analytics (docs/analytics.md): anomaly detectors, RUL models, KPIs.
  auto analytics_service = analytics::AnalyticsService::Open(
      {.dir = options.data_dir.empty() ? "" : (fs::path(options.data_dir) / "analytics").string(),
       .config = options.analytics},
      graph, events, ingestor, live, clock);
  if (!analytics_service.ok()) {
    spdlog::error("cannot open the analytics service: {}", analytics_service.status().ToString());
    return 1;
  }
  services.analytics = analytics_service->get();
  services.metrics.push_back([&analytics_service](std::string& out) { (*analytics_service)->RenderMetrics(out); });
  (*analytics_service)->Start();
  // Commands and desired properties (docs/commands.md), over the MQTT transport when a connector
  // has a "commands" block. Declared before the API, which borrows it.
  std::unique_ptr<command::MqttCommandTransport> command_transport;
  if (options.command_transport) {
    auto created = command::MqttCommandTransport::Create(*options.command_transport);
    if (!created.ok()) {
      spdlog::error("cannot set up the command transport: {}", created.status().ToString());
      return 1;
    }
    command_transport = std::move(created).value();
  }
  // OPC UA commands and setpoints (docs/opcua.md): a transport (its own session) per OPC UA
  // connector that maps a command or a writable node.
  std::vector<std::unique_ptr<command::OpcUaCommandTransport>> opcua_transports;
  for (const connect::opcua::OpcUaConnectorConfig& config : options.opcua_connectors) {
    const bool writes = std::any_of(config.nodes.begin(), config.nodes.end(), [](const auto& n) { return n.write; });
    if (config.commands.empty() && !writes) continue;
    auto created = command::OpcUaCommandTransport::Create(config);
    if (!created.ok()) {
      spdlog::error("cannot set up the OPC UA command transport: {}", created.status().ToString());
      return 1;
    }
    opcua_transports.push_back(std::move(created).value());
  }
  // Each twin's commands go to the connector that serves it (docs/commands.md).
  command::RoutingCommandTransport command_routes;
  for (const auto& transport : opcua_transports) {
    command_routes.Add(transport.get(), [t = transport.get()](std::string_view twin) { return t->Serves(twin); });
  }
  // Modbus setpoints and commands (docs/modbus.md), for the twins a Modbus connector maps.
  std::unique_ptr<command::ModbusCommandTransport> modbus_transport;
  if (!options.modbus_connectors.empty()) {
    modbus_transport = std::make_unique<command::ModbusCommandTransport>(
        [&connectors](const command::ModbusCommandTransport::ConnectorVisitor& visit) {
          (*connectors)->ForEachModbusConnector(visit);
        });
    command_routes.Add(modbus_transport.get(),
                       [t = modbus_transport.get()](std::string_view twin) { return t->Serves(twin); });
  }
  if (command_transport != nullptr) command_routes.SetFallback(command_transport.get());
  auto commands = command::CommandService::Open(
      {.dir = options.data_dir.empty() ? "" : (fs::path(options.data_dir) / "commands").string()}, graph, events,
      command_routes.empty() ? nullptr : &command_routes, clock);
  if (!commands.ok()) {
    spdlog::error("cannot open the command service: {}", commands.status().ToString());
    return 1;
  }
  services.commands = commands->get();
  services.metrics.push_back([&commands](std::string& out) { (*commands)->RenderMetrics(out); });
  if (command_transport != nullptr) {
    services.metrics.push_back([&command_transport](std::string& out) { command_transport->RenderMetrics(out); });
  }
  for (const auto& transport : opcua_transports) {
    services.metrics.push_back([t = transport.get()](std::string& out) { t->RenderMetrics(out); });
    if (Status started = transport->Start(); !started.ok()) {
      spdlog::error("cannot start the OPC UA command transport: {}", started.ToString());
      return 1;
    }
  }
  (*commands)->Start();
  // Closing the loop (docs/automation.md): webhooks out, alerts, work orders, and the rules
  // that drive them and the commands above. Declared before the API, which borrows them.
  const auto store_dir = [&options](const char* name) {
    return options.data_dir.empty() ? std::string() : (fs::path(options.data_dir) / name).string();
  };
  auto webhooks = client::WebhookSender::Open({.dir = store_dir("webhooks"), .sync = options.sync}, clock);
  if (!webhooks.ok()) {
    spdlog::error("cannot open the webhook sender: {}", webhooks.status().ToString());
    return 1;
  }
  services.webhooks = webhooks->get();
  services.metrics.push_back([&webhooks](std::string& out) { (*webhooks)->RenderMetrics(out); });
  (*webhooks)->Start();
  auto alert_service = alerts::AlertService::Open({.dir = store_dir("alerts"), .sync = options.sync}, clock);
  if (!alert_service.ok()) {
    spdlog::error("cannot open the alert service: {}", alert_service.status().ToString());
    return 1;
  }
  (*alert_service)->Subscribe([&hub](const alerts::Alert& alert) { hub.PublishAlert(alert.twin_id, alerts::AlertJson(alert)); });
  services.alerts = alert_service->get();
  services.metrics.push_back([&alert_service](std::string& out) { (*alert_service)->RenderMetrics(out); });
  auto work_orders =
      maintenance::WorkOrderService::Open({.dir = store_dir("maintenance"), .sync = options.sync}, clock);
  if (!work_orders.ok()) {
    spdlog::error("cannot open the work order service: {}", work_orders.status().ToString());
    return 1;
  }
  if (options.cmms_webhook) {
    // docs/work-orders.md, "Export to a CMMS or ERP": the event as X-Doppel-Event, the order as
    // the body's "workOrder".
    (*work_orders)->SetExporter([&webhooks, cmms = *options.cmms_webhook](const json::object& message) {
      const auto* event = message.if_contains("event");
      const auto* order = message.if_contains("workOrder");
      auto queued = (*webhooks)->Enqueue(
          {.url = cmms.url,
           .secret = cmms.secret,
           .event = event != nullptr && event->is_string() ? std::string(event->get_string()) : "workOrder.updated",
           .body = {{"workOrder", order != nullptr ? *order : json::value(nullptr)}}});
      if (!queued.ok()) spdlog::warn("work order not exported to the CMMS: {}", queued.status().ToString());
    });
  }
  services.work_orders = work_orders->get();
  services.metrics.push_back([&work_orders](std::string& out) { (*work_orders)->RenderMetrics(out); });
  auto automation_service = automation::AutomationService::Open(
      {.dir = store_dir("automation"), .sync = options.sync},
      {.graph = &graph, .events = &events, .ingestor = &ingestor, .live = &live, .history = &(*history)->store(),
       .commands = commands->get(), .alerts = alert_service->get(), .work_orders = work_orders->get(),
       .webhooks = webhooks->get()},
      clock);
  if (!automation_service.ok()) {
    spdlog::error("cannot open the automation service: {}", automation_service.status().ToString());
    return 1;
  }
  services.automation = automation_service->get();
  services.metrics.push_back([&automation_service](std::string& out) { (*automation_service)->RenderMetrics(out); });
  (*automation_service)->Start();
  server::DigitalTwinsApi api(graph, clock, ApiOptionsOf(options), services);
  server::HttpServerOptions http_options = HttpOptionsOf(options);
  http_options.websocket =
      stream::WebSocketEndpointWithAccess(hub, [&security](const server::HttpRequest& request) {
        return (*security)->AuthorizeStream(request);
      });
  server::HttpServer http(http_options, [&api](const server::HttpRequest& request) { return api.Handle(request); });
  if (Status started = http.Start(); !started.ok()) {
    spdlog::error("cannot start the HTTP server: {}", started.ToString());
    return 1;
  }
  if (Status started = (*connectors)->StartAll(); !started.ok()) {
    spdlog::error("{}", started.ToString());
    http.Stop();
    return 1;
  }
  if (command_transport != nullptr) {
    if (Status started = command_transport->Start(); !started.ok()) {
      spdlog::error("cannot start the command transport: {}", started.ToString());
      (*connectors)->StopAll();
      http.Stop();
      return 1;
    }
  }
  std::printf("doppel listening on %s://%s\n", options.tls ? "https" : "http", http.address().c_str());
  std::fflush(stdout);
  spdlog::info("serving {} (data: {}, sync: {})", http.address(),
               options.data_dir.empty() ? "in memory" : options.data_dir, options.sync);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("received {}, stopping: finishing requests in flight", signal == SIGINT ? "SIGINT" : "SIGTERM");
  (*connectors)->StopAll();  // first: no new readings in flight
  (*automation_service)->Stop();  // no new actions; before the services it acts through
  (*commands)->Stop();  // wakes requests still waiting for a device, so http.Stop need not wait
  http.Stop();
  if (command_transport != nullptr) command_transport->Stop();
  for (const auto& transport : opcua_transports) transport->Stop();
  (*simulation)->Stop();  // persists the shadow states
  (*analytics_service)->Stop();  // persists the detector states
  (*webhooks)->Stop();  // pending deliveries stay on disk for the next start
  events.Unsubscribe(forget_deleted);
  if (Status flushed = (*history)->store().Flush(); !flushed.ok()) {
    // Not fatal: every acknowledged point is in the history log and is replayed at start.
    spdlog::warn("could not seal the open history chunks: {}", flushed.ToString());
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace

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
