// The right to erasure through the real binary (docs/security.md, "Erasing a twin", issue #9):
// history written over /write, POST /digitaltwins/{id}/erase, nothing of the twin answered
// before or after a restart, no byte of its id left in the data directory's files except the
// audit log's record of the erasure itself.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "base/json.h"
#include "client/http_client.h"
#include "server_process.h"
#include "test_models.h"

namespace doppel::testing {
namespace {

using client::HttpClient;
using client::HttpResponse;

// Distinctive: a byte search of the data directory finds it only where it really is.
constexpr const char* kSubject = "ws-erase-9f27c1d8";
constexpr const char* kNeighbour = "sensor-keep";
constexpr int64_t kT0 = 1'732'525'200'000'000'000;  // 2024-11-25T09:00:00Z
constexpr int64_t kSecond = 1'000'000'000;
constexpr int kPoints = 2500;  // past the 1000-point head: sealed chunks as well as a head

// `kPoints` temperatures a second apart for `twin`, its thermostat set point and one label.
std::string History(const std::string& twin, double offset) {
  std::string lines;
  for (int i = 0; i < kPoints; ++i) {
    lines += "sensor,twin=" + twin + " temperature=" + std::to_string(offset + i * 0.01) + " " +
             std::to_string(kT0 + i * kSecond) + "\n";
  }
  lines += "sensor,twin=" + twin + ",component=thermostat setpoint=19.5 " + std::to_string(kT0) + "\n";
  lines += "sensor,twin=" + twin + " label=\"desk by the window\" " + std::to_string(kT0) + "\n";
  return lines;
}

// The raw points of (twin, path) the server answers: {} for a 404 or an empty answer.
std::size_t PointCount(HttpClient& http, const std::string& twin, const std::string& path) {
  json::object request{{"series", json::array{json::object{{"twin", twin}, {"path", path}}}},
                       {"mode", "raw"},
                       {"start", kT0 - kSecond},
                       {"end", kT0 + (kPoints + 1) * kSecond},
                       {"timeFormat", "ns"}};
  HttpResponse r = Send(http, "POST", "/timeseries/query", ToJson(request));
  if (r.status == 404) return 0;
  EXPECT_EQ(r.status, 200) << r.body;
  json::value body = Json(r.body);
  std::size_t n = 0;
  for (const auto& series : body.at("series").as_array()) n += series.at("points").as_array().size();
  return n;
}

// What a client can learn of the subject: all of it must be "nothing".
void ExpectNothingOfTheSubject(HttpClient& http, std::string_view when) {
  SCOPED_TRACE(when);
  EXPECT_EQ(Send(http, "GET", TwinPath(kSubject)).status, 404);
  EXPECT_EQ(Send(http, "GET", TwinPath(kSubject) + "/telemetry").status, 404);
  EXPECT_EQ(Send(http, "GET", TwinPath(kSubject) + "/relationships").status, 404);
  EXPECT_EQ(PointCount(http, kSubject, "temperature"), 0u);
  EXPECT_EQ(PointCount(http, kSubject, "thermostat/setpoint"), 0u);
  EXPECT_EQ(Send(http, "GET", "/timeseries").body.find(kSubject), std::string::npos);
  EXPECT_EQ(Send(http, "GET", TwinPath(kNeighbour) + "/incomingrelationships").body.find(kSubject), std::string::npos);
  EXPECT_EQ(Send(http, "GET", TwinPath(kNeighbour) + "/relationships").body.find(kSubject), std::string::npos);
  HttpResponse query = Send(http, "POST", "/query", R"({"query": "SELECT * FROM DIGITALTWINS"})");
  EXPECT_EQ(query.status, 200) << query.body;
  EXPECT_EQ(query.body.find(kSubject), std::string::npos);
  EXPECT_EQ(Send(http, "GET", "/metrics").body.find(kSubject), std::string::npos);
  // The neighbour keeps all of its own.
  EXPECT_EQ(PointCount(http, kNeighbour, "temperature"), size_t{kPoints});
  EXPECT_EQ(Send(http, "GET", TwinPath(kNeighbour)).status, 200);
}

// Files under `dir` whose bytes contain `needle` (what `grep -rla` lists), relative paths.
std::vector<std::string> FilesContaining(const std::string& dir, std::string_view needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) {
      found.push_back(std::filesystem::relative(entry.path(), dir).string());
    }
  }
  return found;
}

