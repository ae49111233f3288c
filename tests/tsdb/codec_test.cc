#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "tsdb/internal/bit_stream.h"
#include "tsdb/internal/crc32c.h"
#include "tsdb/internal/double_column.h"
#include "tsdb/internal/gorilla.h"
#include "tsdb/internal/run_length.h"

namespace doppel::tsdb::internal {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

TEST(BitStream, WritesAndReadsEveryWidth) {
  BitWriter w;
  std::mt19937_64 rng(1);
  std::vector<std::pair<uint64_t, int>> written;
  for (int i = 0; i < 2000; ++i) {
    const int n = 1 + static_cast<int>(rng() % 64);
    const uint64_t v = LowBits(rng(), n);
    w.Write(v, n);
    written.emplace_back(v, n);
  }
  const std::vector<uint8_t> bytes = w.Bytes();
  EXPECT_EQ(bytes.size(), (w.bit_count() + 7) / 8);
  BitReader r(bytes);
  for (const auto& [v, n] : written) {
    uint64_t got;
    ASSERT_TRUE(r.Read(n, &got));
    EXPECT_EQ(got, v);
  }
}

TEST(BitStream, PacksMostSignificantBitFirst) {
  BitWriter w;
  w.Write(0b101, 3);
  w.Write(0b1, 1);
  EXPECT_EQ(w.Bytes(), std::vector<uint8_t>{0b10110000});
}

TEST(BitStream, ReadPastEndFails) {
  const std::vector<uint8_t> bytes{0xFF};
  BitReader r(bytes);
  uint64_t v;
  EXPECT_TRUE(r.Read(5, &v));
  EXPECT_FALSE(r.Read(4, &v));
  EXPECT_TRUE(r.Read(3, &v));
  EXPECT_EQ(v, 7u);
  bool bit;
  EXPECT_FALSE(r.ReadBit(&bit));
}

std::vector<int64_t> RoundTrip(const std::vector<int64_t>& in) {
  DeltaOfDeltaEncoder e;
  for (int64_t v : in) e.Append(v);
  std::vector<int64_t> out;
  EXPECT_TRUE(DecodeDeltaOfDelta(e.Bytes(), in.size(), &out));
  return out;
}

TEST(DeltaOfDelta, RegularTimestampsCostOneBitEach) {
  std::vector<int64_t> ts;
  for (int i = 0; i < 1000; ++i) ts.push_back(1'700'000'000'000'000'000 + i * 1'000'000'000LL);
  DeltaOfDeltaEncoder e;
  for (int64_t t : ts) e.Append(t);
  // 64 bits raw + the first delta (64-bit escape) + 1 bit per later point.
  EXPECT_LE(e.Bytes().size(), (64 + 69 + 998 + 7) / 8u);
  EXPECT_EQ(RoundTrip(ts), ts);
}

TEST(DeltaOfDelta, EqualDecreasingAndExtremeValues) {
  const std::vector<std::vector<int64_t>> cases = {
      {5},
      {7, 7, 7, 7},
      {100, 90, 80, 85, -3, -3, 0},
      {kMin, kMax, kMin, 0, kMax, kMax, kMin + 1, -1},
      {0, 1, 3, 6, 10, 1 << 20, (1LL << 40), -(1LL << 40), 64, 65, 320, 4000},
  };
  for (const auto& c : cases) EXPECT_EQ(RoundTrip(c), c);
}

TEST(DeltaOfDelta, EveryPrefixBoundary) {
  std::vector<int64_t> v{0};
  for (int64_t dod : std::initializer_list<int64_t>{63LL, 64LL, 65LL, 255LL, 256LL, 257LL, 2047LL, 2048LL, 2049LL, (1LL << 31), (1LL << 31) + 1,
                      -(1LL << 31), -(1LL << 31) - 1, kMax / 4}) {
    v.push_back(v.back() + dod);
    v.push_back(v.back() - dod);
  }
  EXPECT_EQ(RoundTrip(v), v);
}

TEST(DeltaOfDelta, RandomizedRoundTrips) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::vector<int64_t> v;
    const int n = 1 + static_cast<int>(rng() % 300);
    const int scale = static_cast<int>(rng() % 64);
    int64_t t = static_cast<int64_t>(rng());
    for (int i = 0; i < n; ++i) {
      t += static_cast<int64_t>(rng() >> scale) - static_cast<int64_t>(rng() >> scale);  // wraps by design
      v.push_back(rng() % 17 == 0 ? static_cast<int64_t>(rng()) : t);
    }
    ASSERT_EQ(RoundTrip(v), v) << "round " << round;
  }
}

