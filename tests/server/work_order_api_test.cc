// /workorders, /maintenance/history and /production/orders through the API, over a
// WorkOrderService in memory: bodies and answers, the lifecycle's refusals, imports in both
// formats, the audit record, and who sees and changes what.
#include <gmock/gmock.h>

#include "api_test_fixture.h"
#include "audit/audit_log.h"
#include "auth/api_keys.h"
#include "auth/authenticator.h"
#include "auth/classification.h"
#include "auth/policy.h"
#include "maintenance/work_order_service.h"

namespace doppel::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kHistoryCsv =
    "recordId,twinId,start,end,kind,description,failureMode\r\n"
    "M-1,hall-1,2026-03-02T08:00:00Z,2026-03-02T12:30:00Z,corrective,\"Fan replaced, east "
    "side\",bearing wear\r\n"
    "M-2,room-1,2026-06-10T07:00:00Z,,inspection,,\r\n";

class WorkOrderApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServices services;
    services.work_orders = work_orders_.get();
    services.audit = audit_.get();
    if (secured_) {
      auto policy = auth::ParsePolicyConfig(ParseJson(R"({"roles": {
          "hall-planner": [{"actions": ["read", "writeProperties"], "twins": ["hall*"]}],
          "hall-reader": [{"actions": ["read"], "twins": ["hall*"]}]}})")
                                                .value());
      ASSERT_TRUE(policy.ok()) << policy.status().ToString();
      authorizer_ = std::make_unique<auth::Authorizer>(*policy, &graph_, &events_);
      auto classes = auth::ParseClassificationConfig(
          ParseJson(R"({"classes": {"confidential": {}},
                        "fields": [{"model": "dtmi:example:Room;1", "path": "temperature",
                                    "class": "confidential"}]})")
              .value(),
          [](std::string_view, std::string_view) -> Result<std::chrono::nanoseconds> {
            return Status::InvalidArgument("no retention here");
          });
      ASSERT_TRUE(classes.ok()) << classes.status().ToString();
      classification_ =
          std::make_unique<auth::DataClassification>(std::move(*classes), graph_, events_);
      services.classification = classification_.get();
      services.authenticator = &authenticator_;
      services.authorizer = authorizer_.get();
      services.api_keys = keys_.get();
      admin_ = Key("admin", {"admin"});
      planner_ = Key("planner", {"hall-planner"});
      reader_ = Key("reader", {"hall-reader"});
    }
    api_ = std::make_unique<DigitalTwinsApi>(graph_, clock_, ApiOptions{}, services);
    ASSERT_EQ(Call("POST", "/models", ModelsJson()).status, 201);
    for (const char* id : {"hall-1", "room-1"}) {
      ASSERT_EQ(Call("PUT", std::string("/digitaltwins/") + id, RoomJson(20)).status, 200);
    }
    work_orders_->SetExporter([this](const json::object& m) { exported_.push_back(m); });
  }

  std::string Key(const std::string& name, std::vector<std::string> roles) {
    auto created = keys_->Create({.name = name, .roles = std::move(roles)}, clock_.Now());
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? created->token : "";
  }

  // As the administrator (dev mode: anonymous), or as `token`'s holder.
  HttpResponse Call(std::string method, std::string target, std::string body = "",
                    std::string content_type = "", std::string token = "") {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    if (!content_type.empty()) req.AddHeader("Content-Type", std::move(content_type));
    if (secured_ && token.empty()) token = admin_;
    if (!token.empty()) req.AddHeader("Authorization", "Bearer " + token);
    return api_->Handle(req);
  }
  HttpResponse As(const std::string& token, std::string method, std::string target,
                  std::string body = "") {
    return Call(std::move(method), std::move(target), std::move(body), "", token);
  }
  static json::value Json(const HttpResponse& r) { return ParseJson(r.body).value(); }
  static std::string Message(const HttpResponse& r) {
    return std::string(Json(r).at("error").at("message").as_string());
  }
  static std::vector<std::string> Ids(const HttpResponse& r,
                                      std::string_view member = "workOrderId") {
    std::vector<std::string> ids;
    const json::value body = Json(r);
    for (const json::value& v : body.at("value").as_array())
      ids.emplace_back(v.at(member).as_string());
    return ids;
  }

  bool secured_ = false;
  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<auth::ApiKeyStore> keys_ = auth::ApiKeyStore::InMemory();
  auth::Authenticator authenticator_{{.api_keys = keys_.get()}};
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<auth::DataClassification> classification_;
  std::unique_ptr<audit::AuditLog> audit_ = audit::AuditLog::InMemory();
  std::unique_ptr<maintenance::WorkOrderService> work_orders_ =
      maintenance::WorkOrderService::Open({}, clock_).value();
  std::vector<json::object> exported_;
  std::unique_ptr<DigitalTwinsApi> api_;
  std::string admin_, planner_, reader_;
};

