// The enterprise imports: maintenance history and production orders from JSON or CSV, all or
// nothing, with errors that name the row and column, replacement by id, reads and persistence.
#include <gmock/gmock.h>

#include "maintenance/work_order_service.h"
#include "tsdb/temp_dir.h"

namespace doppel::maintenance {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kCsv = "text/csv";
constexpr std::string_view kJson = "application/json";

constexpr const char* kHistoryCsv =
    "recordId,twinId,start,end,kind,description,failureMode\r\n"
    "M-1,pump-1,2026-03-02T08:00:00Z,2026-03-02T12:30:00Z,corrective,\"Bearing replaced, drive "
    "end\",bearing wear\r\n"
    "M-2,pump-1,2026-06-10T07:00:00Z,,inspection,\"Checked \"\"noise\"\" at 1,450 rpm\",\r\n"
    "M-3,pump-2,2026-01-15T09:00:00+01:00,2026-01-15T10:00:00+01:00,preventive,\"Oil change\nand "
    "filter\",\r\n";

std::vector<std::string> RecordIds(const std::vector<MaintenanceRecord>& records) {
  std::vector<std::string> ids;
  for (const MaintenanceRecord& r : records) ids.push_back(r.id);
  return ids;
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(WorkOrderServiceOptions options = {}) {
    service_.reset();
    options.dir = dir_.path();
    auto opened = WorkOrderService::Open(options, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    service_ = std::move(*opened);
  }

  std::string HistoryError(std::string_view body, std::string_view type = kCsv) {
    auto result = service_->ImportMaintenanceHistory(body, type);
    if (result.ok()) return "(imported)";
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
    return result.status().message();
  }

  std::string ProductionError(std::string_view body, std::string_view type = kJson) {
    auto result = service_->ImportProductionOrders(body, type);
    return result.ok() ? "(imported)" : result.status().message();
  }

  tsdb::testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<WorkOrderService> service_;
};

TEST_F(ImportTest, MaintenanceHistoryFromCsvWithQuotedFields) {
  auto result = service_->ImportMaintenanceHistory(kHistoryCsv, "text/csv; charset=utf-8");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->imported, 3u);
  EXPECT_EQ(result->replaced, 0u);
  std::vector<MaintenanceRecord> pump = service_->MaintenanceHistory("pump-1", 10);
  ASSERT_EQ(pump.size(), 2u);
  EXPECT_EQ(pump[0].id, "M-1");
  EXPECT_EQ(pump[0].kind, "corrective");
  EXPECT_EQ(pump[0].description, "Bearing replaced, drive end");
  EXPECT_EQ(pump[0].failure_mode, "bearing wear");
  EXPECT_EQ(FormatRfc3339(*pump[0].end), "2026-03-02T12:30:00.0000000Z");
  EXPECT_EQ(pump[1].description, "Checked \"noise\" at 1,450 rpm");
  EXPECT_EQ(pump[1].end, std::nullopt);
  std::vector<MaintenanceRecord> other = service_->MaintenanceHistory("pump-2", 10);
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].description, "Oil change\nand filter");
  EXPECT_EQ(FormatRfc3339(other[0].start), "2026-01-15T08:00:00.0000000Z");
}

TEST_F(ImportTest, MaintenanceHistoryFromJsonMatchesItsJsonForm) {
  constexpr const char* kBody = R"([
    {"recordId": "M-9", "twinId": "pump-1", "start": "2026-02-01T06:00:00Z", "kind": "predictive",
     "description": "RUL below 10 days"}])";
  auto result = service_->ImportMaintenanceHistory(kBody, kJson);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::vector<MaintenanceRecord> records = service_->MaintenanceHistory("", 10);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(
      ToJson(MaintenanceRecordJson(records[0])),
      R"({"recordId":"M-9","twinId":"pump-1","start":"2026-02-01T06:00:00.0000000Z","kind":"predictive",)"
      R"("description":"RUL below 10 days","failureMode":""})");
}

TEST_F(ImportTest, ProductionOrdersFromJsonAndCsv) {
  auto json_import = service_->ImportProductionOrders(R"([
    {"orderId": "PO-1", "twinId": "line-1", "product": "Widget A", "quantity": 1200,
     "start": "2026-11-26T06:00:00Z", "end": "2026-11-26T14:00:00Z", "status": "released"}])",
                                                      kJson);
  ASSERT_TRUE(json_import.ok()) << json_import.status().ToString();
  auto csv_import = service_->ImportProductionOrders(
      "orderId,twinId,product,quantity,start,end,status\n"
      "PO-2,line-1,\"Widget B, blue\",450.5,2026-11-26T14:00:00Z,2026-11-26T22:00:00Z,planned\n",
      kCsv);
  ASSERT_TRUE(csv_import.ok()) << csv_import.status().ToString();
  std::vector<ProductionOrder> orders = service_->ProductionOrders("line-1", 10);
  ASSERT_EQ(orders.size(), 2u);
  EXPECT_EQ(orders[0].product, "Widget A");
  EXPECT_EQ(orders[0].quantity, 1200);
  EXPECT_EQ(orders[1].product, "Widget B, blue");
  EXPECT_EQ(orders[1].quantity, 450.5);
  EXPECT_EQ(orders[1].status, "planned");
  EXPECT_EQ(
      ToJson(ProductionOrderJson(orders[1])),
      R"({"orderId":"PO-2","twinId":"line-1","product":"Widget B, blue","quantity":450.5,)"
      R"("start":"2026-11-26T14:00:00.0000000Z","end":"2026-11-26T22:00:00.0000000Z","status":"planned"})");
}

