// The REST API contract, against the real server process: what an Azure Digital Twins
// client relies on (shapes, status codes, ETags, paging) and what bad input must get.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "test_models.h"

namespace doppel::testing {
namespace {

namespace fs = std::filesystem;
using client::HttpClient;
using client::HttpResponse;

// One server for the whole suite (starting one per test would dominate the run time); tests
// use distinct twin ids so they cannot see each other's data.
class ApiContractTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto server = ServerProcess::Start(dir_->Sub("data"));
    if (!server.ok()) {
      start_error_ = server.status().ToString();
      return;
    }
    server_ = std::move(server).value().release();
    auto http = HttpClient::Create(server_->url());
    auto r = (*http)->Post("/models", kTestModels);
    if (!r.ok() || r->status != 201)
      start_error_ =
          "uploading the test models failed: " + (r.ok() ? r->body : r.status().ToString());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(server_ != nullptr && start_error_.empty()) << start_error_;
    http_ = Connect(server_->url());
  }

  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "server output:\n" << server_->Output() << "\n";
  }

  HttpResponse Call(std::string_view method, std::string_view target, std::string_view body = {},
                    const client::HttpHeaders& headers = {}) {
    return Send(*http_, method, target, body, headers);
  }

  // Creates a Sensor twin and returns its document as the server answered.
  json::value CreateSensor(const std::string& id, double temperature = 21.0,
                           std::string_view label = "plain") {
    HttpResponse r = Call("PUT", TwinPath(id), SensorTwin(temperature, label));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }

  json::value GetTwin(const std::string& id) {
    HttpResponse r = Call("GET", TwinPath(id));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  static std::string start_error_;
  std::unique_ptr<HttpClient> http_;
};

TempDir* ApiContractTest::dir_ = nullptr;
ServerProcess* ApiContractTest::server_ = nullptr;
std::string ApiContractTest::start_error_;

TEST_F(ApiContractTest, HealthzAnswersOk) {
  HttpResponse r = Call("GET", "/healthz");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ApiContractTest, MetricsExposeRequestCounters) {
  Call("GET", "/healthz");
  HttpResponse r = Call("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(HeaderOf(r, "content-type").find("text/plain"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE doppel_http_requests_total counter"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("doppel_http_request_duration_seconds"), std::string::npos) << r.body;
}

TEST_F(ApiContractTest, OpenApiDocumentParsesAndListsTheRoutes) {
  HttpResponse r = Call("GET", "/openapi.json");
  ASSERT_EQ(r.status, 200);
  json::value doc = Json(r.body);
  ASSERT_TRUE(doc.is_object());
  ASSERT_TRUE(doc.as_object().contains("openapi"));
  const auto* paths = doc.as_object().if_contains("paths");
  ASSERT_TRUE(paths && paths->is_object());
  bool twins = false;
  for (const auto& kv : paths->as_object())
    twins |= std::string_view(kv.key()).starts_with("/digitaltwins/");
  EXPECT_TRUE(twins);
  EXPECT_TRUE(paths->as_object().contains("/query"));
  EXPECT_TRUE(paths->as_object().contains("/models"));
}

TEST_F(ApiContractTest, UploadedModelsAreListedAndFetchable) {
  HttpResponse r = Call("GET", "/models");
  ASSERT_EQ(r.status, 200);
  std::set<std::string> ids;
  json::value listing = Json(r.body);
  for (const auto& m : listing.at("value").as_array())
    ids.insert(std::string(m.at("id").as_string()));
  EXPECT_TRUE(ids.contains(kSensorId));
  EXPECT_TRUE(ids.contains(kThermostatId));

  r = Call("GET",
           "/models/" + client::EncodePathSegment(kSensorId) + "?includeModelDefinition=true");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value model = Json(r.body);
  EXPECT_EQ(model.at("id").as_string(), kSensorId);
  EXPECT_EQ(model.at("model").at("@id").as_string(), kSensorId);
}

TEST_F(ApiContractTest, UploadingAKnownModelAgainIsAConflict) {
  HttpResponse r = Call("POST", "/models", kTestModels);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(ErrorCode(r), "ModelAlreadyExists");
}

TEST_F(ApiContractTest, InvalidModelIsRejectedAndNotStored) {
  HttpResponse r = Call("POST", "/models", std::string("[") + kInvalidModel + "]");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorCode(r), "DTDLParserError");
  EXPECT_NE(ErrorMessage(r).find("contents[0].schema"), std::string::npos) << r.body;
  r = Call("GET", "/models/" + client::EncodePathSegment("dtmi:doppel:test:Broken;1"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "ModelNotFound");
}

