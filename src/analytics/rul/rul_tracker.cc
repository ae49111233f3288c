#include <fmt/format.h>

#include "analytics/rul/rul_model.h"

namespace doppel::analytics {

RulTracker::RulTracker(std::shared_ptr<const RulModel> model) : model_(std::move(model)) {}

void RulTracker::Add(std::vector<double> cycle) {
  ++cycles_;
  recent_.push_back(std::move(cycle));
  // The window is a few dozen cycles: shifting it is cheaper than a ring's bookkeeping.
  if (recent_.size() > model_->lookback()) recent_.erase(recent_.begin());
}

RulEstimate RulTracker::Estimate() const { return model_->PredictRecent(recent_, cycles_); }

uint64_t RulTracker::cycles() const { return cycles_; }

json::object RulTracker::Save() const {
  json::array recent;
  for (const auto& c : recent_) recent.emplace_back(json::array(c.begin(), c.end()));
  return json::object{{"cycles", cycles_}, {"recent", std::move(recent)}};
}

Status RulTracker::Restore(const json::object& state) {
  const auto* cycles = state.if_contains("cycles");
  const auto* recent = state.if_contains("recent");
  if (cycles == nullptr || !cycles->is_number() || recent == nullptr || !recent->is_array()) {
    return Status::InvalidArgument("RUL tracker state: needs 'cycles' and 'recent'");
  }
  std::size_t width = model_->spec().signals.size() + model_->spec().settings.size();
  std::vector<std::vector<double>> rows;
  for (const auto& r : recent->get_array()) {
    const auto* a = r.if_array();
    if (a == nullptr || a->size() != width) {
      return Status::InvalidArgument(
          fmt::format("RUL tracker state: a cycle must have {} values", width));
    }
    std::vector<double> row;
    for (const auto& v : *a) {
      if (!v.is_number())
        return Status::InvalidArgument("RUL tracker state: values must be numbers");
      row.push_back(v.to_number<double>());
    }
    rows.push_back(std::move(row));
  }
  auto count = cycles->to_number<double>();
  if (count < static_cast<double>(rows.size()))
    return Status::InvalidArgument("RUL tracker state: fewer cycles than kept");
  std::size_t keep = std::min(rows.size(), model_->lookback());
  recent_.assign(std::make_move_iterator(rows.end() - static_cast<std::ptrdiff_t>(keep)),
                 std::make_move_iterator(rows.end()));
  cycles_ = static_cast<uint64_t>(count);
  return Status::Ok();
}

}  // namespace doppel::analytics
