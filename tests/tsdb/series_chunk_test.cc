#include "tsdb/series_chunk.h"

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "tsdb/internal/crc32c.h"

namespace doppel::tsdb {
namespace {

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

SeriesChunk SealPoints(ValueType type, const std::vector<Point>& points) {
  HeadChunk head(type);
  for (const Point& p : points) head.Append(p.time, p.value);
  return head.Seal();
}

std::vector<Point> Decoded(const SeriesChunk& c) {
  std::vector<Point> out;
  EXPECT_TRUE(c.Decode(&out).ok());
  return out;
}

TEST(HeadChunk, EqualTimeOverwritesTheNewestPoint) {
  HeadChunk head(ValueType::kDouble);
  EXPECT_TRUE(head.empty());
  head.Append(10, 1.0);
  head.Append(20, 2.0);
  head.Append(20, 3.0);
  EXPECT_EQ(head.count(), 2u);
  EXPECT_EQ(head.min_time(), 10);
  EXPECT_EQ(head.last_time(), 20);
  EXPECT_EQ(head.Points(), (std::vector<Point>{{10, 1.0}, {20, 3.0}}));
  SeriesChunk c = head.Seal();
  EXPECT_TRUE(head.empty());
  EXPECT_EQ(Decoded(c), (std::vector<Point>{{10, 1.0}, {20, 3.0}}));
}

TEST(SeriesChunk, RoundTripsEveryValueType) {
  const std::vector<std::pair<ValueType, std::vector<Point>>> cases = {
      {ValueType::kDouble, {{-5, -0.0}, {0, std::numeric_limits<double>::infinity()}, {7, 1e-310}}},
      {ValueType::kInt64, {{1, std::numeric_limits<int64_t>::min()}, {2, int64_t{0}}, {3, int64_t{42}}}},
      {ValueType::kBool, {{1, true}, {2, true}, {3, false}}},
      {ValueType::kString, {{1, std::string("Idle")}, {2, std::string("Running")}, {3, std::string("Idle")}}},
  };
  for (const auto& [type, points] : cases) {
    SeriesChunk sealed = SealPoints(type, points);
    Result<SeriesChunk> parsed = SeriesChunk::Parse(sealed.bytes());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->header().type, type);
    EXPECT_EQ(parsed->header().count, 3u);
    EXPECT_EQ(parsed->header().min_time, points.front().time);
    EXPECT_EQ(parsed->header().max_time, points.back().time);
    EXPECT_EQ(Decoded(*parsed), points);
  }
}

TEST(SeriesChunk, NanRoundTripsBitExactly) {
  const double nan = std::bit_cast<double>(0xFFF8000000000123ull);
  SeriesChunk c = SealPoints(ValueType::kDouble, {{1, nan}, {2, 1.0}});
  std::vector<TimeNs> times;
  std::vector<double> values;
  ASSERT_TRUE(SeriesChunk::Parse(c.bytes()).value().DecodeNumeric(&times, &values).ok());
  EXPECT_EQ(std::bit_cast<uint64_t>(values[0]), 0xFFF8000000000123ull);
}

TEST(SeriesChunk, HeaderStatsMatchTheValues) {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> noise(20, 5);
  std::vector<Point> points;
  double sum = 0, mn = 1e9, mx = -1e9;
  for (int i = 0; i < 500; ++i) {
    const double v = noise(rng);
    points.push_back({i * 1000LL, v});
    sum += v, mn = std::min(mn, v), mx = std::max(mx, v);
  }
  const double mean = sum / 500;
  double m2 = 0;
  for (const Point& p : points) m2 += (std::get<double>(p.value) - mean) * (std::get<double>(p.value) - mean);
  const ChunkStats s = SealPoints(ValueType::kDouble, points).header().stats;
  EXPECT_DOUBLE_EQ(s.min, mn);
  EXPECT_DOUBLE_EQ(s.max, mx);
  EXPECT_NEAR(s.sum, sum, 1e-9);
  EXPECT_NEAR(s.m2, m2, 1e-6);
  EXPECT_EQ(s.first, std::get<double>(points.front().value));
  EXPECT_EQ(s.last, std::get<double>(points.back().value));
}

// The version-1 layout of docs/format/tsdb.md, byte for byte. If this fails, the format changed:
// bump kChunkFormatVersion and keep a reader for version 1.
TEST(SeriesChunk, GoldenBytesVersion1) {
  SeriesChunk c = SealPoints(ValueType::kDouble, {{1000, 1.0}, {2000, 1.0}, {3000, 2.0}});
  EXPECT_EQ(Hex(c.bytes()),
            "01"                                // version
            "00"                                // value type: double
            "03000000"                          // count
            "e803000000000000"                  // min time 1000
            "b80b000000000000"                  // max time 3000
            "000000000000f03f"                  // stats: min 1.0
            "0000000000000040"                  //        max 2.0
            "0000000000001040"                  //        sum 4.0
            "565555555555e53f"                  //        m2 0.666...
            "000000000000f03f"                  //        first 1.0
            "0000000000000040"                  //        last 2.0
            "0b000000"                          // time column: 11 bytes
            "00000000000003e8"                  //   1000 raw, big-endian bits
            "e7d000"                            //   1110 + zigzag(1000) in 12 bits, then 0 (dod 0)
            "0c000000"                          // value column: 12 bytes
            "01" "00"                           //   scheme 1 (decimal), 0 digits
            "0000000000000001"                  //   k = 1 raw
            "4080"                              //   0 (delta 0), 10 + zigzag(1) in 7 bits
            "71faf651");                        // CRC-32C of all the above
}

TEST(SeriesChunk, EveryTruncationIsAnError) {
  const std::string bytes = SealPoints(ValueType::kString, {{1, std::string("a")}, {5, std::string("b")}}).bytes();
  for (size_t len = 0; len < bytes.size(); ++len) {
    Result<SeriesChunk> r = SeriesChunk::Parse(bytes.substr(0, len));
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("corrupt chunk"), std::string::npos);
  }
}

