// Work orders: the lifecycle and its refusals, de-duplication, what the CMMS export sees,
// updates, validation, filters, retention, metrics and persistence across restarts.
#include "maintenance/work_order_service.h"

#include <fmt/format.h>
#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>

#include "tsdb/temp_dir.h"

namespace doppel::maintenance {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

CreateWorkOrder Bearing(std::string twin = "pump-1") {
  return CreateWorkOrder{.twin_id = std::move(twin),
                         .title = "Inspect main bearing",
                         .reason = "vibration above 7 mm/s",
                         .priority = Priority::kHigh,
                         .dedup_key = "bearing/pump-1",
                         .rule = "bearing",
                         .evidence = json::object{{"signals", json::object{{"vibration", 7.4}}}}};
}

std::vector<std::string> Ids(const std::vector<WorkOrder>& orders) {
  std::vector<std::string> ids;
  for (const WorkOrder& o : orders) ids.push_back(o.id);
  return ids;
}

std::vector<std::string> Events(const WorkOrder& order) {
  std::vector<std::string> events;
  for (const WorkOrderEvent& e : order.history) events.push_back(e.event);
  return events;
}

class WorkOrderServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(WorkOrderServiceOptions options = {}) {
    service_.reset();
    options.dir = dir_.path();
    auto opened = WorkOrderService::Open(options, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    service_ = std::move(*opened);
    service_->SetExporter([this](const json::object& m) { exported_.push_back(m); });
  }

  WorkOrder Create(CreateWorkOrder request) {
    auto order = service_->Create(request);
    EXPECT_TRUE(order.ok()) << order.status().ToString();
    return order.ok() ? *order : WorkOrder{};
  }

  Result<WorkOrder> Move(const std::string& id, WorkOrderStatus to, std::string by = "alice") {
    return service_->Update(id, {.status = to, .by = std::move(by)});
  }

  std::string WorkOrdersFile() const { return dir_.path() + "/work-orders.jsonl"; }

  tsdb::testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<WorkOrderService> service_;
  std::vector<json::object> exported_;
};

TEST_F(WorkOrderServiceTest, CreateAssignsIncreasingIdsAndRecordsWhoAndWhy) {
  WorkOrder first = Create(Bearing());
  clock_.Advance(seconds(5));
  WorkOrder second = Create({.twin_id = "pump-2", .title = "Replace seal", .created_by = "bob"});
  EXPECT_EQ(first.id, "WO-00000001");
  EXPECT_EQ(second.id, "WO-00000002");
  EXPECT_EQ(first.status, WorkOrderStatus::kOpen);
  EXPECT_EQ(first.created_by, "rule bearing");
  EXPECT_EQ(second.created_by, "bob");
  EXPECT_EQ(second.priority, Priority::kMedium);
  EXPECT_EQ(second.created, clock_.Now());
  ASSERT_EQ(first.history.size(), 1u);
  EXPECT_EQ(first.history[0].event, "created");
  EXPECT_EQ(first.history[0].by, "rule bearing");
  EXPECT_EQ(first.history[0].detail, "vibration above 7 mm/s");
  EXPECT_EQ(service_->Get("WO-00000002")->title, "Replace seal");
}

TEST_F(WorkOrderServiceTest, FollowsTheLifecycle) {
  const std::string id = Create(Bearing()).id;
  clock_.Advance(hours(1));
  auto started = Move(id, WorkOrderStatus::kInProgress);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(started->status, WorkOrderStatus::kInProgress);
  EXPECT_EQ(started->updated, clock_.Now());
  auto done = service_->Update(
      id, {.status = WorkOrderStatus::kDone, .comment = "bearing replaced", .by = "alice"});
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_THAT(Events(*done), ElementsAre("created", "inProgress", "done"));
  EXPECT_EQ(done->history.back().detail, "bearing replaced");
  EXPECT_EQ(done->history.back().by, "alice");

  const std::string other = Create({.twin_id = "pump-2", .title = "t"}).id;
  EXPECT_TRUE(Move(other, WorkOrderStatus::kCancelled).ok());
  const std::string third = Create({.twin_id = "pump-2", .title = "t"}).id;
  ASSERT_TRUE(Move(third, WorkOrderStatus::kInProgress).ok());
  EXPECT_TRUE(Move(third, WorkOrderStatus::kCancelled).ok());
}

TEST_F(WorkOrderServiceTest, RefusesIllegalTransitionsNamingFromAndTo) {
  const std::string id = Create(Bearing()).id;
  auto skip = Move(id, WorkOrderStatus::kDone);
  ASSERT_FALSE(skip.ok());
  EXPECT_EQ(skip.status().code(), StatusCode::kConflict);
  EXPECT_EQ(skip.status().error_code(), "InvalidTransition");
  EXPECT_EQ(skip.status().message(), "cannot move work order WO-00000001 from open to done");
  ASSERT_TRUE(Move(id, WorkOrderStatus::kInProgress).ok());
  EXPECT_EQ(Move(id, WorkOrderStatus::kOpen).status().message(),
            "cannot move work order WO-00000001 from inProgress to open");
  ASSERT_TRUE(Move(id, WorkOrderStatus::kDone).ok());
  for (WorkOrderStatus to :
       {WorkOrderStatus::kOpen, WorkOrderStatus::kInProgress, WorkOrderStatus::kCancelled}) {
    EXPECT_EQ(Move(id, to).status().error_code(), "InvalidTransition") << WorkOrderStatusName(to);
  }
  // Setting the status an order already has is no change, not an error.
  auto same = Move(id, WorkOrderStatus::kDone);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->history.size(), 3u);
  EXPECT_EQ(service_->Get(id)->status, WorkOrderStatus::kDone);
}

