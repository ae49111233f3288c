// Ingestor::ForgetTwin: the ingest side of erasing a twin (docs/security.md, "Erasing a twin").
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "ingest/ingestor.h"
#include "tsdb/query.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"

namespace doppel::ingest {
namespace {

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kMeter = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Meter;1", "@type": "Interface",
  "contents": [{"@type": "Telemetry", "name": "power", "schema": "double"}]})";

class ForgetTwinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(graph_.AddModels({J(kMeter)}).ok());
    PutMeter("ws-1");
    PutMeter("ws-10");
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<Ingestor>(graph_, *store_);
  }

  void PutMeter(const std::string& id) {
    auto put = graph_.PutTwin(id, J(R"({"$metadata": {"$model": "dtmi:test:Meter;1"}})"), {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  std::vector<tsdb::Point> Points(std::string_view twin) {
    auto id = store_->Find(twin, "power");
    if (!id.ok()) return {};
    return tsdb::QueryRaw(*store_, *id, 0, INT64_MAX).value();
  }

  // The erasure sequence of `doppel serve` (app/serve.cc), without the live state.
  void Erase(const std::string& id) {
    ASSERT_TRUE(graph_.EraseTwin(id).ok());
    ingestor_->ForgetTwin(id);
    ASSERT_TRUE(store_->EraseTwin(id).ok());
  }

  tsdb::testing::TempDir dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<Ingestor> ingestor_;
};

TEST_F(ForgetTwinTest, ANewTwinOfTheSameIdGetsFreshSeries) {
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"ws-1", "power", 1, 1.5}, {"ws-10", "power", 1, 9.5}}).ok());
  const tsdb::SeriesId old_id = store_->Find("ws-1", "power").value();
  const tsdb::SeriesId neighbour = store_->Find("ws-10", "power").value();
  ASSERT_NO_FATAL_FAILURE(Erase("ws-1"));
  // Erased from the graph first: a reading now is refused as for any unknown twin.
  EXPECT_EQ(ingestor_->Write(std::vector<Reading>{{"ws-1", "power", 2, 2.0}}).code(), StatusCode::kNotFound);

  PutMeter("ws-1");
  // Without ForgetTwin the cached id of the erased series would make this write fail.
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"ws-1", "power", 3, 3.5}}).ok());
  EXPECT_NE(store_->Find("ws-1", "power").value(), old_id);
  EXPECT_EQ(Points("ws-1"), (std::vector<tsdb::Point>{{3, 3.5}}));
  // "ws-10" shares the prefix "ws-1" but is another twin: its cache entry and series stay.
  ASSERT_TRUE(ingestor_->Write(std::vector<Reading>{{"ws-10", "power", 2, 10.5}}).ok());
  EXPECT_EQ(store_->Find("ws-10", "power").value(), neighbour);
  EXPECT_EQ(Points("ws-10"), (std::vector<tsdb::Point>{{1, 9.5}, {2, 10.5}}));
}

// A write that validated the twin before it left the graph is still in flight (here held in a
// listener): ForgetTwin returns only after it, so the history erasure that follows sees its
// points and nothing of the twin is left behind.
TEST_F(ForgetTwinTest, WaitsForWritesAlreadyInFlight) {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, release = false;
  std::vector<std::string> order;
  ingestor_->Subscribe([&](std::span<const Reading>) {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    order.push_back("write finished");
  });
  std::thread writer([&] { EXPECT_TRUE(ingestor_->Write(std::vector<Reading>{{"ws-1", "power", 1, 1.5}}).ok()); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  ASSERT_TRUE(graph_.EraseTwin("ws-1").ok());
  std::thread eraser([&] {
    ingestor_->ForgetTwin("ws-1");
    std::lock_guard lock(mu);
    order.push_back("forgotten");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // give a wrong ForgetTwin time to return
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  writer.join();
  eraser.join();
  EXPECT_EQ(order, (std::vector<std::string>{"write finished", "forgotten"}));
  ASSERT_TRUE(store_->EraseTwin("ws-1").ok());
  EXPECT_EQ(store_->Find("ws-1", "power").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace doppel::ingest
