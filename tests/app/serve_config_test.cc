// LoadServeConfig / ApplyServeConfig: the `doppel serve --config` file is read strictly, and
// every refusal names the key (and, from LoadServeConfig, the file) so a typo is easy to find.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "app/serve.h"

namespace doppel::app {
namespace {

namespace fs = std::filesystem;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Each test gets its own fresh directory under /tmp, removed afterwards.
class ServeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "doppel_app_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "cannot create a temp dir";
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // Writes `text` to <dir>/<name> and returns the file's path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = (fs::path(dir_) / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Loads a config with `text` and expects an InvalidArgument naming the file and `key`;
  // returns the message so a test can check more of it.
  std::string ExpectRefused(const std::string& text, const std::string& key) {
    std::string path = WriteFile("serve.json", text);
    auto loaded = LoadServeConfig(path);
    EXPECT_FALSE(loaded.ok()) << text;
    if (loaded.ok()) return "";
    EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
    const std::string& message = loaded.status().message();
    EXPECT_TRUE(Contains(message, path)) << message;
    EXPECT_TRUE(Contains(message, "config key \"" + key + "\"")) << message;
    return message;
  }

  std::string dir_;
};

TEST_F(ServeConfigTest, ReadsEveryKey) {
  std::string path = WriteFile("serve.json", R"({
    "listen": "0.0.0.0:9090",
    "dataDir": "/var/lib/doppel",
    "maxBodyBytes": 1048576,
    "threads": 8,
    "sync": false,
    "readTimeoutMs": 2500,
    "logLevel": "debug"
  })");
  auto loaded = LoadServeConfig(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->listen, "0.0.0.0:9090");
  EXPECT_EQ(loaded->data_dir, "/var/lib/doppel");
  EXPECT_EQ(loaded->max_body_bytes, 1048576u);
  EXPECT_EQ(loaded->threads, 8);
  EXPECT_FALSE(loaded->sync);
  EXPECT_EQ(loaded->read_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(loaded->log_level, "debug");
}

TEST_F(ServeConfigTest, EmptyObjectKeepsTheDefaults) {
  auto loaded = LoadServeConfig(WriteFile("serve.json", "{}"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ServeOptions defaults;
  EXPECT_EQ(loaded->listen, defaults.listen);
  EXPECT_EQ(loaded->data_dir, "");
  EXPECT_EQ(loaded->max_body_bytes, defaults.max_body_bytes);
  EXPECT_EQ(loaded->threads, 0);
  EXPECT_TRUE(loaded->sync);
  EXPECT_EQ(loaded->read_timeout, defaults.read_timeout);
  EXPECT_EQ(loaded->log_level, "info");
}

TEST_F(ServeConfigTest, RelativeDataDirResolvesAgainstTheConfigFilesFolder) {
  fs::create_directory(fs::path(dir_) / "etc");
  auto loaded = LoadServeConfig(WriteFile("etc/serve.json", R"({"dataDir": "../state/./store"})"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->data_dir, (fs::path(dir_) / "state" / "store").string());
}

TEST_F(ServeConfigTest, AbsoluteDataDirIsKeptAsWritten) {
  auto loaded = LoadServeConfig(WriteFile("serve.json", R"({"dataDir": "/srv/doppel"})"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->data_dir, "/srv/doppel");
}

TEST_F(ServeConfigTest, ReadsRetentionRules) {
  std::string path = WriteFile("serve.json", R"({"retentionIntervalSeconds": 60, "retention": [
      {"keep": "400d"}, {"model": "dtmi:example:Pump;1", "keep": "30d", "keepRollups": "800d"},
      {"twin": "pump-7", "path": "vibration", "keep": "12h"}]})");
  auto loaded = LoadServeConfig(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->retention_interval, std::chrono::seconds(60));
  ASSERT_EQ(loaded->retention.size(), 3u);
  constexpr int64_t kDay = int64_t{86400} * 1'000'000'000;
  EXPECT_EQ(loaded->retention[0].keep, 400 * kDay);
  EXPECT_TRUE(loaded->retention[0].model_id.empty());
  EXPECT_EQ(loaded->retention[1].model_id, "dtmi:example:Pump;1");
  EXPECT_EQ(loaded->retention[1].keep, 30 * kDay);
  EXPECT_EQ(loaded->retention[1].keep_rollups, 800 * kDay);
  EXPECT_EQ(loaded->retention[0].keep_rollups, 0);
  EXPECT_EQ(loaded->retention[2].twin_id, "pump-7");
  EXPECT_EQ(loaded->retention[2].path, "vibration");
  EXPECT_EQ(loaded->retention[2].keep, kDay / 2);
}

TEST_F(ServeConfigTest, BadRetentionRulesAreRefusedAndNamed) {
  EXPECT_TRUE(Contains(ExpectRefused(R"({"retention": {"keep": "1d"}})", "retention"), "list of rules"));
  EXPECT_TRUE(Contains(ExpectRefused(R"({"retention": [{"model": "m"}]})", "retention[0]"), "needs \"keep\""));
  EXPECT_TRUE(Contains(ExpectRefused(R"({"retention": [{"keep": "soon"}]})", "retention[0].keep"), "duration"));
  EXPECT_TRUE(Contains(ExpectRefused(R"({"retention": [{"keep": 30}]})", "retention[0].keep"), "duration"));
  ExpectRefused(R"({"retention": [{"keep": "1d"}, {"twin": "a", "keep": "1d"}]})", "retention[1]");
  ExpectRefused(R"({"retention": [{"keep": "1d", "modle": "m"}]})", "retention[0].modle");
  ExpectRefused(R"({"retentionIntervalSeconds": 0})", "retentionIntervalSeconds");
}

TEST_F(ServeConfigTest, ReadsTheDataClassification) {
  auto loaded = LoadServeConfig(WriteFile("serve.json", R"({"classification": {
      "classes": {"personal": {"retention": "30d"}, "confidential": {}},
      "fields": [{"model": "dtmi:example:Operator;1", "path": "badgeId", "class": "personal"}]}})"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_TRUE(loaded->classification.has_value());
  ASSERT_EQ(loaded->classification->classes.size(), 2u);
  EXPECT_EQ(loaded->classification->classes[0].retention, std::chrono::hours(24 * 30));
  ASSERT_EQ(loaded->classification->fields.size(), 1u);
  EXPECT_EQ(loaded->classification->fields[0].path, "badgeId");
}

TEST_F(ServeConfigTest, BadClassificationIsRefusedAndNamed) {
  EXPECT_TRUE(Contains(ExpectRefused(R"({"classification": {"classes": {"p": {"retention": "soon"}}}})",
                                     "classification"),
                       "'classification.classes.p.retention': expected a duration"));
  EXPECT_TRUE(Contains(ExpectRefused(R"({"classification": {"classes": {}, "fields": [
      {"model": "dtmi:a:B;1", "path": "x", "class": "secret"}]}})", "classification"),
                       "classification.fields[0].class: unknown class 'secret'"));
}