TEST(SeriesChunk, EveryBitFlipIsAnError) {
  std::vector<Point> points;
  for (int i = 0; i < 50; ++i) points.push_back({i * 10LL, i * 0.5});
  const std::string bytes = SealPoints(ValueType::kDouble, points).bytes();
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string flipped = bytes;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(SeriesChunk::Parse(flipped).ok()) << "bit " << bit;
  }
}

// Damage behind a valid checksum (a bug, or a crafted file) is an error when decoding.
Status ParseAndDecode(const std::string& bytes) {
  Result<SeriesChunk> chunk = SeriesChunk::Parse(bytes);
  if (!chunk.ok()) return chunk.status();
  std::vector<Point> points;
  return chunk->Decode(&points);
}

std::string Reseal(std::string b) {
  b.resize(b.size() - 4);
  const uint32_t crc = internal::Crc32c({reinterpret_cast<const uint8_t*>(b.data()), b.size()});
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>(crc >> (8 * i)));
  return b;
}

TEST(SeriesChunk, InconsistentContentWithValidChecksumIsAnError) {
  const std::string bytes = SealPoints(ValueType::kInt64, {{1, int64_t{1}}, {2, int64_t{2}}}).bytes();
  ASSERT_TRUE(ParseAndDecode(bytes).ok());
  std::string more = bytes;
  more[2] = 9;  // count 9, but only 2 values encoded
  EXPECT_EQ(ParseAndDecode(Reseal(more)).code(), StatusCode::kInvalidArgument);
  std::string version = bytes;
  version[0] = 2;
  const Status st = ParseAndDecode(Reseal(version));
  EXPECT_NE(st.message().find("unsupported version 2"), std::string::npos) << st.ToString();
  std::string max_time = bytes;
  max_time[14] = 7;  // header max time disagrees with the time column
  EXPECT_NE(ParseAndDecode(Reseal(max_time)).message().find("times disagree"), std::string::npos);
  std::string bad_type = bytes;
  bad_type[1] = 9;
  EXPECT_NE(ParseAndDecode(Reseal(bad_type)).message().find("value type"), std::string::npos);
}

// Random garbage, with or without a valid checksum, never crashes the reader.
TEST(SeriesChunk, RandomBytesAreRejectedOrDecodeCleanly) {
  std::mt19937_64 rng(11);
  const std::vector<std::string> goods = {
      SealPoints(ValueType::kDouble, {{1, 1.5}, {3, 2.5}, {9, -1.0}}).bytes(),
      SealPoints(ValueType::kInt64, {{1, int64_t{4}}, {3, int64_t{-9}}, {9, int64_t{1} << 40}}).bytes(),
      SealPoints(ValueType::kBool, {{1, true}, {3, false}, {9, false}}).bytes(),
      SealPoints(ValueType::kString, {{1, std::string("a")}, {9, std::string("b")}}).bytes(),
  };
  for (int i = 0; i < 20000; ++i) {
    std::string b = goods[i % goods.size()];
    for (int k = 0; k < 3; ++k) b[rng() % b.size()] = static_cast<char>(rng());
    const Status st = ParseAndDecode(Reseal(b));
    if (!st.ok()) {
      EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace doppel::tsdb