// The components of `id` and of everything it extends, from the DTDL documents themselves.
std::vector<std::string> ComponentNames(const json::array& models, const std::string& id) {
  std::vector<std::string> names;
  for (const auto& model : models) {
    if (model.at("@id").as_string() != id) continue;
    if (const auto* contents = model.as_object().if_contains("contents")) {
      for (const auto& c : contents->as_array()) {
        if (c.at("@type").is_string() && c.at("@type").as_string() == "Component")
          names.emplace_back(c.at("name").as_string());
      }
    }
    if (const auto* extends = model.as_object().if_contains("extends")) {
      json::array parents = extends->is_array() ? extends->as_array() : json::array{*extends};
      for (const auto& parent : parents) {
        for (auto& name : ComponentNames(models, std::string(parent.as_string())))
          names.push_back(name);
      }
    }
  }
  return names;
}

// RealEstateCore: 767 files with BOMs, uploaded the way ADT users do it, in one POST.
TEST_F(ApiContractTest, RealEstateCoreOntologyUploadsInOnePostAndIsQueryable) {
  fs::path root = fs::path(DOPPEL_SHARED_DATA_DIR) / "dtdl/realestatecore/Ontology";
  if (!fs::is_directory(root)) GTEST_SKIP() << "no RealEstateCore ontology under " << root;
  json::array models;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    models.push_back(
        Json(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>())));
  }
  std::size_t files = models.size();
  std::string body = ToJson(models);
  ASSERT_EQ(files, 767u);
  HttpResponse r = Call("POST", "/models", body);
  ASSERT_EQ(r.status, 201) << r.body.substr(0, 2000);
  EXPECT_EQ(Json(r.body).as_array().size(), 767u);

  json::object room{
      {"$metadata", json::object{{"$model", "dtmi:digitaltwins:rec_3_3:core:Room;1"}}},
      {"personOccupancy", 12}};
  for (const auto& name : ComponentNames(models, "dtmi:digitaltwins:rec_3_3:core:Room;1")) {
    room[name] = json::object{{"$metadata", json::object()}};  // ADT requires every component
  }
  r = Call("PUT", TwinPath("rec-room-1"), ToJson(room));
  ASSERT_EQ(r.status, 200) << r.body;
  auto api = client::ApiClient::Create(server_->url());
  auto rows = (*api)->Query(
      "SELECT * FROM digitaltwins WHERE IS_OF_MODEL('dtmi:digitaltwins:rec_3_3:core:Space;1')");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].at("$dtId").as_string(), "rec-room-1");
  EXPECT_EQ((*rows)[0].at("personOccupancy").to_number<int64_t>(), 12);
}

TEST_F(ApiContractTest, TwinCrudHonoursEtags) {
  HttpResponse put = Call("PUT", TwinPath("crud-1"), SensorTwin(19.5, "first"));
  ASSERT_EQ(put.status, 200) << put.body;
  std::string etag = HeaderOf(put, "etag");
  ASSERT_FALSE(etag.empty());
  json::value created = Json(put.body);
  EXPECT_EQ(created.at("$dtId").as_string(), "crud-1");
  EXPECT_EQ(created.at("$etag").as_string(), etag);
  EXPECT_EQ(created.at("$metadata").at("$model").as_string(), kSensorId);

  HttpResponse get = Call("GET", TwinPath("crud-1"));
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(HeaderOf(get, "etag"), etag);
  EXPECT_EQ(Json(get.body).at("temperature").to_number<double>(), 19.5);

  // Create-only PUT on an existing twin.
  HttpResponse again = Call("PUT", TwinPath("crud-1"), SensorTwin(1.0), {{"If-None-Match", "*"}});
  EXPECT_EQ(again.status, 412) << again.body;

  std::string patch = R"([{"op": "replace", "path": "/temperature", "value": 22.25}])";
  HttpResponse stale = Call("PATCH", TwinPath("crud-1"), patch, {{"If-Match", "W/\"stale\""}});
  EXPECT_EQ(stale.status, 412) << stale.body;
  EXPECT_EQ(GetTwin("crud-1").at("temperature").to_number<double>(), 19.5);

  HttpResponse patched = Call("PATCH", TwinPath("crud-1"), patch, {{"If-Match", etag}});
  EXPECT_EQ(patched.status, 204) << patched.body;
  std::string new_etag = HeaderOf(patched, "etag");
  EXPECT_FALSE(new_etag.empty());
  EXPECT_NE(new_etag, etag);
  json::value after = GetTwin("crud-1");
  EXPECT_EQ(after.at("temperature").to_number<double>(), 22.25);
  EXPECT_EQ(after.at("$etag").as_string(), new_etag);

  EXPECT_EQ(Call("DELETE", TwinPath("crud-1"), {}, {{"If-Match", etag}}).status, 412);
  EXPECT_EQ(Call("DELETE", TwinPath("crud-1"), {}, {{"If-Match", new_etag}}).status, 204);
  HttpResponse gone = Call("GET", TwinPath("crud-1"));
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(ErrorCode(gone), "DigitalTwinNotFound");
  EXPECT_EQ(HeaderOf(gone, "x-ms-error-code"), "DigitalTwinNotFound");
}

