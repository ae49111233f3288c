#include "ingest/ingestor.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "ingest/telemetry_json.h"
#include "tsdb/query.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"

namespace doppel::ingest {
namespace {

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kGearbox = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Gearbox;1", "@type": "Interface",
  "contents": [{"@type": ["Telemetry", "Temperature"], "name": "oilTemperature", "schema": "double",
                "unit": "degreeCelsius"}]})";

constexpr std::string_view kTurbine = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Turbine;1", "@type": "Interface",
  "contents": [
    {"@type": ["Telemetry", "Power"], "name": "power", "schema": "double", "unit": "kilowatt"},
    {"@type": "Telemetry", "name": "rotorRpm", "schema": "integer"},
    {"@type": "Telemetry", "name": "online", "schema": "boolean"},
    {"@type": "Telemetry", "name": "note", "schema": "string"},
    {"@type": "Telemetry", "name": "state", "schema": {"@type": "Enum", "valueSchema": "string",
      "enumValues": [{"name": "run", "enumValue": "running"}, {"name": "stop", "enumValue": "stopped"}]}},
    {"@type": "Telemetry", "name": "position", "schema": {"@type": "Object", "fields": [
      {"name": "x", "schema": "double"}, {"name": "y", "schema": "double"}]}},
    {"@type": "Property", "name": "ratedPower", "schema": "double", "writable": true},
    {"@type": "Command", "name": "stop"},
    {"@type": "Component", "name": "gearbox", "schema": "dtmi:test:Gearbox;1"}
  ]})";

class IngestorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto added = graph_.AddModels({J(kGearbox), J(kTurbine)});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    for (std::string id : {"wtg-1", "wtg-2"}) {
      auto put = graph_.PutTwin(id, J(R"({"$metadata": {"$model": "dtmi:test:Turbine;1"},
                                          "gearbox": {"$metadata": {}}})"), {});
      ASSERT_TRUE(put.ok()) << put.status().ToString();
    }
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<Ingestor>(graph_, *store_);
  }

  std::vector<tsdb::Point> Points(std::string_view twin, std::string_view path) {
    auto id = store_->Find(twin, path);
    if (!id.ok()) return {};
    return tsdb::QueryRaw(*store_, *id, 0, INT64_MAX).value();
  }

  tsdb::testing::TempDir dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<Ingestor> ingestor_;
};

TEST_F(IngestorTest, StoresEachScalarTypeInItsSeries) {
  std::vector<Reading> batch = {
      {"wtg-1", "power", 10, 1500.5},       {"wtg-1", "rotorRpm", 10, int64_t{14}},
      {"wtg-1", "online", 10, true},        {"wtg-1", "note", 10, std::string("ok")},
      {"wtg-1", "state", 10, std::string("running")}, {"wtg-1", "ratedPower", 10, 2000.0},
  };
  ASSERT_TRUE(ingestor_->Write(batch).ok());
  EXPECT_EQ(Points("wtg-1", "power"), (std::vector<tsdb::Point>{{10, 1500.5}}));
  EXPECT_EQ(Points("wtg-1", "rotorRpm"), (std::vector<tsdb::Point>{{10, int64_t{14}}}));
  EXPECT_EQ(Points("wtg-1", "online"), (std::vector<tsdb::Point>{{10, true}}));
  EXPECT_EQ(Points("wtg-1", "note"), (std::vector<tsdb::Point>{{10, std::string("ok")}}));
  EXPECT_EQ(Points("wtg-1", "state"), (std::vector<tsdb::Point>{{10, std::string("running")}}));
  EXPECT_EQ(Points("wtg-1", "ratedPower"), (std::vector<tsdb::Point>{{10, 2000.0}}));
  EXPECT_EQ(ingestor_->accepted(), 6u);
}

TEST_F(IngestorTest, SeriesCarryTheModelsMetadata) {
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"wtg-2", "power", 1, 1.0}}).ok());
  auto info = store_->Info(store_->Find("wtg-2", "power").value()).value();
  EXPECT_EQ(info.spec.model_id, "dtmi:test:Turbine;1");
  EXPECT_EQ(info.spec.unit, "kilowatt");
  EXPECT_EQ(info.spec.semantic_type, "Power");
  EXPECT_EQ(info.spec.type, tsdb::ValueType::kDouble);
}

