// The operator's command line, run as a separate process like a user would run it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "test_models.h"

namespace doppel::testing {
namespace {

namespace fs = std::filesystem;

TEST(CliTest, ValidateAcceptsValidModels) {
  TempDir dir;
  WriteFile(dir.Sub("models/a/thermostat_and_sensor.json"), kTestModels);
  CommandResult r = RunDoppel({"models", "validate", dir.Sub("models")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2 models valid"), std::string::npos) << r.out;
}

TEST(CliTest, ValidateRejectsAnInvalidModelNamingModelPathAndRule) {
  TempDir dir;
  WriteFile(dir.Sub("broken.json"), kInvalidModel);
  CommandResult r = RunDoppel({"models", "validate", dir.Sub("broken.json")});
  EXPECT_EQ(r.exit_code, 1);
  // "error: <model> at <path> in <file>: <rule>: <message>"
  std::string expected_start = "error: dtmi:doppel:test:Broken;1 at $[0].contents[0].schema in " +
                               dir.Sub("broken.json") + ": ";
  ASSERT_EQ(r.err.substr(0, expected_start.size()), expected_start) << r.err;
  std::string rest = r.err.substr(expected_start.size());
  std::size_t rule_end = rest.find(": ");
  ASSERT_NE(rule_end, std::string::npos) << r.err;
  EXPECT_GT(rule_end, 0u) << "no rule named: " << r.err;
  EXPECT_EQ(rest.substr(0, rule_end).find(' '), std::string::npos)
      << "the rule is an identifier: " << r.err;
}

TEST(CliTest, ValidateNamesAFileThatIsNotJson) {
  TempDir dir;
  WriteFile(dir.Sub("ok.json"), kTestModels);
  WriteFile(dir.Sub("bad.json"), "{\"@id\": ");
  CommandResult r = RunDoppel({"models", "validate", dir.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 1"), std::string::npos) << r.err;
}

TEST(CliTest, ValidateAcceptsRealEstateCore) {
  const std::string root = std::string(DOPPEL_SHARED_DATA_DIR) + "/dtdl/realestatecore/Ontology";
  if (!std::filesystem::is_directory(root)) GTEST_SKIP() << "no RealEstateCore ontology under " << root;
  CommandResult r = RunDoppel({"models", "validate", root});
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(0, 4000);
  EXPECT_NE(r.out.find("767 models valid"), std::string::npos) << r.out;
}

TEST(CliTest, ClientCommandsReportAnUnreachableServer) {
  CommandResult r = RunDoppel({"twins", "get", "x"}, {"DOPPEL_URL=http://127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("http://127.0.0.1:1"), std::string::npos) << r.err;
}

class CliServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = ServerProcess::Start(dir_.Sub("data"));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }
  CommandResult Doppel(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--url", server_->url()});
    return RunDoppel(args, {}, input);
  }
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(CliServerTest, LoadWindFarmThenQuery) {
  std::string example = std::string(DOPPEL_SOURCE_DIR) + "/examples/wind-farm";
  ASSERT_TRUE(fs::exists(example + "/twins.json")) << example;
  // --url may also follow the command, as the examples' READMEs write it.
  CommandResult load = RunDoppel({"load", example, "--url", server_->url()});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_NE(load.out.find("twins"), std::string::npos) << load.out;

  // Loading again changes nothing and still succeeds: models are skipped, twins replaced.
  CommandResult again = Doppel({"load", example});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find(" 0 models uploaded"), std::string::npos) << again.out;

  std::ifstream in(example + "/twins.json", std::ios::binary);
  auto twins =
      Json(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  std::size_t expected = twins.at("twins").as_array().size();
  std::string first_id(twins.at("twins").as_array()[0].at("$dtId").as_string());

  CommandResult table = Doppel({"query", "SELECT * FROM digitaltwins"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("$dtId"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(first_id), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(fmt::format("({} rows)", expected)), std::string::npos) << table.out;

  CommandResult raw = Doppel({"query", "--json", "SELECT * FROM digitaltwins"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(Json(raw.out).as_array().size(), expected);
}

TEST_F(CliServerTest, TwinCommandsRoundTrip) {
  TempDir files;
  WriteFile(files.Sub("models.json"), kTestModels);
  CommandResult upload =
      RunDoppel({"models", "upload", files.Sub("models.json")}, {"DOPPEL_URL=" + server_->url()});
  ASSERT_EQ(upload.exit_code, 0) << upload.err;
  EXPECT_NE(upload.out.find("uploaded 2 models"), std::string::npos) << upload.out;
  CommandResult duplicate = Doppel({"models", "upload", files.Sub("models.json")});
  EXPECT_EQ(duplicate.exit_code, 1);
  EXPECT_NE(duplicate.err.find("error: ModelAlreadyExists: "), std::string::npos) << duplicate.err;
  CommandResult list = Doppel({"models", "list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find(kSensorId), std::string::npos) << list.out;

  CommandResult put = Doppel({"twins", "put", "cli-1", "-"}, SensorTwin(12.5, "from-stdin"));
  ASSERT_EQ(put.exit_code, 0) << put.err;
  CommandResult patch =
      Doppel({"twins", "patch", "cli-1", R"([{"op":"replace","path":"/temperature","value":13}])"});
  ASSERT_EQ(patch.exit_code, 0) << patch.err;
  CommandResult get = Doppel({"twins", "get", "cli-1"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  json::value twin = Json(get.out);
  EXPECT_EQ(twin.at("temperature").to_number<double>(), 13.0);
  EXPECT_EQ(twin.at("label").as_string(), "from-stdin");

  ASSERT_EQ(Doppel({"twins", "put", "cli-2", "-"}, SensorTwin(1)).exit_code, 0);
  ASSERT_EQ(Send(*Connect(server_->url()), "PUT", TwinPath("cli-1") + "/relationships/f1",
                 R"({"$relationshipName": "feeds", "$targetId": "cli-2"})")
                .status,
            200);
  CommandResult rels = Doppel({"relationships", "list", "cli-1"});
  EXPECT_EQ(rels.exit_code, 0) << rels.err;
  EXPECT_NE(rels.out.find("cli-2"), std::string::npos) << rels.out;

  CommandResult deleted = Doppel({"twins", "delete", "cli-1"});
  EXPECT_EQ(deleted.exit_code,
            Send(*Connect(server_->url()), "GET", TwinPath("cli-1")).status == 404 ? 0 : 1)
      << deleted.err;
  CommandResult missing = Doppel({"twins", "get", "nobody"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("error: DigitalTwinNotFound: "), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace doppel::testing

namespace doppel::testing {
namespace {

// The raw points of the Sensor's temperature series, as "time=value" strings.
std::vector<std::string> TemperaturePoints(const std::string& url) {
  auto r = Send(*Connect(url), "POST", "/timeseries/query",
                R"({"series": [{"twin": "b-1", "path": "temperature"}], "start": 0,
                    "end": 9000000000000000000, "timeFormat": "ns"})");
  EXPECT_EQ(r.status, 200) << r.body;
  std::vector<std::string> out;
  if (r.status != 200) return out;
  const json::value answer = Json(r.body);
  for (const auto& p : answer.at("series").at(0).at("points").as_array()) {
    out.push_back(std::to_string(p.at(0).to_number<int64_t>()) + "=" + ToJson(p.at(1)));
  }
  return out;
}

TEST(CliBackupTest, BackupWhileServingThenRestoreIntoANewDataDirectory) {
  TempDir dir;
  auto server = ServerProcess::Start(dir.Sub("data"));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const std::string url = (*server)->url();
  auto http = Connect(url);
  ASSERT_EQ(Send(*http, "POST", "/models", kTestModels).status, 201);
  ASSERT_EQ(Send(*http, "PUT", "/digitaltwins/b-1", SensorTwin(20)).status, 200);
  ASSERT_EQ(Send(*http, "POST", "/write", "s,twin=b-1 temperature=20.5 1000\ns,twin=b-1 temperature=21 2000").status,
            204);

  CommandResult backup = RunDoppel({"--url", url, "backup", dir.Sub("backup")});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_NE(backup.out.find("backup written to " + dir.Sub("backup")), std::string::npos) << backup.out;
  CommandResult again = RunDoppel({"--url", url, "backup", dir.Sub("backup")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;

  // Written after the backup: must not be in it.
  ASSERT_EQ(Send(*http, "POST", "/write", "s,twin=b-1 temperature=99 3000").status, 204);
  ASSERT_EQ(Send(*http, "PUT", "/digitaltwins/b-2", SensorTwin(1)).status, 200);
  ASSERT_EQ((*server)->Stop().value(), 0);

  CommandResult restore = RunDoppel({"restore", dir.Sub("backup"), "--data-dir", dir.Sub("restored")});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  CommandResult over = RunDoppel({"restore", dir.Sub("backup"), "--data-dir", dir.Sub("restored")});
  EXPECT_EQ(over.exit_code, 1);
  EXPECT_NE(over.err.find("already exists"), std::string::npos) << over.err;
  CommandResult not_backup = RunDoppel({"restore", dir.Sub("nothing"), "--data-dir", dir.Sub("other")});
  EXPECT_EQ(not_backup.exit_code, 1);
  EXPECT_NE(not_backup.err.find("is not a Doppel backup"), std::string::npos) << not_backup.err;

  auto restored = ServerProcess::Start(dir.Sub("restored"));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  auto http2 = Connect((*restored)->url());
  EXPECT_EQ(Send(*http2, "GET", "/digitaltwins/b-1").status, 200);
  EXPECT_EQ(Send(*http2, "GET", "/digitaltwins/b-2").status, 404);
  EXPECT_EQ(TemperaturePoints((*restored)->url()), (std::vector<std::string>{"1000=20.5", "2000=21"}));
}

}  // namespace
}  // namespace doppel::testing