TEST_F(WorkOrderApiTest, CreateAnswersTheOrderWithItsLocation) {
  HttpResponse r = Call(
      "POST", "/workorders",
      R"({"twinId": "hall-1", "title": "Replace fan belt", "reason": "squeaks", "priority": "high",
                            "dueTime": "2026-12-01T08:00:00Z", "assignee": "carol", "evidence": {"noise": 71}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Header("Location"), "/workorders/WO-00000001");
  json::value order = Json(r);
  EXPECT_EQ(order.at("workOrderId"), "WO-00000001");
  EXPECT_EQ(order.at("twinId"), "hall-1");
  EXPECT_EQ(order.at("priority"), "high");
  EXPECT_EQ(order.at("status"), "open");
  EXPECT_EQ(order.at("dueTime"), "2026-12-01T08:00:00.0000000Z");
  EXPECT_EQ(order.at("assignee"), "carol");
  EXPECT_EQ(order.at("createdBy"), "anonymous");
  EXPECT_EQ(order.at("evidence").at("noise"), 71);
  EXPECT_EQ(order.at("history").at(0).at("event"), "created");
  ASSERT_EQ(exported_.size(), 1u);
  EXPECT_EQ(exported_[0].at("event"), "workOrder.created");
  EXPECT_EQ(Json(Call("GET", "/workorders/WO-00000001")), order);
}

