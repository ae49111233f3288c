#include "analytics/anomaly/baseline.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace doppel::analytics::internal {

void PutNumbers(json::object& out, std::string_view key, std::span<const double> values) {
  json::array array;
  array.reserve(values.size());
  for (double v : values) array.emplace_back(v);
  out[key] = std::move(array);
}

Status GetNumber(const json::object& in, std::string_view key, double& out) {
  const auto* v = in.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    return Status::InvalidArgument(fmt::format("detector state: '{}' missing or not a number", key));
  }
  out = v->to_number<double>();
  return Status::Ok();
}

Status GetCount(const json::object& in, std::string_view key, uint64_t& out) {
  const auto* v = in.if_contains(key);
  if (v == nullptr || !(v->is_int64() || v->is_uint64()) || (v->is_int64() && v->get_int64() < 0)) {
    return Status::InvalidArgument(fmt::format("detector state: '{}' missing or not a count", key));
  }
  out = v->is_int64() ? static_cast<uint64_t>(v->get_int64()) : v->get_uint64();
  return Status::Ok();
}

Status GetNumbers(const json::object& in, std::string_view key, std::vector<double>& out, std::size_t expected) {
  const auto* v = in.if_contains(key);
  if (v == nullptr || !v->is_array()) {
    return Status::InvalidArgument(fmt::format("detector state: '{}' missing or not an array", key));
  }
  const auto& array = v->get_array();
  if (expected != SIZE_MAX && array.size() != expected) {
    return Status::InvalidArgument(
        fmt::format("detector state: '{}' has {} values, expected {}", key, array.size(), expected));
  }
  out.clear();
  for (const auto& x : array) {
    if (!x.is_number()) return Status::InvalidArgument(fmt::format("detector state: '{}' holds a non-number", key));
    out.push_back(x.to_number<double>());
  }
  return Status::Ok();
}

