// POST /digitaltwins/{id}/erase over a real Ingestor, SeriesStore and LiveState, wired as
// `doppel serve` wires them (ingest::EraseTwinEverywhere), with an audit log.
#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "ingest/erasure.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "server/api_test_fixture.h"
#include "tsdb/temp_dir.h"

namespace doppel::server::testing {
namespace {

class EraseApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Call("POST", "/models", ModelsJson()).status, 201);
    for (const char* id : {"room-1", "room-2", "room-10"}) {
      ASSERT_EQ(Call("PUT", std::string("/digitaltwins/") + id, RoomJson(20)).status, 200);
    }
    Relate("room-1", "out", "room-2");
    Relate("room-2", "in", "room-1");
    Relate("room-10", "other", "room-2");
    ASSERT_EQ(Call("POST", "/write",
                   "room,twin=room-1 temperature=21.5 1\nroom,twin=room-1 temperature=22 2\n"
                   "room,twin=room-1,component=thermostat setpoint=19 2\n"
                   "room,twin=room-2 temperature=18 1\nroom,twin=room-10 temperature=17 1\n")
                  .status,
              204);
  }

  HttpResponse Call(std::string method, std::string target, std::string body = "") {
    HttpRequest req{.method = std::move(method), .target = std::move(target), .headers = {}, .body = std::move(body)};
    return api_.Handle(req);
  }
  void Relate(const std::string& source, const std::string& rel_id, const std::string& target) {
    HttpResponse r = Call("PUT", "/digitaltwins/" + source + "/relationships/" + rel_id,
                          R"({"$targetId": ")" + target + R"(", "$relationshipName": "adjacentTo"})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::vector<std::string> ErasureRecords() {
    auto records = audit_->Query({.action_prefix = "twin.erase"});
    EXPECT_TRUE(records.ok());
    std::vector<std::string> out;
    for (const audit::AuditRecord& r : *records) out.push_back(r.event.target + " " + r.event.outcome);
    return out;
  }

  tsdb::testing::TempDir dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
  ingest::Ingestor ingestor_{graph_, *store_};
  ingest::LiveState live_;
  uint64_t live_feed_ = ingestor_.Subscribe([this](std::span<const ingest::Reading> b) { live_.Apply(b); });
  std::unique_ptr<audit::AuditLog> audit_ = audit::AuditLog::InMemory();
  DigitalTwinsApi api_{graph_, clock_, {}, Services()};

  ApiServices Services() {
    ApiServices services;
    services.ingestor = &ingestor_;
    services.history = store_.get();
    services.live = &live_;
    services.audit = audit_.get();
    services.erase_twin = [this](std::string_view id) -> Result<json::object> {
      DOPPEL_ASSIGN_OR_RETURN(ingest::TwinErasure erased,
                              ingest::EraseTwinEverywhere(id, graph_, ingestor_, *store_, live_));
      return json::object{{"twin", id},
                          {"relationships", erased.relationships},
                          {"series", erased.history.series},
                          {"points", erased.history.points}};
    };
    return services;
  }
};

TEST_F(EraseApiTest, ErasesTheTwinItsRelationshipsHistoryAndLiveValues) {
  HttpResponse r = Call("POST", "/digitaltwins/room-1/erase");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseJson(r.body).value(),
            ParseJson(R"({"twin": "room-1", "relationships": 2, "series": 2, "points": 3})").value());

  EXPECT_EQ(Call("GET", "/digitaltwins/room-1").status, 404);
  EXPECT_EQ(Call("GET", "/digitaltwins/room-1/telemetry").status, 404);
  EXPECT_TRUE(live_.OfTwin("room-1").empty());
  EXPECT_TRUE(store_->ListSeriesOfTwin("room-1").empty());
  HttpResponse series = Call("GET", "/timeseries");
  ASSERT_EQ(series.status, 200) << series.body;
  EXPECT_EQ(series.body.find("\"room-1\""), std::string::npos) << series.body;
  HttpResponse query = Call("GET", "/timeseries/query?twin=room-1&start=0&end=now");
  EXPECT_EQ(query.body.find("21.5"), std::string::npos) << query.body;
  EXPECT_EQ(Call("GET", "/digitaltwins/room-2/incomingrelationships").body.find("\"room-1\""), std::string::npos);
  EXPECT_EQ(Call("GET", "/digitaltwins/room-2/relationships").body.find("\"room-1\""), std::string::npos);

  // The others keep everything, room-10 (a longer id with the same prefix) included.
  EXPECT_EQ(store_->ListSeriesOfTwin("room-10").size(), 1u);
  EXPECT_EQ(live_.OfTwin("room-2").size(), 1u);
  EXPECT_EQ(Call("GET", "/digitaltwins/room-10/relationships/other").status, 200);
  EXPECT_EQ(ErasureRecords(), (std::vector<std::string>{"room-1 ok"}));

  // The id is free again, and a new twin of it starts with empty history.
  ASSERT_EQ(Call("PUT", "/digitaltwins/room-1", RoomJson(20)).status, 200);
  ASSERT_EQ(Call("POST", "/write", "room,twin=room-1 temperature=5 9").status, 204);
  HttpResponse live = Call("GET", "/digitaltwins/room-1/telemetry");
  const json::value body = ParseJson(live.body).value();
  const json::object& telemetry = body.at("telemetry").as_object();
  ASSERT_EQ(telemetry.size(), 1u);
  EXPECT_EQ(telemetry.at("temperature").at("value").to_number<double>(), 5.0);
}

TEST_F(EraseApiTest, AnUnknownTwinIs404AndADeletedOnesHistoryCanStillBeErased) {
  HttpResponse r = Call("POST", "/digitaltwins/nobody/erase");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("DigitalTwinNotFound"), std::string::npos) << r.body;

  // DELETE keeps a twin's history; erasure removes what is left.
  ASSERT_EQ(Call("DELETE", "/digitaltwins/room-10/relationships/other").status, 204);
  ASSERT_EQ(Call("DELETE", "/digitaltwins/room-10").status, 204);
  ASSERT_EQ(store_->ListSeriesOfTwin("room-10").size(), 1u);
  r = Call("POST", "/digitaltwins/room-10/erase");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseJson(r.body).value(),
            ParseJson(R"({"twin": "room-10", "relationships": 0, "series": 1, "points": 1})").value());
  EXPECT_TRUE(store_->ListSeriesOfTwin("room-10").empty());
  EXPECT_EQ(Call("POST", "/digitaltwins/room-10/erase").status, 404);
  EXPECT_EQ(ErasureRecords(), (std::vector<std::string>{"nobody error:404", "room-10 ok", "room-10 error:404"}));
}

TEST(EraseApiWithoutServiceTest, Answers503) {
  ManualClock clock;
  twin::MemoryJournal journal;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  DigitalTwinsApi api(graph, clock);
  HttpRequest req{.method = "POST", .target = "/digitaltwins/room-1/erase", .headers = {}, .body = ""};
  HttpResponse r = api.Handle(req);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("erasure is not enabled on this server"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace doppel::server::testing
