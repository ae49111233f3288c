#include "server/internal/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace doppel::server::internal {

RateLimiter::RateLimiter(double requests_per_second, double burst)
    : rate_(requests_per_second), burst_(std::max(burst, 1.0)) {}

bool RateLimiter::Admit(std::string_view caller, TimePoint now) {
  if (!enabled()) return true;
  Shard& shard = shards_[std::hash<std::string_view>{}(caller) % shards_.size()];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(std::string(caller));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= kMaxBucketsPerShard) {
      // Forget the buckets that have refilled: they behave exactly like new ones.
      std::erase_if(shard.buckets, [&](const auto& entry) {
        return std::chrono::duration<double>(now - entry.second.updated).count() * rate_ >= burst_;
      });
    }
    it = shard.buckets.emplace(std::string(caller), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  double elapsed = std::max(0.0, std::chrono::duration<double>(now - b.updated).count());
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.updated = now;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

int RateLimiter::RetryAfterSeconds() const {
  return enabled() ? std::max(1, static_cast<int>(std::ceil(1.0 / rate_))) : 1;
}

}  // namespace doppel::server::internal