const json::object* GetObject(const json::object& in, std::string_view key) {
  const auto* v = in.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

// ---- Ring ----

void Ring::Push(double x) {
  values_[head_] = x;
  head_ = (head_ + 1) % values_.size();
  if (size_ < values_.size()) ++size_;
}

void Ring::CopyTo(std::span<double> out) const {
  // The held values are [head − size, head) modulo the capacity: at most two runs.
  const std::size_t capacity = values_.size();
  const std::size_t start = (head_ + capacity - size_) % capacity;
  const std::size_t first = std::min(size_, capacity - start);
  std::copy_n(values_.begin() + static_cast<std::ptrdiff_t>(start), first, out.begin());
  std::copy_n(values_.begin(), size_ - first, out.begin() + static_cast<std::ptrdiff_t>(first));
}

void Ring::Save(json::object& out, std::string_view key) const {
  std::vector<double> held(size_);
  CopyTo(held);
  PutNumbers(out, key, held);
}

Status Ring::Restore(const json::object& in, std::string_view key) {
  std::vector<double> held;
  DOPPEL_RETURN_IF_ERROR(GetNumbers(in, key, held));
  if (held.size() > values_.size()) {
    return Status::InvalidArgument(fmt::format("detector state: '{}' holds more than {} values", key, values_.size()));
  }
  Clear();
  for (double x : held) Push(x);
  return Status::Ok();
}

// ---- RollingRobust ----

RollingRobust::RollingRobust(std::size_t window)
    : ring_(window), scratch_(window), refresh_every_(std::max<std::size_t>(1, window / 16)) {}

void RollingRobust::Clear() {
  ring_.Clear();
  since_refresh_ = 0;
  median_ = spread_ = 0;
}

void RollingRobust::Push(double x) {
  ring_.Push(x);
  // While the window fills, refresh often: the first estimates matter most.
  if (++since_refresh_ >= refresh_every_ || ring_.size() < 32) Refresh();
}

void RollingRobust::Refresh() {
  since_refresh_ = 0;
  const std::size_t n = ring_.size();
  if (n == 0) return;
  std::span<double> v(scratch_.data(), n);
  ring_.CopyTo(v);
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(v.begin(), mid, v.end());
  median_ = *mid;
  double abs_sum = 0;
  for (double& x : v) {
    x = std::fabs(x - median_);
    abs_sum += x;
  }
  std::nth_element(v.begin(), mid, v.end());
  const double mad = *mid;
  const double floor = 1e-9 * std::max(1.0, std::fabs(median_));
  spread_ = std::max({1.4826 * mad, 1.2533 * abs_sum / static_cast<double>(n), floor});
}

double RollingRobust::Z(double x) const {
  if (ring_.size() == 0) return 0;
  return std::fabs(x - median_) / spread_;
}

void RollingRobust::Save(json::object& out) const {
  ring_.Save(out, "values");
  out["sinceRefresh"] = since_refresh_;
  out["median"] = median_;
  out["spread"] = spread_;
}

Status RollingRobust::Restore(const json::object& in) {
  DOPPEL_RETURN_IF_ERROR(ring_.Restore(in, "values"));
  uint64_t since = 0;
  DOPPEL_RETURN_IF_ERROR(GetCount(in, "sinceRefresh", since));
  since_refresh_ = since;
  DOPPEL_RETURN_IF_ERROR(GetNumber(in, "median", median_));
  return GetNumber(in, "spread", spread_);
}

// ---- RollingQuantile ----

RollingQuantile::RollingQuantile(std::size_t window, double quantile)
    : ring_(window), scratch_(window), quantile_(quantile), refresh_every_(std::max<std::size_t>(1, window / 16)) {}

void RollingQuantile::Push(double x) {
  ring_.Push(x);
  if (++since_refresh_ < refresh_every_ && ring_.size() >= 32) return;
  since_refresh_ = 0;
  const std::size_t n = ring_.size();
  std::span<double> v(scratch_.data(), n);
  ring_.CopyTo(v);
  const auto at = v.begin() + static_cast<std::ptrdiff_t>(std::min<double>(
                                  static_cast<double>(n - 1), std::floor(quantile_ * static_cast<double>(n))));
  std::nth_element(v.begin(), at, v.end());
  value_ = *at;
}

void RollingQuantile::Save(json::object& out) const {
  ring_.Save(out, "values");
  out["sinceRefresh"] = since_refresh_;
  out["value"] = value_;
}

Status RollingQuantile::Restore(const json::object& in) {
  DOPPEL_RETURN_IF_ERROR(ring_.Restore(in, "values"));
  uint64_t since = 0;
  DOPPEL_RETURN_IF_ERROR(GetCount(in, "sinceRefresh", since));
  since_refresh_ = since;
  return GetNumber(in, "value", value_);
}

// ---- Ewm ----

void Ewm::Push(double x) {
  if (count_++ == 0) {
    mean_ = x;
    var_ = 0;
    return;
  }
  const double d = x - mean_;
  mean_ += alpha_ * d;
  var_ = (1 - alpha_) * (var_ + alpha_ * d * d);
}

double Ewm::stddev() const { return std::sqrt(std::max(var_, 0.0)); }

double Ewm::Z(double x) const {
  if (count_ == 0) return 0;
  const double floor = 1e-9 * std::max(1.0, std::fabs(mean_));
  return std::fabs(x - mean_) / std::max(stddev(), floor);
}

void Ewm::Save(json::object& out) const {
  out["mean"] = mean_;
  out["var"] = var_;
  out["count"] = count_;
}

Status Ewm::Restore(const json::object& in) {
  DOPPEL_RETURN_IF_ERROR(GetNumber(in, "mean", mean_));
  DOPPEL_RETURN_IF_ERROR(GetNumber(in, "var", var_));
  return GetCount(in, "count", count_);
}

double ScoreFromZ(double z, double threshold) {
  if (!(z > 0)) return 0;
  return z / (z + threshold / 9.0);
}

Range MakeRange(double expected, double spread, double k) {
  return {.expected = expected, .low = expected - k * spread, .high = expected + k * spread};
}

}  // namespace doppel::analytics::internal
