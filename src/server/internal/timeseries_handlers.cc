// /timeseries: history queries over HTTP (contract in docs/history.md). The work is in
// src/history; this file maps requests to a HistoryRequest and the answer to a response,
// streamed when it is large.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "history/history_format.h"
#include "history/history_query.h"
#include "history/history_request.h"
#include "server/internal/access.h"
#include "server/internal/handlers.h"
#include "tsdb/series_store.h"

namespace doppel::server::internal {
namespace {

// Answers above this are streamed (chunked) rather than built in memory. 4 MiB: small
// answers keep a Content-Length (simpler for clients); big ones stay bounded in memory.
constexpr uint64_t kStreamAboveBytes = 4u << 20;

// The server clock, for relative times ("now-1h").
tsdb::TimeNs Now(const ApiContext& ctx) { return ctx.clock.Now().time_since_epoch().count(); }

bool AcceptsCsv(const HttpRequest& request) {
  const std::string_view accept = request.Header("accept");
  return accept.find("text/csv") != std::string_view::npos;
}

// Plans (all validation and limits happen here, so a bad request is an ordinary 4xx), then
// answers in one piece or as a stream.
Result<HttpResponse> Answer(ApiContext& ctx, const HttpRequest& request,
                            history::ParsedRequest parsed) {
  DOPPEL_ASSIGN_OR_RETURN(tsdb::SeriesStore * store, HistoryOf(ctx));
  if (!parsed.output.format_given && AcceptsCsv(request))
    parsed.output.format = history::OutputFormat::kCsv;
  DOPPEL_ASSIGN_OR_RETURN(history::HistoryPlan plan,
                          history::PlanHistoryQuery(ctx.graph, *store, std::move(parsed.request)));
  auto stream = std::make_shared<history::ResultStream>(*store, std::move(plan), parsed.output);
  HttpResponse res = HttpResponse::Stream(
      200, stream->content_type(), [stream](std::string& chunk) { return stream->Next(chunk); });
  if (stream->EstimatedBytes() > kStreamAboveBytes) return res;
  DOPPEL_RETURN_IF_ERROR(res.CollectStream());
  return res;
}

// The GET form's parameters as the JSON body they stand for.
Result<json::object> BodyFromQuery(const QueryParams& query) {
  static constexpr std::string_view kKnown[] = {
      "twin", "path", "series",       "model",   "query",  "mode",       "start",      "end",
      "step", "agg",  "aggregations", "groupBy", "format", "timeFormat", "api-version"};
  json::object body;
  auto array = [&](std::string_view name) -> json::array& {
    json::value& v = body[name];
    if (!v.is_array()) v = json::array();
    return v.get_array();
  };
  // Integers stay integers (ns), anything else is passed as a string for the body's parser.
  auto scalar = [](const std::string& v) -> json::value {
    const bool digits =
        !v.empty() && v.find_first_not_of("0123456789", v[0] == '-' ? 1 : 0) == std::string::npos &&
        v != "-" && v.size() < 19;
    return digits ? json::value(std::stoll(v)) : json::value(v);
  };
  auto split = [](const std::string& v, json::array& out) {
    std::size_t pos = 0;
    while (pos <= v.size()) {
      std::size_t comma = std::min(v.find(',', pos), v.size());
      if (comma > pos) out.emplace_back(v.substr(pos, comma - pos));
      pos = comma + 1;
    }
  };
  for (const auto& [name, value] : query.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      return Status::InvalidArgument(
          fmt::format("unknown query parameter '{}'; known: {}", name, fmt::join(kKnown, ", ")));
    }
    if (name == "twin") {
      array("twins").emplace_back(value);
    } else if (name == "path") {
      split(value, array("paths"));
    } else if (name == "agg" || name == "aggregations") {
      split(value, array("aggregations"));
    } else if (name == "series") {
      const std::size_t slash = value.find('/');
      if (slash == std::string::npos) {
        return Status::InvalidArgument(
            fmt::format("'series' must be <twin>/<path>, got '{}'", value));
      }
      array("series").emplace_back(
          json::object{{"twin", value.substr(0, slash)}, {"path", value.substr(slash + 1)}});
    } else if (name == "groupBy" && value.rfind("property:", 0) == 0) {
      body["groupBy"] = json::object{{"property", value.substr(9)}};
    } else if (name == "groupBy" && value.rfind("relationship:", 0) == 0) {
      body["groupBy"] = json::object{{"relationship", value.substr(13)}};
    } else if (name == "start" || name == "end" || name == "step") {
      body[name] = scalar(value);
    } else if (name != "api-version") {
      body[name] = value;
    }
  }
  return body;
}

bool MatchesAny(const std::vector<std::string>& wanted, std::string_view value) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

json::object SeriesJson(const tsdb::SeriesSpec& spec) {
  return json::object{{"twin", spec.twin_id},
                      {"path", spec.path},
                      {"model", spec.model_id},
                      {"unit", spec.unit},
                      {"type", tsdb::ValueTypeName(spec.type)},
                      {"semanticType", spec.semantic_type}};
}

std::string SeriesKey(const json::value& v) {
  const json::object& o = v.get_object();
  return std::string(o.at("twin").get_string()) + std::string(1, '\0') +
         std::string(o.at("path").get_string());
}

}  // namespace