TEST(DeltaOfDelta, TruncatedInputFails) {
  DeltaOfDeltaEncoder e;
  for (int64_t v : std::initializer_list<int64_t>{1, 5, 1000, -7000000000LL}) e.Append(v);
  std::vector<uint8_t> bytes = e.Bytes();
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::vector<int64_t> out;
    EXPECT_FALSE(DecodeDeltaOfDelta(std::span(bytes).first(len), 4, &out)) << len;
  }
}

void ExpectBitsEqual(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(a[i]), std::bit_cast<uint64_t>(b[i])) << "index " << i;
  }
}

std::vector<double> RoundTrip(const std::vector<double>& in) {
  XorEncoder e;
  for (double v : in) e.Append(v);
  std::vector<double> out;
  EXPECT_TRUE(DecodeXor(e.Bytes(), in.size(), &out));
  return out;
}

TEST(Xor, SpecialValuesRoundTripBitExactly) {
  using L = std::numeric_limits<double>;
  const std::vector<double> v = {0.0, -0.0, L::quiet_NaN(), -L::quiet_NaN(), std::bit_cast<double>(0x7FF0000000000ABCull),
                                 L::infinity(), -L::infinity(), L::denorm_min(), -L::denorm_min(), L::min() / 3,
                                 L::max(), L::lowest(), L::epsilon(), 1.0, 1.0, 1.0, -0.0, 0.0, 21.37, 21.38};
  ExpectBitsEqual(RoundTrip(v), v);
}

// The XOR bit layout of docs/format/tsdb.md, pinned.
TEST(Xor, GoldenBytes) {
  XorEncoder e;
  for (double v : {1.0, 1.0, 2.0}) e.Append(v);
  // 1.0 raw; 0 (same); 11, leading 00001, length 001011, the 11 meaningful bits of 0x7ff0...
  EXPECT_EQ(e.Bytes(), (std::vector<uint8_t>{0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x61, 0x2f, 0xff, 0x80}));
}

TEST(Xor, RepeatedValuesCostOneBitEach) {
  XorEncoder e;
  for (int i = 0; i < 800; ++i) e.Append(42.5);
  EXPECT_EQ(e.Bytes().size(), (64 + 799 + 7) / 8u);
}

TEST(Xor, RandomizedRoundTrips) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 1);
  for (int round = 0; round < 200; ++round) {
    std::vector<double> v;
    const int n = 1 + static_cast<int>(rng() % 500);
    double x = noise(rng) * 100;
    for (int i = 0; i < n; ++i) {
      switch (rng() % 4) {
        case 0: v.push_back(std::bit_cast<double>(rng())); break;  // any bit pattern, NaNs included
        case 1: v.push_back(std::round((x += noise(rng)) * 100) / 100); break;
        case 2: v.push_back(x); break;
        default: v.push_back(noise(rng)); break;
      }
    }
    ExpectBitsEqual(RoundTrip(v), v);
  }
}

TEST(Xor, TruncatedInputFails) {
  XorEncoder e;
  for (double v : {1.5, 2.25, 1e300, -3.0}) e.Append(v);
  std::vector<uint8_t> bytes = e.Bytes();
  for (size_t len = 0; len + 1 < bytes.size(); ++len) {
    std::vector<double> out;
    EXPECT_FALSE(DecodeXor(std::span(bytes).first(len), 4, &out)) << len;
  }
}

TEST(DeltaOfDelta, FirstOrderRoundTrips) {
  std::mt19937_64 rng(8);
  std::vector<int64_t> v;
  for (int i = 0; i < 1000; ++i) v.push_back(i % 50 == 0 ? static_cast<int64_t>(rng()) : static_cast<int64_t>(rng() % 9) - 4);
  v.push_back(kMin);
  v.push_back(kMax);
  DeltaOfDeltaEncoder e(/*second_order=*/false);
  for (int64_t x : v) e.Append(x);
  std::vector<int64_t> out;
  ASSERT_TRUE(DecodeDeltaOfDelta(e.Bytes(), v.size(), &out, /*second_order=*/false));
  EXPECT_EQ(out, v);
}