TEST_F(IngestorTest, ConvertsNumbersWhenNothingIsLost) {
  std::vector<Reading> batch = {{"wtg-1", "power", 1, int64_t{7}}, {"wtg-1", "rotorRpm", 1, 15.0}};
  ASSERT_TRUE(ingestor_->Write(batch).ok());
  EXPECT_EQ(Points("wtg-1", "power"), (std::vector<tsdb::Point>{{1, 7.0}}));
  EXPECT_EQ(Points("wtg-1", "rotorRpm"), (std::vector<tsdb::Point>{{1, int64_t{15}}}));
}

TEST_F(IngestorTest, ListenersSeeTheBatchAsStoredAfterItIsDurable) {
  std::vector<Reading> seen;
  uint64_t id = ingestor_->Subscribe([&](std::span<const Reading> batch) {
    EXPECT_FALSE(Points(batch.front().twin_id, batch.front().path).empty());  // already stored
    seen.insert(seen.end(), batch.begin(), batch.end());
  });
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"wtg-1", "power", 1, int64_t{7}}, {"wtg-1", "rotorRpm", 1, 15.0}}).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].value, tsdb::Value(7.0));           // converted to the double series
  EXPECT_EQ(seen[1].value, tsdb::Value(int64_t{15}));  // converted to the integer series
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"wtg-1", "power", 2, 8.5}}).ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].value, tsdb::Value(8.5));
  EXPECT_FALSE(ingestor_->Write(std::vector<Reading>{{"wtg-1", "power", 3, std::string("x")}}).ok());
  EXPECT_EQ(seen.size(), 3u);  // a refused batch is not announced
  ingestor_->Unsubscribe(id);
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"wtg-1", "power", 4, 9.0}}).ok());
  EXPECT_EQ(seen.size(), 3u);
}

TEST_F(IngestorTest, ComponentTelemetryUsesTheComponentsModel) {
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"wtg-1", "gearbox/oilTemperature", 5, 61.5}}).ok());
  EXPECT_EQ(Points("wtg-1", "gearbox/oilTemperature"), (std::vector<tsdb::Point>{{5, 61.5}}));
  auto info = store_->Info(store_->Find("wtg-1", "gearbox/oilTemperature").value()).value();
  EXPECT_EQ(info.spec.unit, "degreeCelsius");
}

struct Refusal {
  Reading reading;
  RejectReason reason;
  StatusCode code;
  std::string message_part;
};

TEST_F(IngestorTest, RefusesWhatTheModelDoesNotAllowAndCountsWhy) {
  const std::vector<Refusal> cases = {
      {{"nope", "power", 1, 1.0}, RejectReason::kUnknownTwin, StatusCode::kNotFound, "twin 'nope' not found"},
      {{"wtg-1", "voltage", 1, 1.0}, RejectReason::kUnknownPath, StatusCode::kInvalidArgument,
       "has no telemetry or property 'voltage'"},
      {{"wtg-1", "stop", 1, 1.0}, RejectReason::kUnknownPath, StatusCode::kInvalidArgument, "'stop'"},
      {{"wtg-1", "gearbox", 1, 1.0}, RejectReason::kUnknownPath, StatusCode::kInvalidArgument, "'gearbox'"},
      {{"wtg-1", "gearbox/power", 1, 1.0}, RejectReason::kUnknownPath, StatusCode::kInvalidArgument,
       "'gearbox/power'"},
      {{"wtg-1", "power", 1, std::string("high")}, RejectReason::kWrongType, StatusCode::kInvalidArgument,
       "expects a double, got a string"},
      {{"wtg-1", "rotorRpm", 1, 14.5}, RejectReason::kWrongType, StatusCode::kInvalidArgument,
       "expects an integer, got a double"},
      {{"wtg-1", "online", 1, int64_t{1}}, RejectReason::kWrongType, StatusCode::kInvalidArgument,
       "expects a boolean"},
      {{"wtg-1", "state", 1, std::string("exploded")}, RejectReason::kWrongType, StatusCode::kInvalidArgument,
       "not one of its values"},
      {{"wtg-1", "position", 1, 1.0}, RejectReason::kUnstorable, StatusCode::kInvalidArgument,
       "history cannot keep"},
  };
  for (const Refusal& c : cases) {
    uint64_t before = ingestor_->rejected(c.reason);
    Status s = ingestor_->Write(std::vector<Reading>{c.reading});
    EXPECT_EQ(s.code(), c.code) << c.reading.path << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.message_part), std::string::npos) << s.message();
    EXPECT_EQ(ingestor_->rejected(c.reason), before + 1) << c.reading.path;
  }
  EXPECT_EQ(ingestor_->accepted(), 0u);
  EXPECT_TRUE(store_->ListSeries().empty());
}