TEST_F(ServeConfigTest, ReadsSimulationBindings) {
  auto loaded = LoadServeConfig(WriteFile("serve.json", R"({"simulation": {"bindings": {
      "turbines": {"model": "windTurbine", "twins": {"model": "dtmi:a:B;1"}, "inputs": {"windSpeed": "windSpeed"}}}}})"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->simulation_bindings.size(), 1u);
  EXPECT_EQ(loaded->simulation_bindings.at("turbines").at("model").as_string(), "windTurbine");
  EXPECT_TRUE(Contains(ExpectRefused(R"({"simulation": {"bindngs": {}}})", "simulation.bindngs"), "unknown key"));
  EXPECT_TRUE(Contains(ExpectRefused(R"({"simulation": {"bindings": {"x": 1}}})", "simulation.bindings.x"),
                       "must be a binding object"));
}

TEST_F(ServeConfigTest, UnknownKeyIsRefusedAndNamed) {
  std::string message = ExpectRefused(R"({"listen": ":80", "theads": 4})", "theads");
  EXPECT_TRUE(Contains(message, "unknown key")) << message;
}

TEST_F(ServeConfigTest, WrongTypesAreRefusedAndNamed) {
  EXPECT_TRUE(Contains(ExpectRefused(R"({"listen": 8080})", "listen"), "must be a string")) << "listen";
  EXPECT_TRUE(Contains(ExpectRefused(R"({"dataDir": ["a"]})", "dataDir"), "must be a string")) << "dataDir";
  EXPECT_TRUE(Contains(ExpectRefused(R"({"logLevel": true})", "logLevel"), "must be a string")) << "logLevel";
  EXPECT_TRUE(Contains(ExpectRefused(R"({"sync": "yes"})", "sync"), "must be true or false")) << "sync";
  EXPECT_TRUE(Contains(ExpectRefused(R"({"threads": "4"})", "threads"), "positive integer")) << "threads";
  EXPECT_TRUE(Contains(ExpectRefused(R"({"threads": 2.5})", "threads"), "positive integer")) << "threads";
  EXPECT_TRUE(Contains(ExpectRefused(R"({"maxBodyBytes": "1MB"})", "maxBodyBytes"), "positive integer"));
}

