#include "history/history_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "base/clock.h"

namespace doppel::history {
namespace {

constexpr std::string_view kMembers[] = {"series",  "twins",  "model",     "query", "paths",
                                         "mode",    "start",  "end",       "step",  "aggregations",
                                         "groupBy", "format", "timeFormat"};

Status Bad(std::string_view member, std::string_view message) {
  return Status::InvalidArgument(fmt::format("'{}': {}", member, message));
}

Result<std::string> String(const json::value& v, std::string_view what) {
  if (!v.is_string()) return Bad(what, fmt::format("expected a string, got {}", JsonTypeName(v)));
  return std::string(v.get_string());
}

Result<std::vector<std::string>> Strings(const json::value& v, std::string_view what) {
  if (!v.is_array())
    return Bad(what, fmt::format("expected an array of strings, got {}", JsonTypeName(v)));
  std::vector<std::string> out;
  for (const json::value& item : v.get_array()) {
    if (!item.is_string() || item.get_string().empty()) {
      return Bad(what, fmt::format("expected non-empty strings, got {}", ToJson(item)));
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

Result<std::vector<SeriesKey>> SeriesKeys(const json::value& v) {
  if (!v.is_array()) return Bad("series", "expected an array of {\"twin\", \"path\"} objects");
  std::vector<SeriesKey> out;
  for (const json::value& item : v.get_array()) {
    const json::object* o = item.if_object();
    const json::value* twin = o ? o->if_contains("twin") : nullptr;
    const json::value* path = o ? o->if_contains("path") : nullptr;
    if (!twin || !path || !twin->is_string() || !path->is_string() || o->size() != 2 ||
        twin->get_string().empty() || path->get_string().empty()) {
      return Bad(
          "series",
          fmt::format("each entry must be {{\"twin\": \"<id>\", \"path\": \"<path>\"}}, got {}",
                      ToJson(item).substr(0, 200)));
    }
    out.push_back({std::string(twin->get_string()), std::string(path->get_string())});
  }
  return out;
}

Result<Mode> ParseMode(const json::value& v) {
  DOPPEL_ASSIGN_OR_RETURN(std::string s, String(v, "mode"));
  if (s == "raw") return Mode::kRaw;
  if (s == "aggregate") return Mode::kAggregate;
  if (s == "last") return Mode::kLast;
  return Bad("mode", fmt::format("unknown mode '{}'; expected raw, aggregate or last", s));
}

Result<GroupBy> ParseGroupBy(const json::value& v) {
  if (v.is_string()) {
    if (v.get_string() == "series") return GroupBy{};
    if (v.get_string() == "twin") return GroupBy{GroupBy::Kind::kTwin, ""};
  } else if (const json::object* o = v.if_object(); o && o->size() == 1) {
    for (auto [key, kind] : {std::pair{"property", GroupBy::Kind::kProperty},
                             std::pair{"relationship", GroupBy::Kind::kRelationship}}) {
      const json::value* p = o->if_contains(key);
      if (p && p->is_string() && !p->get_string().empty())
        return GroupBy{kind, std::string(p->get_string())};
    }
  }
  return Bad("groupBy",
             fmt::format("expected \"series\", \"twin\", {{\"property\": \"<name>\"}} or "
                         "{{\"relationship\": \"<name>\"}}, got {}",
                         ToJson(v).substr(0, 200)));
}

Result<std::vector<Aggregation>> ParseAggregations(const json::value& v) {
  DOPPEL_ASSIGN_OR_RETURN(std::vector<std::string> names, Strings(v, "aggregations"));
  if (names.empty()) return Bad("aggregations", "must name at least one aggregation");
  std::vector<Aggregation> out;
  for (const std::string& name : names) {
    DOPPEL_ASSIGN_OR_RETURN(Aggregation a, ParseAggregation(name));
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  return out;
}

Status ParseOutput(const json::object& body, OutputOptions& out) {
  if (const json::value* v = body.if_contains("format")) {
    DOPPEL_ASSIGN_OR_RETURN(std::string s, String(*v, "format"));
    if (s != "json" && s != "csv")
      return Bad("format", fmt::format("unknown format '{}'; expected json or csv", s));
    out.format = s == "csv" ? OutputFormat::kCsv : OutputFormat::kJson;
    out.format_given = true;
  }
  if (const json::value* v = body.if_contains("timeFormat")) {
    DOPPEL_ASSIGN_OR_RETURN(std::string s, String(*v, "timeFormat"));
    if (s != "rfc3339" && s != "ns") {
      return Bad("timeFormat", fmt::format("unknown time format '{}'; expected rfc3339 or ns", s));
    }
    out.time_format = s == "ns" ? TimeFormat::kNs : TimeFormat::kRfc3339;
  }
  return Status::Ok();
}

Status ParseSelectors(const json::object& body, HistoryRequest& r) {
  if (const json::value* v = body.if_contains("series")) {
    DOPPEL_ASSIGN_OR_RETURN(r.series, SeriesKeys(*v));
  }
  if (const json::value* v = body.if_contains("twins")) {
    DOPPEL_ASSIGN_OR_RETURN(r.twins, Strings(*v, "twins"));
  }
  if (const json::value* v = body.if_contains("paths")) {
    DOPPEL_ASSIGN_OR_RETURN(r.paths, Strings(*v, "paths"));
  }
  if (const json::value* v = body.if_contains("model")) {
    DOPPEL_ASSIGN_OR_RETURN(r.model, String(*v, "model"));
  }
  if (const json::value* v = body.if_contains("query")) {
    DOPPEL_ASSIGN_OR_RETURN(r.query, String(*v, "query"));
  }
  return Status::Ok();
}

Status ParseShape(const json::object& body, TimeNs now, HistoryRequest& r) {
  if (const json::value* v = body.if_contains("start")) {
    DOPPEL_ASSIGN_OR_RETURN(r.start, ParseTime(*v, "start", now));
  }
  if (const json::value* v = body.if_contains("end")) {
    DOPPEL_ASSIGN_OR_RETURN(r.end, ParseTime(*v, "end", now));
  }
  if (const json::value* v = body.if_contains("step")) {
    DOPPEL_ASSIGN_OR_RETURN(r.step, ParseDuration(*v, "step"));
  }
  if (const json::value* v = body.if_contains("aggregations")) {
    DOPPEL_ASSIGN_OR_RETURN(r.aggregations, ParseAggregations(*v));
  }
  if (const json::value* v = body.if_contains("groupBy")) {
    DOPPEL_ASSIGN_OR_RETURN(r.group_by, ParseGroupBy(*v));
  }
  if (const json::value* v = body.if_contains("mode")) {
    DOPPEL_ASSIGN_OR_RETURN(r.mode, ParseMode(*v));
  } else {
    r.mode = body.contains("step") || body.contains("aggregations") ? Mode::kAggregate : Mode::kRaw;
  }
  return Status::Ok();
}

int64_t UnitNs(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60'000'000'000;
  if (unit == "h") return 3'600'000'000'000;
  if (unit == "d") return 86'400'000'000'000;
  return 0;
}

// "now", "now-1h", "now+30s" against `now`.
Result<TimeNs> ParseRelativeTime(std::string_view text, std::string_view what, TimeNs now) {
  if (text == "now") return now;
  if (text.size() < 5 || (text[3] != '-' && text[3] != '+')) {
    return Bad(what,
               fmt::format("expected \"now\", \"now-<duration>\" or \"now+<duration>\", got \"{}\"",
                           text.substr(0, 100)));
  }
  DOPPEL_ASSIGN_OR_RETURN(TimeNs d, ParseDurationText(text.substr(4), what));
  const __int128 t = text[3] == '-' ? __int128{now} - d : __int128{now} + d;
  if (t < std::numeric_limits<TimeNs>::min() || t > std::numeric_limits<TimeNs>::max()) {
    return Bad(what, "is out of the representable time range");
  }
  return static_cast<TimeNs>(t);
}

}  // namespace

Result<TimeNs> ParseTime(const json::value& v, std::string_view what, TimeNs now) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return Bad(what, "is past the largest time (year 2262)");
  if (v.is_string() && v.get_string().starts_with("now"))
    return ParseRelativeTime(v.get_string(), what, now);
  if (v.is_string()) {
    Result<TimePoint> t = ParseRfc3339(v.get_string());
    if (!t.ok()) {
      return Bad(
          what,
          fmt::format(
              "expected an RFC 3339 time like \"2026-11-25T10:00:00Z\", \"now-1h\" or integer "
              "ns since the epoch, got \"{}\"",
              std::string_view(v.get_string()).substr(0, 100)));
    }
    return t->time_since_epoch().count();
  }
  return Bad(what, fmt::format("expected an RFC 3339 string or integer ns since the epoch, got {}",
                               JsonTypeName(v)));
}

Result<TimeNs> ParseDurationText(std::string_view text, std::string_view what) {
  auto bad = [&] {
    return Bad(
        what,
        fmt::format(
            "expected a duration like \"500ms\", \"30s\", \"1m\", \"1h\", \"1d\" (units ns, us, "
            "ms, s, m, h, d) or integer ns, got \"{}\"",
            text.substr(0, 100)));
  };
  const bool bare = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  __int128 total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    __int128 n = 0;
    const std::size_t digits_start = i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      n = n * 10 + (text[i] - '0');
      if (n > std::numeric_limits<int64_t>::max()) return Bad(what, "is too long");
    }
    const std::size_t unit_start = i;
    while (i < text.size() && text[i] >= 'a' && text[i] <= 'z') ++i;
    const int64_t scale = bare ? 1 : UnitNs(text.substr(unit_start, i - unit_start));
    if (unit_start == digits_start || scale == 0) return bad();
    total += n * scale;
    if (total > std::numeric_limits<int64_t>::max()) return Bad(what, "is too long");
  }
  if (text.empty()) return bad();
  if (total <= 0) return Bad(what, "must be positive");
  return static_cast<TimeNs>(total);
}

Result<TimeNs> ParseDuration(const json::value& v, std::string_view what) {
  if (v.is_int64()) {
    if (v.get_int64() <= 0)
      return Bad(what, fmt::format("must be positive, got {}", v.get_int64()));
    return v.get_int64();
  }
  if (v.is_string()) return ParseDurationText(v.get_string(), what);
  return Bad(what, fmt::format("expected a duration string like \"1m\" or integer ns, got {}",
                               JsonTypeName(v)));
}

std::string FormatTimeRfc3339(TimeNs t) {
  using namespace std::chrono;
  const sys_time<nanoseconds> tp{nanoseconds(t)};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss hms{tp - day};
  const int64_t frac = hms.subseconds().count();
  std::string out =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  hms.hours().count(), hms.minutes().count(), hms.seconds().count());
  if (frac != 0) {
    std::string digits = fmt::format("{:09}", frac);
    digits.erase(digits.find_last_not_of('0') + 1);
    out += "." + digits;
  }
  out += 'Z';
  return out;
}

Result<ParsedRequest> ParseHistoryRequest(const json::object& body, TimeNs now) {
  for (const auto& [name, value] : body) {
    if (std::find(std::begin(kMembers), std::end(kMembers), std::string_view(name)) ==
        std::end(kMembers)) {
      return Status::InvalidArgument(
          fmt::format("unknown member '{}' in the history query; known: {}", std::string_view(name),
                      fmt::join(kMembers, ", ")));
    }
  }
  ParsedRequest out;
  DOPPEL_RETURN_IF_ERROR(ParseSelectors(body, out.request));
  DOPPEL_RETURN_IF_ERROR(ParseShape(body, now, out.request));
  DOPPEL_RETURN_IF_ERROR(ParseOutput(body, out.output));
  return out;
}

}  // namespace doppel::history