TEST_F(ApiContractTest, ComponentPropertiesArePatchedThroughTheTwin) {
  CreateSensor("comp-1");
  EXPECT_EQ(GetTwin("comp-1").at("thermostat").at("setpoint").to_number<double>(), 20.5);
  HttpResponse r = Call("PATCH", TwinPath("comp-1"),
                        R"([{"op": "replace", "path": "/thermostat/setpoint", "value": 18}])");
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(GetTwin("comp-1").at("thermostat").at("setpoint").to_number<double>(), 18.0);
}

TEST_F(ApiContractTest, ComponentEndpointServesAndPatchesTheComponent) {
  CreateSensor("comp-2");
  HttpResponse r = Call("GET", TwinPath("comp-2") + "/components/thermostat");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).at("setpoint").to_number<double>(), 20.5);
  r = Call("PATCH", TwinPath("comp-2") + "/components/thermostat",
           R"([{"op": "replace", "path": "/setpoint", "value": 17.5}])");
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(GetTwin("comp-2").at("thermostat").at("setpoint").to_number<double>(), 17.5);
}

TEST_F(ApiContractTest, RelationshipsAreListedBothWays) {
  for (auto id : {"rel-a", "rel-b", "rel-c"}) CreateSensor(id);
  HttpResponse r = Call("PUT", TwinPath("rel-a") + "/relationships/a-feeds-b",
                        R"({"$relationshipName": "feeds", "$targetId": "rel-b", "weight": 0.5})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value rel = Json(r.body);
  EXPECT_EQ(rel.at("$relationshipId").as_string(), "a-feeds-b");
  EXPECT_EQ(rel.at("$sourceId").as_string(), "rel-a");
  EXPECT_FALSE(HeaderOf(r, "etag").empty());
  ASSERT_EQ(Call("PUT", TwinPath("rel-c") + "/relationships/c-feeds-b",
                 R"({"$relationshipName": "feeds", "$targetId": "rel-b"})")
                .status,
            200);

  r = Call("GET", TwinPath("rel-a") + "/relationships");
  ASSERT_EQ(r.status, 200);
  auto outgoing = Json(r.body).at("value").as_array();
  ASSERT_EQ(outgoing.size(), 1u);
  EXPECT_EQ(outgoing[0].at("$targetId").as_string(), "rel-b");
  EXPECT_EQ(outgoing[0].at("weight").to_number<double>(), 0.5);

  r = Call("GET", TwinPath("rel-b") + "/incomingrelationships");
  ASSERT_EQ(r.status, 200);
  std::set<std::string> sources;
  json::value incoming = Json(r.body);
  for (const auto& in : incoming.at("value").as_array())
    sources.insert(std::string(in.at("$sourceId").as_string()));
  EXPECT_EQ(sources, (std::set<std::string>{"rel-a", "rel-c"}));

  r = Call("GET", TwinPath("rel-a") + "/relationships/a-feeds-b");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json(r.body).at("$relationshipName").as_string(), "feeds");

  r = Call("PATCH", TwinPath("rel-a") + "/relationships/a-feeds-b",
           R"([{"op": "replace", "path": "/weight", "value": 0.75}])");
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Json(Call("GET", TwinPath("rel-a") + "/relationships/a-feeds-b").body)
                .at("weight")
                .to_number<double>(),
            0.75);

  // A relationship the model does not define, and one to a missing twin.
  EXPECT_EQ(Call("PUT", TwinPath("rel-a") + "/relationships/x",
                 R"({"$relationshipName": "owns", "$targetId": "rel-b"})")
                .status,
            400);
  r = Call("PUT", TwinPath("rel-a") + "/relationships/y",
           R"({"$relationshipName": "feeds", "$targetId": "no-such-twin"})");
  EXPECT_TRUE(r.status == 400 || r.status == 404) << r.status << " " << r.body;

  EXPECT_EQ(Call("DELETE", TwinPath("rel-a") + "/relationships/a-feeds-b").status, 204);
  r = Call("GET", TwinPath("rel-a") + "/relationships/a-feeds-b");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "RelationshipNotFound");
  EXPECT_EQ(Json(Call("GET", TwinPath("rel-b") + "/incomingrelationships").body)
                .at("value")
                .as_array()
                .size(),
            1u);
}

