// Readings in over HTTP: ADT telemetry (JSON) and the InfluxDB line protocol (v1 /write and
// v2 /api/v2/write), all through the one Ingestor (docs/ingest.md).
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "history/history_request.h"
#include "ingest/ingestor.h"
#include "ingest/line_protocol.h"
#include "ingest/live_state.h"
#include "ingest/telemetry_json.h"
#include "server/internal/access.h"
#include "server/internal/handlers.h"

namespace doppel::server::internal {
namespace {

// Counts a write request in flight for as long as it lives (see ApiOptions::max_ingest_in_flight).
class IngestSlot {
 public:
  explicit IngestSlot(ApiContext& ctx) : ctx_(ctx), count_(ctx.ingest_in_flight.fetch_add(1) + 1) {}
  ~IngestSlot() { ctx_.ingest_in_flight.fetch_sub(1); }
  IngestSlot(const IngestSlot&) = delete;
  IngestSlot& operator=(const IngestSlot&) = delete;
  bool admitted() const { return ctx_.options.max_ingest_in_flight == 0 || count_ <= ctx_.options.max_ingest_in_flight; }

 private:
  ApiContext& ctx_;
  const std::size_t count_;
};

HttpResponse Saturated() {
  HttpResponse r = HttpResponse::Error(Status::Unavailable("ingest is saturated: every write slot is busy; retry shortly"));
  r.SetHeader("Retry-After", "1");
  return r;
}

tsdb::TimeNs NowNs(const ApiContext& ctx) { return ctx.clock.Now().time_since_epoch().count(); }

// The body as text: inflated when Content-Encoding is gzip (the limit applies to the inflated
// size too, so a small bomb cannot fill memory); other encodings are refused.
Result<std::string> PlainBody(const ApiContext& ctx, const HttpRequest& request) {
  std::string_view encoding = request.Header("content-encoding");
  if (encoding.empty() || EqualsIgnoreCase(encoding, "identity")) return request.body;
  if (EqualsIgnoreCase(encoding, "gzip")) {
    Result<std::string> inflated = ingest::Gunzip(request.body, ctx.options.max_body_bytes);
    if (!inflated.ok()) {
      return Status(inflated.status().code(), "", "gzip body: " + std::string(inflated.status().message()));
    }
    return inflated;
  }
  return Status::InvalidArgument("unsupported Content-Encoding '" + std::string(encoding) + "' (use gzip or none)");
}

// "line L" of the reading at `index` of a body that parsed: found by parsing line by line
// again, which only an error pays for.
std::string LineOfReading(std::string_view body, const ingest::LineProtocolOptions& options, std::size_t index) {
  std::vector<ingest::Reading> line_readings;
  std::size_t seen = 0, line = 1;
  while (!body.empty()) {
    std::size_t end = body.find('\n');
    std::string_view text = body.substr(0, end);
    line_readings.clear();
    if (ingest::ParseLineProtocol(text, options, line_readings).ok()) {
      seen += line_readings.size();
      if (index < seen) return "line " + std::to_string(line);
    }
    if (end == std::string_view::npos) break;
    body.remove_prefix(end + 1);
    ++line;
  }
  return "reading " + std::to_string(index);
}

// Both line-protocol endpoints: parse everything, then one all-or-nothing Ingestor::Write.
Result<HttpResponse> WriteLineProtocol(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(ingest::Ingestor * ingestor, IngestorOf(ctx));
  IngestSlot slot(ctx);
  if (!slot.admitted()) return Saturated();
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  const std::string* precision_text = query.Find("precision");
  Result<ingest::Precision> precision = ingest::ParsePrecision(precision_text == nullptr ? "" : *precision_text);
  Result<std::string> body = precision.ok() ? PlainBody(ctx, request) : precision.status();
  if (!body.ok()) {
    ingestor->Count(ingest::RejectReason::kMalformed);
    return body.status();
  }
  std::vector<ingest::Reading> readings;
  const ingest::LineProtocolOptions options{.precision = *precision, .now = NowNs(ctx)};
  Status parsed = ingest::ParseLineProtocol(*body, options, readings);
  if (!parsed.ok()) {
    ingestor->Count(ingest::RejectReason::kMalformed);
    return parsed;
  }
  std::vector<std::string_view> twins;
  twins.reserve(readings.size());
  for (const ingest::Reading& r : readings) twins.push_back(r.twin_id);
  DOPPEL_RETURN_IF_ERROR(AuthorizeEach(ctx, match.auth, auth::Action::kIngest, twins));
  DOPPEL_RETURN_IF_ERROR(ingestor->Write(
      readings, [&](std::size_t index) { return LineOfReading(*body, options, index); }));
  return HttpResponse::NoContent();
}

// ADT telemetry for the twin (component = "") or one of its components.
Result<HttpResponse> WriteTelemetry(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match,
                                    std::string_view component) {
  DOPPEL_ASSIGN_OR_RETURN(ingest::Ingestor * ingestor, IngestorOf(ctx));
  IngestSlot slot(ctx);
  if (!slot.admitted()) return Saturated();
  tsdb::TimeNs time = NowNs(ctx);
  if (std::string_view stamp = request.Header("dt-timestamp"); !stamp.empty()) {
    Result<TimePoint> parsed = ParseRfc3339(stamp);
    if (!parsed.ok()) {
      ingestor->Count(ingest::RejectReason::kMalformed);
      return Status::InvalidArgument("dt-timestamp header: " + std::string(parsed.status().message()));
    }
    time = parsed->time_since_epoch().count();
  }
  Result<json::value> body = ParseObjectBody(ctx, request, "a JSON object of telemetry values");
  std::vector<ingest::Reading> readings;
  Status decoded = body.ok() ? ingest::ReadingsFromTelemetry(match.params.Get("id"), component, body->get_object(),
                                                              time, readings)
                             : body.status();
  if (!decoded.ok()) {
    ingestor->Count(ingest::RejectReason::kMalformed);
    return decoded;
  }
  DOPPEL_RETURN_IF_ERROR(ingestor->Write(readings));
  return HttpResponse::NoContent();
}

}  // namespace

Result<HttpResponse> WriteLineProtocolV1(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  return WriteLineProtocol(ctx, request, match);
}

Result<HttpResponse> WriteLineProtocolV2(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  return WriteLineProtocol(ctx, request, match);
}

Result<HttpResponse> SendTelemetry(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  return WriteTelemetry(ctx, request, match, "");
}

Result<HttpResponse> GetLiveTelemetry(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  if (ctx.services.live == nullptr) return Status::Unavailable("live state is not enabled on this server");
  std::string_view id = match.params.Get("id");
  std::optional<std::string> model =
      ctx.graph.Read([&](const twin::GraphState& s) -> std::optional<std::string> {
        const twin::Twin* t = s.FindTwin(id);
        return t == nullptr ? std::nullopt : std::optional(t->model_id);
      });
  if (!model)
    return Status::NotFound("twin '" + std::string(id) + "' not found", "DigitalTwinNotFound");
  json::object telemetry;
  for (const auto& [path, latest] : ctx.services.live->OfTwin(id)) {
    // A masked value is left out, as if never received: its time would tell as much.
    if (!match.auth.masked.Hides(*model, path).empty()) continue;
    json::object entry;
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, double>) {
            if (std::isfinite(v)) {
              entry["value"] = v;
            } else {
              entry["value"] = nullptr;  // JSON has no NaN or infinity
            }
          } else {
            entry["value"] = v;
          }
        },
        latest.value);
    entry["time"] = history::FormatTimeRfc3339(latest.time);
    telemetry[path] = std::move(entry);
  }
  json::object body{{"$dtId", id}, {"telemetry", std::move(telemetry)}};
  return HttpResponse::Json(200, body);
}

