// "context": the novelty of the current short pattern of values (ContextModel, in the spirit of
// CAD OSE), fired once per new event: a reading scores its novelty only when no reading of the
// last `rest` had a novelty of at least `contextThreshold`; otherwise 0. A new pattern therefore
// raises one alarm, and its repeats (or the burst of novelty that follows a change) do not.
#include <memory>

#include "analytics/anomaly/context_model.h"
#include "analytics/anomaly/univariate.h"

namespace doppel::analytics::internal {
namespace {

class ContextDetector final : public UnivariateDetector {
 public:
  explicit ContextDetector(const DetectorParams& p)
      : UnivariateDetector("context", p),
        model_(p.context_bins, p.context_order, static_cast<std::size_t>(p.context_memory)) {}

 protected:
  Score Assess(int64_t, double x) override {
    pending_ = model_.Novelty(x);
    const bool resting = observed() < last_high_ + RestLength(params(), observed());
    // The evidence is the range seen so far: the model has no expectation of the value itself.
    return {.score = resting ? 0.0 : pending_, .evidence = {.expected = x, .low = model_.lo(), .high = model_.hi()}};
  }

  void Learn(int64_t, double x) override {
    model_.Push(x);
    // Warm-up novelty is not an alarm: it must not silence the first real event.
    if (pending_ >= params().context_threshold && observed() >= static_cast<uint64_t>(params().warmup)) {
      last_high_ = observed() + 1;
    }
  }

  void SaveBody(json::object& out) const override {
    json::object model;
    model_.Save(model);
    out["model"] = std::move(model);
    out["lastHigh"] = last_high_;
  }

  Status RestoreBody(const json::object& in) override {
    const auto* model = GetObject(in, "model");
    if (model == nullptr) return Status::InvalidArgument("detector state: 'model' missing");
    DOPPEL_RETURN_IF_ERROR(model_.Restore(*model));
    return GetCount(in, "lastHigh", last_high_);
  }

 private:
  ContextModel model_;
  uint64_t last_high_ = 0;  // 1 + the index of the last reading whose novelty reached the threshold
  double pending_ = 0;      // the novelty Assess found, for Learn
};

}  // namespace

std::unique_ptr<Detector> MakeContext(const DetectorParams& p) { return std::make_unique<ContextDetector>(p); }

}  // namespace doppel::analytics::internal