TEST_F(WorkOrderServiceTest, UnknownOrdersAreNotFound) {
  auto missing = service_->Update("WO-00000099", {.comment = "x"});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().error_code(), "WorkOrderNotFound");
  EXPECT_EQ(service_->Get("WO-00000099").status().message(),
            "there is no work order 'WO-00000099'");
}

TEST_F(WorkOrderServiceTest, DeduplicatesWhileOpenOrInProgress) {
  const WorkOrder first = Create(Bearing());
  clock_.Advance(seconds(60));
  CreateWorkOrder again = Bearing();
  again.evidence = json::object{{"summary", "vibration 8.1 mm/s"},
                                {"signals", json::object{{"vibration", 8.1}}}};
  WorkOrder repeat = Create(again);
  EXPECT_EQ(repeat.id, first.id);
  EXPECT_THAT(Events(repeat), ElementsAre("created", "repeated"));
  EXPECT_EQ(repeat.history.back().detail, "vibration 8.1 mm/s");
  EXPECT_EQ(repeat.history.back().by, "rule bearing");
  EXPECT_EQ(repeat.evidence, first.evidence) << "the order keeps the evidence that opened it";

  // Without a summary the reason stands in, without either the evidence itself.
  again.evidence = json::object{{"rul", json::object{{"value", 12}}}};
  again.reason = "";
  EXPECT_EQ(Create(again).history.back().detail, R"({"rul":{"value":12}})");

  ASSERT_TRUE(Move(first.id, WorkOrderStatus::kInProgress).ok());
  EXPECT_EQ(Create(Bearing()).id, first.id);
  ASSERT_TRUE(Move(first.id, WorkOrderStatus::kDone).ok());
  EXPECT_EQ(Create(Bearing()).id, "WO-00000002") << "a closed order does not absorb a new one";
  EXPECT_EQ(service_->List({}).size(), 2u);
  // Orders without a key never merge.
  EXPECT_NE(Create({.twin_id = "p", .title = "t"}).id, Create({.twin_id = "p", .title = "t"}).id);
}