TEST_F(WorkOrderApiTest, CreateRefusesBadBodiesAndUnknownTwins) {
  auto refused = [&](const std::string& body) {
    HttpResponse r = Call("POST", "/workorders", body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    return Message(r);
  };
  EXPECT_EQ(refused(R"({"title": "t"})"), "twinId is required");
  EXPECT_EQ(refused(R"({"twinId": "hall-1"})"), "title is required");
  EXPECT_EQ(refused(R"({"twinId": "hall-1", "title": "t", "priority": "asap"})"),
            "priority must be one of low, medium, high, urgent, got 'asap'");
  EXPECT_EQ(refused(R"({"twinId": "hall-1", "title": "t", "dueTime": "friday"})"),
            "dueTime must be an RFC 3339 time such as 2026-12-01T08:00:00Z, or null");
  EXPECT_EQ(refused(R"({"twinId": "hall-1", "title": 7})"), "title must be a string, got number");
  EXPECT_THAT(refused(R"({"twinId": "hall-1", "title": "t", "status": "done"})"),
              HasSubstr("unknown member 'status'"));
  EXPECT_EQ(refused(R"([])"), "a work order must be a JSON object, got array");
  HttpResponse unknown = Call("POST", "/workorders", R"({"twinId": "nowhere", "title": "t"})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Header("x-ms-error-code"), "DigitalTwinNotFound");
  EXPECT_TRUE(exported_.empty());
}

TEST_F(WorkOrderApiTest, ListsWithFilters) {
  ASSERT_EQ(Call("POST", "/workorders", R"({"twinId": "hall-1", "title": "a", "priority": "low"})")
                .status,
            201);
  ASSERT_EQ(
      Call("POST", "/workorders", R"({"twinId": "room-1", "title": "b", "priority": "urgent"})")
          .status,
      201);
  ASSERT_EQ(Call("POST", "/workorders", R"({"twinId": "hall-1", "title": "c", "priority": "high"})")
                .status,
            201);
  ASSERT_EQ(Call("PATCH", "/workorders/WO-00000002", R"({"status": "inProgress"})").status, 200);
  ASSERT_EQ(Call("PATCH", "/workorders/WO-00000003", R"({"status": "cancelled"})").status, 200);
  ASSERT_TRUE(work_orders_->Create({.twin_id = "room-1", .title = "d", .rule = "overheat"}).ok());

  EXPECT_THAT(Ids(Call("GET", "/workorders")),
              ElementsAre("WO-00000004", "WO-00000003", "WO-00000002", "WO-00000001"));
  EXPECT_THAT(Ids(Call("GET", "/workorders?status=inProgress")), ElementsAre("WO-00000002"));
  EXPECT_THAT(Ids(Call("GET", "/workorders?open=true")),
              ElementsAre("WO-00000004", "WO-00000002", "WO-00000001"));
  EXPECT_THAT(Ids(Call("GET", "/workorders?twinId=hall-1")),
              ElementsAre("WO-00000003", "WO-00000001"));
  EXPECT_THAT(Ids(Call("GET", "/workorders?priority=high")),
              ElementsAre("WO-00000003", "WO-00000002"));
  EXPECT_THAT(Ids(Call("GET", "/workorders?rule=overheat")), ElementsAre("WO-00000004"));
  EXPECT_THAT(Ids(Call("GET", "/workorders?limit=1")), ElementsAre("WO-00000004"));
  EXPECT_EQ(Message(Call("GET", "/workorders?status=closed")),
            "status must be one of open, inProgress, done, cancelled, got 'closed'");
  EXPECT_EQ(Message(Call("GET", "/workorders?limit=0")),
            "'limit' must be a positive integer, got '0'");
  EXPECT_EQ(Call("GET", "/workorders?open=maybe").status, 400);
}

TEST_F(WorkOrderApiTest, PatchChangesFieldsAndFollowsTheLifecycle) {
  ASSERT_EQ(Call("POST", "/workorders",
                 R"({"twinId": "hall-1", "title": "t", "dueTime": "2026-12-01T08:00:00Z"})")
                .status,
            201);
  HttpResponse r =
      Call("PATCH", "/workorders/WO-00000001",
           R"({"priority": "urgent", "assignee": "dave", "externalId": "SAP-9", "dueTime": null,
                            "comment": "moved up"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value order = Json(r);
  EXPECT_EQ(order.at("priority"), "urgent");
  EXPECT_EQ(order.at("externalId"), "SAP-9");
  EXPECT_FALSE(order.as_object().contains("dueTime"));
  EXPECT_EQ(order.at("history").at(1).at("by"), "anonymous");
  EXPECT_THAT(std::string(order.at("history").at(1).at("detail").as_string()),
              HasSubstr("moved up"));

  HttpResponse skip = Call("PATCH", "/workorders/WO-00000001", R"({"status": "done"})");
  EXPECT_EQ(skip.status, 409);
  EXPECT_EQ(skip.Header("x-ms-error-code"), "InvalidTransition");
  EXPECT_EQ(Message(skip), "cannot move work order WO-00000001 from open to done");
  EXPECT_EQ(Call("PATCH", "/workorders/WO-00000001", R"({"status": "inProgress"})").status, 200);
  EXPECT_EQ(Json(Call("PATCH", "/workorders/WO-00000001", R"({"status": "done"})")).at("status"),
            "done");

  EXPECT_EQ(Call("PATCH", "/workorders/WO-00000001", R"({"title": "x"})").status, 400);
  EXPECT_EQ(Call("PATCH", "/workorders/WO-00000001", R"({"status": "finished"})").status, 400);
  HttpResponse missing = Call("PATCH", "/workorders/WO-00000042", R"({"comment": "x"})");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Header("x-ms-error-code"), "WorkOrderNotFound");
  EXPECT_EQ(Call("GET", "/workorders/WO-00000042").status, 404);
}

TEST_F(WorkOrderApiTest, ChangesAreAudited) {
  ASSERT_EQ(Call("POST", "/workorders", R"({"twinId": "hall-1", "title": "t"})").status, 201);
  ASSERT_EQ(Call("PATCH", "/workorders/WO-00000001", R"({"comment": "c"})").status, 200);
  ASSERT_EQ(Call("POST", "/maintenance/history", kHistoryCsv, "text/csv").status, 200);
  ASSERT_EQ(Call("POST", "/production/orders", "[]", "application/json").status, 200);
  std::vector<std::string> actions;
  const std::vector<audit::AuditRecord> records = audit_->Query({}).value();
  for (const audit::AuditRecord& record : records) {
    if (!record.event.action.starts_with("model.") && !record.event.action.starts_with("twin.")) {
      actions.push_back(record.event.action);  // past the set-up's
    }
  }
  EXPECT_THAT(actions, ElementsAre("workorder.create", "workorder.update", "maintenance.import",
                                   "production.import"));
}

TEST_F(WorkOrderApiTest, ImportsCsvAndJsonAndListsThem) {
  HttpResponse csv = Call("POST", "/maintenance/history", kHistoryCsv, "text/csv; charset=utf-8");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(Json(csv), (json::value{{"imported", 2}, {"replaced", 0}}));
  HttpResponse again =
      Call("POST", "/maintenance/history",
           R"([{"recordId": "M-2", "twinId": "room-1", "start": "2026-06-11T07:00:00Z",
                                 "kind": "inspection", "description": "redone"}])",
           "application/json");
  EXPECT_EQ(Json(again), (json::value{{"imported", 1}, {"replaced", 1}}));
  HttpResponse history = Call("GET", "/maintenance/history");
  EXPECT_THAT(Ids(history, "recordId"), ElementsAre("M-1", "M-2"));
  EXPECT_EQ(Json(history).at("value").at(0).at("description"), "Fan replaced, east side");
  EXPECT_THAT(Ids(Call("GET", "/maintenance/history?twinId=room-1"), "recordId"),
              ElementsAre("M-2"));
  EXPECT_THAT(Ids(Call("GET", "/maintenance/history?limit=1"), "recordId"), ElementsAre("M-2"));

  HttpResponse orders =
      Call("POST", "/production/orders",
           "orderId,twinId,product,quantity,start,end,status\n"
           "PO-1,hall-1,Widget,500,2026-11-26T06:00:00Z,2026-11-26T14:00:00Z,released\n",
           "text/csv");
  ASSERT_EQ(orders.status, 200) << orders.body;
  HttpResponse listed = Call("GET", "/production/orders?twinId=hall-1");
  ASSERT_THAT(Ids(listed, "orderId"), ElementsAre("PO-1"));
  EXPECT_EQ(Json(listed).at("value").at(0).at("quantity").to_number<double>(), 500.0);
}