TEST_F(ImportTest, BadRowsAreNamedByRowAndColumn) {
  const std::string header = "recordId,twinId,start,end,kind,description,failureMode\n";
  const std::string good = "M-1,pump-1,2026-03-02T08:00:00Z,,corrective,,\n";
  EXPECT_EQ(HistoryError(header + good + "M-2,pump-1,yesterday,,corrective,,\n"),
            "row 2: start: not an RFC 3339 time ('yesterday')");
  EXPECT_EQ(HistoryError(header + good + "M-2,pump-1,2026-03-03T08:00:00Z,,corrective,,\n" +
                         "M-3,,2026-03-02T08:00:00Z,,corrective,,\n"),
            "row 3: twinId: required");
  EXPECT_EQ(
      HistoryError(header + "M-1,pump-1,2026-03-02T08:00:00Z,2026-03-02T08:00:00Z,corrective,,\n"),
      "row 1: end: must be after start");
  EXPECT_EQ(
      HistoryError(header + "M-1,pump-1,2026-03-02T08:00:00Z,,repair,,\n"),
      "row 1: kind: must be one of corrective, preventive, predictive, inspection, got 'repair'");
  EXPECT_EQ(HistoryError(header + good + good),
            "row 2: recordId: 'M-1' appears twice in this import (first in row 1)");
  EXPECT_EQ(HistoryError(header + good + "M-2,pump-1\n"),
            "row 2: 2 fields, but the header has 7 columns");
  EXPECT_EQ(HistoryError(header + "M-1,\"pump-1,2026\n"),
            "row 1, column 2: a quoted field is not closed");
  EXPECT_EQ(HistoryError("recordId,twinId,start,kind,cost\n"),
            "header, column 5: unknown column 'cost' (expected recordId, twinId, start, end, kind, "
            "description, "
            "failureMode)");
  EXPECT_EQ(HistoryError("recordId,start,kind\n"), "header: missing column 'twinId'");
  EXPECT_EQ(
      HistoryError(
          R"([{"recordId": "M-1", "twinId": "p", "start": "2026-03-02T08:00:00Z", "kind": "inspection"},
                             {"recordId": 7, "twinId": "p", "start": "2026-03-02T08:00:00Z", "kind": "inspection"}])",
          kJson),
      "row 2: recordId: expected a string, got number");
  EXPECT_EQ(HistoryError(R"([{"recordId": "M-1", "twin": "p"}])", kJson),
            "row 1: unknown member 'twin' (expected recordId, twinId, start, end, kind, "
            "description, failureMode)");
  EXPECT_EQ(HistoryError(R"([1])", kJson), "row 1: expected an object, got number");
  EXPECT_EQ(HistoryError(R"({"recordId": "M-1"})", kJson),
            "expected a JSON array of objects, got object");
  EXPECT_EQ(
      HistoryError("recordId\n", "application/x-www-form-urlencoded"),
      "Content-Type must be application/json or text/csv, got 'application/x-www-form-urlencoded'");

  const std::string order = R"({"orderId": "PO-1", "twinId": "l", "start": "2026-11-26T06:00:00Z",
                                "end": "2026-11-26T14:00:00Z")";
  EXPECT_EQ(ProductionError("[" + order + R"(, "quantity": -1}])"),
            "row 1: quantity: must be a number ≥ 0");
  EXPECT_EQ(ProductionError("[" + order + R"(, "quantity": "12"}])"),
            "row 1: quantity: expected a number, got string");
  EXPECT_EQ(ProductionError("orderId,twinId,quantity,start,end\nPO-1,l,twelve,2026-11-26T06:00:00Z,"
                            "2026-11-26T14:00:00Z\n",
                            kCsv),
            "row 1: quantity: not a number ('twelve')");
  EXPECT_EQ(
      ProductionError(R"([{"orderId": "PO-1", "twinId": "l", "start": "2026-11-26T06:00:00Z"}])"),
      "row 1: end: required");
  EXPECT_EQ(ProductionError(R"([{"orderId": "PO-1", "twinId": "l", "start": "2026-11-26T06:00:00Z",
                                 "end": "2026-11-26T05:00:00Z"}])"),
            "row 1: end: must be after start");
}

