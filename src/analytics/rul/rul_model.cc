#include "analytics/rul/rul_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "analytics/rul/gbt_rul_model.h"
#include "analytics/rul/rul_training.h"

namespace doppel::analytics {
namespace {

constexpr std::string_view kFormat = "doppel.rul.gbt";

Result<std::vector<std::string>> ParseNames(const json::object& body, std::string_view key,
                                            bool required) {
  if (!body.contains(key)) {
    if (required) return Status::InvalidArgument(fmt::format("'{}' is required", key));
    return std::vector<std::string>{};
  }
  const auto* a = body.at(key).if_array();
  if (a == nullptr)
    return Status::InvalidArgument(fmt::format("'{}' must be an array of names", key));
  std::vector<std::string> names;
  std::set<std::string, std::less<>> seen;
  for (const auto& v : *a) {
    if (!v.is_string() || v.get_string().empty()) {
      return Status::InvalidArgument(fmt::format("'{}' must be an array of names", key));
    }
    std::string name(v.get_string());
    if (!seen.insert(name).second)
      return Status::InvalidArgument(fmt::format("'{}' names '{}' twice", key, name));
    names.push_back(std::move(name));
  }
  if (required && names.empty())
    return Status::InvalidArgument(fmt::format("'{}' must name at least one signal", key));
  return names;
}

Result<double> ParseNumber(const json::object& body, std::string_view key, double fallback,
                           double lo, double hi) {
  if (!body.contains(key)) return fallback;
  const auto& v = body.at(key);
  if (!v.is_number() || !(v.to_number<double>() >= lo && v.to_number<double>() <= hi)) {
    return Status::InvalidArgument(fmt::format("'{}' must be in [{}, {}]", key, lo, hi));
  }
  return v.to_number<double>();
}

json::array Names(const std::vector<std::string>& names) {
  json::array a;
  for (const auto& n : names) a.emplace_back(n);
  return a;
}

Result<TrainReport> LoadReport(const json::value& v) {
  const auto* o = v.if_object();
  if (o == nullptr) return Status::InvalidArgument("saved RUL model: bad 'report'");
  TrainReport r;
  auto number = [o](std::string_view key) {
    return o->contains(key) && o->at(key).is_number() ? o->at(key).to_number<double>() : 0.0;
  };
  r.validation_rmse = number("validationRmse");
  r.validation_last_rmse = number("validationLastRmse");
  r.units = static_cast<std::size_t>(number("units"));
  r.cycles = static_cast<std::size_t>(number("cycles"));
  r.regimes = static_cast<std::size_t>(std::max(1.0, number("regimes")));
  r.seconds = number("seconds");
  return r;
}

json::object SaveReport(const TrainReport& r) {
  return json::object{{"validationRmse", r.validation_rmse},
                      {"validationLastRmse", r.validation_last_rmse},
                      {"units", r.units},
                      {"cycles", r.cycles},
                      {"regimes", r.regimes},
                      {"seconds", r.seconds}};
}

Result<std::vector<double>> Numbers(const json::object& o, std::string_view key) {
  const auto* a = o.if_contains(key) ? o.at(key).if_array() : nullptr;
  if (a == nullptr)
    return Status::InvalidArgument(fmt::format("saved RUL interval: bad '{}'", key));
  std::vector<double> out;
  for (const auto& v : *a) {
    if (!v.is_number())
      return Status::InvalidArgument(fmt::format("saved RUL interval: bad '{}'", key));
    out.push_back(v.to_number<double>());
  }
  return out;
}

}  // namespace

Result<RulSpec> ParseRulSpec(const json::value& body) {
  const auto* o = body.if_object();
  if (o == nullptr) return Status::InvalidArgument("a RUL model must be a JSON object");
  RulSpec spec;
  DOPPEL_ASSIGN_OR_RETURN(spec.signals, ParseNames(*o, "signals", true));
  DOPPEL_ASSIGN_OR_RETURN(spec.settings, ParseNames(*o, "settings", false));
  for (const auto& s : spec.settings) {
    if (std::find(spec.signals.begin(), spec.signals.end(), s) != spec.signals.end()) {
      return Status::InvalidArgument(fmt::format("'{}' is both a signal and a setting", s));
    }
  }
  DOPPEL_ASSIGN_OR_RETURN(spec.cap, ParseNumber(*o, "cap", spec.cap, 1, 100000));
  DOPPEL_ASSIGN_OR_RETURN(spec.validation_share,
                          ParseNumber(*o, "validationShare", spec.validation_share, 0.05, 0.5));
  DOPPEL_ASSIGN_OR_RETURN(double seed, ParseNumber(*o, "seed", 1, 0, 9007199254740992.0));
  if (seed != std::floor(seed)) return Status::InvalidArgument("'seed' must be an integer");
  spec.seed = static_cast<uint64_t>(seed);
  return spec;
}

json::object RulSpecToJson(const RulSpec& spec) {
  return json::object{{"signals", Names(spec.signals)},
                      {"settings", Names(spec.settings)},
                      {"cap", spec.cap},
                      {"validationShare", spec.validation_share},
                      {"seed", spec.seed}};
}

Result<std::shared_ptr<const RulModel>> RulModel::Train(
    const RulSpec& spec, const std::vector<UnitHistory>& units,
    const std::function<bool(const TrainProgress&)>& progress) {
  return TrainRulModel(spec, units, RulTrainingOptions{}, progress);
}

Result<std::shared_ptr<const RulModel>> RulModel::Load(const json::value& saved) {
  const auto* o = saved.if_object();
  const json::string* format =
      o != nullptr && o->contains("format") ? o->at("format").if_string() : nullptr;
  if (format == nullptr || *format != kFormat) {
    return Status::InvalidArgument("not a saved RUL model");
  }
  return rul::GbtRulModel::LoadSaved(*o);
}

namespace rul {

std::pair<double, double> RulInterval::At(double prediction) const {
  if (low.empty()) return {std::max(0.0, prediction), prediction};
  std::size_t b = 0;
  while (b + 1 < low.size() && prediction >= upper_edges[b]) ++b;
  return {std::max(0.0, prediction + low[b]), std::max(0.0, prediction + high[b])};
}

json::object RulInterval::Save() const {
  return json::object{{"upperEdges", json::array(upper_edges.begin(), upper_edges.end())},
                      {"low", json::array(low.begin(), low.end())},
                      {"high", json::array(high.begin(), high.end())}};
}

Result<RulInterval> RulInterval::Load(const json::value& saved) {
  const auto* o = saved.if_object();
  if (o == nullptr) return Status::InvalidArgument("saved RUL interval: not an object");
  RulInterval i;
  DOPPEL_ASSIGN_OR_RETURN(i.upper_edges, Numbers(*o, "upperEdges"));
  DOPPEL_ASSIGN_OR_RETURN(i.low, Numbers(*o, "low"));
  DOPPEL_ASSIGN_OR_RETURN(i.high, Numbers(*o, "high"));
  if (i.low.size() != i.high.size() ||
      (!i.low.empty() && i.upper_edges.size() + 1 != i.low.size())) {
    return Status::InvalidArgument("saved RUL interval: bins do not match");
  }
  return i;
}

RulEstimate MakeEstimate(double prediction, double cap, const RulInterval& interval,
                         uint64_t cycles) {
  double rul = std::clamp(prediction, 0.0, cap);
  auto [low, high] = interval.At(rul);
  return RulEstimate{.rul = rul,
                     .low = std::min(low, rul),
                     .high = std::max(high, rul),
                     .health = std::clamp(rul / cap, 0.0, 1.0),
                     .cycles = cycles};
}

GbtRulModel::GbtRulModel(RulSpec spec, FeatureOptions features, RegimeNormalizer regimes,
                         std::vector<Forest> forests, RulInterval interval, TrainReport report)
    : spec_(std::move(spec)),
      features_(std::move(features)),
      regimes_(std::move(regimes)),
      forests_(std::move(forests)),
      interval_(std::move(interval)),
      report_(report) {}

RulEstimate GbtRulModel::Predict(const std::vector<std::vector<double>>& cycles) const {
  std::size_t n = std::min(cycles.size(), lookback());
  return PredictRecent(std::span(cycles).subspan(cycles.size() - n), cycles.size());
}

RulEstimate GbtRulModel::PredictRecent(std::span<const std::vector<double>> recent,
                                       uint64_t cycles) const {
  // Scratch reused per thread: the tracker path predicts on every cycle of every live unit.
  thread_local std::vector<double> rows;
  thread_local std::vector<float> features;
  std::size_t signals = spec_.signals.size();
  std::size_t n = std::min(recent.size(), lookback());
  recent = recent.subspan(recent.size() - n);
  rows.resize(n * signals);
  for (std::size_t i = 0; i < n; ++i) regimes_.Normalize(recent[i], rows.data() + i * signals);
  features.resize(features_.count(signals));
  ComputeFeatures(features_, rows.data(), n, signals, cycles, features.data());
  double sum = 0;
  for (const auto& f : forests_) sum += f.Predict(features.data());
  return MakeEstimate(forests_.empty() ? spec_.cap : sum / static_cast<double>(forests_.size()),
                      spec_.cap, interval_, cycles);
}

json::object GbtRulModel::Save() const {
  json::array forests;
  for (const auto& f : forests_) forests.push_back(f.Save());
  return json::object{{"format", json::string(kFormat)}, {"version", kVersion},
                      {"spec", RulSpecToJson(spec_)},    {"features", features_.Save()},
                      {"regimes", regimes_.Save()},      {"interval", interval_.Save()},
                      {"report", SaveReport(report_)},   {"forests", std::move(forests)}};
}

Result<std::shared_ptr<const RulModel>> GbtRulModel::LoadSaved(const json::object& saved) {
  if (!saved.contains("version") || saved.at("version") != kVersion) {
    return Status::InvalidArgument("saved RUL model: unsupported version");
  }
  for (std::string_view key : {"spec", "features", "regimes", "interval", "report", "forests"}) {
    if (!saved.contains(key))
      return Status::InvalidArgument(fmt::format("saved RUL model: missing '{}'", key));
  }
  DOPPEL_ASSIGN_OR_RETURN(RulSpec spec, ParseRulSpec(saved.at("spec")));
  DOPPEL_ASSIGN_OR_RETURN(FeatureOptions features, FeatureOptions::Load(saved.at("features")));
  DOPPEL_ASSIGN_OR_RETURN(
      RegimeNormalizer regimes,
      RegimeNormalizer::Load(saved.at("regimes"), spec.signals.size(), spec.settings.size()));
  DOPPEL_ASSIGN_OR_RETURN(RulInterval interval, RulInterval::Load(saved.at("interval")));
  DOPPEL_ASSIGN_OR_RETURN(TrainReport report, LoadReport(saved.at("report")));
  const auto* forest_array = saved.at("forests").if_array();
  if (forest_array == nullptr || forest_array->empty())
    return Status::InvalidArgument("saved RUL model: bad 'forests'");
  std::vector<Forest> forests;
  for (const auto& f : *forest_array) {
    DOPPEL_ASSIGN_OR_RETURN(Forest forest, Forest::Load(f, features.count(spec.signals.size())));
    forests.push_back(std::move(forest));
  }
  return std::shared_ptr<const RulModel>(
      std::make_shared<GbtRulModel>(std::move(spec), std::move(features), std::move(regimes),
                                    std::move(forests), std::move(interval), report));
}

}  // namespace rul
}  // namespace doppel::analytics
