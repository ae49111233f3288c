// What authorisation costs on the hot paths (issue #9: "evaluated fast enough that the hot path
// does not notice"): the same line-protocol ingest and the same query through DigitalTwinsApi
// (no sockets), once in dev mode (no credentials: no checks) and once as a caller whose role is
// scoped to ten sites by graph scope — the most expensive kind of grant (every twin checked
// against the scope sets; every query row against the read filter).
//
//   make bench-auth     (scripts/bench-auth.sh: runs this, prints authz_overhead_pct last)
#include <benchmark/benchmark.h>

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "auth/api_keys.h"
#include "auth/authenticator.h"
#include "auth/policy.h"
#include "base/clock.h"
#include "base/json.h"
#include "ingest/ingestor.h"
#include "server/api.h"
#include "tsdb/series_store.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel {
namespace {

constexpr int kSites = 10;
constexpr int kSensorsPerSite = 100;
constexpr int kLinesPerBody = 5000;

constexpr char kModels[] = R"([
  {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:bench:Sensor;1", "@type": "Interface",
   "contents": [{"@type": "Telemetry", "name": "t", "schema": "double"},
                {"@type": "Property", "name": "temperature", "schema": "double", "writable": true}]},
  {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:bench:Site;1", "@type": "Interface",
   "contents": [{"@type": "Relationship", "name": "contains"}]}])";

// A scratch directory for history, removed at exit.
struct ScratchDir {
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "doppel-auth-bench-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string path_;
};

// 10 sites × 100 sensors, an API over them, and a key for a role scoped to all ten sites.
class World {
 public:
  World() {
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    Check(graph_.AddModels(ParseJsonArray(kModels)).status());
    std::string grants;
    for (int s = 0; s < kSites; ++s) {
      std::string site = "site-" + std::to_string(s);
      Check(graph_.PutTwin(site, ParseJson(R"({"$metadata": {"$model": "dtmi:bench:Site;1"}})").value(), {}).status());
      for (int i = 0; i < kSensorsPerSite; ++i) {
        std::string sensor = site + "-sensor-" + std::to_string(i);
        Check(graph_.PutTwin(sensor, ParseJson(R"({"$metadata": {"$model": "dtmi:bench:Sensor;1"}, "temperature": 20})").value(), {})
                  .status());
        Check(graph_.PutRelationship(site, "c" + std::to_string(i),
                                     ParseJson(R"({"$relationshipName": "contains", "$targetId": ")" + sensor + "\"}").value(), {})
                  .status());
      }
      grants += std::string(grants.empty() ? "" : ",") + R"({"actions": ["read", "ingest"], "scope": ")" + site + "\"}";
    }
    auto policy = auth::ParsePolicyConfig(ParseJson(R"({"roles": {"fleet": [)" + grants + "]}}").value()).value();
    authorizer_ = std::make_unique<auth::Authorizer>(policy, &graph_, &events_);
    token_ = keys_->Create({.name = "bench", .roles = {"fleet"}}, clock_.Now()).value().token;
    admin_token_ = keys_->Create({.name = "bench-admin", .roles = {"admin"}}, clock_.Now()).value().token;

    server::ApiServices open;
    open.ingestor = ingestor_.get();
    dev_api_ = std::make_unique<server::DigitalTwinsApi>(graph_, clock_, server::ApiOptions{}, open);
    server::ApiServices secured = open;
    secured.authenticator = &authenticator_;
    secured.authorizer = authorizer_.get();
    secured.api_keys = keys_.get();
    secured_api_ = std::make_unique<server::DigitalTwinsApi>(graph_, clock_, server::ApiOptions{}, secured);
  }

  // caller 0: dev mode (no checks); 1: the fleet role (graph scope over ten sites);
  // 2: an administrator (authenticated, every check passes without a filter).
  server::HttpResponse Call(int64_t caller, std::string method, std::string target, std::string body) {
    server::HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    if (caller != 0) req.AddHeader("authorization", "Bearer " + (caller == 1 ? token_ : admin_token_));
    return (caller != 0 ? secured_api_ : dev_api_)->Handle(req);
  }

  // One body of kLinesPerBody lines over every sensor, timestamps after the previous body's.
  std::string NextBody() {
    std::string body;
    for (int i = 0; i < kLinesPerBody; ++i, ++seq_) {
      int sensor = seq_ % (kSites * kSensorsPerSite);
      body += "s,twin=site-" + std::to_string(sensor / kSensorsPerSite) + "-sensor-" +
              std::to_string(sensor % kSensorsPerSite) + " t=" + std::to_string(20 + seq_ % 7) + " " +
              std::to_string(1'700'000'000'000'000'000 + seq_) + "\n";
    }
    return body;
  }

 private:
  static void Check(const Status& s) {
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }
  static std::vector<json::value> ParseJsonArray(const char* text) {
    std::vector<json::value> out;
    json::value parsed = ParseJson(text).value();
    for (const json::value& v : parsed.as_array()) out.push_back(v);
    return out;
  }

  ScratchDir dir_;
  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<auth::ApiKeyStore> keys_ = auth::ApiKeyStore::InMemory();
  auth::Authenticator authenticator_{{.api_keys = keys_.get()}};
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<server::DigitalTwinsApi> dev_api_, secured_api_;
  std::string token_, admin_token_;
  int64_t seq_ = 0;
};

World& TheWorld() {
  static World world;
  return world;
}

// POST /write of 5,000 readings over 1,000 twins; arg = the caller (World::Call).
void BM_ApiIngest(benchmark::State& state) {
  World& world = TheWorld();
  const int64_t caller = state.range(0);
  for (auto _ : state) {
    state.PauseTiming();
    std::string body = world.NextBody();
    state.ResumeTiming();
    server::HttpResponse r = world.Call(caller, "POST", "/write?precision=ns", std::move(body));
    if (r.status != 204) state.SkipWithError(("write failed: " + r.body).c_str());
  }
  state.SetItemsProcessed(state.iterations() * kLinesPerBody);
}
BENCHMARK(BM_ApiIngest)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

// POST /query returning ~1,000 sensors (a page of 1,000); arg as above.
void BM_ApiQuery(benchmark::State& state) {
  World& world = TheWorld();
  const int64_t caller = state.range(0);
  for (auto _ : state) {
    server::HttpResponse r = world.Call(caller, "POST", "/query",
                                        R"({"query": "SELECT COUNT() FROM DIGITALTWINS WHERE temperature > 10"})");
    if (r.status != 200 || r.body.find("1000") == std::string::npos) {
      state.SkipWithError(("query failed: " + r.body).c_str());
    }
  }
  state.SetItemsProcessed(state.iterations() * kSites * kSensorsPerSite);
}
BENCHMARK(BM_ApiQuery)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace doppel

BENCHMARK_MAIN();
