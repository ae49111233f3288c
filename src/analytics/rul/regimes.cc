#include "analytics/rul/regimes.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace doppel::analytics::rul {
namespace {

using Points = std::vector<std::vector<double>>;

// Clustering looks at a stride sample: operating points are few and well visited, and k-means
// over every cycle of a large fleet would cost more than the model it serves.
constexpr std::size_t kClusterSample = 5000;
constexpr int kLloydIterations = 50;
constexpr int kRestarts = 3;

double Distance2(std::span<const double> a, std::span<const double> b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d += (a[i] - b[i]) * (a[i] - b[i]);
  return d;
}

std::size_t Nearest(const Points& centroids, std::span<const double> p) {
  std::size_t best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < centroids.size(); ++c) {
    double d = Distance2(centroids[c], p);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

double Inertia(const Points& points, const Points& centroids) {
  double sse = 0;
  for (const auto& p : points) sse += Distance2(centroids[Nearest(centroids, p)], p);
  return sse;
}

// k-means++ seeding: spread-out starting centroids make Lloyd's iterations land on the
// distinct operating points instead of splitting one and merging two.
Points SeedCentroids(const Points& points, std::size_t k, std::mt19937_64& rng) {
  Points centroids{points[std::uniform_int_distribution<std::size_t>(0, points.size() - 1)(rng)]};
  std::vector<double> d2(points.size());
  while (centroids.size() < k) {
    for (std::size_t i = 0; i < points.size(); ++i)
      d2[i] = Distance2(centroids[Nearest(centroids, points[i])], points[i]);
    std::discrete_distribution<std::size_t> pick(d2.begin(), d2.end());
    centroids.push_back(points[pick(rng)]);
  }
  return centroids;
}

void Lloyd(const Points& points, Points& centroids) {
  std::size_t dims = points[0].size();
  for (int it = 0; it < kLloydIterations; ++it) {
    Points sums(centroids.size(), std::vector<double>(dims, 0));
    std::vector<std::size_t> counts(centroids.size(), 0);
    for (const auto& p : points) {
      std::size_t c = Nearest(centroids, p);
      ++counts[c];
      for (std::size_t d = 0; d < dims; ++d) sums[c][d] += p[d];
    }
    bool moved = false;
    for (std::size_t c = 0; c < centroids.size(); ++c) {
      if (counts[c] == 0) continue;  // an empty cluster keeps its place
      for (std::size_t d = 0; d < dims; ++d) {
        double v = sums[c][d] / static_cast<double>(counts[c]);
        moved |= v != centroids[c][d];
        centroids[c][d] = v;
      }
    }
    if (!moved) return;
  }
}

Points BestKMeans(const Points& points, std::size_t k, std::mt19937_64& rng, double& inertia) {
  Points best;
  inertia = std::numeric_limits<double>::infinity();
  for (int r = 0; r < kRestarts; ++r) {
    Points centroids = SeedCentroids(points, k, rng);
    Lloyd(points, centroids);
    double sse = Inertia(points, centroids);
    if (sse < inertia) inertia = sse, best = std::move(centroids);
  }
  return best;
}

// The regimes: the smallest k that explains the settings' spread (kExplainedSpread) and that one
// more cluster would not improve much (kSplitGain) — distinct operating points close to each
// other (C-MAPSS has two that differ only in altitude) explain ~99 % of the spread merged, yet
// splitting them still divides the remainder by orders of magnitude, while splitting
// measurement noise does not. None (one regime) if no k ≤ kMaxRegimes explains the spread.
Points FindRegimes(const Points& points, uint64_t seed) {
  if (points.empty() || points[0].empty()) return {};
  std::mt19937_64 rng(seed);
  double total = 0;
  BestKMeans(points, 1, rng, total);
  if (total <= 0) return {};
  Points explained;
  double explained_sse = 0;
  for (std::size_t k = 2; k <= RegimeNormalizer::kMaxRegimes + 1 && k < points.size(); ++k) {
    double sse = 0;
    Points centroids = BestKMeans(points, k, rng, sse);
    if (!explained.empty() && sse > RegimeNormalizer::kSplitGain * explained_sse) return explained;
    if (sse <= RegimeNormalizer::kExplainedSpread * total && k <= RegimeNormalizer::kMaxRegimes) {
      explained = std::move(centroids);
      explained_sse = sse;
    }
  }
  return explained;
}

json::array ToArray(const std::vector<double>& v) { return json::array(v.begin(), v.end()); }

Result<std::vector<double>> FromArray(const json::value& v, std::size_t size,
                                      std::string_view what) {
  const auto* a = v.if_array();
  if (a == nullptr || a->size() != size)
    return Status::InvalidArgument(fmt::format("saved RUL regimes: bad '{}'", what));
  std::vector<double> out;
  for (const auto& x : *a) {
    if (!x.is_number())
      return Status::InvalidArgument(fmt::format("saved RUL regimes: bad '{}'", what));
    out.push_back(x.to_number<double>());
  }
  return out;
}

Result<Points> FromMatrix(const json::object& o, std::string_view key, std::size_t width) {
  const auto* a = o.if_contains(key) ? o.at(key).if_array() : nullptr;
  if (a == nullptr)
    return Status::InvalidArgument(fmt::format("saved RUL regimes: missing '{}'", key));
  Points out;
  for (const auto& row : *a) {
    DOPPEL_ASSIGN_OR_RETURN(auto values, FromArray(row, width, key));
    out.push_back(std::move(values));
  }
  return out;
}

}  // namespace

RegimeNormalizer RegimeNormalizer::Fit(std::span<const std::vector<double>> cycles,
                                       std::size_t signal_count, std::size_t setting_count,
                                       uint64_t seed) {
  RegimeNormalizer n;
  n.signal_count_ = signal_count;
  n.setting_count_ = setting_count;
  n.setting_scale_.assign(setting_count, 0);
  std::size_t rows = cycles.size();
  for (std::size_t s = 0; s < setting_count; ++s) {
    double sum = 0, sum2 = 0;
    for (const auto& c : cycles)
      sum += c[signal_count + s], sum2 += c[signal_count + s] * c[signal_count + s];
    double mean = sum / std::max<double>(rows, 1);
    double sd = std::sqrt(std::max(0.0, sum2 / std::max<double>(rows, 1) - mean * mean));
    // A constant setting (to rounding) carries no regime information.
    n.setting_scale_[s] = sd > 1e-9 * std::max(1.0, std::abs(mean)) ? 1 / sd : 0;
  }
  Points sample;
  std::size_t stride = std::max<std::size_t>(1, rows / kClusterSample);
  for (std::size_t i = 0; i < rows; i += stride) {
    std::vector<double> p(setting_count);
    for (std::size_t s = 0; s < setting_count; ++s)
      p[s] = cycles[i][signal_count + s] * n.setting_scale_[s];
    sample.push_back(std::move(p));
  }
  n.centroids_ = FindRegimes(sample, seed);

  std::size_t k = n.regimes();
  std::vector<std::vector<double>> sum(k, std::vector<double>(signal_count, 0)), sum2 = sum;
  std::vector<double> count(k, 0);
  for (const auto& c : cycles) {
    std::size_t r = n.Assign(c);
    count[r] += 1;
    for (std::size_t j = 0; j < signal_count; ++j) sum[r][j] += c[j], sum2[r][j] += c[j] * c[j];
  }
  n.mean_.assign(k, std::vector<double>(signal_count, 0));
  n.inv_std_.assign(k, std::vector<double>(signal_count, 0));
  for (std::size_t r = 0; r < k; ++r) {
    for (std::size_t j = 0; j < signal_count; ++j) {
      if (count[r] == 0) continue;
      double mean = sum[r][j] / count[r];
      double sd = std::sqrt(std::max(0.0, sum2[r][j] / count[r] - mean * mean));
      n.mean_[r][j] = mean;
      // A signal constant within its regime says nothing there: it normalises to 0.
      n.inv_std_[r][j] = sd > 1e-9 * std::max(1.0, std::abs(mean)) ? 1 / sd : 0;
    }
  }
  return n;
}

std::size_t RegimeNormalizer::Assign(std::span<const double> cycle) const {
  if (centroids_.size() <= 1) return 0;
  std::size_t best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < centroids_.size(); ++c) {
    double d = 0;
    for (std::size_t s = 0; s < setting_count_; ++s) {
      double x = cycle[signal_count_ + s] * setting_scale_[s] - centroids_[c][s];
      d += x * x;
    }
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

void RegimeNormalizer::Normalize(std::span<const double> cycle, double* out) const {
  std::size_t r = Assign(cycle);
  for (std::size_t j = 0; j < signal_count_; ++j)
    out[j] = (cycle[j] - mean_[r][j]) * inv_std_[r][j];
}

json::object RegimeNormalizer::Save() const {
  json::object o;
  o["settingScale"] = ToArray(setting_scale_);
  json::array centroids, mean, inv_std;
  for (const auto& c : centroids_) centroids.push_back(ToArray(c));
  for (const auto& m : mean_) mean.push_back(ToArray(m));
  for (const auto& s : inv_std_) inv_std.push_back(ToArray(s));
  o["centroids"] = std::move(centroids);
  o["mean"] = std::move(mean);
  o["invStd"] = std::move(inv_std);
  return o;
}

Result<RegimeNormalizer> RegimeNormalizer::Load(const json::value& saved, std::size_t signal_count,
                                                std::size_t setting_count) {
  const auto* o = saved.if_object();
  if (o == nullptr || !o->contains("settingScale"))
    return Status::InvalidArgument("saved RUL regimes: not an object");
  RegimeNormalizer n;
  n.signal_count_ = signal_count;
  n.setting_count_ = setting_count;
  DOPPEL_ASSIGN_OR_RETURN(n.setting_scale_,
                          FromArray(o->at("settingScale"), setting_count, "settingScale"));
  DOPPEL_ASSIGN_OR_RETURN(n.centroids_, FromMatrix(*o, "centroids", setting_count));
  DOPPEL_ASSIGN_OR_RETURN(n.mean_, FromMatrix(*o, "mean", signal_count));
  DOPPEL_ASSIGN_OR_RETURN(n.inv_std_, FromMatrix(*o, "invStd", signal_count));
  if (n.mean_.size() != n.regimes() || n.inv_std_.size() != n.regimes()) {
    return Status::InvalidArgument("saved RUL regimes: statistics do not match the regimes");
  }
  return n;
}

}  // namespace doppel::analytics::rul