TEST_F(WorkOrderApiTest, ImportRefusalsNameTheRow) {
  HttpResponse unknown_twin = Call("POST", "/maintenance/history",
                                   "recordId,twinId,start,kind\n"
                                   "M-1,hall-1,2026-03-02T08:00:00Z,inspection\n"
                                   "M-2,attic-7,2026-03-02T08:00:00Z,inspection\n",
                                   "text/csv");
  EXPECT_EQ(unknown_twin.status, 400);
  EXPECT_EQ(Message(unknown_twin), "row 2: twinId: there is no digital twin with id 'attic-7'");
  EXPECT_TRUE(Json(Call("GET", "/maintenance/history")).at("value").as_array().empty())
      << "all or nothing";
  HttpResponse bad_time =
      Call("POST", "/production/orders",
           R"([{"orderId": "PO-1", "twinId": "hall-1", "start": "soon", "end": "later"}])",
           "application/json");
  EXPECT_EQ(Message(bad_time), "row 1: start: not an RFC 3339 time ('soon')");
  HttpResponse untyped =
      Call("POST", "/production/orders", "orderId\n", "application/x-www-form-urlencoded");
  EXPECT_EQ(untyped.status, 400);
  EXPECT_THAT(Message(untyped), HasSubstr("Content-Type must be application/json or text/csv"));
  EXPECT_EQ(Message(Call("POST", "/maintenance/history", "", "text/csv")),
            "request body is empty; expected a JSON array or CSV with a header row");
}

