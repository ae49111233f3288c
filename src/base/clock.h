// Time is injected: domain code takes a Clock& and never reads the wall clock itself, so the
// same code runs in real time, faster than real time, or single-stepped in a test.
#pragma once

#include <chrono>
#include <string>

#include "base/status.h"

namespace doppel {

using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
  static SystemClock& Instance();
};

// A clock that moves only when told to (tests, simulation).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::seconds(1'700'000'000)))
      : now_(start) {}
  TimePoint Now() const override { return now_; }
  void Advance(std::chrono::nanoseconds d) { now_ += d; }
  void Set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

// "2026-11-25T19:34:17.1234567Z" — RFC 3339 in UTC with 7 fractional digits, as ADT writes.
std::string FormatRfc3339(TimePoint t);
// Parses RFC 3339 / ISO 8601 date-times with a zone ("Z" or ±hh:mm).
Result<TimePoint> ParseRfc3339(std::string_view text);

}  // namespace doppel
