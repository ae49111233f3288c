#include "sim/shadow.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "base/json.h"

namespace doppel::sim {

namespace {

constexpr std::string_view kFormat = "doppel.shadow/1";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Result<double> AsDouble(const json::value* v, std::string_view what) {
  if (v != nullptr && v->is_number()) return v->to_number<double>();
  return Status::InvalidArgument(fmt::format("shadow state: '{}' must be a number", what));
}

Result<Eigen::VectorXd> AsVector(const json::value* v, std::string_view what) {
  if (v == nullptr || !v->is_array()) {
    return Status::InvalidArgument(fmt::format("shadow state: '{}' must be an array", what));
  }
  const auto& array = v->as_array();
  Eigen::VectorXd out(static_cast<Eigen::Index>(array.size()));
  for (std::size_t i = 0; i < array.size(); ++i) {
    DOPPEL_ASSIGN_OR_RETURN(out(static_cast<Eigen::Index>(i)), AsDouble(&array[i], what));
  }
  return out;
}

Result<Eigen::MatrixXd> AsMatrix(const json::value* v, Eigen::Index n) {
  if (v == nullptr || !v->is_array() || v->as_array().size() != static_cast<std::size_t>(n)) {
    return Status::InvalidArgument(fmt::format("shadow state: 'covariance' must be {} rows", n));
  }
  Eigen::MatrixXd out(n, n);
  for (Eigen::Index r = 0; r < n; ++r) {
    DOPPEL_ASSIGN_OR_RETURN(Eigen::VectorXd row, AsVector(&v->as_array()[r], "covariance"));
    if (row.size() != n) return Status::InvalidArgument(fmt::format("shadow state: covariance row {} needs {} values", r, n));
    out.row(r) = row;
  }
  return out;
}

// Checks an input against the variable's range before anything is set, so a bad reading
// cannot leave the model half-updated.
Status CheckInput(const Variable& v, double value) {
  if (std::isnan(value)) return Status::Ok();  // not measured this time
  if (!std::isfinite(value) || value < v.min || value > v.max) {
    return Status::InvalidArgument(fmt::format("input '{}' = {} is outside [{}, {}]", v.name, value, v.min, v.max));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ShadowTracker>> ShadowTracker::Create(std::unique_ptr<Simulation> model, ShadowConfig config) {
  if (model == nullptr) return Status::InvalidArgument("shadow tracker needs a model");
  std::vector<std::size_t> inputs;
  for (const auto& name : config.inputs) {
    DOPPEL_ASSIGN_OR_RETURN(std::size_t index, model->info().Index(name));
    Causality c = model->info().variables[index].causality;
    if (c != Causality::kInput && c != Causality::kParameter) {
      return Status::InvalidArgument(fmt::format("shadow input '{}' is a {}, not an input or parameter", name,
                                                 CausalityName(c)));
    }
    inputs.push_back(index);
  }
  if (!(config.max_gap_s > 0)) return Status::InvalidArgument("max_gap_s must be > 0");
  auto tracker = std::unique_ptr<ShadowTracker>(new ShadowTracker(std::move(model), std::move(config), std::move(inputs)));
  DOPPEL_ASSIGN_OR_RETURN(tracker->filter_, UnscentedKalmanFilter::Create(*tracker->model_, tracker->config_.estimation));
  return tracker;
}

ShadowTracker::ShadowTracker(std::unique_ptr<Simulation> model, ShadowConfig config, std::vector<std::size_t> inputs)
    : model_(std::move(model)), config_(std::move(config)), input_index_(std::move(inputs)) {}

ShadowTracker::~ShadowTracker() = default;

ShadowUpdate ShadowTracker::NewUpdate() const {
  const std::size_t m = config_.estimation.measured.size();
  ShadowUpdate update;
  update.expected.assign(m, kNaN);
  update.expected_stddev.assign(m, kNaN);
  update.measured.assign(m, kNaN);
  update.residual.assign(m, kNaN);
  update.estimates.resize(config_.estimation.estimated.size());
  update.virtual_sensors.resize(config_.estimation.derived.size());
  FillEstimates(update);
  return update;
}

Status ShadowTracker::CheckReading(double t_s, std::span<const double> inputs, std::span<const double> measurements,
                                   uint64_t present_mask) const {
  if (!std::isfinite(t_s)) return Status::InvalidArgument("reading time is not finite");
  if (started_ && t_s <= time_s_) {
    return Status::InvalidArgument(
        fmt::format("reading at t={} s is not after the last observation at t={} s; ignored", t_s, time_s_));
  }
  if (inputs.size() != input_index_.size()) {
    return Status::InvalidArgument(fmt::format("expected {} inputs, got {}", input_index_.size(), inputs.size()));
  }
  const auto& measured = config_.estimation.measured;
  if (measurements.size() != measured.size()) {
    return Status::InvalidArgument(fmt::format("expected {} measurements, got {}", measured.size(), measurements.size()));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    DOPPEL_RETURN_IF_ERROR(CheckInput(model_->info().variables[input_index_[i]], inputs[i]));
  }
  // The filter checks measurements too, but only in Update — after Predict has moved the
  // model; a bad reading must be refused before anything moves.
  for (std::size_t i = 0; i < measured.size(); ++i) {
    if ((present_mask >> i & 1) && !std::isfinite(measurements[i])) {
      return Status::InvalidArgument(fmt::format("measurement '{}' is not a finite number", measured[i].name));
    }
  }
  return Status::Ok();
}

Status ShadowTracker::ApplyInputs(std::span<const double> inputs) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!std::isnan(inputs[i])) DOPPEL_RETURN_IF_ERROR(model_->Set(input_index_[i], inputs[i]));
  }
  return Status::Ok();
}

void ShadowTracker::FillEstimates(ShadowUpdate& out) const {
  for (std::size_t i = 0; i < out.estimates.size(); ++i) out.estimates[i] = filter_->estimate(i);
  for (std::size_t i = 0; i < out.virtual_sensors.size(); ++i) out.virtual_sensors[i] = filter_->derived(i);
}

Status ShadowTracker::Observe(double t_s, std::span<const double> inputs, std::span<const double> measurements,
                              uint64_t present_mask, ShadowUpdate& out) {
  DOPPEL_RETURN_IF_ERROR(CheckReading(t_s, inputs, measurements, present_mask));
  // Inputs set on a model whose step then fails stay set: harmless, the next reading sets them.
  DOPPEL_RETURN_IF_ERROR(ApplyInputs(inputs));
  const double gap = t_s - time_s_;
  const bool restart = !started_ || gap > config_.max_gap_s;
  if (started_ && restart) filter_->Forget(gap);
  if (!restart) DOPPEL_RETURN_IF_ERROR(filter_->Predict(gap));
  started_ = true;
  time_s_ = t_s;
  out.time_s = t_s;
  out.restarted = restart;
  out.filtered = false;
  uint64_t used = 0;
  for (std::size_t i = 0; i < out.expected.size(); ++i) {
    const bool present = present_mask >> i & 1;
    Estimate expected = restart ? Estimate{kNaN, kNaN} : filter_->predicted(i);
    out.expected[i] = expected.value;
    out.expected_stddev[i] = expected.stddev;
    out.measured[i] = present ? measurements[i] : kNaN;
    out.residual[i] = present ? measurements[i] - expected.value : kNaN;
    if (present) used |= uint64_t{1} << i;
  }
  if (!restart && used != 0 && filter_->ready_for_update()) {
    DOPPEL_RETURN_IF_ERROR(filter_->Update(measurements, used));
    out.filtered = true;
  }
  FillEstimates(out);
  return Status::Ok();
}

Result<ShadowUpdate> ShadowTracker::Observe(double t_s, const std::map<std::string, double>& inputs,
                                            const std::map<std::string, double>& measurements) {
  std::vector<double> input_values(config_.inputs.size(), kNaN);
  for (const auto& [name, value] : inputs) {
    auto it = std::find(config_.inputs.begin(), config_.inputs.end(), name);
    if (it == config_.inputs.end()) return Status::InvalidArgument(fmt::format("'{}' is not a shadow input", name));
    if (!std::isfinite(value)) return Status::InvalidArgument(fmt::format("input '{}' is not a finite number", name));
    input_values[static_cast<std::size_t>(it - config_.inputs.begin())] = value;
  }
  const auto& measured = config_.estimation.measured;
  std::vector<double> values(measured.size(), kNaN);
  uint64_t present = 0;
  for (const auto& [name, value] : measurements) {
    // (named capture: clang before 16 cannot capture a structured binding)
    auto it = std::find_if(measured.begin(), measured.end(), [&name = name](const auto& m) { return m.name == name; });
    if (it == measured.end()) return Status::InvalidArgument(fmt::format("'{}' is not a measured variable", name));
    const auto i = static_cast<std::size_t>(it - measured.begin());
    values[i] = value;
    present |= uint64_t{1} << i;
  }
  ShadowUpdate update = NewUpdate();
  DOPPEL_RETURN_IF_ERROR(Observe(t_s, input_values, values, present, update));
  return update;
}

Result<std::unique_ptr<Simulation>> ShadowTracker::Fork() const { return model_->Clone(); }

Result<std::unique_ptr<Simulation>> ShadowTracker::ForkSample(uint64_t seed) const {
  DOPPEL_ASSIGN_OR_RETURN(auto fork, model_->Clone());
  DOPPEL_RETURN_IF_ERROR(filter_->WriteSample(*fork, seed));
  return fork;
}

std::string ShadowTracker::SaveJson() const {
  json::object doc;
  doc["format"] = kFormat;
  doc["model"] = model_->info().name;
  doc["started"] = started_;
  doc["timeS"] = time_s_;
  json::array names, mean, covariance;
  const Eigen::VectorXd& x = filter_->mean();
  const Eigen::MatrixXd& p = filter_->covariance();
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    names.emplace_back(config_.estimation.estimated[static_cast<std::size_t>(i)].name);
    mean.emplace_back(x(i));
    json::array row;
    for (Eigen::Index j = 0; j < x.size(); ++j) row.emplace_back(p(i, j));
    covariance.emplace_back(std::move(row));
  }
  doc["estimated"] = std::move(names);
  doc["mean"] = std::move(mean);
  doc["covariance"] = std::move(covariance);
  json::object variables;
  const auto& vars = model_->info().variables;
  for (std::size_t i = 0; i < vars.size(); ++i) {
    if (vars[i].causality != Causality::kOutput) variables[vars[i].name] = model_->Get(i);
  }
  doc["variables"] = std::move(variables);
  return ToJson(doc);
}

