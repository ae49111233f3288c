#include "sim/models/production_line.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <utility>

namespace doppel::sim {
namespace {

constexpr int kMaxStations = kMaxLineStations;
constexpr int kMaxBuffers = kMaxLineStations - 1;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMaxBufferParts = 100000.0;

// Defaults: the demo's Halden Line 1 (examples/production-line/twins.json). Station 2's 49 s is
// the two 98 s machining centres of OP20 working in parallel. Scrap rates follow the demo's shift
// counters; failure figures follow src/devsim (about 2 h between failures, 8 min repairs), with
// the washer, which the demo shows down, failing twice as often and taking longer to fix.
constexpr int kDefaultStations = 4;
constexpr double kDefaultCycleTimeCv = 0.03;
constexpr std::array<double, kMaxStations> kDefaultCycleTime = {52, 49, 40, 45, 60, 60, 60, 60};
constexpr std::array<double, kMaxStations> kDefaultMtbf = {7200, 7200, 3600, 7200,
                                                           7200, 7200, 7200, 7200};
constexpr std::array<double, kMaxStations> kDefaultMttr = {480, 480, 900, 480, 480, 480, 480, 480};
constexpr std::array<double, kMaxStations> kDefaultScrap = {0.017, 0.022, 0.0, 0.027, 0, 0, 0, 0};
constexpr double kDefaultBufferCapacity = 4;

// ---- Variable layout: globals, then one block per station, then one block per buffer. ----

enum GlobalField {
  kStations,
  kCycleTimeCv,
  kThroughput,
  kStepThroughput,
  kGoodCount,
  kScrapCount,
  kWip,
  kAverageWip,
  kMeanFlowTime,
  kBottleneckStation,
  kGlobalFields
};
enum StationField {
  kCycleTime,
  kMtbf,
  kMttr,
  kScrapRate,
  kSpeed,
  kStopped,
  kState,
  kUtilisation,
  kBlockedFraction,
  kStarvedFraction,
  kDownFraction,
  kActiveFraction,
  kStationFields
};
enum BufferField { kCapacity, kLevel, kBufferFields };

enum class Group : uint8_t { kGlobal, kStation, kBuffer };
struct VarRef {
  Group group = Group::kGlobal;
  int field = 0;
  int unit = 0;  // 0-based station or buffer
};

constexpr std::size_t kStationBase = kGlobalFields;
constexpr std::size_t kBufferBase = kStationBase + kMaxStations * kStationFields;
constexpr std::size_t kVariableCount = kBufferBase + kMaxBuffers * kBufferFields;

VarRef Decode(std::size_t index) {
  if (index < kStationBase) return {Group::kGlobal, static_cast<int>(index), 0};
  if (index < kBufferBase) {
    const std::size_t i = index - kStationBase;
    return {Group::kStation, static_cast<int>(i % kStationFields),
            static_cast<int>(i / kStationFields)};
  }
  const std::size_t i = index - kBufferBase;
  return {Group::kBuffer, static_cast<int>(i % kBufferFields), static_cast<int>(i / kBufferFields)};
}

// Counts and flags must be whole numbers; Set refuses 2.5 stations.
bool IsWholeNumber(const VarRef& ref) {
  switch (ref.group) {
    case Group::kGlobal:
      return ref.field == kStations;
    case Group::kStation:
      return ref.field == kStopped;
    case Group::kBuffer:
      return true;
  }
  return false;
}

Variable Var(std::string name, Causality causality, std::string unit, double start, double min,
             double max, std::string description) {
  return {.name = std::move(name),
          .causality = causality,
          .unit = std::move(unit),
          .start = start,
          .min = min,
          .max = max,
          .description = std::move(description)};
}

void AddGlobalVariables(std::vector<Variable>& v) {
  const auto out = Causality::kOutput;
  v.push_back(Var("stations", Causality::kParameter, "1", kDefaultStations, 1, kMaxStations,
                  "number of stations in the line (set before the first step)"));
  v.push_back(Var("cycleTimeCv", Causality::kParameter, "1", kDefaultCycleTimeCv, 0, 2,
                  "coefficient of variation of cycle times (lognormal); 0 = deterministic"));
  v.push_back(Var("throughput", out, "1/h", 0, 0, kInf, "good parts per hour since the start"));
  v.push_back(
      Var("stepThroughput", out, "1/h", 0, 0, kInf, "good parts per hour in the last step"));
  v.push_back(Var("goodCount", out, "1", 0, 0, kInf, "good parts that left the last station"));
  v.push_back(Var("scrapCount", out, "1", 0, 0, kInf, "parts scrapped at any station"));
  v.push_back(Var("wip", out, "1", 0, 0, kInf, "parts in the line now (stations and buffers)"));
  v.push_back(Var("averageWip", out, "1", 0, 0, kInf, "time-average of wip since the start"));
  v.push_back(Var("meanFlowTime", out, "s", 0, 0, kInf,
                  "mean time from entering station 1 to leaving the line, over good parts"));
  v.push_back(Var("bottleneckStation", out, "1", 0, 0, kMaxStations,
                  "1-based station with the highest active (running + down) fraction"));
}

void AddStationVariables(std::vector<Variable>& v, int k) {
  const std::string s = fmt::format("station{}", k + 1);
  const auto par = Causality::kParameter;
  const auto in = Causality::kInput;
  const auto out = Causality::kOutput;
  v.push_back(Var(s + "CycleTime", par, "s", kDefaultCycleTime[k], 0.001, 1e7,
                  "mean processing time per part at speed 1"));
  v.push_back(Var(s + "Mtbf", par, "s", kDefaultMtbf[k], 0, 1e9,
                  "mean operating time between failures (exponential); 0 = never fails"));
  v.push_back(
      Var(s + "Mttr", par, "s", kDefaultMttr[k], 0, 1e9, "mean time to repair (exponential)"));
  v.push_back(Var(s + "ScrapRate", par, "1", kDefaultScrap[k], 0, 1,
                  "probability that a part finished here is scrap"));
  v.push_back(Var(s + "Speed", in, "1", 1, 0.01, 100,
                  "speed factor: a part takes cycleTime / speed (from the next part)"));
  v.push_back(Var(s + "Stopped", in, "1", 0, 0, 1,
                  "1 holds the station down (e.g. the real machine is down) until set to 0"));
  v.push_back(Var(s + "State", out, "1", 0, 0, 4,
                  "0 idle (unused), 1 running, 2 blocked, 3 starved, 4 down"));
  v.push_back(Var(s + "Utilisation", out, "1", 0, 0, 1, "fraction of time running (busy)"));
  v.push_back(Var(s + "BlockedFraction", out, "1", 0, 0, 1,
                  "fraction of time holding a finished part the next buffer cannot take"));
  v.push_back(Var(s + "StarvedFraction", out, "1", 0, 0, 1, "fraction of time waiting for a part"));
  v.push_back(
      Var(s + "DownFraction", out, "1", 0, 0, 1, "fraction of time failed, in repair or stopped"));
  v.push_back(Var(s + "ActiveFraction", out, "1", 0, 0, 1,
                  "running + down fraction; the highest is the bottleneck"));
}

void AddBufferVariables(std::vector<Variable>& v, int b) {
  const std::string s = fmt::format("buffer{}", b + 1);
  v.push_back(Var(s + "Capacity", Causality::kParameter, "1", kDefaultBufferCapacity, 0,
                  kMaxBufferParts,
                  fmt::format("parts the buffer between stations {} and {} holds", b + 1, b + 2)));
  v.push_back(Var(s + "Level", Causality::kState, "1", 0, 0, kMaxBufferParts,
                  "parts in the buffer now; settable to start from a measured line state"));
}

ModelInfo BuildInfo() {
  ModelInfo info{.name = "productionLine"};
  info.description =
      "Discrete-event simulation of a serial production line: up to 8 stations with cycle "
      "times (deterministic or lognormal), finite buffers between them with blocking after "
      "service and starvation, random failures in operating time (exponential, MTBF) and "
      "repairs (exponential, MTTR), and a scrap rate per station. The source never starves "
      "station 1 and the sink never blocks the last. Outputs throughput, WIP, flow time, "
      "per-station utilisation and blocked/starved/down fractions, and the bottleneck station. "
      "Defaults are the demo's Halden Line 1.";
  info.stochastic = true;
  info.variables.reserve(kVariableCount);
  AddGlobalVariables(info.variables);
  for (int k = 0; k < kMaxStations; ++k) AddStationVariables(info.variables, k);
  for (int b = 0; b < kMaxBuffers; ++b) AddBufferVariables(info.variables, b);
  return info;
}

const ModelInfo& Info() {
  static const ModelInfo info = BuildInfo();
  return info;
}

// xoshiro256** seeded through splitmix64: fast, small, trivially copyable (so Clone copies the
// stream exactly) and, unlike std:: distributions, the same on every standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed = 1) {
    for (uint64_t& word : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Exponential(double mean) { return -mean * std::log(1.0 - Uniform()); }
  // Marsaglia's polar method: no trigonometry, and the pair's second value is kept for the next
  // call (part of the copied state, so a clone draws the same). Per cycle-time draw this is
  // about half the cost of Box-Muller.
  double StandardNormal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, q;
    do {
      u = 2.0 * Uniform() - 1.0;
      v = 2.0 * Uniform() - 1.0;
      q = u * u + v * v;
    } while (q >= 1.0 || q == 0.0);
    const double scale = std::sqrt(-2.0 * std::log(q) / q);
    spare_ = v * scale;
    has_spare_ = true;
    return u * scale;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_ = {};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

enum class StationState : uint8_t {
  kIdle = 0,
  kRunning = 1,
  kBlocked = 2,
  kStarved = 3,
  kDown = 4
};
enum class Phase : uint8_t { kEmpty, kWorking, kHolding };  // holding = finished, not yet passed on
enum class EventKind : uint8_t { kNone, kFinish, kFailure, kRepair };

struct Station {
  // The station's own random stream (cycle times, scrap, failures, repairs). One stream per
  // station keeps each station's draws in the same order whatever happens around it, so two
  // scenarios with the same seed differ only by what they change (common random numbers): a
  // what-if comparison then needs far shorter runs to be significant.
  Rng rng;
  // Parameters and inputs.
  double cycle_time_s = 60.0;
  double mtbf_s = 0.0;  // 0 = never fails
  double mttr_s = 0.0;
  double scrap_rate = 0.0;
  double speed = 1.0;
  bool stopped = false;
  // Dynamics. A working station runs in segments between interruptions; work_left_s and
  // ttf_left_s are as of segment_start_s.
  Phase phase = Phase::kEmpty;
  bool failed = false;        // a repair is pending
  double part_entry_s = 0.0;  // when the held part entered station 1
  double work_left_s = 0.0;   // processing time still needed by the held part
  double ttf_left_s = kInf;   // operating time until the next failure
  double segment_start_s = 0.0;
  // The station's one pending event (its next finish, failure or repair).
  double event_s = kInf;
  EventKind event = EventKind::kNone;
  // Statistics: time spent in each StationState since the start.
  StationState state = StationState::kIdle;
  double state_since_s = 0.0;
  std::array<double, 5> time_in_s = {};

  bool down() const { return failed || stopped; }
};

struct Buffer {
  int capacity = static_cast<int>(kDefaultBufferCapacity);
  std::deque<double> entry_s = {};  // when each buffered part entered station 1, oldest first
};

class ProductionLine final : public Simulation {
 public:
  ProductionLine();

  const ModelInfo& info() const override { return Info(); }
  Status Set(std::size_t variable, double value) override;
  double Get(std::size_t variable) const override;
  Status Step(double dt_s) override;
  double time() const override { return now_; }
  void Seed(uint64_t seed) override;
  Result<std::unique_ptr<Simulation>> Clone() const override {
    return std::unique_ptr<Simulation>(std::make_unique<ProductionLine>(*this));
  }

 private:
  // Set, by group; values are already range-checked.
  Status SetGlobal(int field, double value);
  void SetStation(int k, int field, double value);
  void SetBufferLevel(int b, int level);
  double GetGlobal(int field) const;
  double GetStation(int k, int field) const;

  // The event engine.
  void Start();
  int NextEvent() const;
  void Handle(int k);
  void Finish(int k);
  void Fail(int k);
  void Repair(int k);
  void TryStart(int k);
  bool TakeFrom(int b, double& entry_s);
  bool TryPush(int k);
  void Reactivate(int k);
  void Reconcile();
  void Pause(int k);
  void Resume(int k);
  void RedrawClocks(int k);
  double DrawCycleTime(Station& st);
  double DrawTimeToFailure(Station& st) {
    return st.mtbf_s > 0 ? st.rng.Exponential(st.mtbf_s) : kInf;
  }
  void SeedStreams(uint64_t seed) {
    for (int k = 0; k < kMaxStations; ++k) {
      station_[k].rng = Rng(seed + 0x632be59bd9b4e019ULL * static_cast<uint64_t>(k + 1));
    }
  }
  bool HasNext(int k) const { return k + 1 < stations_; }

  // Statistics.
  void ChangeWip(int delta);
  void UpdateStates();
  void FlushStatistics();
  double Fraction(int k, StationState state) const;
  int Bottleneck() const;

  int stations_ = kDefaultStations;
  double cycle_time_cv_ = kDefaultCycleTimeCv;
  double log_sigma_ = 0.0;  // lognormal sigma for cycle_time_cv_
  std::array<Station, kMaxStations> station_;
  std::array<Buffer, kMaxBuffers> buffer_;
  bool started_ = false;
  double now_ = 0.0;
  int64_t good_ = 0;
  int64_t scrap_ = 0;
  int64_t wip_ = 0;
  double wip_area_ = 0.0;  // integral of wip over time
  double wip_since_s_ = 0.0;
  double flow_time_sum_s_ = 0.0;
  int64_t good_at_step_start_ = 0;
  double last_dt_s_ = 0.0;
};

ProductionLine::ProductionLine() {
  for (int k = 0; k < kMaxStations; ++k) {
    Station& st = station_[k];
    st.cycle_time_s = kDefaultCycleTime[k];
    st.mtbf_s = kDefaultMtbf[k];
    st.mttr_s = kDefaultMttr[k];
    st.scrap_rate = kDefaultScrap[k];
  }
  log_sigma_ = std::sqrt(std::log1p(cycle_time_cv_ * cycle_time_cv_));
  SeedStreams(1);
}

// ---- Set / Get ----

Status ProductionLine::Set(std::size_t variable, double value) {
  if (variable >= kVariableCount) {
    return Status::InvalidArgument(
        fmt::format("model 'productionLine' has no variable number {}", variable));
  }
  const Variable& var = Info().variables[variable];
  if (var.causality == Causality::kOutput) {
    return Status::InvalidArgument(fmt::format("{} is an output and cannot be set", var.name));
  }
  if (!std::isfinite(value)) {
    return Status::InvalidArgument(fmt::format("{} = {} is not a finite number", var.name, value));
  }
  if (value < var.min) {
    return Status::InvalidArgument(
        fmt::format("{} = {} is below its minimum {}", var.name, value, var.min));
  }
  if (value > var.max) {
    return Status::InvalidArgument(
        fmt::format("{} = {} is above its maximum {}", var.name, value, var.max));
  }
  const VarRef ref = Decode(variable);
  if (IsWholeNumber(ref) && value != std::floor(value)) {
    return Status::InvalidArgument(fmt::format("{} = {} is not a whole number", var.name, value));
  }
  switch (ref.group) {
    case Group::kGlobal:
      return SetGlobal(ref.field, value);
    case Group::kStation:
      SetStation(ref.unit, ref.field, value);
      break;
    case Group::kBuffer:
      if (ref.field == kCapacity) {
        buffer_[ref.unit].capacity = static_cast<int>(value);
      } else {
        SetBufferLevel(ref.unit, static_cast<int>(value));
      }
      break;
  }
  if (started_) Reconcile();
  return Status::Ok();
}

Status ProductionLine::SetGlobal(int field, double value) {
  if (field == kStations) {
    if (started_ && static_cast<int>(value) != stations_) {
      return Status::InvalidArgument("stations can only be changed before the first step");
    }
    stations_ = static_cast<int>(value);
  } else {  // kCycleTimeCv, the only other settable global
    cycle_time_cv_ = value;
    log_sigma_ = std::sqrt(std::log1p(value * value));
  }
  return Status::Ok();
}

void ProductionLine::SetStation(int k, int field, double value) {
  Station& st = station_[k];
  switch (field) {
    case kCycleTime:
      st.cycle_time_s = value;
      break;
    case kScrapRate:
      st.scrap_rate = value;
      break;
    case kSpeed:
      st.speed = value;
      break;
    case kMtbf:
      st.mtbf_s = value;
      if (started_ && k < stations_) RedrawClocks(k);
      break;
    case kMttr:
      st.mttr_s = value;
      if (started_ && k < stations_) RedrawClocks(k);
      break;
    case kStopped:
      // A running station pauses mid-part; Reconcile restarts it when the stop is lifted.
      if (value != 0 && !st.stopped &&
          (st.event == EventKind::kFinish || st.event == EventKind::kFailure)) {
        Pause(k);
      }
      st.stopped = value != 0;
      break;
    default:
      break;  // outputs never get here
  }
}

// Parts added to a buffer count as having entered the line now; parts removed leave no trace
// (they are neither good nor scrap): this is a correction of the model's state, not production.
void ProductionLine::SetBufferLevel(int b, int level) {
  std::deque<double>& parts = buffer_[b].entry_s;
  const bool counted = started_ && b + 1 < stations_;
  while (static_cast<int>(parts.size()) < level) {
    parts.push_back(now_);
    if (counted) ChangeWip(+1);
  }
  while (static_cast<int>(parts.size()) > level) {
    parts.pop_front();
    if (counted) ChangeWip(-1);
  }
}

double ProductionLine::Get(std::size_t variable) const {
  if (variable >= kVariableCount) return std::numeric_limits<double>::quiet_NaN();
  const VarRef ref = Decode(variable);
  switch (ref.group) {
    case Group::kGlobal:
      return GetGlobal(ref.field);
    case Group::kStation:
      return GetStation(ref.unit, ref.field);
    case Group::kBuffer:
      return ref.field == kCapacity ? buffer_[ref.unit].capacity
                                    : static_cast<double>(buffer_[ref.unit].entry_s.size());
  }
  return 0.0;
}

double ProductionLine::GetGlobal(int field) const {
  const double hours = now_ / 3600.0;
  switch (field) {
    case kStations:
      return stations_;
    case kCycleTimeCv:
      return cycle_time_cv_;
    case kThroughput:
      return hours > 0 ? static_cast<double>(good_) / hours : 0.0;
    case kStepThroughput:
      return last_dt_s_ > 0 ? static_cast<double>(good_ - good_at_step_start_) * 3600.0 / last_dt_s_
                            : 0.0;
    case kGoodCount:
      return static_cast<double>(good_);
    case kScrapCount:
      return static_cast<double>(scrap_);
    case kWip:
      return static_cast<double>(wip_);
    case kAverageWip:
      return now_ > 0 ? wip_area_ / now_ : static_cast<double>(wip_);
    case kMeanFlowTime:
      return good_ > 0 ? flow_time_sum_s_ / static_cast<double>(good_) : 0.0;
    case kBottleneckStation:
      return Bottleneck();
    default:
      return 0.0;
  }
}

double ProductionLine::GetStation(int k, int field) const {
  const Station& st = station_[k];
  switch (field) {
    case kCycleTime:
      return st.cycle_time_s;
    case kMtbf:
      return st.mtbf_s;
    case kMttr:
      return st.mttr_s;
    case kScrapRate:
      return st.scrap_rate;
    case kSpeed:
      return st.speed;
    case kStopped:
      return st.stopped ? 1.0 : 0.0;
    case kState:
      return static_cast<double>(st.state);
    case kUtilisation:
      return Fraction(k, StationState::kRunning);
    case kBlockedFraction:
      return Fraction(k, StationState::kBlocked);
    case kStarvedFraction:
      return Fraction(k, StationState::kStarved);
    case kDownFraction:
      return Fraction(k, StationState::kDown);
    case kActiveFraction:
      return Fraction(k, StationState::kRunning) + Fraction(k, StationState::kDown);
    default:
      return 0.0;
  }
}

// ---- Stepping ----

Status ProductionLine::Step(double dt_s) {
  if (!(dt_s > 0) || !std::isfinite(dt_s)) {
    return Status::InvalidArgument(fmt::format("step of {} s: it must be a positive number", dt_s));
  }
  if (!started_) Start();
  good_at_step_start_ = good_;
  const double end_s = now_ + dt_s;
  for (int k = NextEvent(); k >= 0 && station_[k].event_s <= end_s; k = NextEvent()) {
    now_ = station_[k].event_s;
    Handle(k);
    UpdateStates();
  }
  now_ = end_s;
  FlushStatistics();
  last_dt_s_ = dt_s;
  return Status::Ok();
}

void ProductionLine::Seed(uint64_t seed) {
  SeedStreams(seed);
  // Pending failures and repairs were drawn from the old stream; redraw them (they are
  // exponential, hence memoryless, so the statistics do not change) so that forks reseeded
  // differently diverge at once.
  if (started_) {
    for (int k = 0; k < stations_; ++k) RedrawClocks(k);
  }
}

// The line starts empty unless buffer levels were set: station 1 takes its first part at t = 0.
void ProductionLine::Start() {
  started_ = true;
  wip_ = 0;
  for (int b = 0; b + 1 < stations_; ++b) wip_ += static_cast<int64_t>(buffer_[b].entry_s.size());
  for (int k = 0; k < stations_; ++k) station_[k].ttf_left_s = DrawTimeToFailure(station_[k]);
  Reconcile();
}

// Each station has at most one pending event, so the event list is the stations themselves:
// a scan of <= 8 times beats a heap and cancelling an event is an overwrite. Ties go to the
// most downstream station, so space frees up before the station upstream looks for it.
int ProductionLine::NextEvent() const {
  int next = -1;
  double next_s = kInf;
  for (int k = stations_ - 1; k >= 0; --k) {
    if (station_[k].event_s < next_s) {
      next_s = station_[k].event_s;
      next = k;
    }
  }
  return next;
}

void ProductionLine::Handle(int k) {
  const EventKind kind = station_[k].event;
  station_[k].event = EventKind::kNone;
  station_[k].event_s = kInf;
  switch (kind) {
    case EventKind::kFinish:
      Finish(k);
      break;
    case EventKind::kFailure:
      Fail(k);
      break;
    case EventKind::kRepair:
      Repair(k);
      break;
    case EventKind::kNone:
      break;
  }
}

void ProductionLine::Finish(int k) {
  Station& st = station_[k];
  st.ttf_left_s -= st.work_left_s;
  st.work_left_s = 0.0;
  st.phase = Phase::kHolding;
  if (st.scrap_rate > 0 && st.rng.Uniform() < st.scrap_rate) {
    ++scrap_;
    ChangeWip(-1);
    st.phase = Phase::kEmpty;
    TryStart(k);
    return;
  }
  TryPush(k);
}

// Failures strike only while working (operation-dependent failures): the part stays in the
// station and its remaining work resumes after the repair.
void ProductionLine::Fail(int k) {
  Station& st = station_[k];
  st.work_left_s -= st.ttf_left_s;
  st.ttf_left_s = 0.0;
  st.failed = true;
  st.event = EventKind::kRepair;
  st.event_s = now_ + st.rng.Exponential(st.mttr_s);
}

void ProductionLine::Repair(int k) {
  Station& st = station_[k];
  st.failed = false;
  st.ttf_left_s = DrawTimeToFailure(st);
  Reactivate(k);
}

// Station k, empty, takes its next part: station 1 from the endless source, the others from the
// buffer before them (or straight from the station before a zero-capacity buffer).
void ProductionLine::TryStart(int k) {
  Station& st = station_[k];
  if (st.down() || st.phase != Phase::kEmpty) return;
  // Claim the station before taking a part: TakeFrom may pass the upstream station's part into
  // the buffer, and that TryPush must not see this station as still waiting for one.
  st.phase = Phase::kWorking;
  double entry_s = now_;
  if (k == 0) {
    ChangeWip(+1);
  } else if (!TakeFrom(k - 1, entry_s)) {
    st.phase = Phase::kEmpty;  // starved
    return;
  }
  st.part_entry_s = entry_s;
  st.work_left_s = DrawCycleTime(st);
  Resume(k);
}

// Removes the oldest part between station b and b + 1; the freed space may unblock station b.
bool ProductionLine::TakeFrom(int b, double& entry_s) {
  Station& upstream = station_[b];
  std::deque<double>& parts = buffer_[b].entry_s;
  if (!parts.empty()) {
    entry_s = parts.front();
    parts.pop_front();
    if (upstream.phase == Phase::kHolding && !upstream.down()) TryPush(b);
    return true;
  }
  if (upstream.phase == Phase::kHolding && !upstream.down()) {  // zero-capacity handover
    entry_s = upstream.part_entry_s;
    upstream.phase = Phase::kEmpty;
    TryStart(b);
    return true;
  }
  return false;
}

// Station k, holding a finished good part, passes it on; false if blocked.
bool ProductionLine::TryPush(int k) {
  Station& st = station_[k];
  if (!HasNext(k)) {  // the sink never blocks
    ++good_;
    flow_time_sum_s_ += now_ - st.part_entry_s;
    ChangeWip(-1);
    st.phase = Phase::kEmpty;
    TryStart(k);
    return true;
  }
  Buffer& buffer = buffer_[k];
  Station& next = station_[k + 1];
  const bool next_waiting = next.phase == Phase::kEmpty && !next.down();
  if (static_cast<int>(buffer.entry_s.size()) < buffer.capacity) {
    buffer.entry_s.push_back(st.part_entry_s);
    st.phase = Phase::kEmpty;
    if (next_waiting) TryStart(k + 1);
    TryStart(k);
    return true;
  }
  // A full (or zero-capacity) buffer: a waiting next station takes from it, or from us directly,
  // and that in turn passes our part on (recursively, through TakeFrom).
  if (next_waiting) TryStart(k + 1);
  return st.phase != Phase::kHolding;
}

// Gets a station going again after a repair, a lifted stop or a changed buffer.
void ProductionLine::Reactivate(int k) {
  Station& st = station_[k];
  if (st.down()) return;
  switch (st.phase) {
    case Phase::kWorking:
      if (st.event == EventKind::kNone) Resume(k);
      break;
    case Phase::kHolding:
      TryPush(k);
      break;
    case Phase::kEmpty:
      TryStart(k);
      break;
  }
}

// After an outside change (a stop, a capacity, a level), lets every station act on it,
// downstream first so freed space propagates upstream in one pass.
void ProductionLine::Reconcile() {
  for (int k = stations_ - 1; k >= 0; --k) Reactivate(k);
  UpdateStates();
}

void ProductionLine::Pause(int k) {
  Station& st = station_[k];
  const double worked_s = now_ - st.segment_start_s;
  st.work_left_s -= worked_s;
  st.ttf_left_s -= worked_s;
  st.event = EventKind::kNone;
  st.event_s = kInf;
}

void ProductionLine::Resume(int k) {
  Station& st = station_[k];
  st.segment_start_s = now_;
  if (st.work_left_s <= st.ttf_left_s) {
    st.event = EventKind::kFinish;
    st.event_s = now_ + st.work_left_s;
  } else {
    st.event = EventKind::kFailure;
    st.event_s = now_ + st.ttf_left_s;
  }
}

// New draws for station k's pending failure or repair (after a changed MTBF/MTTR or seed).
void ProductionLine::RedrawClocks(int k) {
  Station& st = station_[k];
  if (st.event == EventKind::kRepair) {
    st.event_s = now_ + st.rng.Exponential(st.mttr_s);
    return;
  }
  const bool running = st.event != EventKind::kNone;
  if (running) Pause(k);
  st.ttf_left_s = DrawTimeToFailure(st);
  if (running) Resume(k);
}

// Lognormal with the station's mean and the line's coefficient of variation: positive, skewed
// towards occasional slow cycles as real cycle times are. exp(sigma z - sigma^2 / 2) has mean 1.
double ProductionLine::DrawCycleTime(Station& st) {
  const double mean_s = st.cycle_time_s / st.speed;
  if (log_sigma_ <= 0) return mean_s;
  return mean_s * std::exp(log_sigma_ * st.rng.StandardNormal() - 0.5 * log_sigma_ * log_sigma_);
}

// ---- Statistics ----

void ProductionLine::ChangeWip(int delta) {
  wip_area_ += static_cast<double>(wip_) * (now_ - wip_since_s_);
  wip_since_s_ = now_;
  wip_ += delta;
}

void ProductionLine::UpdateStates() {
  for (int k = 0; k < stations_; ++k) {
    Station& st = station_[k];
    StationState state = StationState::kStarved;
    if (st.down()) {
      state = StationState::kDown;
    } else if (st.phase == Phase::kWorking) {
      state = StationState::kRunning;
    } else if (st.phase == Phase::kHolding) {
      state = StationState::kBlocked;
    }
    if (state == st.state) continue;
    st.time_in_s[static_cast<int>(st.state)] += now_ - st.state_since_s;
    st.state_since_s = now_;
    st.state = state;
  }
}

void ProductionLine::FlushStatistics() {
  ChangeWip(0);
  for (Station& st : station_) {
    st.time_in_s[static_cast<int>(st.state)] += now_ - st.state_since_s;
    st.state_since_s = now_;
  }
}

double ProductionLine::Fraction(int k, StationState state) const {
  return now_ > 0 ? station_[k].time_in_s[static_cast<int>(state)] / now_ : 0.0;
}

// The station that is active (running or down: neither waiting for a part nor for space) the
// largest share of the time constrains the line; on a tie, the most upstream one.
int ProductionLine::Bottleneck() const {
  if (now_ <= 0) return 0;
  int best = 0;
  double best_active = -1.0;
  for (int k = 0; k < stations_; ++k) {
    const double active = Fraction(k, StationState::kRunning) + Fraction(k, StationState::kDown);
    if (active > best_active + 1e-9) {
      best_active = active;
      best = k + 1;
    }
  }
  return best;
}

}  // namespace

ModelInfo ProductionLineInfo() { return Info(); }

std::unique_ptr<Simulation> NewProductionLine() { return std::make_unique<ProductionLine>(); }

}  // namespace doppel::sim
