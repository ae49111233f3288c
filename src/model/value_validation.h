// Checks a JSON value against a DTDL schema, as the twin graph does for every property write.
#pragma once

#include <string_view>

#include "base/json.h"
#include "base/status.h"
#include "model/model.h"

namespace doppel::model {

// OK if `value` conforms to `schema`. Otherwise InvalidArgument ("ValidationFailed") whose
// message names `path` (e.g. "ratedPower", "config.mode") and what was wrong:
//   "property 'mode': value 'fast' is not one of the enum values [Idle, Running]".
Status ValidateValue(const Schema& schema, const json::value& value, std::string_view path);

}  // namespace doppel::model