TEST_F(ApiContractTest, JsonPatchAddsReplacesAndRemoves) {
  CreateSensor("patch-1", 10.0, "before");
  HttpResponse r = Call("PATCH", TwinPath("patch-1"),
                        R"([{"op": "replace", "path": "/temperature", "value": 11.5},
                            {"op": "remove", "path": "/label"}])");
  ASSERT_EQ(r.status, 204) << r.body;
  json::value twin = GetTwin("patch-1");
  EXPECT_EQ(twin.at("temperature").to_number<double>(), 11.5);
  EXPECT_FALSE(twin.as_object().contains("label"));
  r = Call("PATCH", TwinPath("patch-1"), R"([{"op": "add", "path": "/label", "value": "after"}])");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(GetTwin("patch-1").at("label").as_string(), "after");
}

TEST_F(ApiContractTest, ValuesThatBreakTheModelAreRejectedNamingTheProperty) {
  CreateSensor("typed-1", 5.0);
  HttpResponse r =
      Call("PUT", TwinPath("typed-2"),
           R"({"$metadata": {"$model": "dtmi:doppel:test:Sensor;1"}, "temperature": "hot"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("temperature"), std::string::npos) << r.body;
  EXPECT_EQ(Call("GET", TwinPath("typed-2")).status, 404);

  r = Call("PATCH", TwinPath("typed-1"),
           R"([{"op": "replace", "path": "/temperature", "value": "hot"}])");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("temperature"), std::string::npos) << r.body;
  r = Call("PATCH", TwinPath("typed-1"), R"([{"op": "add", "path": "/humidity", "value": 3}])");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("humidity"), std::string::npos) << r.body;
  EXPECT_EQ(GetTwin("typed-1").at("temperature").to_number<double>(), 5.0);
}

TEST_F(ApiContractTest, QueryPagesFollowContinuationTokens) {
  constexpr int kTwins = 250;
  for (int i = 0; i < kTwins; ++i) {
    ASSERT_EQ(Call("PUT", TwinPath("page-" + std::to_string(i)), SensorTwin(i, "paged")).status,
              200);
  }
  json::object request{{"query", "SELECT * FROM digitaltwins T WHERE T.label = 'paged'"}};
  std::set<std::string> ids;
  int pages = 0;
  for (;;) {
    HttpResponse r = Call("POST", "/query", ToJson(request), {{"max-items-per-page", "40"}});
    ASSERT_EQ(r.status, 200) << r.body;
    ++pages;
    json::value page = Json(r.body);
    for (const auto& row : page.at("value").as_array()) {
      EXPECT_TRUE(ids.insert(std::string(row.at("$dtId").as_string())).second)
          << "row returned twice";
    }
    const auto* token = page.as_object().if_contains("continuationToken");
    if (!token || token->is_null()) break;
    request["continuationToken"] = *token;
    ASSERT_LT(pages, 1000) << "continuation never ends";
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kTwins));
  EXPECT_GT(pages, 1);
}

TEST_F(ApiContractTest, QueryFiltersAndProjects) {
  CreateSensor("proj-hot", 90.0, "projection");
  CreateSensor("proj-cold", -5.0, "projection");
  auto api = client::ApiClient::Create(server_->url());
  auto rows = (*api)->Query(
      "SELECT T.$dtId, T.temperature FROM digitaltwins T WHERE T.label = 'projection' AND "
      "T.temperature > 50");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(ToJson((*rows)[0]), R"({"$dtId":"proj-hot","temperature":90})");
}