Status ShadowTracker::RestoreJson(std::string_view text) {
  DOPPEL_ASSIGN_OR_RETURN(json::value parsed, ParseJson(text));
  const json::object* doc = parsed.if_object();
  if (doc == nullptr) return Status::InvalidArgument("shadow state must be a JSON object");
  const json::value* format = doc->if_contains("format");
  if (format == nullptr || !format->is_string() || format->as_string() != kFormat) {
    return Status::InvalidArgument(fmt::format("shadow state: 'format' must be \"{}\"", kFormat));
  }
  const json::value* model = doc->if_contains("model");
  if (model == nullptr || !model->is_string() || model->as_string() != model_->info().name) {
    return Status::InvalidArgument(fmt::format("shadow state is not for model '{}'", model_->info().name));
  }
  const json::value* names = doc->if_contains("estimated");
  json::array expected_names;
  for (const auto& e : config_.estimation.estimated) expected_names.emplace_back(e.name);
  if (names == nullptr || *names != json::value(expected_names)) {
    return Status::InvalidArgument("shadow state estimates different variables than this tracker");
  }
  const json::value* started = doc->if_contains("started");
  if (started == nullptr || !started->is_bool()) return Status::InvalidArgument("shadow state: 'started' must be a boolean");
  DOPPEL_ASSIGN_OR_RETURN(double time_s, AsDouble(doc->if_contains("timeS"), "timeS"));
  DOPPEL_ASSIGN_OR_RETURN(Eigen::VectorXd mean, AsVector(doc->if_contains("mean"), "mean"));
  DOPPEL_ASSIGN_OR_RETURN(Eigen::MatrixXd covariance, AsMatrix(doc->if_contains("covariance"), mean.size()));
  const json::value* variables = doc->if_contains("variables");
  if (variables == nullptr || !variables->is_object()) return Status::InvalidArgument("shadow state: 'variables' must be an object");
  std::map<std::string, double> values;
  for (const auto& [name, value] : variables->as_object()) {
    DOPPEL_ASSIGN_OR_RETURN(values[std::string(name)], AsDouble(&value, name));
  }
  // Try the variables on a copy first, so a refused value leaves the tracker as it was.
  DOPPEL_ASSIGN_OR_RETURN(auto trial, model_->Clone());
  DOPPEL_RETURN_IF_ERROR(SetByName(*trial, values));
  DOPPEL_RETURN_IF_ERROR(filter_->Restore(mean, covariance));  // validates before changing anything
  DOPPEL_RETURN_IF_ERROR(SetByName(*model_, values));
  DOPPEL_RETURN_IF_ERROR(filter_->Restore(mean, covariance));  // the estimate wins over saved values
  started_ = started->as_bool();
  time_s_ = time_s;
  return Status::Ok();
}

}  // namespace doppel::sim
