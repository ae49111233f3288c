// Requests per second per caller: a token bucket per principal, so that one runaway script or a
// stolen token cannot take the server from everyone else (docs/security.md, "Limits").
// Internal to src/server.
//
//   RateLimiter limiter(100, 200);   // 100 requests/s sustained, bursts of 200
//   if (!limiter.Admit("key:ab12", clock.Now())) → 429 Too Many Requests
//
// Thread-safety: Admit may be called from any thread (16 shards, a mutex each).
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"

namespace doppel::server::internal {

class RateLimiter {
 public:
  // rate <= 0 admits everything.
  RateLimiter(double requests_per_second, double burst);

  bool enabled() const { return rate_ > 0; }
  // Takes one token from `caller`'s bucket; false when it is empty.
  bool Admit(std::string_view caller, TimePoint now);
  // Seconds until a token is back in an empty bucket, rounded up (for Retry-After).
  int RetryAfterSeconds() const;

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint updated;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
  };
  // Buckets untouched for this long are full again and may be forgotten.
  static constexpr std::size_t kMaxBucketsPerShard = 4096;

  double rate_;
  double burst_;
  std::array<Shard, 16> shards_;
};

}  // namespace doppel::server::internal
