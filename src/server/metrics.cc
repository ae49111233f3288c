#include "server/metrics.h"

#include <fmt/format.h>

namespace doppel::server {

void HttpMetrics::Record(std::string_view method, std::string_view route, int status, double seconds) {
  std::lock_guard lock(mu_);
  auto key = std::make_tuple(std::string(method), std::string(route), status);
  ++requests_[key];
  auto it = durations_.find(route);
  if (it == durations_.end()) it = durations_.emplace(std::string(route), Histogram{}).first;
  Histogram& h = it->second;
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  if (b < kBuckets.size()) ++h.counts[b];
  ++h.count;
  h.sum += seconds;
}

uint64_t HttpMetrics::RequestCount(std::string_view method, std::string_view route, int status) const {
  std::lock_guard lock(mu_);
  auto it = requests_.find(std::make_tuple(std::string(method), std::string(route), status));
  return it == requests_.end() ? 0 : it->second;
}

void HttpMetrics::Render(std::string& out) const {
  std::lock_guard lock(mu_);
  out += "# HELP doppel_http_requests_total HTTP requests answered, by method, route and status.\n";
  out += "# TYPE doppel_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [method, route, status] = key;
    out += fmt::format("doppel_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                       EscapeLabelValue(method), EscapeLabelValue(route), status, count);
  }
  out += "# HELP doppel_http_request_duration_seconds Time from request parsed to response ready, by route.\n";
  out += "# TYPE doppel_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : durations_) {
    std::string label = EscapeLabelValue(route);
    uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += h.counts[b];
      out += fmt::format("doppel_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                         label, kBuckets[b], cumulative);
    }
    out += fmt::format("doppel_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                       label, h.count);
    out += fmt::format("doppel_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label, h.sum);
    out += fmt::format("doppel_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", label, h.count);
  }
}

void AppendGauge(std::string& out, std::string_view name, std::string_view help, double value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, value);
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace doppel::server
