// The wire form of a history query: the JSON body of POST /timeseries/query (reference in
// docs/history.md) → HistoryRequest plus output options, and the time and duration notations.
//
//   auto parsed = ParseHistoryRequest(body.as_object());   // InvalidArgument names the member
//   RunHistoryQuery(graph, store, parsed->request);
#pragma once

#include <string>
#include <string_view>

#include "base/json.h"
#include "base/status.h"
#include "history/history_query.h"

namespace doppel::history {

enum class OutputFormat { kJson, kCsv };
enum class TimeFormat { kRfc3339, kNs };

struct OutputOptions {
  OutputFormat format = OutputFormat::kJson;
  bool format_given = false;  // `format` was in the request (else Accept: text/csv may choose)
  TimeFormat time_format = TimeFormat::kRfc3339;
};

struct ParsedRequest {
  HistoryRequest request;
  OutputOptions output;
};

// Parses the body (see docs/history.md). Unknown members, wrong types and bad values are
// InvalidArgument naming the member: "'step': expected a duration like ...". The mode defaults
// to aggregate when `step` or `aggregations` is present, else raw. `now` resolves relative
// times ("now-1h").
Result<ParsedRequest> ParseHistoryRequest(const json::object& body, TimeNs now);

// A time: an integer of ns since the epoch, an RFC 3339 string (any offset, up to 9 fraction
// digits), or "now", "now-<duration>", "now+<duration>" relative to `now` (e.g. "now-24h").
// `what` names it in errors.
Result<TimeNs> ParseTime(const json::value& v, std::string_view what, TimeNs now);
// A duration: integer ns, or a string of <integer><unit> terms ("90s", "1h30m", "500ms");
// units ns, us, ms, s, m, h, d. Must be positive.
Result<TimeNs> ParseDuration(const json::value& v, std::string_view what);
Result<TimeNs> ParseDurationText(std::string_view text, std::string_view what);

// "2026-11-25T10:00:00Z", "2026-11-25T10:00:00.5Z", "...T10:00:00.000000001Z": UTC, the
// fraction with as few digits as are exact (none for whole seconds). Exact for all TimeNs.
std::string FormatTimeRfc3339(TimeNs t);

}  // namespace doppel::history