TEST_F(ServeConfigTest, ThreadsMustBeBetweenOneAnd1024) {
  EXPECT_TRUE(Contains(ExpectRefused(R"({"threads": -1})", "threads"), "positive integer"));
  EXPECT_TRUE(Contains(ExpectRefused(R"({"threads": 0})", "threads"), "positive integer"));
  EXPECT_TRUE(Contains(ExpectRefused(R"({"threads": 1025})", "threads"), "at most 1024"));
  EXPECT_TRUE(Contains(ExpectRefused(R"({"threads": 18446744073709551615})", "threads"), "at most 1024"));

  auto most = LoadServeConfig(WriteFile("most.json", R"({"threads": 1024})"));
  ASSERT_TRUE(most.ok()) << most.status().ToString();
  EXPECT_EQ(most->threads, 1024);
}

TEST_F(ServeConfigTest, ZeroOrNegativeSizesAreRefused) {
  ExpectRefused(R"({"maxBodyBytes": 0})", "maxBodyBytes");
  ExpectRefused(R"({"maxBodyBytes": -5})", "maxBodyBytes");
  ExpectRefused(R"({"readTimeoutMs": 0})", "readTimeoutMs");
}

TEST_F(ServeConfigTest, MissingFileIsNamed) {
  std::string path = (fs::path(dir_) / "absent.json").string();
  auto loaded = LoadServeConfig(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(loaded.status().message(), "cannot read config file " + path);
}

TEST_F(ServeConfigTest, MalformedJsonNamesTheFile) {
  std::string path = WriteFile("broken.json", "{\"listen\": \":80\",\n  \"threads\" 4}");
  auto loaded = LoadServeConfig(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  const std::string& message = loaded.status().message();
  EXPECT_TRUE(message.starts_with("config file " + path + ": ")) << message;
  EXPECT_TRUE(Contains(message, "line 2")) << message;
}

TEST_F(ServeConfigTest, NonObjectDocumentIsRefused) {
  std::string path = WriteFile("array.json", "[1, 2]");
  auto loaded = LoadServeConfig(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(Contains(loaded.status().message(), path)) << loaded.status().message();
  EXPECT_TRUE(Contains(loaded.status().message(), "must be a JSON object")) << loaded.status().message();
}

TEST(ApplyServeConfig, AppliesOnTopOfTheGivenOptions) {
  ServeOptions options;
  options.listen = "127.0.0.1:1";
  options.threads = 3;
  json::value config = json::parse(R"({"sync": false, "logLevel": "warn"})");
  ASSERT_TRUE(ApplyServeConfig(config, "/etc/doppel", options).ok());
  EXPECT_EQ(options.listen, "127.0.0.1:1");  // keys not in the config are left alone
  EXPECT_EQ(options.threads, 3);
  EXPECT_FALSE(options.sync);
  EXPECT_EQ(options.log_level, "warn");
}

TEST(ApplyServeConfig, RelativeDataDirResolvesAgainstBaseDir) {
  ServeOptions options;
  ASSERT_TRUE(ApplyServeConfig(json::parse(R"({"dataDir": "data"})"), "/etc/doppel", options).ok());
  EXPECT_EQ(options.data_dir, "/etc/doppel/data");
}

TEST(ApplyServeConfig, EmptyBaseDirLeavesDataDirRelative) {
  ServeOptions options;
  ASSERT_TRUE(ApplyServeConfig(json::parse(R"({"dataDir": "data"})"), "", options).ok());
  EXPECT_EQ(options.data_dir, "data");
}

TEST(ApplyServeConfig, ErrorNamesTheKeyWithoutAFile) {
  ServeOptions options;
  Status status = ApplyServeConfig(json::parse(R"({"threads": 0})"), "", options);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "config key \"threads\": must be a positive integer");
  EXPECT_EQ(options.threads, 0);
}

}  // namespace
}  // namespace doppel::app