TEST(DoubleColumn, FindsTheSensorResolution) {
  EXPECT_EQ(DecimalDigits(std::vector<double>{1, -2, 1e15}), 0);
  EXPECT_EQ(DecimalDigits(std::vector<double>{21.37, 21.4, -0.01}), 2);
  EXPECT_EQ(DecimalDigits(std::vector<double>{0.1 + 0.2}), std::nullopt);  // 0.30000000000000004
  EXPECT_EQ(DecimalDigits(std::vector<double>{1.0, -0.0}), std::nullopt);  // -0.0 must stay -0.0
  EXPECT_EQ(DecimalDigits(std::vector<double>{1.0, std::numeric_limits<double>::quiet_NaN()}), std::nullopt);
  EXPECT_EQ(DecimalDigits(std::vector<double>{1e17}), std::nullopt);  // beyond 2^53
}

std::vector<double> ColumnRoundTrip(const std::vector<double>& v, uint8_t* scheme) {
  XorEncoder x;
  for (double d : v) x.Append(d);
  const std::vector<uint8_t> bytes = EncodeDoubleColumn(v, x.Bytes());
  *scheme = bytes[0];
  std::vector<double> out;
  EXPECT_TRUE(DecodeDoubleColumn(bytes, v.size(), &out));
  return out;
}

TEST(DoubleColumn, RoundTripsBitExactlyInEitherScheme) {
  std::mt19937_64 rng(12);
  std::normal_distribution<double> noise(0, 1);
  for (int round = 0; round < 200; ++round) {
    const int digits = static_cast<int>(rng() % 7);
    const double scale = std::pow(10.0, digits);
    std::vector<double> v;
    double level = noise(rng) * 1000;
    for (int i = 0; i < 300; ++i) v.push_back(std::round((level += noise(rng)) * scale) / scale);
    if (round % 4 == 0) v[rng() % v.size()] = std::bit_cast<double>(rng());  // forces XOR
    uint8_t scheme;
    ExpectBitsEqual(ColumnRoundTrip(v, &scheme), v);
    if (round % 4 != 0 && digits >= 1 && digits <= 3) {  // elsewhere XOR may be the smaller
      EXPECT_EQ(scheme, 1) << "round " << round << " digits " << digits;
    }
  }
}

// The head's streaming encoder must give exactly the values back and exactly the column the
// sealer would write from them, through widening digits and the switch to XOR.
void ExpectHeadEncoderMatches(const std::vector<double>& v) {
  DoubleHeadEncoder head;
  XorEncoder x;
  for (double d : v) head.Append(d), x.Append(d);
  EXPECT_EQ(head.count(), v.size());
  ExpectBitsEqual(head.Values(), v);
  EXPECT_EQ(head.Column(), EncodeDoubleColumn(v, x.Bytes()));
}

TEST(DoubleHeadEncoder, WidensDigitsAndFallsBackToXor) {
  ExpectHeadEncoderMatches({});
  ExpectHeadEncoderMatches({21.0, 21.5, 21.55, 21.555, 21.5555, -3.0});  // widens 0 -> 4 digits
  ExpectHeadEncoderMatches({1.5, 2.5, std::numeric_limits<double>::quiet_NaN(), 3.5});
  ExpectHeadEncoderMatches({1.0, -0.0, 2.0});
  ExpectHeadEncoderMatches({0.25, std::numeric_limits<double>::infinity(), 0.5});
  ExpectHeadEncoderMatches({1.0, std::numeric_limits<double>::denorm_min()});
  ExpectHeadEncoderMatches({4e15, 4e15 + 1, 0.5});  // 0.5 needs a digit: 4e16 overflows 2^53
  ExpectHeadEncoderMatches({0.1 + 0.2, 1.0});       // no d at all from the start
}

TEST(DoubleHeadEncoder, RandomizedAgainstTheSealer) {
  std::mt19937_64 rng(99);
  std::normal_distribution<double> noise(0, 1);
  for (int round = 0; round < 200; ++round) {
    std::vector<double> v;
    double level = noise(rng) * 100;
    int digits = static_cast<int>(rng() % 4);
    for (int i = 0; i < 200; ++i) {
      if (rng() % 50 == 0) digits = std::min(digits + 1, 7);  // 7 digits fit no d
      const double scale = std::pow(10.0, digits);
      v.push_back(std::round((level += noise(rng)) * scale) / scale);
    }
    if (round % 5 == 0) v[rng() % v.size()] = std::bit_cast<double>(rng());
    ExpectHeadEncoderMatches(v);
  }
}

