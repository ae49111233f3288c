#include "analytics/rul/features.h"

#include <algorithm>

namespace doppel::analytics::rul {
namespace {

// Least-squares slope of the last w values of column j (x = 0..w-1).
double Slope(const double* rows, std::size_t n, std::size_t signals, std::size_t j, std::size_t w) {
  w = std::min(w, n);
  if (w < 3) return 0;
  const double* start = rows + (n - w) * signals + j;
  double mean_x = (static_cast<double>(w) - 1) / 2, sxx = 0, sxy = 0, mean_y = 0;
  for (std::size_t i = 0; i < w; ++i) mean_y += start[i * signals];
  mean_y /= static_cast<double>(w);
  for (std::size_t i = 0; i < w; ++i) {
    double dx = static_cast<double>(i) - mean_x;
    sxx += dx * dx;
    sxy += dx * (start[i * signals] - mean_y);
  }
  return sxy / sxx;
}

double Mean(const double* rows, std::size_t n, std::size_t signals, std::size_t j, std::size_t w) {
  w = std::min(w, n);
  double sum = 0;
  for (std::size_t i = n - w; i < n; ++i) sum += rows[i * signals + j];
  return sum / static_cast<double>(w);
}

double Ewma(const double* rows, std::size_t n, std::size_t signals, std::size_t j, double alpha) {
  double v = rows[j];
  for (std::size_t i = 1; i < n; ++i) v += alpha * (rows[i * signals + j] - v);
  return v;
}

json::array IntArray(const std::vector<int>& v) { return json::array(v.begin(), v.end()); }

template <typename T>
Result<std::vector<T>> NumberArray(const json::object& o, std::string_view key) {
  const auto* a = o.if_contains(key) ? o.at(key).if_array() : nullptr;
  if (a == nullptr) return Status::InvalidArgument("saved RUL features: missing windows");
  std::vector<T> out;
  for (const auto& v : *a) {
    if (!v.is_number()) return Status::InvalidArgument("saved RUL features: bad window");
    out.push_back(v.to_number<T>());
  }
  return out;
}

}  // namespace

std::size_t FeatureOptions::lookback() const {
  int l = 1;
  for (int w : mean_windows) l = std::max(l, w);
  for (int w : slope_windows) l = std::max(l, w);
  return static_cast<std::size_t>(l);
}

std::size_t FeatureOptions::count(std::size_t signals) const {
  return signals * (1 + ewma_alphas.size() + mean_windows.size() + slope_windows.size()) + 1;
}

void ComputeFeatures(const FeatureOptions& options, const double* rows, std::size_t n,
                     std::size_t signals, uint64_t cycles, float* out) {
  *out++ = static_cast<float>(cycles);
  if (n == 0) {
    std::fill(out, out + options.count(signals) - 1, 0.0f);
    return;
  }
  for (std::size_t j = 0; j < signals; ++j) {
    *out++ = static_cast<float>(rows[(n - 1) * signals + j]);
    for (double a : options.ewma_alphas) *out++ = static_cast<float>(Ewma(rows, n, signals, j, a));
    for (int w : options.mean_windows) *out++ = static_cast<float>(Mean(rows, n, signals, j, w));
    for (int w : options.slope_windows) *out++ = static_cast<float>(Slope(rows, n, signals, j, w));
  }
}

json::object FeatureOptions::Save() const {
  json::object o;
  o["meanWindows"] = IntArray(mean_windows);
  o["slopeWindows"] = IntArray(slope_windows);
  o["ewmaAlphas"] = json::array(ewma_alphas.begin(), ewma_alphas.end());
  return o;
}

Result<FeatureOptions> FeatureOptions::Load(const json::value& saved) {
  const auto* o = saved.if_object();
  if (o == nullptr) return Status::InvalidArgument("saved RUL features: not an object");
  FeatureOptions f;
  DOPPEL_ASSIGN_OR_RETURN(f.mean_windows, NumberArray<int>(*o, "meanWindows"));
  DOPPEL_ASSIGN_OR_RETURN(f.slope_windows, NumberArray<int>(*o, "slopeWindows"));
  DOPPEL_ASSIGN_OR_RETURN(f.ewma_alphas, NumberArray<double>(*o, "ewmaAlphas"));
  for (int w : f.mean_windows) {
    if (w < 1 || w > 10000) return Status::InvalidArgument("saved RUL features: bad window");
  }
  for (int w : f.slope_windows) {
    if (w < 1 || w > 10000) return Status::InvalidArgument("saved RUL features: bad window");
  }
  return f;
}

}  // namespace doppel::analytics::rul
