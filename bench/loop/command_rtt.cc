#include "loop/command_rtt.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "client/http_client.h"

namespace doppel::bench {
namespace {

// The q-quantile (nearest rank) of sorted values, in ms.
double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const std::size_t rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

// createdTime → completedTime of an invocation, in ms (negative when either is missing).
double ServerMs(const json::value& invocation) {
  const auto* created = invocation.as_object().if_contains("createdTime");
  const auto* completed = invocation.as_object().if_contains("completedTime");
  if (created == nullptr || completed == nullptr || !created->is_string() || !completed->is_string()) return -1;
  auto from = ParseRfc3339(created->as_string());
  auto to = ParseRfc3339(completed->as_string());
  if (!from.ok() || !to.ok()) return -1;
  return std::chrono::duration<double, std::milli>(*to - *from).count();
}

}  // namespace

Result<CommandRttFigures> RunCommandRtt(const CommandRttOptions& options) {
  DOPPEL_ASSIGN_OR_RETURN(auto http, client::HttpClient::Create(options.url));
  const std::string target = fmt::format("/digitaltwins/{}/commands/{}?timeout=10s", options.twin, options.command);
  std::vector<double> server_ms, http_ms;
  CommandRttFigures figures;
  for (std::size_t i = 0; i < options.warmup + options.count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    DOPPEL_ASSIGN_OR_RETURN(auto response, http->Send("POST", target, options.payload));
    const double round_trip = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (response.status != 200) {
      return Status::Internal(fmt::format("POST {}: HTTP {}: {}", target, response.status, response.body));
    }
    DOPPEL_ASSIGN_OR_RETURN(json::value invocation, ParseJson(response.body));
    if (i < options.warmup) continue;
    if (!invocation.is_object() || invocation.at("status") != json::value("succeeded")) {
      ++figures.failed;
      continue;
    }
    const double server = ServerMs(invocation);
    if (server >= 0) server_ms.push_back(server);
    http_ms.push_back(round_trip);
  }
  std::sort(server_ms.begin(), server_ms.end());
  std::sort(http_ms.begin(), http_ms.end());
  figures.measured = http_ms.size();
  figures.server_p50_ms = Quantile(server_ms, 0.50);
  figures.server_p99_ms = Quantile(server_ms, 0.99);
  figures.server_max_ms = server_ms.empty() ? 0 : server_ms.back();
  figures.http_p50_ms = Quantile(http_ms, 0.50);
  figures.http_p99_ms = Quantile(http_ms, 0.99);
  figures.http_max_ms = http_ms.empty() ? 0 : http_ms.back();
  std::fprintf(stderr, "bench-loop: %zu commands: server p50 %.2f ms p99 %.2f ms, HTTP p50 %.2f ms p99 %.2f ms, %zu failed\n",
               figures.measured, figures.server_p50_ms, figures.server_p99_ms, figures.http_p50_ms, figures.http_p99_ms,
               figures.failed);
  return figures;
}

}  // namespace doppel::bench