TEST_F(WorkOrderApiTest, WithoutTheServiceEveryRouteIsUnavailable) {
  DigitalTwinsApi bare(graph_, clock_);
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/workorders"},
                                                        {"POST", "/workorders"},
                                                        {"GET", "/workorders/WO-00000001"},
                                                        {"PATCH", "/workorders/WO-00000001"},
                                                        {"POST", "/maintenance/history"},
                                                        {"GET", "/maintenance/history"},
                                                        {"POST", "/production/orders"},
                                                        {"GET", "/production/orders"}}) {
    HttpRequest req;
    req.method = method;
    req.target = target;
    req.body = "{}";
    HttpResponse r = bare.Handle(req);
    EXPECT_EQ(r.status, 503) << method << " " << target;
    EXPECT_EQ(Message(r), "work orders are not enabled on this server") << method << " " << target;
  }
}

class SecuredWorkOrderApiTest : public WorkOrderApiTest {
 protected:
  SecuredWorkOrderApiTest() { secured_ = true; }
};

TEST_F(SecuredWorkOrderApiTest, CallersSeeAndChangeOnlyTheirTwinsOrders) {
  ASSERT_EQ(Call("POST", "/workorders", R"({"twinId": "hall-1", "title": "hall"})").status,
            201);  // WO-1
  ASSERT_EQ(Call("POST", "/workorders", R"({"twinId": "room-1", "title": "room"})").status,
            201);  // WO-2
  ASSERT_EQ(Call("POST", "/maintenance/history", kHistoryCsv, "text/csv").status, 200);

  EXPECT_THAT(Ids(As(reader_, "GET", "/workorders")), ElementsAre("WO-00000001"));
  EXPECT_THAT(Ids(As(reader_, "GET", "/maintenance/history"), "recordId"), ElementsAre("M-1"));
  EXPECT_THAT(Ids(As(reader_, "GET", "/maintenance/history?twinId=room-1"), "recordId"),
              ElementsAre());
  EXPECT_EQ(As(reader_, "GET", "/workorders/WO-00000001").status, 200);
  // A hidden twin's order is answered as one never issued.
  HttpResponse hidden = As(reader_, "GET", "/workorders/WO-00000002");
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(Message(hidden), "there is no work order 'WO-00000002'");
  EXPECT_EQ(As(planner_, "PATCH", "/workorders/WO-00000002", R"({"comment": "x"})").status, 404);
  HttpResponse hidden_twin =
      As(planner_, "POST", "/workorders", R"({"twinId": "room-1", "title": "t"})");
  EXPECT_EQ(hidden_twin.status, 404);
  EXPECT_EQ(Message(hidden_twin), "no digital twin 'room-1'");

  // Reading is not changing.
  EXPECT_EQ(As(reader_, "PATCH", "/workorders/WO-00000001", R"({"comment": "x"})").status, 403);
  EXPECT_EQ(As(reader_, "POST", "/workorders", R"({"twinId": "hall-1", "title": "t"})").status,
            403);
  HttpResponse planned =
      As(planner_, "PATCH", "/workorders/WO-00000001", R"({"status": "inProgress"})");
  ASSERT_EQ(planned.status, 200) << planned.body;
  EXPECT_THAT(std::string(Json(planned).at("history").at(1).at("by").as_string()),
              HasSubstr("key:"));
  EXPECT_EQ(As(planner_, "POST", "/workorders", R"({"twinId": "hall-1", "title": "t"})").status,
            201);
  // Imports are for administrators.
  EXPECT_EQ(As(planner_, "POST", "/maintenance/history", "[]").status, 403);
}

TEST_F(SecuredWorkOrderApiTest, EvidenceSignalsAreMaskedForCallersWithoutTheClearance) {
  ASSERT_EQ(
      Call(
          "POST", "/workorders",
          R"({"twinId": "hall-1", "title": "t", "evidence": {"signals": {"temperature": 31.5, "name": "hall"}}})")
          .status,
      201);
  const json::value seen = Json(As(reader_, "GET", "/workorders/WO-00000001"));
  EXPECT_EQ(seen.at("evidence").at("signals").at("temperature"),
            (json::value{{"masked", "confidential"}}));
  EXPECT_EQ(seen.at("evidence").at("signals").at("name"), "hall");
  const json::value listed = Json(As(reader_, "GET", "/workorders"));
  EXPECT_EQ(listed.at("value").at(0).at("evidence").at("signals").at("temperature"),
            (json::value{{"masked", "confidential"}}));
}

}  // namespace
}  // namespace doppel::server::testing