TEST_F(IngestorTest, ABadReadingRefusesTheWholeBatch) {
  std::vector<Reading> batch = {{"wtg-1", "power", 1, 1.0}, {"wtg-2", "power", 1, 2.0},
                                {"wtg-2", "rotorRpm", 1, std::string("x")}};
  Status s = ingestor_->Write(batch);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("reading 2:"), std::string::npos) << s.message();
  EXPECT_TRUE(Points("wtg-1", "power").empty());
  EXPECT_TRUE(Points("wtg-2", "power").empty());
}

TEST_F(IngestorTest, LaterWritesReuseTheSeriesAndKeepTheLastValuePerTime) {
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"wtg-1", "power", 2, 1.0}, {"wtg-1", "power", 1, 0.5}}).ok());
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"wtg-1", "power", 2, 3.0}}).ok());
  EXPECT_EQ(Points("wtg-1", "power"), (std::vector<tsdb::Point>{{1, 0.5}, {2, 3.0}}));
  EXPECT_EQ(store_->ListSeries().size(), 1u);
}

TEST_F(IngestorTest, ARecreatedTwinWithAnotherTypeIsRefusedNotMixed) {
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"wtg-1", "note", 1, std::string("a")}}).ok());
  // Another model where "note" is a double: the existing string series must not take doubles.
  ASSERT_TRUE(graph_.AddModels({J(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Other;1",
      "@type": "Interface", "contents": [{"@type": "Telemetry", "name": "note", "schema": "double"}]})")}).ok());
  ASSERT_TRUE(graph_.PutTwin("wtg-3", J(R"({"$metadata": {"$model": "dtmi:test:Other;1"}})"), {}).ok());
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"wtg-3", "note", 1, 2.0}}).ok());
  ASSERT_TRUE(graph_.DeleteTwin("wtg-1", {}).ok());
  ASSERT_TRUE(graph_.PutTwin("wtg-1", J(R"({"$metadata": {"$model": "dtmi:test:Other;1"}})"), {}).ok());
  Status s = ingestor_->Write(std::vector<Reading>{{"wtg-1", "note", 2, 2.0}});
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Points("wtg-1", "note"), (std::vector<tsdb::Point>{{1, std::string("a")}}));
}

TEST_F(IngestorTest, WriteEachStoresTheGoodGroupsAndRefusesTheBadOnesAlone) {
  std::vector<std::vector<Reading>> batches = {
      {{"wtg-1", "power", 1, 10.0}, {"wtg-1", "rotorRpm", 1, int64_t{3}}},
      {{"wtg-1", "power", 2, 20.0}, {"nope", "power", 2, 1.0}},      // unknown twin: whole group out
      {{"wtg-2", "power", 3, 30.0}},
      {},                                                             // empty: OK, nothing written
      {{"wtg-2", "power", 4, 40.0}, {"wtg-2", "rotorRpm", 4, 1.5}},   // wrong type in reading 1
      {{"wtg-1", "gearbox/oilTemperature", 5, int64_t{50}}},          // converted to double
  };
  std::vector<std::span<const Reading>> groups(batches.begin(), batches.end());
  std::vector<std::vector<Reading>> heard;
  ingestor_->Subscribe([&](std::span<const Reading> r) { heard.emplace_back(r.begin(), r.end()); });

  std::vector<Status> statuses = ingestor_->WriteEach(groups);

  ASSERT_EQ(statuses.size(), 6u);
  EXPECT_TRUE(statuses[0].ok());
  EXPECT_EQ(statuses[1].code(), StatusCode::kNotFound);
  EXPECT_EQ(statuses[1].message(), "reading 1: twin 'nope' not found");
  EXPECT_TRUE(statuses[2].ok());
  EXPECT_TRUE(statuses[3].ok());
  EXPECT_EQ(statuses[4].message(), "reading 1: 'wtg-2'/'rotorRpm' expects an integer, got a double");
  EXPECT_TRUE(statuses[5].ok());
  EXPECT_EQ(Points("wtg-1", "power"), (std::vector<tsdb::Point>{{1, 10.0}}));  // not 20 from group 1
  EXPECT_EQ(Points("wtg-2", "power"), (std::vector<tsdb::Point>{{3, 30.0}}));  // not 40 from group 4
  EXPECT_EQ(Points("wtg-2", "rotorRpm"), std::vector<tsdb::Point>{});
  EXPECT_EQ(Points("wtg-1", "gearbox/oilTemperature"), (std::vector<tsdb::Point>{{5, 50.0}}));
  EXPECT_EQ(ingestor_->accepted(), 4u);
  EXPECT_EQ(ingestor_->rejected(RejectReason::kUnknownTwin), 1u);
  EXPECT_EQ(ingestor_->rejected(RejectReason::kWrongType), 1u);
  // Once per accepted, non-empty group, values as stored.
  ASSERT_EQ(heard.size(), 3u);
  EXPECT_EQ(heard[0].size(), 2u);
  EXPECT_EQ(heard[1][0].value, tsdb::Value(30.0));
  EXPECT_EQ(heard[2][0].value, tsdb::Value(50.0));
}

