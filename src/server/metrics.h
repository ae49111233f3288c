// Request metrics in the Prometheus text exposition format (version 0.0.4).
//
//   doppel_http_requests_total{method="GET",route="/digitaltwins/{id}",status="200"} 12
//   doppel_http_request_duration_seconds_bucket{route="/digitaltwins/{id}",le="0.005"} 11
//
// `route` is the route pattern, never the raw path, so the number of series stays bounded
// whatever clients send ("unmatched" for requests no route took).
//
// Thread-safety: Record and Render may be called from any thread (one mutex; recording is a few
// map lookups, far cheaper than the request it measures).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace doppel::server {

class HttpMetrics {
 public:
  // Upper bounds of the latency histogram buckets, in seconds (+Inf is implicit).
  static constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,    0.25,  0.5,    1,     2.5,  5,     10};

  void Record(std::string_view method, std::string_view route, int status, double seconds);

  // Appends the counter and histogram families (with HELP and TYPE lines) to `out`.
  void Render(std::string& out) const;

  // Count recorded for one (method, route, status), for tests.
  uint64_t RequestCount(std::string_view method, std::string_view route, int status) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};  // per bucket, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;  // guards everything below
  std::map<std::tuple<std::string, std::string, int>, uint64_t, std::less<>> requests_;
  std::map<std::string, Histogram, std::less<>> durations_;
};

// Appends one gauge family: "# HELP name help\n# TYPE name gauge\nname value\n".
void AppendGauge(std::string& out, std::string_view name, std::string_view help, double value);

// Escapes a label value (backslash, double quote, newline).
std::string EscapeLabelValue(std::string_view value);

}  // namespace doppel::server
