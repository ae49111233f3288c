// Small checks shared by the KPI and state-rule parsers, so every field error reads alike.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "base/json.h"
#include "base/status.h"

namespace doppel::analytics {

// InvalidArgument "<where>unknown member 'x' (expected 'a', 'b')" for a member not in `allowed`.
Status CheckMembers(const json::object& o, std::string_view where, std::initializer_list<std::string_view> allowed);
// A duration string member ("60s", "10m"); 0 when absent. InvalidArgument naming `key`.
Result<int64_t> OptionalDuration(const json::object& o, std::string_view key);

}  // namespace doppel::analytics
