// Shared pieces of the API handlers: the context they run in, body parsing with limits,
// preconditions, ETags and nextLink paging. Internal to src/server.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <functional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "server/api.h"
#include "server/http_message.h"
#include "server/internal/rate_limiter.h"
#include "server/router.h"
#include "server/url.h"
#include "twin/twin_graph.h"

namespace doppel::server::internal {

// What every handler may use. Immutable after construction except through the graph and the
// metrics, which are thread-safe.
struct ApiContext {
  twin::TwinGraph& graph;
  const Clock& clock;
  ApiOptions options;
  ApiServices services;
  TimePoint started;
  HttpMetrics metrics;
  std::atomic<std::size_t> ingest_in_flight{0};  // write requests being handled now
  // Audit records of refused requests, per second: a brute-force client must not turn the
  // audit log into a disk-filling fsync loop (access.cc).
  std::mutex denial_mu{};
  int64_t denial_second = 0;
  int denials_this_second = 0;
  uint64_t denials_unrecorded = 0;
  RateLimiter rate_limiter{options.requests_per_second_per_caller,
                           options.request_burst_per_caller > 0 ? options.request_burst_per_caller
                                                                : 2 * options.requests_per_second_per_caller};
};

using Handler = Result<HttpResponse> (*)(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

// The services, or Unavailable "<what> is not enabled on this server" when absent.
Result<ingest::Ingestor*> IngestorOf(const ApiContext& ctx);
Result<tsdb::SeriesStore*> HistoryOf(const ApiContext& ctx);

// The request body as JSON: empty → InvalidArgument ("request body is empty; expected ..."),
// over max_body_bytes → PayloadTooLarge, malformed / too deep / bad UTF-8 → InvalidArgument
// with ParseJson's position. `expected` ("a JSON object", ...) appears in messages.
Result<json::value> ParseBody(const ApiContext& ctx, const HttpRequest& request, std::string_view expected);
// The same, and the value must be an array (JSON Patch): else InvalidArgument "JsonPatchInvalid".
Result<json::value> ParsePatchBody(const ApiContext& ctx, const HttpRequest& request);
// The same, and the value must be an object.
Result<json::value> ParseObjectBody(const ApiContext& ctx, const HttpRequest& request, std::string_view what);

twin::Preconditions PreconditionsOf(const HttpRequest& request);

// The "$etag" of a twin or relationship document, or "".
std::string EtagOf(const json::object& doc);
// 200 with `doc` and its ETag header (if it has one).
HttpResponse JsonWithEtag(const json::object& doc);

Result<QueryParams> QueryOf(const HttpRequest& request);
// A boolean query parameter ("true"/"false", any case); absent → `fallback`.
Result<bool> BoolParam(const QueryParams& query, std::string_view name, bool fallback);
// The `limit` query parameter of a list: a positive integer; absent → `fallback`; above `max`
// → `max` (a list is cut, not refused). Else InvalidArgument "'limit' must be a positive
// integer, got '…'".
Result<std::size_t> LimitParam(const QueryParams& query, std::size_t fallback, std::size_t max);

// Rows per page: from max-items-per-page (or x-ms-max-item-count), clamped to max_page_size;
// absent → default_page_size; not a positive integer → InvalidArgument naming the header.
Result<std::size_t> PageSize(const ApiContext& ctx, const HttpRequest& request);

// Opaque continuation tokens (base64url of the last key served).
std::string EncodeToken(std::string_view key);
Result<std::string> DecodeToken(std::string_view token);

// Answers a list endpoint with one page of `items`, ordered by `key`: {"value": [...],
// "nextLink": "..."} (nextLink only when more remain). The page starts after the key in the
// `continuationToken` query parameter; nextLink repeats the request's path and query with the
// next token, absolute ("http://<Host>/...") when the request carried a Host header.
Result<HttpResponse> Paged(const ApiContext& ctx, const HttpRequest& request, json::array items,
                           const std::function<std::string(const json::value&)>& key);

}  // namespace doppel::server::internal
