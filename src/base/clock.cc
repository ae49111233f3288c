#include "base/clock.h"

#include <cstdio>
#include <ctime>
#include <limits>

#include <fmt/format.h>

namespace doppel {

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

std::string FormatRfc3339(TimePoint t) {
  using namespace std::chrono;
  auto secs = floor<seconds>(t);
  auto frac = duration_cast<nanoseconds>(t - secs).count() / 100;  // 100 ns ticks
  std::time_t tt = system_clock::to_time_t(time_point_cast<system_clock::duration>(secs));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

namespace {

bool Digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

Result<TimePoint> ParseRfc3339(std::string_view s) {
  using namespace std::chrono;
  auto bad = [&] { return Status::InvalidArgument(fmt::format("'{}' is not an RFC 3339 date-time", s)); };
  int y, mo, d, h, mi, sec;
  if (!Digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, h) || s[13] != ':' || !Digits(s, 14, 2, mi) || s[16] != ':' ||
      !Digits(s, 17, 2, sec)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60) return bad();
  year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad();
  std::size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, om)) {
      return bad();
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  // A TimePoint counts nanoseconds in an int64 (1677-09-21 to 2262-04-11): add up in seconds
  // first, which no four-digit year overflows, and refuse what does not fit rather than wrap.
  const int64_t secs =
      (sys_days(ymd) + hours(h) + minutes(mi) + seconds(sec) - minutes(offset_minutes)).time_since_epoch().count();
  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  if (secs < -kMaxSeconds || secs > kMaxSeconds) {
    return Status::InvalidArgument(
        fmt::format("'{}' is outside the times Doppel can represent (1678 to 2261)", s));
  }
  return TimePoint(nanoseconds(secs * 1'000'000'000 + nanos));
}

}  // namespace doppel
