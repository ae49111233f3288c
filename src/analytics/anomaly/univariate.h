// The frame shared by the one-signal detectors: NaN readings are ignored, an out-of-order
// reading is scored but not learnt, the first `warmup` readings score 0, and Save/Restore wrap
// the kind's own state with its kind and parameters. Private to src/analytics/anomaly/.
#pragma once

#include <cmath>
#include <string>

#include "analytics/anomaly/detector.h"
#include "analytics/anomaly/detector_kinds.h"

namespace doppel::analytics::internal {

class UnivariateDetector : public Detector {
 public:
  UnivariateDetector(std::string kind, const DetectorParams& params)
      : kind_(std::move(kind)), params_(params), fingerprint_(ParamsToJson(params)) {}

  Score Update(int64_t time_ns, std::span<const double> values) final;
  uint64_t observed() const final { return observed_; }
  json::object Save() const final;
  Status Restore(const json::object& state) final;

 protected:
  // The reading's score against what was learnt so far (warm-up is applied by the frame).
  virtual Score Assess(int64_t time_ns, double x) = 0;
  // Learns an in-order reading.
  virtual void Learn(int64_t time_ns, double x) = 0;
  virtual void SaveBody(json::object& out) const = 0;
  virtual Status RestoreBody(const json::object& in) = 0;

  const DetectorParams& params() const { return params_; }

 private:
  std::string kind_;
  DetectorParams params_;
  json::object fingerprint_;
  uint64_t observed_ = 0;
  int64_t last_time_ = 0;
};

}  // namespace doppel::analytics::internal