TEST(DoubleColumn, RejectsCorruptInput) {
  std::vector<double> out;
  EXPECT_FALSE(DecodeDoubleColumn({}, 1, &out));
  EXPECT_FALSE(DecodeDoubleColumn(std::vector<uint8_t>{7, 0}, 1, &out));     // unknown scheme
  EXPECT_FALSE(DecodeDoubleColumn(std::vector<uint8_t>{1, 9, 0}, 1, &out));  // 9 digits
  EXPECT_FALSE(DecodeDoubleColumn(std::vector<uint8_t>{1, 2, 0}, 1, &out));  // truncated
}

TEST(BoolRuns, RoundTripsAndCompressesRuns) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 100; ++round) {
    std::vector<bool> v;
    bool b = rng() & 1;
    const int n = 1 + static_cast<int>(rng() % 1000);
    for (int i = 0; i < n; ++i) {
      if (rng() % 50 == 0) b = !b;
      v.push_back(b);
    }
    BoolRunEncoder e;
    for (bool x : v) e.Append(x);
    std::vector<bool> out;
    ASSERT_TRUE(DecodeBoolRuns(e.Bytes(), v.size(), &out));
    EXPECT_EQ(out, v);
  }
  BoolRunEncoder e;
  for (int i = 0; i < 1000; ++i) e.Append(true);
  EXPECT_EQ(e.Bytes(), (std::vector<uint8_t>{1, 0xE8, 0x07}));  // true, one run of 1000
}

TEST(BoolRuns, RejectsCorruptRuns) {
  std::vector<bool> out;
  EXPECT_FALSE(DecodeBoolRuns(std::vector<uint8_t>{2, 1}, 1, &out));     // bad first value
  EXPECT_FALSE(DecodeBoolRuns(std::vector<uint8_t>{1, 5}, 3, &out));     // run past count
  EXPECT_FALSE(DecodeBoolRuns(std::vector<uint8_t>{1, 0}, 3, &out));     // empty run
  EXPECT_FALSE(DecodeBoolRuns(std::vector<uint8_t>{1, 1}, 3, &out));     // runs too short
  EXPECT_FALSE(DecodeBoolRuns(std::vector<uint8_t>{1, 3, 9}, 3, &out));  // trailing bytes
}

TEST(StringDict, RoundTripsWithDictionaryAndRuns) {
  std::mt19937_64 rng(5);
  const std::vector<std::string> states = {"Running", "Idle", "", "Fault: überhitzt", std::string(300, 'x')};
  for (int round = 0; round < 100; ++round) {
    std::vector<std::string> v;
    const int n = 1 + static_cast<int>(rng() % 500);
    size_t s = rng() % states.size();
    for (int i = 0; i < n; ++i) {
      if (rng() % 20 == 0) s = rng() % states.size();
      v.push_back(states[s]);
    }
    StringDictEncoder e;
    for (const auto& x : v) e.Append(x);
    std::vector<std::string> out;
    ASSERT_TRUE(DecodeStringDict(e.Bytes(), v.size(), &out));
    EXPECT_EQ(out, v);
  }
  StringDictEncoder e;
  for (const char* s : {"on", "on", "off", "on"}) e.Append(s);
  EXPECT_EQ(e.Bytes(), (std::vector<uint8_t>{2, 2, 'o', 'n', 3, 'o', 'f', 'f', 0, 2, 1, 1, 0, 1}));
}

TEST(StringDict, RejectsCorruptInput) {
  std::vector<std::string> out;
  EXPECT_FALSE(DecodeStringDict(std::vector<uint8_t>{1, 2, 'o', 'n', 1, 1}, 1, &out));  // index out of range
  EXPECT_FALSE(DecodeStringDict(std::vector<uint8_t>{1, 9, 'o', 'n'}, 1, &out));        // string past end
  EXPECT_FALSE(DecodeStringDict(std::vector<uint8_t>{200, 1}, 1, &out));                // huge dictionary
}

TEST(Crc32c, KnownVector) {
  const std::string s = "123456789";
  EXPECT_EQ(Crc32c({reinterpret_cast<const uint8_t*>(s.data()), s.size()}), 0xE3069283u);
  EXPECT_EQ(Crc32cPortableForTest({reinterpret_cast<const uint8_t*>(s.data()), s.size()}), 0xE3069283u);
}

TEST(Crc32c, HardwareAndTableAgreeOnEveryLength) {
  std::mt19937_64 rng(2);
  std::vector<uint8_t> data(300);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t n = 0; n <= data.size(); ++n) {
    EXPECT_EQ(Crc32c(std::span(data).first(n)), Crc32cPortableForTest(std::span(data).first(n))) << n;
  }
}

}  // namespace
}  // namespace doppel::tsdb::internal