Result<HttpResponse> ListConnectors(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  json::array all = ctx.services.connectors ? ctx.services.connectors() : json::array();
  return HttpResponse::Json(200, json::object{{"value", std::move(all)}});
}

Result<HttpResponse> GetConnector(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  std::string_view name = match.params.Get("name");
  if (ctx.services.connectors) {
    for (json::value& c : ctx.services.connectors()) {
      const json::value* n = c.as_object().if_contains("name");
      if (n != nullptr && n->is_string() && n->get_string() == name) return HttpResponse::Json(200, c);
    }
  }
  return Status::NotFound("connector '" + std::string(name) + "' not found");
}

// PUT /connectors/{name}: 201 created / 200 replaced, with the connector's health.
Result<HttpResponse> PutConnector(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  if (!ctx.services.put_connector) return Status::Unavailable("connectors cannot be changed on this server");
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "a connector object (docs/mqtt.md)"));
  DOPPEL_ASSIGN_OR_RETURN(auto put, ctx.services.put_connector(match.params.Get("name"), body));
  return HttpResponse::Json(put.first ? 201 : 200, put.second);
}

Result<HttpResponse> DeleteConnector(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  if (!ctx.services.delete_connector) return Status::Unavailable("connectors cannot be changed on this server");
  DOPPEL_RETURN_IF_ERROR(ctx.services.delete_connector(match.params.Get("name")));
  return HttpResponse::NoContent();
}

Result<HttpResponse> SendComponentTelemetry(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  return WriteTelemetry(ctx, request, match, match.params.Get("componentPath"));
}

}  // namespace doppel::server::internal