TEST_F(IngestorTest, WriteEachFailsOnlyTheGroupsOfASeriesThatCannotBeCreated) {
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"wtg-1", "note", 1, std::string("a")}}).ok());
  ASSERT_TRUE(graph_.AddModels({J(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Other;1",
      "@type": "Interface", "contents": [{"@type": "Telemetry", "name": "note", "schema": "double"}]})")}).ok());
  ASSERT_TRUE(graph_.DeleteTwin("wtg-1", {}).ok());
  ASSERT_TRUE(graph_.PutTwin("wtg-1", J(R"({"$metadata": {"$model": "dtmi:test:Other;1"}})"), {}).ok());
  std::vector<Reading> clash = {{"wtg-1", "note", 2, 2.0}};
  std::vector<Reading> fine = {{"wtg-2", "power", 2, 5.0}};
  const std::span<const Reading> groups[] = {clash, fine};
  std::vector<Status> statuses = ingestor_->WriteEach(groups);
  EXPECT_EQ(statuses[0].code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(statuses[1].ok());
  EXPECT_EQ(Points("wtg-1", "note"), (std::vector<tsdb::Point>{{1, std::string("a")}}));
  EXPECT_EQ(Points("wtg-2", "power"), (std::vector<tsdb::Point>{{2, 5.0}}));
}

TEST(TelemetryJsonTest, EachMemberBecomesAReading) {
  std::vector<Reading> out;
  json::object message = J(R"({"power": 1.5, "rotorRpm": 14, "online": true, "note": "x"})").as_object();
  ASSERT_TRUE(ReadingsFromTelemetry("wtg-1", "", message, 42, out).ok());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].path, "power");
  EXPECT_EQ(out[0].value, tsdb::Value(1.5));
  EXPECT_EQ(out[1].value, tsdb::Value(int64_t{14}));
  EXPECT_EQ(out[2].value, tsdb::Value(true));
  EXPECT_EQ(out[3].value, tsdb::Value(std::string("x")));
  for (const Reading& r : out) {
    EXPECT_EQ(r.twin_id, "wtg-1");
    EXPECT_EQ(r.time, 42);
  }
}

TEST(TelemetryJsonTest, ComponentPrefixesThePath) {
  std::vector<Reading> out;
  ASSERT_TRUE(ReadingsFromTelemetry("wtg-1", "gearbox", J(R"({"oilTemperature": 60})").as_object(), 1, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].path, "gearbox/oilTemperature");
}

TEST(TelemetryJsonTest, RefusesWhatHistoryCannotKeep) {
  std::vector<Reading> out = {{"keep", "me", 1, 1.0}};
  for (std::string_view body : {R"({})", R"({"a": 1, "pos": {"x": 1}})", R"({"a": [1, 2]})", R"({"a": null})",
                                R"({"a": 18446744073709551615})"}) {
    Status s = ReadingsFromTelemetry("wtg-1", "", J(body).as_object(), 1, out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << body;
    EXPECT_EQ(out.size(), 1u) << body;
  }
}

}  // namespace
}  // namespace doppel::ingest