TEST_F(ImportTest, AllOrNothing) {
  ASSERT_TRUE(service_->ImportMaintenanceHistory(kHistoryCsv, kCsv).ok());
  const std::string body = std::string("recordId,twinId,start,kind\n") +
                           "M-1,pump-1,2027-01-01T00:00:00Z,inspection\n"  // would replace M-1
                           "M-7,pump-1,2027-01-02T00:00:00Z,inspection\n"
                           "M-8,pump-1,not-a-time,inspection\n";
  EXPECT_EQ(HistoryError(body), "row 3: start: not an RFC 3339 time ('not-a-time')");
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("pump-1", 10)), ElementsAre("M-1", "M-2"));
  EXPECT_EQ(FormatRfc3339(service_->MaintenanceHistory("pump-1", 10)[0].start),
            "2026-03-02T08:00:00.0000000Z");
  Reopen();
  EXPECT_EQ(service_->MaintenanceHistory("", 10).size(), 3u);
}

TEST_F(ImportTest, ReimportingAnIdReplacesIt) {
  ASSERT_TRUE(service_->ImportMaintenanceHistory(kHistoryCsv, kCsv).ok());
  auto again = service_->ImportMaintenanceHistory(
      "recordId,twinId,start,kind,description\n"
      "M-2,pump-2,2026-06-11T07:00:00Z,inspection,moved to the other pump\n"
      "M-4,pump-1,2026-07-01T07:00:00Z,inspection,\n",
      kCsv);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->imported, 2u);
  EXPECT_EQ(again->replaced, 1u);
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("pump-1", 10)), ElementsAre("M-1", "M-4"));
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("pump-2", 10)), ElementsAre("M-3", "M-2"));
  Reopen();
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("", 10)),
              ElementsAre("M-3", "M-1", "M-2", "M-4"));
  EXPECT_EQ(service_->MaintenanceHistory("pump-2", 10)[1].description, "moved to the other pump");
}

TEST_F(ImportTest, ReadsTheLatestOldestFirstAndFiltersTwins) {
  ASSERT_TRUE(service_->ImportMaintenanceHistory(kHistoryCsv, kCsv).ok());
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("", 10)), ElementsAre("M-3", "M-1", "M-2"));
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("", 2)), ElementsAre("M-1", "M-2"));
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("pump-1", 1)), ElementsAre("M-2"));
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("pump-", 10)), ElementsAre());
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("pump-9", 10)), ElementsAre());
  auto only_pump_2 = [](std::string_view twin) { return twin == "pump-2"; };
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("", 10, only_pump_2)), ElementsAre("M-3"));
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("pump-1", 10, only_pump_2)), ElementsAre());
}

TEST_F(ImportTest, TwinsMustExistWhenTheCallerChecks) {
  auto known = [](std::string_view twin) { return twin == "pump-1"; };
  auto result = service_->ImportMaintenanceHistory(kHistoryCsv, kCsv, known);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "row 3: twinId: there is no digital twin with id 'pump-2'");
  EXPECT_TRUE(service_->MaintenanceHistory("", 10).empty());
}

TEST_F(ImportTest, TooManyRowsIsPayloadTooLarge) {
  Reopen({.max_import_rows = 2});
  auto csv = service_->ImportMaintenanceHistory(kHistoryCsv, kCsv);
  EXPECT_EQ(csv.status().code(), StatusCode::kPayloadTooLarge);
  auto json = service_->ImportProductionOrders("[{}, {}, {}]", kJson);
  EXPECT_EQ(json.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(json.status().message(),
            "the import has more than 2 rows; split it into smaller imports");
}

TEST_F(ImportTest, KeepsTheLatestRecordsOfBothKindsWithinTheLimit) {
  Reopen({.max_records = 3});
  ASSERT_TRUE(service_->ImportMaintenanceHistory(kHistoryCsv, kCsv)
                  .ok());  // M-3 (Jan), M-1 (Mar), M-2 (Jun)
  ASSERT_TRUE(service_
                  ->ImportProductionOrders(R"([{"orderId": "PO-1", "twinId": "l",
      "start": "2026-04-01T00:00:00Z", "end": "2026-04-02T00:00:00Z"}])",
                                           kJson)
                  .ok());
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("", 10)), ElementsAre("M-1", "M-2"));
  EXPECT_EQ(service_->ProductionOrders("", 10).size(), 1u);
  Reopen({.max_records = 3});
  EXPECT_THAT(RecordIds(service_->MaintenanceHistory("", 10)), ElementsAre("M-1", "M-2"));
  std::string metrics;
  service_->RenderMetrics(metrics);
  EXPECT_THAT(metrics, HasSubstr("doppel_maintenance_records 2\n"));
  EXPECT_THAT(metrics, HasSubstr("doppel_production_orders 1\n"));
}

}  // namespace
}  // namespace doppel::maintenance