TEST_F(WorkOrderServiceTest, ExportsCreatesAndPlanningChangesInOrder) {
  const std::string id = Create(Bearing()).id;
  ASSERT_EQ(exported_.size(), 1u);
  EXPECT_EQ(exported_[0].at("event"), "workOrder.created");
  EXPECT_EQ(exported_[0].at("workOrder").at("workOrderId"), json::value(id));
  EXPECT_EQ(exported_[0].at("workOrder").at("status"), "open");

  Create(Bearing());  // a repeat: nothing for the CMMS
  ASSERT_TRUE(service_->Update(id, {.external_id = "SAP-4711", .by = "cmms"}).ok());
  ASSERT_TRUE(service_->Update(id, {.comment = "parts ordered"}).ok());
  EXPECT_EQ(exported_.size(), 1u) << "the CMMS's own id and comments do not echo back";

  ASSERT_TRUE(service_->Update(id, {.assignee = "carol"}).ok());
  ASSERT_TRUE(Move(id, WorkOrderStatus::kInProgress).ok());
  ASSERT_EQ(exported_.size(), 3u);
  EXPECT_EQ(exported_[1].at("event"), "workOrder.updated");
  EXPECT_EQ(exported_[1].at("workOrder").at("assignee"), "carol");
  EXPECT_EQ(exported_[2].at("workOrder").at("status"), "inProgress");
  EXPECT_EQ(exported_[2].at("workOrder").at("externalId"), "SAP-4711");
}

TEST_F(WorkOrderServiceTest, ExportsOnlyWhatIsDurableAndCallsOutsideTheLock) {
  // The exporter may read the service (it runs outside the lock) and sees the stored order.
  std::vector<std::string> seen;
  service_->SetExporter([&](const json::object& m) {
    auto stored = service_->Get(std::string(m.at("workOrder").at("workOrderId").as_string()));
    seen.push_back(stored.ok() ? std::string(WorkOrderStatusName(stored->status)) : "missing");
  });
  const std::string id = Create(Bearing()).id;
  ASSERT_TRUE(Move(id, WorkOrderStatus::kCancelled).ok());
  EXPECT_THAT(seen, ElementsAre("open", "cancelled"));
  // A refused change exports nothing.
  EXPECT_FALSE(Move(id, WorkOrderStatus::kOpen).ok());
  EXPECT_FALSE(service_->Create({.twin_id = "", .title = "x"}).ok());
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(WorkOrderServiceTest, UpdatesOnlyTheGivenFieldsAndRecordsThem) {
  const std::string id = Create(Bearing()).id;
  const TimePoint due = clock_.Now() + hours(48);
  clock_.Advance(seconds(1));
  auto updated = service_->Update(id, {.priority = Priority::kUrgent,
                                       .due = std::optional<TimePoint>(due),
                                       .assignee = "carol",
                                       .by = "planner"});
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->priority, Priority::kUrgent);
  EXPECT_EQ(updated->due, due);
  EXPECT_EQ(updated->assignee, "carol");
  EXPECT_EQ(updated->title, "Inspect main bearing");
  EXPECT_EQ(updated->status, WorkOrderStatus::kOpen);
  EXPECT_EQ(updated->history.back().event, "updated");
  EXPECT_EQ(updated->history.back().by, "planner");
  EXPECT_EQ(
      updated->history.back().detail,
      "priority: high → urgent; due: none → 2023-11-16T22:13:20.0000000Z; assignee: '' → 'carol'");

  auto cleared =
      service_->Update(id, {.due = std::optional<TimePoint>(), .comment = "no date yet"});
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->due, std::nullopt);
  EXPECT_EQ(cleared->assignee, "carol");
  EXPECT_EQ(cleared->history.back().detail,
            "due: 2023-11-16T22:13:20.0000000Z → none; no date yet");

  auto comment = service_->Update(id, {.comment = "called the vendor", .by = "bob"});
  EXPECT_EQ(comment->history.back().event, "commented");
  EXPECT_EQ(comment->history.back().detail, "called the vendor");
  // Nothing given, nothing recorded.
  EXPECT_EQ(service_->Update(id, {.priority = Priority::kUrgent})->history.size(),
            comment->history.size());
}