Result<HttpResponse> ListTimeSeries(ApiContext& ctx, const HttpRequest& request,
                                    const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(tsdb::SeriesStore * store, HistoryOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  const std::vector<std::string> twins = query.All("twin");
  const std::vector<std::string> paths = query.All("path");
  const std::string* model = query.Find("model");
  // Listed before taking the graph's lock: the two locks are never held together.
  const std::vector<tsdb::SeriesInfo> all = store->ListSeries();
  json::array items;
  ctx.graph.Read([&](const twin::GraphState& s) {
    for (const tsdb::SeriesInfo& info : all) {
      const tsdb::SeriesSpec& spec = info.spec;
      if (!MatchesAny(twins, spec.twin_id) || !MatchesAny(paths, spec.path)) continue;
      if (match.auth.visible ||
          match.auth.masked) {  // by the twin's model now, or the series' once gone
        const twin::Twin* twin = s.FindTwin(spec.twin_id);
        const std::string& model_id = twin != nullptr ? twin->model_id : spec.model_id;
        if (!Visible(match.auth, spec.twin_id, model_id)) continue;
        if (!match.auth.masked.Hides(model_id, spec.path).empty())
          continue;  // as absent as an invisible one
      }
      if (model != nullptr && spec.model_id != *model &&
          !s.models().IsOfModel(spec.model_id, *model))
        continue;
      items.push_back(SeriesJson(spec));
    }
    return 0;
  });
  return Paged(ctx, request, std::move(items), SeriesKey);
}

Result<HttpResponse> QueryTimeSeries(ApiContext& ctx, const HttpRequest& request,
                                     const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "a history query"));
  DOPPEL_ASSIGN_OR_RETURN(history::ParsedRequest parsed,
                          history::ParseHistoryRequest(body.get_object(), Now(ctx)));
  parsed.request.visible = match.auth.visible;
  parsed.request.masked = match.auth.masked;
  return Answer(ctx, request, std::move(parsed));
}

Result<HttpResponse> QueryTimeSeriesGet(ApiContext& ctx, const HttpRequest& request,
                                        const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(json::object body, BodyFromQuery(query));
  DOPPEL_ASSIGN_OR_RETURN(history::ParsedRequest parsed,
                          history::ParseHistoryRequest(body, Now(ctx)));
  parsed.request.visible = match.auth.visible;
  parsed.request.masked = match.auth.masked;
  return Answer(ctx, request, std::move(parsed));
}

}  // namespace doppel::server::internal
