// Reading the enterprise imports — maintenance history and production orders — from JSON
// arrays or CSV into checked records. Internal to src/maintenance (work_order_service.cc).
//
// Both formats use the JSON member names of MaintenanceRecordJson / ProductionOrderJson (as
// CSV column names in any order). Every problem is an InvalidArgument naming the row (data
// rows count from 1: the first array element, or the first record after the CSV header) and
// the column: "row 14: start: not an RFC 3339 time ('yesterday')". Nothing is returned unless
// every row is good.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "maintenance/work_order_service.h"

namespace doppel::maintenance::internal {

struct ImportLimits {
  std::size_t max_rows = 100'000;              // PayloadTooLarge beyond
  const TwinPredicate* twin_exists = nullptr;  // null: any twin id is accepted
};

// `content_type` "application/json" or "text/csv" (parameters such as "; charset=utf-8" are
// ignored). Ids must be unique within one import.
Result<std::vector<MaintenanceRecord>> ParseMaintenanceImport(std::string_view body,
                                                              std::string_view content_type,
                                                              const ImportLimits& limits);
Result<std::vector<ProductionOrder>> ParseProductionImport(std::string_view body,
                                                           std::string_view content_type,
                                                           const ImportLimits& limits);

// A stored record (the JSON above plus the journal's "key") back into its struct.
Result<MaintenanceRecord> MaintenanceRecordFromJson(json::object record);
Result<ProductionOrder> ProductionOrderFromJson(json::object record);

}  // namespace doppel::maintenance::internal
