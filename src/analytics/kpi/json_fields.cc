#include "analytics/kpi/json_fields.h"

#include <fmt/format.h>

#include <string>

#include "analytics/kpi/duration_text.h"

namespace doppel::analytics {

Status CheckMembers(const json::object& o, std::string_view where, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : o) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (known) continue;
    std::string list;
    for (std::string_view a : allowed) list += fmt::format("{}'{}'", list.empty() ? "" : ", ", a);
    return Status::InvalidArgument(fmt::format("{}unknown member '{}' (expected {})", where, std::string_view(key), list));
  }
  return Status::Ok();
}

Result<int64_t> OptionalDuration(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return int64_t{0};
  if (!v->is_string()) {
    return Status::InvalidArgument(fmt::format("'{}' must be a duration string such as \"60s\" or \"10m\"", key));
  }
  return ParseDurationText(v->get_string(), key);
}

}  // namespace doppel::analytics
