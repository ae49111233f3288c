#include "cmapss/api_path.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "base/file_io.h"
#include "base/json.h"
#include "client/api_client.h"

extern char** environ;

namespace doppel::bench::cmapss {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kModelId = "dtmi:doppel:bench:cmapss:Engine;1";
constexpr std::string_view kRulName = "cmapss";
constexpr int64_t kEpochSeconds = 1'700'000'000;  // cycle c is at kEpochSeconds + c
constexpr std::size_t kLinesPerWrite = 2000;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// A scratch directory removed with everything in it.
class TempDir {
 public:
  static Result<TempDir> Create() {
    std::string pattern = (fs::temp_directory_path() / "doppel-cmapss-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr)
      return Status::Unavailable("cannot create a temporary directory");
    return TempDir(pattern);
  }
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// `doppel serve` on a free loopback port, stopped (SIGTERM, then SIGKILL) on destruction.
class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(const std::string& binary,
                                               const std::string& data_dir,
                                               const std::string& log) {
    std::string out = fmt::format("{}/server.out", log);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<std::string> args = {binary,        "serve",       "--listen",
                                     "127.0.0.1:0", "--data-dir",  data_dir,
                                     "--no-sync",   "--log-level", "warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
      return Status::Unavailable(fmt::format("cannot start {}: {}", binary, std::strerror(rc)));
    auto server = std::unique_ptr<Server>(new Server(pid));
    DOPPEL_ASSIGN_OR_RETURN(server->url_, WaitForUrl(out, pid));
    return server;
  }
  ~Server() {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  const std::string& url() const { return url_; }

 private:
  explicit Server(pid_t pid) : pid_(pid) {}

  static Result<std::string> WaitForUrl(const std::string& out, pid_t pid) {
    static const std::regex kListening("doppel listening on (http://[^ \n]+)");
    for (auto start = Clock::now(); Seconds(start) < 30;) {
      std::ifstream in(out);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::smatch m;
      if (std::regex_search(text, m, kListening)) return m[1].str();
      if (waitpid(pid, nullptr, WNOHANG) == pid)
        return Status::Unavailable(fmt::format("the server exited: {}", text));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Status::Unavailable("the server did not start within 30 s");
  }

  pid_t pid_;
  std::string url_;
};

std::string TwinId(const Subset& subset, std::string_view part, const Unit& unit) {
  return fmt::format("{}-{}-{}", subset.name, part, unit.id);
}

// One twin per unit, then every cycle as one line-protocol line (all 24 values and the failure
// flag), in requests of kLinesPerWrite lines. `failed_last`: the last cycle is the failure.
Status IngestUnits(client::ApiClient& api, const Subset& subset, std::string_view part,
                   const std::vector<Unit>& units, bool failed_last) {
  json::value twin = json::object{{"$metadata", json::object{{"$model", kModelId}}}};
  std::string body;
  std::size_t lines = 0;
  auto flush = [&]() -> Status {
    if (lines == 0) return Status::Ok();
    auto r = api.CallRaw("POST", "/write?precision=s", body, {{"Content-Type", "text/plain"}});
    body.clear();
    lines = 0;
    return r.status();
  };
  for (const auto& u : units) {
    std::string id = TwinId(subset, part, u);
    DOPPEL_RETURN_IF_ERROR(api.Call("PUT", fmt::format("/digitaltwins/{}", id), &twin).status());
    for (std::size_t i = 0; i < u.cycles.size(); ++i) {
      const Cycle& c = u.cycles[i];
      body += fmt::format("engine,twin={} setting1={},setting2={},setting3={}", id, c.settings[0],
                          c.settings[1], c.settings[2]);
      for (int s = 0; s < kSensors; ++s) body += fmt::format(",s{}={}", s + 1, c.sensors[s]);
      body += fmt::format(",failed={} {}\n", failed_last && i + 1 == u.cycles.size(),
                          kEpochSeconds + c.cycle);
      if (++lines == kLinesPerWrite) DOPPEL_RETURN_IF_ERROR(flush());
    }
  }
  return flush();
}

Status Train(client::ApiClient& api, const analytics::RulSpec& spec, SubsetResult& r) {
  json::object def = analytics::RulSpecToJson(spec);
  def["model"] = kModelId;
  def["cycle"] = "reading";
  def["failure"] = "failed";
  json::value body = def;
  std::string path = fmt::format("/analytics/rul/{}", kRulName);
  DOPPEL_RETURN_IF_ERROR(api.Call("PUT", path, &body).status());
  auto start = Clock::now();
  DOPPEL_RETURN_IF_ERROR(api.Call("POST", path + "/train").status());
  std::string last_line;
  while (true) {
    DOPPEL_ASSIGN_OR_RETURN(json::value got, api.Call("GET", path));
    const auto& o = got.as_object();
    std::string status = o.contains("status") ? std::string(o.at("status").as_string()) : "";
    if (status == "failed") {
      return Status::Internal(
          fmt::format("training failed: {}", o.contains("error") ? ToJson(o.at("error")) : "?"));
    }
    if (status == "trained") {
      r.train_seconds = Seconds(start);
      const auto* report = o.if_contains("report");
      if (report == nullptr || !report->is_object())
        return Status::Internal("trained, but no report");
      const auto& figures = report->as_object();
      auto figure = [&](std::string_view key) {
        return figures.contains(key) && figures.at(key).is_number()
                   ? figures.at(key).to_number<double>()
                   : 0.0;
      };
      r.validation_rmse = figure("validationRmse");
      r.validation_last_rmse = figure("validationLastRmse");
      fmt::print(
          "  trained in {:.1f} s: validation RMSE {:.2f} (every cycle, capped), {:.2f} (random "
          "cut, last cycle); {}\n",
          r.train_seconds, r.validation_rmse, r.validation_last_rmse, ToJson(*report));
      return Status::Ok();
    }
    std::string line =
        fmt::format("  training: {:.0f} % {}",
                    100 * (o.contains("progress") ? o.at("progress").to_number<double>() : 0),
                    o.contains("stage") ? std::string(o.at("stage").as_string()) : "");
    if (line != last_line) fmt::print("{}\n", line), last_line = line;
    if (Seconds(start) > 600)
      return Status::Unavailable("training did not finish within 10 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// The test unit's estimate once the service has seen all its cycles.
Result<analytics::RulEstimate> ReadRul(client::ApiClient& api, const std::string& id,
                                       std::size_t cycles) {
  for (auto start = Clock::now(); Seconds(start) < 60;) {
    DOPPEL_ASSIGN_OR_RETURN(json::value got,
                            api.Call("GET", fmt::format("/digitaltwins/{}/analytics", id)));
    const auto* rul = got.is_object() ? got.as_object().if_contains("rul") : nullptr;
    const auto* mine =
        rul != nullptr && rul->is_object() ? rul->as_object().if_contains(kRulName) : nullptr;
    if (mine != nullptr && mine->is_object()) {
      const auto& e = mine->as_object();
      if (e.contains("cycles") &&
          e.at("cycles").to_number<double>() >= static_cast<double>(cycles) && e.contains("rul")) {
        auto number = [&e](std::string_view key) {
          return e.contains(key) && e.at(key).is_number() ? e.at(key).to_number<double>() : 0.0;
        };
        return analytics::RulEstimate{.rul = number("rul"),
                                      .low = number("low"),
                                      .high = number("high"),
                                      .health = number("health"),
                                      .cycles = cycles};
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Unavailable(fmt::format("no RUL for {} after 60 s", id));
}

}  // namespace

void ScoreEstimates(const std::vector<analytics::RulEstimate>& estimates, const Subset& subset,
                    SubsetResult& r) {
  std::vector<double> predicted;
  std::size_t inside = 0;
  for (std::size_t i = 0; i < estimates.size(); ++i) {
    predicted.push_back(estimates[i].rul);
    inside += subset.test_rul[i] >= estimates[i].low && subset.test_rul[i] <= estimates[i].high;
  }
  r.rmse = Rmse(predicted, subset.test_rul);
  r.score = Phm08Score(predicted, subset.test_rul);
  r.coverage =
      estimates.empty() ? 0 : static_cast<double>(inside) / static_cast<double>(estimates.size());
}

Result<double> InferenceMicrosPerReading(const analytics::RulModel& model,
                                         const std::vector<Unit>& units) {
  auto shared =
      std::shared_ptr<const analytics::RulModel>(&model, [](const analytics::RulModel*) {});
  std::vector<std::vector<std::vector<double>>> rows;
  std::size_t n = 0;
  for (const auto& u : units) rows.push_back(ModelRows(u)), n += u.cycles.size();
  double checksum = 0;
  auto start = Clock::now();
  for (auto& unit_rows : rows) {
    analytics::RulTracker tracker(shared);
    for (auto& row : unit_rows) {
      tracker.Add(std::move(row));
      checksum += tracker.Estimate().rul;  // a live twin gets an estimate on every cycle
    }
  }
  double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count() /
              static_cast<double>(n);
  if (!(checksum >= 0)) return Status::Internal("negative RUL");
  return us;
}

Result<SubsetResult> RunThroughApi(const Subset& subset, const std::string& doppel_binary,
                                   const std::string& model_file, const analytics::RulSpec& spec) {
  SubsetResult r{.name = subset.name};
  DOPPEL_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create());
  DOPPEL_ASSIGN_OR_RETURN(auto server,
                          Server::Start(doppel_binary, dir.path() + "/data", dir.path()));
  DOPPEL_ASSIGN_OR_RETURN(
      auto api,
      client::ApiClient::Create(server->url(), {.request_timeout = std::chrono::seconds(120)}));
  DOPPEL_ASSIGN_OR_RETURN(std::string dtdl, ReadFile(model_file));
  DOPPEL_RETURN_IF_ERROR(api->CallRaw("POST", "/models", fmt::format("[{}]", dtdl)).status());

  auto start = Clock::now();
  DOPPEL_RETURN_IF_ERROR(IngestUnits(*api, subset, "train", subset.train, true));
  std::size_t train_cycles = 0;
  for (const auto& u : subset.train) train_cycles += u.cycles.size();
  fmt::print(
      "{}: {} training units ({} cycles, {} readings) ingested through POST /write in {:.1f} s\n",
      subset.name, subset.train.size(), train_cycles, train_cycles * (kSettings + kSensors + 1),
      Seconds(start));
  DOPPEL_RETURN_IF_ERROR(Train(*api, spec, r));

  start = Clock::now();
  DOPPEL_RETURN_IF_ERROR(IngestUnits(*api, subset, "test", subset.test, false));
  std::vector<analytics::RulEstimate> estimates;
  for (const auto& u : subset.test) {
    DOPPEL_ASSIGN_OR_RETURN(auto estimate,
                            ReadRul(*api, TwinId(subset, "test", u), u.cycles.size()));
    estimates.push_back(estimate);
  }
  fmt::print("{}: {} test units ingested and their RUL read back in {:.1f} s\n", subset.name,
             subset.test.size(), Seconds(start));
  ScoreEstimates(estimates, subset, r);

  // The inference cost, on the model the server trained and saved (its data directory).
  for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
    if (entry.path().filename() != fmt::format("{}.json", kRulName) ||
        entry.path().parent_path().filename() != "rul_models")
      continue;
    DOPPEL_ASSIGN_OR_RETURN(std::string saved, ReadFile(entry.path().string()));
    DOPPEL_ASSIGN_OR_RETURN(json::value parsed,
                            ParseJson(saved, JsonLimits{.max_bytes = std::size_t{1} << 30}));
    DOPPEL_ASSIGN_OR_RETURN(auto model, analytics::RulModel::Load(parsed));
    DOPPEL_ASSIGN_OR_RETURN(r.infer_us, InferenceMicrosPerReading(*model, subset.test));
  }
  return r;
}

}  // namespace doppel::bench::cmapss
