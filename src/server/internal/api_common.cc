#include "server/internal/api_common.h"

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

namespace doppel::server::internal {

Result<ingest::Ingestor*> IngestorOf(const ApiContext& ctx) {
  if (ctx.services.ingestor == nullptr) return Status::Unavailable("ingest is not enabled on this server");
  return ctx.services.ingestor;
}

Result<tsdb::SeriesStore*> HistoryOf(const ApiContext& ctx) {
  if (ctx.services.history == nullptr) return Status::Unavailable("history is not enabled on this server");
  return ctx.services.history;
}

namespace {

constexpr std::string_view kBase64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Base64UrlValue(char c) {
  auto pos = kBase64Url.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

std::string NextLink(const HttpRequest& request, QueryParams query, const std::string& token) {
  query.Set("continuationToken", token);
  std::string link;
  if (std::string_view host = request.Header("host"); !host.empty()) link = "http://" + std::string(host);
  link += request.RawPath();
  link += '?';
  link += query.Encode();
  return link;
}

}  // namespace

Result<json::value> ParseBody(const ApiContext& ctx, const HttpRequest& request, std::string_view expected) {
  if (request.body.size() > ctx.options.max_body_bytes) {
    return Status::PayloadTooLarge("request body of " + std::to_string(request.body.size()) +
                                       " bytes exceeds the limit of " +
                                       std::to_string(ctx.options.max_body_bytes) + " bytes (max_body_bytes)",
                                   "PayloadTooLarge");
  }
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::InvalidArgument("request body is empty; expected " + std::string(expected),
                                   "InvalidArgument");
  }
  JsonLimits limits{.max_bytes = ctx.options.max_body_bytes, .max_depth = ctx.options.max_json_depth};
  auto value = ParseJson(request.body, limits);
  if (!value.ok()) {
    return Status(value.status().code(), value.status().error_code(),
                  "request body: " + value.status().message());
  }
  return value;
}

Result<json::value> ParsePatchBody(const ApiContext& ctx, const HttpRequest& request) {
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseBody(ctx, request, "a JSON Patch array"));
  if (!body.is_array()) {
    return Status::InvalidArgument("a JSON Patch must be an array of operations, got " +
                                       std::string(JsonTypeName(body)),
                                   "JsonPatchInvalid");
  }
  return body;
}

Result<json::value> ParseObjectBody(const ApiContext& ctx, const HttpRequest& request, std::string_view what) {
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseBody(ctx, request, "a JSON object"));
  if (!body.is_object()) {
    return Status::InvalidArgument(std::string(what) + " must be a JSON object, got " +
                                       std::string(JsonTypeName(body)),
                                   "InvalidArgument");
  }
  return body;
}

twin::Preconditions PreconditionsOf(const HttpRequest& request) {
  return {std::string(request.Header("if-match")), std::string(request.Header("if-none-match"))};
}

std::string EtagOf(const json::object& doc) {
  const json::value* etag = doc.if_contains("$etag");
  return etag != nullptr && etag->is_string() ? std::string(etag->get_string()) : std::string();
}

HttpResponse JsonWithEtag(const json::object& doc) {
  HttpResponse res = HttpResponse::Json(200, doc);
  if (std::string etag = EtagOf(doc); !etag.empty()) res.SetHeader("ETag", etag);
  return res;
}

Result<QueryParams> QueryOf(const HttpRequest& request) { return QueryParams::Parse(request.RawQuery()); }

Result<bool> BoolParam(const QueryParams& query, std::string_view name, bool fallback) {
  const std::string* value = query.Find(name);
  if (value == nullptr) return fallback;
  if (EqualsIgnoreCase(*value, "true")) return true;
  if (EqualsIgnoreCase(*value, "false")) return false;
  return Status::InvalidArgument("query parameter '" + std::string(name) + "' must be true or false, got '" +
                                     *value + "'",
                                 "InvalidArgument");
}

Result<std::size_t> LimitParam(const QueryParams& query, std::size_t fallback, std::size_t max) {
  const std::string* text = query.Find("limit");
  if (text == nullptr) return fallback;
  std::size_t limit = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size() || limit == 0) {
    return Status::InvalidArgument("'limit' must be a positive integer, got '" + *text + "'");
  }
  return std::min(limit, max);
}

Result<std::size_t> PageSize(const ApiContext& ctx, const HttpRequest& request) {
  std::string_view header = "max-items-per-page";
  std::string_view text = request.Header(header);
  if (text.empty()) {
    header = "x-ms-max-item-count";
    text = request.Header(header);
  }
  if (text.empty()) return ctx.options.default_page_size;
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range) return ctx.options.max_page_size;
  if (ec != std::errc() || end != text.data() + text.size() || n == 0) {
    return Status::InvalidArgument("header " + std::string(header) + " must be a positive integer, got '" +
                                       std::string(text) + "'",
                                   "InvalidArgument");
  }
  return std::min(n, ctx.options.max_page_size);
}

std::string EncodeToken(std::string_view key) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : key) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64Url[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kBase64Url[(acc << (6 - bits)) & 0x3F]);
  return out;
}

Result<std::string> DecodeToken(std::string_view token) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : token) {
    int v = Base64UrlValue(c);
    if (v < 0) return Status::InvalidArgument("invalid continuation token", "BadRequest");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (token.empty()) return Status::InvalidArgument("invalid continuation token", "BadRequest");
  return out;
}

Result<HttpResponse> Paged(const ApiContext& ctx, const HttpRequest& request, json::array items,
                           const std::function<std::string(const json::value&)>& key) {
  DOPPEL_ASSIGN_OR_RETURN(std::size_t page_size, PageSize(ctx, request));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  std::vector<std::pair<std::string, std::size_t>> order;
  order.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) order.emplace_back(key(items[i]), i);
  std::sort(order.begin(), order.end());
  auto begin = order.begin();
  if (const std::string* token = query.Find("continuationToken")) {
    DOPPEL_ASSIGN_OR_RETURN(std::string after, DecodeToken(*token));
    begin = std::upper_bound(order.begin(), order.end(), std::make_pair(after, SIZE_MAX));
  }
  json::array page;
  auto it = begin;
  for (; it != order.end() && page.size() < page_size; ++it) page.push_back(std::move(items[it->second]));
  json::object body;
  body["value"] = std::move(page);
  if (it != order.end()) body["nextLink"] = NextLink(request, std::move(query), EncodeToken(std::prev(it)->first));
  return HttpResponse::Json(200, body);
}

}  // namespace doppel::server::internal