// Every malformed request gets a specific error, and neither the server nor the data suffer.
class BadRequestTest : public ApiContractTest {
 protected:
  void SetUp() override {
    ApiContractTest::SetUp();
    CreateSensor("witness", 42.0, "unchanged");
    witness_ = Call("GET", TwinPath("witness")).body;
  }
  void TearDown() override {
    HttpResponse health = Call("GET", "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(Call("GET", TwinPath("witness")).body, witness_);
    ApiContractTest::TearDown();
  }
  // Every error is {"error": {"code", "message"}} with the code echoed in x-ms-error-code.
  void ExpectErrorShape(const HttpResponse& r) {
    EXPECT_FALSE(ErrorCode(r).empty()) << r.body;
    EXPECT_FALSE(ErrorMessage(r).empty()) << r.body;
    EXPECT_EQ(HeaderOf(r, "x-ms-error-code"), ErrorCode(r));
  }
  std::string witness_;
};

TEST_F(BadRequestTest, MissingTwinIs404WithErrorCode) {
  HttpResponse r = Call("GET", TwinPath("no-such-twin"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "DigitalTwinNotFound");
  ExpectErrorShape(r);
}

TEST_F(BadRequestTest, MissingModelIs404WithErrorCode) {
  HttpResponse r =
      Call("GET", "/models/" + client::EncodePathSegment("dtmi:doppel:test:Nothing;1"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "ModelNotFound");
  ExpectErrorShape(r);
}

TEST_F(BadRequestTest, UnknownRouteIs404) {
  HttpResponse r = Call("GET", "/no/such/route");
  EXPECT_EQ(r.status, 404);
  ExpectErrorShape(r);
}

TEST_F(BadRequestTest, WrongMethodIs405) {
  HttpResponse r = Call("DELETE", "/query");
  EXPECT_EQ(r.status, 405);
  ExpectErrorShape(r);
  r = Call("POST", TwinPath("witness"), SensorTwin(1.0));
  EXPECT_EQ(r.status, 405);
}

TEST_F(BadRequestTest, MalformedJsonIs400WithPosition) {
  HttpResponse r =
      Call("PUT", TwinPath("witness"), "{\"$metadata\": {\"$model\": \"x\"},\n \"temperature\": }");
  EXPECT_EQ(r.status, 400);
  ExpectErrorShape(r);
  EXPECT_NE(ErrorMessage(r).find("line 2"), std::string::npos) << r.body;
  EXPECT_NE(ErrorMessage(r).find("column"), std::string::npos) << r.body;
}

TEST_F(BadRequestTest, DeepNestingIs400) {
  std::string deep = R"({"$metadata": {"$model": "dtmi:doppel:test:Sensor;1"}, "label": )" +
                     std::string(100000, '[') + std::string(100000, ']') + "}";
  HttpResponse r = Call("PUT", TwinPath("witness"), deep);
  EXPECT_EQ(r.status, 400);
  ExpectErrorShape(r);
}

TEST_F(BadRequestTest, InvalidUtf8Is400) {
  HttpResponse r = Call(
      "PUT", TwinPath("witness"),
      "{\"$metadata\": {\"$model\": \"dtmi:doppel:test:Sensor;1\"}, \"label\": \"\xff\xfe\xc3\"}");
  EXPECT_EQ(r.status, 400);
  ExpectErrorShape(r);
}

TEST_F(BadRequestTest, UnknownModelIs400) {
  HttpResponse r = Call("PUT", TwinPath("witness"),
                        R"({"$metadata": {"$model": "dtmi:doppel:test:Nothing;1"}})");
  EXPECT_EQ(r.status, 400) << r.body;
  ExpectErrorShape(r);
}

TEST_F(BadRequestTest, InvalidPatchDocumentsAre400) {
  for (
      const char* patch :
      {R"({"op": "replace"})", R"([{"op": "teleport", "path": "/label"}])",
       R"([{"op": "replace", "path": "label", "value": "x"}])",
       R"([{"op": "remove", "path": "/temperature"}, {"op": "replace", "path": "/nope", "value": 1}])"}) {
    HttpResponse r = Call("PATCH", TwinPath("witness"), patch);
    EXPECT_EQ(r.status, 400) << patch << " → " << r.body;
    ExpectErrorShape(r);
  }
}

TEST_F(BadRequestTest, BadQueryIs400) {
  HttpResponse r = Call("POST", "/query", R"({"query": "SELECT FROM WHERE"})");
  EXPECT_EQ(r.status, 400) << r.body;
  ExpectErrorShape(r);
  r = Call("POST", "/query",
           R"({"query": "SELECT * FROM digitaltwins", "continuationToken": "garbage!"})");
  EXPECT_EQ(r.status, 400) << r.body;
}

// A server of its own, with a small body limit.
TEST(BodyLimitTest, BodyOverTheLimitIs413AndTheServerCarriesOn) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.Sub("data"), {"--max-body-bytes", "4096"});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = Connect((*server)->url());
  std::string big = R"({"$metadata": {"$model": "dtmi:doppel:test:Sensor;1"}, "label": ")" +
                    std::string(16384, 'x') + "\"}";
  HttpResponse r = Send(*http, "PUT", TwinPath("big"), big);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_FALSE(ErrorCode(r).empty()) << r.body;
  EXPECT_EQ(Send(*http, "GET", "/healthz").status, 200);
  EXPECT_EQ(Send(*http, "GET", TwinPath("big")).status, 404);
}

}  // namespace
}  // namespace doppel::testing