void StopCleanly(ServerProcess& server) {
  Result<int> code = server.Stop();
  ASSERT_TRUE(code.ok()) << code.status().ToString() << "\n" << server.Output();
  ASSERT_EQ(*code, 0) << server.Output();
}

TEST(ErasureTest, AnErasedTwinLeavesNoTraceButTheAuditRecord) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  auto server = ServerProcess::Start(data);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = Connect((*server)->url());
  ASSERT_EQ(Send(*http, "POST", "/models", kTestModels).status, 201);
  for (const char* id : {kSubject, kNeighbour}) ASSERT_EQ(Send(*http, "PUT", TwinPath(id), SensorTwin(20)).status, 200);
  for (auto [source, target] : {std::pair{kSubject, kNeighbour}, std::pair{kNeighbour, kSubject}}) {
    const std::string body = R"({"$relationshipName": "feeds", "$targetId": ")" + std::string(target) + R"("})";
    ASSERT_EQ(Send(*http, "PUT", TwinPath(source) + "/relationships/r-" + target, body).status, 200);
  }
  const client::HttpHeaders text = {{"Content-Type", "text/plain; charset=utf-8"}};
  for (const char* id : {kSubject, kNeighbour}) {
    HttpResponse written = Send(*http, "POST", "/write?precision=ns", History(id, 20), text);
    ASSERT_EQ(written.status, 204) << written.body;
  }
  ASSERT_EQ(PointCount(*http, kSubject, "temperature"), size_t{kPoints});
  ASSERT_EQ(Send(*http, "GET", TwinPath(kSubject) + "/telemetry").body.find("temperature") != std::string::npos, true);

  // The id is in both stores' files now (their write-ahead logs at least).
  for (const char* store : {"/graph", "/history"}) ASSERT_FALSE(FilesContaining(data + store, kSubject).empty()) << store;

  HttpResponse erased = Send(*http, "POST", TwinPath(kSubject) + "/erase");
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_EQ(Json(erased.body), Json(R"({"twin": ")" + std::string(kSubject) +
                                     R"(", "relationships": 2, "series": 3, "points": )" +
                                     std::to_string(kPoints + 2) + "}"));
  ExpectNothingOfTheSubject(*http, "after the erasure");
  EXPECT_EQ(Send(*http, "POST", TwinPath(kSubject) + "/erase").status, 404);

  http.reset();
  ASSERT_NO_FATAL_FAILURE(StopCleanly(**server));
  server = ServerProcess::Start(data);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  http = Connect((*server)->url());
  ExpectNothingOfTheSubject(*http, "after a restart");

  // The erasure itself is on record, naming the twin.
  HttpResponse audit = Send(*http, "GET", "/audit?action=twin.erase");
  ASSERT_EQ(audit.status, 200) << audit.body;
  const json::value records = Json(audit.body);
  std::vector<std::string> seen;
  for (const auto& r : records.at("value").as_array()) {
    seen.push_back(std::string(r.at("target").as_string()) + " " + std::string(r.at("outcome").as_string()));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{std::string(kSubject) + " ok", std::string(kSubject) + " error:404"}));

  http.reset();
  ASSERT_NO_FATAL_FAILURE(StopCleanly(**server));
  // Stopped, so every file is final: the id is in the audit log and nowhere else.
  std::vector<std::string> outside_audit;
  bool in_audit = false;
  for (const std::string& file : FilesContaining(data, kSubject)) {
    if (file.starts_with("audit/")) {
      in_audit = true;
    } else {
      outside_audit.push_back(file);
    }
  }
  EXPECT_EQ(outside_audit, std::vector<std::string>{});
  EXPECT_TRUE(in_audit);
}

}  // namespace
}  // namespace doppel::testing
