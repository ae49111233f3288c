// Work orders back from their stored JSON (WorkOrderJson plus the journal's "key"). Internal
// to src/maintenance.
#pragma once

#include "base/json.h"
#include "base/status.h"
#include "maintenance/work_order_service.h"

namespace doppel::maintenance::internal {

// InvalidArgument when the record is not a work order (no id, unknown status or priority).
Result<WorkOrder> WorkOrderFromJson(const json::object& record);

}  // namespace doppel::maintenance::internal
