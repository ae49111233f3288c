// Telemetry messages as Azure Digital Twins takes them (POST /digitaltwins/{id}/telemetry):
// one JSON object whose members are telemetry names and values,
//
//   {"temperature": 21.5, "rpm": 1480, "running": true, "mode": "auto"}
//
// decoded into one Reading per member, all at `time`. Numbers that are JSON integers become
// int64 readings (the Ingestor widens them for double telemetry), other numbers doubles.
// Thread-safe, pure.
#pragma once

#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "ingest/reading.h"

namespace doppel::ingest {

// Appends the readings of `message` for `twin_id` (paths prefixed "<component>/" when
// `component` is not empty). All-or-nothing. Errors (InvalidArgument): an empty object, a
// member that is null, an object or an array ("telemetry 'pos' is an object: history keeps
// numbers, booleans and strings"), an unsigned integer over INT64_MAX.
Status ReadingsFromTelemetry(std::string_view twin_id, std::string_view component, const json::object& message,
                             tsdb::TimeNs time, std::vector<Reading>& out);

}  // namespace doppel::ingest