TEST_F(WorkOrderServiceTest, ValidatesNamingTheField) {
  auto message = [&](CreateWorkOrder r) {
    auto created = service_->Create(r);
    EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument);
    return created.status().message();
  };
  EXPECT_EQ(message({.twin_id = "", .title = "t"}), "twinId is required");
  EXPECT_EQ(message({.twin_id = "p", .title = ""}), "title is required");
  EXPECT_EQ(message({.twin_id = "p", .title = std::string(201, 'x')}),
            "title is longer than 200 characters");
  EXPECT_EQ(message({.twin_id = "p", .title = "t", .reason = std::string(4001, 'x')}),
            "reason is longer than 4000 characters");
  EXPECT_THAT(
      message({.twin_id = "p", .title = "t", .evidence = json::string(std::string(70'000, 'x'))}),
      HasSubstr("evidence is larger than 64 KiB serialised"));
  // Characters, not bytes: 200 umlauts are 400 bytes and fine.
  std::string umlauts;
  for (int i = 0; i < 200; ++i) umlauts += "ü";
  EXPECT_TRUE(service_->Create({.twin_id = "p", .title = umlauts}).ok());
  EXPECT_EQ(service_->Update("WO-00000001", {.comment = std::string(4001, 'x')}).status().message(),
            "comment is longer than 4000 characters");
  EXPECT_EQ(service_->List({}).size(), 1u);
}

TEST_F(WorkOrderServiceTest, KeepsTheFirstAndTheNewestHistoryEvents) {
  const std::string id = Create(Bearing()).id;
  for (int i = 0; i < 150; ++i)
    ASSERT_TRUE(service_->Update(id, {.comment = fmt::format("note {}", i)}).ok());
  WorkOrder order = *service_->Get(id);
  ASSERT_EQ(order.history.size(), 100u);
  EXPECT_EQ(order.history.front().event, "created");
  EXPECT_EQ(order.history[1].detail, "note 51");
  EXPECT_EQ(order.history.back().detail, "note 149");
}

TEST_F(WorkOrderServiceTest, ListsNewestFirstWithFilters) {
  Create({.twin_id = "pump-1", .title = "a", .priority = Priority::kLow});                      // 1
  Create({.twin_id = "pump-2", .title = "b", .priority = Priority::kUrgent, .rule = "temp"});   // 2
  Create({.twin_id = "pump-1", .title = "c", .priority = Priority::kHigh, .rule = "bearing"});  // 3
  Create({.twin_id = "pump-2", .title = "d", .priority = Priority::kMedium});                   // 4
  ASSERT_TRUE(Move("WO-00000002", WorkOrderStatus::kInProgress).ok());
  ASSERT_TRUE(Move("WO-00000004", WorkOrderStatus::kCancelled).ok());

  EXPECT_THAT(Ids(service_->List({})),
              ElementsAre("WO-00000004", "WO-00000003", "WO-00000002", "WO-00000001"));
  EXPECT_THAT(Ids(service_->List({.limit = 2})), ElementsAre("WO-00000004", "WO-00000003"));
  EXPECT_THAT(Ids(service_->List({.status = WorkOrderStatus::kInProgress})),
              ElementsAre("WO-00000002"));
  EXPECT_THAT(Ids(service_->List({.open_only = true})),
              ElementsAre("WO-00000003", "WO-00000002", "WO-00000001"));
  EXPECT_THAT(Ids(service_->List({.twin_id = "pump-1"})),
              ElementsAre("WO-00000003", "WO-00000001"));
  EXPECT_THAT(Ids(service_->List({.min_priority = Priority::kHigh})),
              ElementsAre("WO-00000003", "WO-00000002"));
  EXPECT_THAT(Ids(service_->List({.rule = "bearing"})), ElementsAre("WO-00000003"));
  EXPECT_THAT(Ids(service_->List({.open_only = true, .twin_id = "pump-2"})),
              ElementsAre("WO-00000002"));
  int calls = 0;
  auto only_pump_2 = [&](std::string_view twin) {
    ++calls;
    return twin == "pump-2";
  };
  EXPECT_THAT(Ids(service_->List({.limit = 1, .visible = only_pump_2})),
              ElementsAre("WO-00000004"));
  EXPECT_EQ(calls, 2) << "asked once per twin";
}

TEST_F(WorkOrderServiceTest, ForgetsTheOldestClosedOrdersBeyondTheLimit) {
  Reopen({.max_closed = 2});
  for (int i = 0; i < 4; ++i) {
    const std::string id = Create({.twin_id = "p", .title = "t"}).id;
    clock_.Advance(seconds(1));
    ASSERT_TRUE(Move(id, WorkOrderStatus::kCancelled).ok());
  }
  const std::string open = Create({.twin_id = "p", .title = "still open"}).id;
  EXPECT_THAT(Ids(service_->List({})), ElementsAre(open, "WO-00000004", "WO-00000003"));
  Reopen({.max_closed = 2});
  EXPECT_THAT(Ids(service_->List({})), ElementsAre(open, "WO-00000004", "WO-00000003"));
}

TEST_F(WorkOrderServiceTest, RendersGaugesByStatus) {
  Create({.twin_id = "p", .title = "a"});
  Create({.twin_id = "p", .title = "b"});
  ASSERT_TRUE(Move("WO-00000002", WorkOrderStatus::kInProgress).ok());
  std::string out;
  service_->RenderMetrics(out);
  EXPECT_THAT(out, HasSubstr("# TYPE doppel_work_orders gauge\n"));
  EXPECT_THAT(out, HasSubstr("doppel_work_orders{status=\"open\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("doppel_work_orders{status=\"inProgress\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("doppel_work_orders{status=\"done\"} 0\n"));
  EXPECT_THAT(out, HasSubstr("doppel_work_orders{status=\"cancelled\"} 0\n"));
  EXPECT_THAT(out, HasSubstr("doppel_maintenance_records 0\n"));
}

TEST_F(WorkOrderServiceTest, SurvivesARestart) {
  const std::string id = Create(Bearing()).id;
  ASSERT_TRUE(service_
                  ->Update(id, {.status = WorkOrderStatus::kInProgress,
                                .due = std::optional<TimePoint>(clock_.Now() + hours(24)),
                                .assignee = "carol",
                                .external_id = "SAP-1",
                                .by = "alice"})
                  .ok());
  const WorkOrder before = *service_->Get(id);
  Reopen();
  auto after = service_->Get(id);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(WorkOrderJson(*after), WorkOrderJson(before));
  // The dedup index came back with it, and ids go on.
  EXPECT_EQ(Create(Bearing()).id, id);
  EXPECT_EQ(Create({.twin_id = "p", .title = "t"}).id, "WO-00000002");
}

TEST_F(WorkOrderServiceTest, SkipsATornLastLineAndKeepsAppending) {
  Create({.twin_id = "p", .title = "first"});
  Create({.twin_id = "p", .title = "second"});
  service_.reset();
  // A crash in the middle of an append: half a line without its newline.
  std::string text;
  {
    std::ifstream in(WorkOrdersFile());
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string last_line = text.substr(text.rfind('\n', text.size() - 2) + 1);
  {
    std::ofstream out(WorkOrdersFile(), std::ios::trunc);
    out << text.substr(0, text.size() - last_line.size())
        << last_line.substr(0, last_line.size() / 2);
  }
  Reopen();
  EXPECT_THAT(Ids(service_->List({})), ElementsAre("WO-00000001"));
  EXPECT_EQ(Create({.twin_id = "p", .title = "third"}).id, "WO-00000002");
  Reopen();
  EXPECT_THAT(Ids(service_->List({})), ElementsAre("WO-00000002", "WO-00000001"));
  EXPECT_EQ(service_->Get("WO-00000002")->title, "third");
}

TEST_F(WorkOrderServiceTest, IdsNeverRepeatEvenWhenRetentionDroppedEveryOrder) {
  Reopen({.max_closed = 0});
  const std::string id = Create({.twin_id = "p", .title = "t"}).id;
  ASSERT_TRUE(Move(id, WorkOrderStatus::kCancelled).ok());
  EXPECT_TRUE(service_->List({}).empty());
  Reopen({.max_closed = 0});
  EXPECT_EQ(Create({.twin_id = "p", .title = "t"}).id, "WO-00000002");
  Reopen({.max_closed = 0});  // after a compaction too
  EXPECT_EQ(Create({.twin_id = "p", .title = "t"}).id, "WO-00000003");
}

TEST_F(WorkOrderServiceTest, MemoryOnlyWithoutADirectory) {
  auto memory = WorkOrderService::Open({}, clock_);
  ASSERT_TRUE(memory.ok());
  auto order = (*memory)->Create({.twin_id = "p", .title = "t"});
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->id, "WO-00000001");
  EXPECT_TRUE((*memory)->Get(order->id).ok());
}

}  // namespace
}  // namespace doppel::maintenance
