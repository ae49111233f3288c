#include "ingest/line_protocol.h"

#include "support/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <random>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace doppel::ingest {
namespace {

using tsdb::Value;

constexpr tsdb::TimeNs kNow = 1'732'525'200'000'000'000;

LineProtocolOptions Options(Precision precision = Precision::kNanoseconds) {
  LineProtocolOptions options;
  options.precision = precision;
  options.now = kNow;
  return options;
}

std::vector<Reading> Parse(std::string_view body, const LineProtocolOptions& options = Options()) {
  std::vector<Reading> out;
  Status status = ParseLineProtocol(body, options, out);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

// The one reading a one-field body yields.
Reading ParseOne(std::string_view body, const LineProtocolOptions& options = Options()) {
  std::vector<Reading> out = Parse(body, options);
  EXPECT_EQ(out.size(), 1u) << body;
  return out.empty() ? Reading{} : out[0];
}

Value ValueOf(std::string_view body) { return ParseOne(body).value; }

// The error message of a body that must fail; also checks that nothing was appended.
std::string ErrorOf(std::string_view body, const LineProtocolOptions& options = Options()) {
  std::vector<Reading> out;
  Status status = ParseLineProtocol(body, options, out);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << body;
  EXPECT_TRUE(out.empty()) << body;
  return status.message();
}

// ---- Shape and mapping ------------------------------------------------------------------------

TEST(LineProtocolTest, ParsesTheHeaderExample) {
  auto out = Parse(
      "weather,twin=kr-wtg-01,component=nacelle temperature=21.5,vibration=0.02 "
      "1732525200000000000");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].twin_id, "kr-wtg-01");
  EXPECT_EQ(out[0].path, "nacelle/temperature");
  EXPECT_EQ(out[0].time, 1732525200000000000);
  EXPECT_EQ(out[0].value, Value(21.5));
  EXPECT_EQ(out[1].twin_id, "kr-wtg-01");
  EXPECT_EQ(out[1].path, "nacelle/vibration");
  EXPECT_EQ(out[1].value, Value(0.02));
}

TEST(LineProtocolTest, MeasurementIsTheTwinWithoutTheTwinTag) {
  Reading r = ParseOne("pump-1,site=north flow=3 5");
  EXPECT_EQ(r.twin_id, "pump-1");
  EXPECT_EQ(r.path, "flow");
  EXPECT_EQ(r.time, 5);
}

TEST(LineProtocolTest, TagNamesAreConfigurable) {
  LineProtocolOptions options = Options();
  options.twin_tag = "host";
  options.component_tag = "part";
  Reading r = ParseOne("cpu,twin=ignored,host=srv-1,part=core0 load=0.5 1", options);
  EXPECT_EQ(r.twin_id, "srv-1");
  EXPECT_EQ(r.path, "core0/load");
}

TEST(LineProtocolTest, TagOrderDoesNotMatterAndOtherTagsAreIgnored) {
  Reading r = ParseOne("m,component=c,a=1,twin=t,z=9 f=1 1");
  EXPECT_EQ(r.twin_id, "t");
  EXPECT_EQ(r.path, "c/f");
}

TEST(LineProtocolTest, FieldsKeepTheirOrderAndDuplicatesAreAllEmitted) {
  auto out = Parse("m a=1,b=2,a=3 7");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].path, "a");
  EXPECT_EQ(out[1].path, "b");
  EXPECT_EQ(out[2].path, "a");
  EXPECT_EQ(out[2].value, Value(3.0));  // the later one: the store keeps the last
}

TEST(LineProtocolTest, AppendsAfterExistingReadingsInInputOrder) {
  std::vector<Reading> out(1);
  out[0].twin_id = "earlier";
  ASSERT_TRUE(ParseLineProtocol("a x=1 1\nb y=2 2\nc z=3 3", Options(), out).ok());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].twin_id, "earlier");
  EXPECT_EQ(out[1].twin_id, "a");
  EXPECT_EQ(out[2].twin_id, "b");
  EXPECT_EQ(out[3].twin_id, "c");
  EXPECT_EQ(out[3].time, 3);
}

TEST(LineProtocolTest, BlankLinesCommentsCrlfAndTrailingWhitespaceAreFine) {
  auto out = Parse(
      "# a comment\r\n"
      "\r\n"
      "   \n"
      "  # an indented comment\n"
      "m x=1 10\r\n"
      "m y=2 20   \t\r\n"
      "m z=3   \n"
      "m,t=1   w=4    30\n");
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].time, 10);
  EXPECT_EQ(out[1].time, 20);
  EXPECT_EQ(out[1].value, Value(2.0));
  EXPECT_EQ(out[2].time, kNow);
  EXPECT_EQ(out[3].time, 30);
}

TEST(LineProtocolTest, EmptyBodyYieldsNothing) {
  EXPECT_TRUE(Parse(std::string_view()).empty());
  EXPECT_TRUE(Parse("").empty());
  EXPECT_TRUE(Parse("\n\n# only comments\n").empty());
}

TEST(LineProtocolTest, MissingTimestampMeansNow) {
  EXPECT_EQ(ParseOne("m x=1").time, kNow);
  EXPECT_EQ(ParseOne("m x=1 ").time, kNow);
  EXPECT_EQ(ParseOne("m s=\"a b\"").time, kNow);
}

TEST(LineProtocolTest, LineAtTheLengthLimitIsAccepted) {
  LineProtocolOptions options = Options();
  options.max_line_bytes = 8;
  EXPECT_EQ(ParseOne("m x=1 12", options).time, 12);
  EXPECT_EQ(ErrorOf("m x=1 123", options), "line 1, column 9: line exceeds 8 bytes");
}

// ---- Values -----------------------------------------------------------------------------------

TEST(LineProtocolTest, Floats) {
  EXPECT_EQ(ValueOf("m x=1.5"), Value(1.5));
  EXPECT_EQ(ValueOf("m x=-2e3"), Value(-2000.0));
  EXPECT_EQ(ValueOf("m x=+2.5E-1"), Value(0.25));
  EXPECT_EQ(ValueOf("m x=1500"), Value(1500.0));  // no suffix: a float
  EXPECT_EQ(ValueOf("m x=1."), Value(1.0));
  EXPECT_EQ(ValueOf("m x=.5"), Value(0.5));
  EXPECT_EQ(ValueOf("m x=-.5"), Value(-0.5));
  EXPECT_EQ(ValueOf("m x=007"), Value(7.0));
  EXPECT_EQ(ValueOf("m x=1e-310"), Value(1e-310));  // subnormal
  EXPECT_EQ(ValueOf("m x=1.7976931348623157e308"), Value(std::numeric_limits<double>::max()));
  Value zero = ValueOf("m x=-0");
  ASSERT_TRUE(std::holds_alternative<double>(zero));
  EXPECT_TRUE(std::signbit(std::get<double>(zero)));
}

// Short decimals take a fast path of their own; it must agree with strtod bit for bit, on
// both sides of its 15-digit limit.
TEST(LineProtocolTest, FloatsMatchStrtodExactly) {
  std::vector<std::string> tokens = {"0.1", "0.3", "123456789012345", "1234567890123456",
                                     "9007199254740993", "0.000000000000001", "99999999999999.9",
                                     "-0.0", "1.000000000000000", "4.35", "2.675", "1e23",
                                     "0.1e1", "-33.33333333333333"};
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    const int digits = 1 + static_cast<int>(rng() % 17);
    std::string token = (rng() % 2) ? "-" : "";
    for (int d = 0; d < digits; ++d) token.push_back(static_cast<char>('0' + rng() % 10));
    token.insert(token.size() - rng() % (digits + 1), 1, '.');  // "-.5" and "12." included
    tokens.push_back(token);
  }
  std::string body;
  for (const std::string& token : tokens) body += "m x=" + token + "\n";
  auto out = Parse(body);
  ASSERT_EQ(out.size(), tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const double expected = std::strtod(tokens[i].c_str(), nullptr);
    ASSERT_EQ(std::bit_cast<uint64_t>(std::get<double>(out[i].value)), std::bit_cast<uint64_t>(expected))
        << tokens[i];
  }
}

TEST(LineProtocolTest, Integers) {
  EXPECT_EQ(ValueOf("m x=12i"), Value(int64_t{12}));
  EXPECT_EQ(ValueOf("m x=-12i"), Value(int64_t{-12}));
  EXPECT_EQ(ValueOf("m x=9223372036854775807i"), Value(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(ValueOf("m x=-9223372036854775808i"), Value(std::numeric_limits<int64_t>::min()));
}

TEST(LineProtocolTest, UnsignedIntegersAreStoredAsIntegers) {
  EXPECT_EQ(ValueOf("m x=12u"), Value(int64_t{12}));
  EXPECT_EQ(ValueOf("m x=0u"), Value(int64_t{0}));
  EXPECT_EQ(ValueOf("m x=9223372036854775807u"), Value(std::numeric_limits<int64_t>::max()));
}

TEST(LineProtocolTest, Booleans) {
  for (const char* word : {"t", "T", "true", "True", "TRUE"}) {
    EXPECT_EQ(ValueOf(std::string("m x=") + word), Value(true)) << word;
  }
  for (const char* word : {"f", "F", "false", "False", "FALSE"}) {
    EXPECT_EQ(ValueOf(std::string("m x=") + word), Value(false)) << word;
  }
}

TEST(LineProtocolTest, Strings) {
  EXPECT_EQ(ValueOf(R"(m s="text")"), Value(std::string("text")));
  EXPECT_EQ(ValueOf(R"(m s="")"), Value(std::string()));
  EXPECT_EQ(ValueOf(R"(m s="a, b=c d")"), Value(std::string("a, b=c d")));
  EXPECT_EQ(ValueOf(R"(m s="say \"hi\"")"), Value(std::string(R"(say "hi")")));
  EXPECT_EQ(ValueOf(R"(m s="back\\slash")"), Value(std::string(R"(back\slash)")));
  EXPECT_EQ(ValueOf(R"(m s="ends in \\")"), Value(std::string(R"(ends in \)")));
  // A backslash before anything else is literal.
  EXPECT_EQ(ValueOf(R"(m s="a\nb\tc")"), Value(std::string(R"(a\nb\tc)")));
  EXPECT_EQ(ValueOf("m s=\"k\xC3\xB8" "benhavn \xE2\x82\xAC\""),
            Value(std::string("k\xC3\xB8" "benhavn \xE2\x82\xAC")));
}

TEST(LineProtocolTest, MixedTypesInOneLine) {
  auto out = Parse(R"(m a=1,b=2i,c=3u,d=t,e="x" 9)");
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].value, Value(1.0));
  EXPECT_EQ(out[1].value, Value(int64_t{2}));
  EXPECT_EQ(out[2].value, Value(int64_t{3}));
  EXPECT_EQ(out[3].value, Value(true));
  EXPECT_EQ(out[4].value, Value(std::string("x")));
  for (const Reading& r : out) EXPECT_EQ(r.time, 9);
}

// ---- Escapes ----------------------------------------------------------------------------------

TEST(LineProtocolTest, MeasurementEscapes) {
  EXPECT_EQ(ParseOne(R"(my\ pump x=1)").twin_id, "my pump");
  EXPECT_EQ(ParseOne(R"(a\,b x=1)").twin_id, "a,b");
  EXPECT_EQ(ParseOne(R"(a\\b x=1)").twin_id, R"(a\b)");
  EXPECT_EQ(ParseOne(R"(ends\\ x=1)").twin_id, R"(ends\)");
  // '=' is not special in a measurement, so "\=" stays as written.
  EXPECT_EQ(ParseOne(R"(a\=b x=1)").twin_id, R"(a\=b)");
  EXPECT_EQ(ParseOne(R"(a=b x=1)").twin_id, "a=b");
  EXPECT_EQ(ParseOne(R"(a\xb x=1)").twin_id, R"(a\xb)");
}

TEST(LineProtocolTest, TagEscapes) {
  Reading r = ParseOne(R"(m,twin=a\ b\,c\=d,component=x\\y f=1)");
  EXPECT_EQ(r.twin_id, R"(a b,c=d)");
  EXPECT_EQ(r.path, R"(x\y/f)");
  EXPECT_EQ(ParseOne(R"(m,tw\=in=x,twin=y f=1)").twin_id, "y");
  // An escaped tag key still names the twin tag.
  LineProtocolOptions options = Options();
  options.twin_tag = "the twin";
  EXPECT_EQ(ParseOne(R"(m,the\ twin=t1 f=1)", options).twin_id, "t1");
  EXPECT_EQ(ParseOne(R"(m,twin=a\qb f=1)").twin_id, R"(a\qb)");
}

TEST(LineProtocolTest, FieldKeyEscapes) {
  auto out = Parse(R"(m a\ b=1,c\,d=2,e\=f=3,g\\=4,h\i=5)");
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].path, "a b");
  EXPECT_EQ(out[1].path, "c,d");
  EXPECT_EQ(out[2].path, "e=f");
  EXPECT_EQ(out[3].path, R"(g\)");
  EXPECT_EQ(out[4].path, R"(h\i)");
}

TEST(LineProtocolTest, EscapedNamesDoNotLeakIntoTheNextLine) {
  auto out = Parse("a\\ b,twin=x\\ y x\\ 1=1\nplain f=2\n");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].twin_id, "x y");
  EXPECT_EQ(out[0].path, "x 1");
  EXPECT_EQ(out[1].twin_id, "plain");
  EXPECT_EQ(out[1].path, "f");
}

TEST(LineProtocolTest, Utf8NamesPassThrough) {
  Reading r = ParseOne("m,twin=m\xC3\xB8lle,component=\xE8\xBD\xB4 \xCE\xB8=1");
  EXPECT_EQ(r.twin_id, "m\xC3\xB8lle");
  EXPECT_EQ(r.path, "\xE8\xBD\xB4/\xCE\xB8");
}

// ---- Timestamps and precision -----------------------------------------------------------------

TEST(LineProtocolTest, PrecisionScalesTimestamps) {
  EXPECT_EQ(ParseOne("m x=1 17", Options(Precision::kNanoseconds)).time, 17);
  EXPECT_EQ(ParseOne("m x=1 17", Options(Precision::kMicroseconds)).time, 17'000);
  EXPECT_EQ(ParseOne("m x=1 17", Options(Precision::kMilliseconds)).time, 17'000'000);
  EXPECT_EQ(ParseOne("m x=1 1732525200", Options(Precision::kSeconds)).time,
            1'732'525'200'000'000'000);
  EXPECT_EQ(ParseOne("m x=1 -3", Options(Precision::kSeconds)).time, -3'000'000'000);
  // "now" is already in ns: precision does not scale it.
  EXPECT_EQ(ParseOne("m x=1", Options(Precision::kSeconds)).time, kNow);
}

TEST(LineProtocolTest, TimestampLimits) {
  EXPECT_EQ(ParseOne("m x=1 9223372036854775807").time, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseOne("m x=1 -9223372036854775808").time, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(ParseOne("m x=1 9223372036", Options(Precision::kSeconds)).time, 9'223'372'036'000'000'000);
  EXPECT_EQ(ErrorOf("m x=1 9223372037", Options(Precision::kSeconds)),
            "line 1, column 7: timestamp out of range");
  EXPECT_EQ(ErrorOf("m x=1 -9223372037", Options(Precision::kSeconds)),
            "line 1, column 7: timestamp out of range");
  EXPECT_EQ(ErrorOf("m x=1 9223372036854776", Options(Precision::kMilliseconds)),
            "line 1, column 7: timestamp out of range");
  EXPECT_EQ(ErrorOf("m x=1 9223372036854776", Options(Precision::kMicroseconds)),
            "line 1, column 7: timestamp out of range");
  EXPECT_EQ(ErrorOf("m x=1 9223372036854775808"), "line 1, column 7: timestamp out of range");
}

TEST(LineProtocolTest, ParsePrecision) {
  EXPECT_EQ(*ParsePrecision(""), Precision::kNanoseconds);
  EXPECT_EQ(*ParsePrecision("ns"), Precision::kNanoseconds);
  EXPECT_EQ(*ParsePrecision("n"), Precision::kNanoseconds);
  EXPECT_EQ(*ParsePrecision("us"), Precision::kMicroseconds);
  EXPECT_EQ(*ParsePrecision("u"), Precision::kMicroseconds);
  EXPECT_EQ(*ParsePrecision("ms"), Precision::kMilliseconds);
  EXPECT_EQ(*ParsePrecision("s"), Precision::kSeconds);
  for (const char* bad : {"h", "m", "NS", "sec", "µs", " ns"}) {
    auto p = ParsePrecision(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(p.status().message().find("ns, us, ms, s"), std::string::npos) << p.status().message();
  }
}

// ---- Errors -----------------------------------------------------------------------------------

struct Malformed {
  const char* body;
  const char* message;
};

class LineProtocolErrorTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(LineProtocolErrorTest, NamesLineColumnAndWhat) {
  EXPECT_EQ(ErrorOf(GetParam().body), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, LineProtocolErrorTest,
    ::testing::Values(
        Malformed{"weather,twin=a", "line 1, column 15: missing fields"},
        Malformed{"weather", "line 1, column 8: missing fields"},
        Malformed{"weather   ", "line 1, column 8: missing fields"},
        Malformed{"weather temp", "line 1, column 13: expected '=' after field key 'temp'"},
        Malformed{"weather temp=abc", "line 1, column 14: invalid float 'abc' for field 'temp'"},
        Malformed{"m x=1.5i", "line 1, column 5: invalid integer '1.5i' for field 'x'"},
        Malformed{"m x=i", "line 1, column 5: invalid integer 'i' for field 'x'"},
        Malformed{"m x=+5i", "line 1, column 5: invalid integer '+5i' for field 'x'"},
        Malformed{"m x=99999999999999999999i",
                  "line 1, column 5: integer '99999999999999999999i' out of range for field 'x'"},
        Malformed{"m x=-1u", "line 1, column 5: invalid unsigned integer '-1u' for field 'x'"},
        Malformed{"m x=9223372036854775808u",
                  "line 1, column 5: unsigned integer '9223372036854775808u' for field 'x' exceeds "
                  "the largest storable integer 9223372036854775807"},
        Malformed{"m x=99999999999999999999u",
                  "line 1, column 5: unsigned integer '99999999999999999999u' for field 'x' exceeds "
                  "the largest storable integer 9223372036854775807"},
        Malformed{"m x=inf", "line 1, column 5: invalid float 'inf' for field 'x'"},
        Malformed{"m x=-Infinity", "line 1, column 5: invalid float '-Infinity' for field 'x'"},
        Malformed{"m x=nan", "line 1, column 5: invalid float 'nan' for field 'x'"},
        Malformed{"m x=0x1p3", "line 1, column 5: invalid float '0x1p3' for field 'x'"},
        Malformed{"m x=1e", "line 1, column 5: invalid float '1e' for field 'x'"},
        Malformed{"m x=+-1", "line 1, column 5: invalid float '+-1' for field 'x'"},
        Malformed{"m x=1e400", "line 1, column 5: float '1e400' out of range for field 'x'"},
        Malformed{"m x=1e-400", "line 1, column 5: float '1e-400' out of range for field 'x'"},
        Malformed{"m x=yes", "line 1, column 5: invalid float 'yes' for field 'x'"},
        Malformed{"m x=tRUE", "line 1, column 5: invalid float 'tRUE' for field 'x'"},
        Malformed{"m x=", "line 1, column 5: missing value for field 'x'"},
        Malformed{"m x=,y=1", "line 1, column 5: missing value for field 'x'"},
        Malformed{"m x= 1", "line 1, column 5: missing value for field 'x'"},
        Malformed{"m,t= x=1", "line 1, column 5: missing value for tag 't'"},
        Malformed{"m,t=,u=1 x=1", "line 1, column 5: missing value for tag 't'"},
        Malformed{"m,t x=1", "line 1, column 4: expected '=' after tag key 't'"},
        Malformed{"m,t", "line 1, column 4: expected '=' after tag key 't'"},
        Malformed{"m, t=1 x=1", "line 1, column 3: missing tag key"},
        Malformed{"m,=1 x=1", "line 1, column 3: missing tag key"},
        Malformed{",t=1 x=1", "line 1, column 1: missing measurement"},
        Malformed{"  ,t=1 x=1", "line 1, column 3: missing measurement"},
        Malformed{"m s=\"abc", "line 1, column 5: unterminated string value for field 's'"},
        Malformed{"m s=\"abc\\\"", "line 1, column 5: unterminated string value for field 's'"},
        Malformed{"m s=\"abc\"d", "line 1, column 10: expected ',' or ' ' after the string value of field 's'"},
        Malformed{"m x=1, y=2", "line 1, column 7: missing field key"},
        Malformed{"m x=1,", "line 1, column 7: missing field key"},
        Malformed{"m x=1,=2", "line 1, column 7: missing field key"},
        Malformed{"m =1", "line 1, column 3: missing field key"},
        Malformed{"m x =1", "line 1, column 4: expected '=' after field key 'x'"},
        Malformed{"m x\\ =1,y", "line 1, column 10: expected '=' after field key 'y'"},
        Malformed{"m x=1 12a", "line 1, column 7: invalid timestamp '12a'"},
        Malformed{"m x=1 1.5", "line 1, column 7: invalid timestamp '1.5'"},
        Malformed{"m x=1 +5", "line 1, column 7: invalid timestamp '+5'"},
        Malformed{"m x=1 1 2", "line 1, column 9: unexpected text after the timestamp"},
        Malformed{"m x=1 ,y=2", "line 1, column 7: invalid timestamp ',y=2'"},
        Malformed{"m x=1\nm y=2\n\n# c\nm z=oops 1",
                  "line 5, column 5: invalid float 'oops' for field 'z'"},
        Malformed{"m x=1\r\nm y\r\n", "line 2, column 4: expected '=' after field key 'y'"},
        Malformed{"m s=\"a\xff\"", "line 1, column 7: invalid UTF-8"},
        Malformed{"m\xC0\xAF x=1", "line 1, column 2: invalid UTF-8"},          // overlong '/'
        Malformed{"m,twin=\xED\xA0\x80 x=1", "line 1, column 8: invalid UTF-8"},  // a surrogate
        Malformed{"m x=1 1\xE2\x82", "line 1, column 8: invalid UTF-8"}));       // cut short

TEST(LineProtocolTest, LongTokensAreCutInMessages) {
  std::string body = "m x=" + std::string(1000, 'z');
  std::string message = ErrorOf(body);
  EXPECT_EQ(message, "line 1, column 5: invalid float '" + std::string(64, 'z') + "...' for field 'x'");
}

TEST(LineProtocolTest, TooLongLineNamesTheLimit) {
  LineProtocolOptions options = Options();
  options.max_line_bytes = 16;
  EXPECT_EQ(ErrorOf("m x=1\nm s=\"" + std::string(20, 'a') + "\"\n", options),
            "line 2, column 17: line exceeds 16 bytes");
}

TEST(LineProtocolTest, ErrorLeavesOutAsItWas) {
  std::vector<Reading> out(2);
  out[0].twin_id = "keep-0";
  out[1].twin_id = "keep-1";
  out[1].value = std::string("v");
  std::string body;
  for (int i = 0; i < 500; ++i) body += "m,twin=t" + std::to_string(i) + " a=1,b=2,c=3 " + std::to_string(i) + "\n";
  body += "m a=1,b=2,c=bad 9\n";  // the last line fails after two of its fields
  Status status = ParseLineProtocol(body, Options(), out);
  EXPECT_EQ(status.message(), "line 501, column 13: invalid float 'bad' for field 'c'");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].twin_id, "keep-0");
  EXPECT_EQ(out[1].twin_id, "keep-1");
  EXPECT_EQ(out[1].value, Value(std::string("v")));
}

TEST(LineProtocolTest, LargeBodyParsesEveryLine) {
  std::string body;
  for (int i = 0; i < 2000; ++i) {
    body += "m,twin=s" + std::to_string(i) + (i % 3 == 0 ? ",component=c" : "") + " a=" +
            std::to_string(i) + ",b=" + std::to_string(i) + "i " + std::to_string(i) + "\n";
  }
  auto out = Parse(body);
  ASSERT_EQ(out.size(), 4000u);
  for (int i = 0; i < 2000; ++i) {
    const Reading& a = out[2 * i];
    const Reading& b = out[2 * i + 1];
    ASSERT_EQ(a.twin_id, "s" + std::to_string(i));
    ASSERT_EQ(a.path, i % 3 == 0 ? "c/a" : "a");
    ASSERT_EQ(a.value, Value(static_cast<double>(i)));
    ASSERT_EQ(b.value, Value(int64_t{i}));
    ASSERT_EQ(b.time, i);
  }
}

// ---- Gunzip -----------------------------------------------------------------------------------

using doppel::testing::Gzip;

std::string Sample(std::size_t bytes) {
  std::string text;
  for (int i = 0; text.size() < bytes; ++i) {
    text += "weather,twin=t" + std::to_string(i % 97) + " temp=" + std::to_string(i * 0.37) + "\n";
  }
  text.resize(bytes);
  return text;
}

TEST(GunzipTest, RoundTrip) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, std::size_t{1'000'000}}) {
    const std::string text = Sample(size);
    auto inflated = Gunzip(Gzip(text), 2'000'000);
    ASSERT_TRUE(inflated.ok()) << inflated.status().ToString();
    EXPECT_EQ(*inflated, text) << size;
  }
}

TEST(GunzipTest, ExactlyTheLimitIsAcceptedOneMoreIsNot) {
  const std::string text = Sample(10'000);
  auto exact = Gunzip(Gzip(text), 10'000);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ(*exact, text);
  auto over = Gunzip(Gzip(text), 9'999);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(over.status().message(), "decompressed body exceeds 9999 bytes");
}

TEST(GunzipTest, BombIsStoppedAtTheLimit) {
  const std::string zeros(50'000'000, '\0');
  const std::string bomb = Gzip(zeros, Z_BEST_COMPRESSION);
  ASSERT_LT(bomb.size(), 100'000u);
  auto inflated = Gunzip(bomb, 1 << 20);
  ASSERT_FALSE(inflated.ok());
  EXPECT_EQ(inflated.status().code(), StatusCode::kPayloadTooLarge);
}

TEST(GunzipTest, ConcatenatedMembersAreOneBody) {
  auto inflated = Gunzip(Gzip("m x=1\n") + Gzip("m y=2\n"), 1000);
  ASSERT_TRUE(inflated.ok()) << inflated.status().ToString();
  EXPECT_EQ(*inflated, "m x=1\nm y=2\n");
}

TEST(GunzipTest, RefusesCorruptInput) {
  const std::string good = Gzip(Sample(5000));
  struct Case {
    std::string name, bytes;
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x55;
  std::string bad_crc = good;
  bad_crc[good.size() - 6] ^= 0x01;  // the CRC32 in the trailer
  std::vector<Case> cases = {
      {"empty", ""},
      {"not gzip", "m x=1\n"},
      {"truncated", good.substr(0, good.size() / 2)},
      {"truncated trailer", good.substr(0, good.size() - 3)},
      {"flipped byte", flipped},
      {"bad crc", bad_crc},
      {"trailing garbage", good + "xyz"},
      {"trailing zeros", good + std::string(8, '\0')},
      {"trailing half header", good + "\x1f"},
  };
  for (const Case& c : cases) {
    auto inflated = Gunzip(c.bytes, 1'000'000);
    ASSERT_FALSE(inflated.ok()) << c.name;
    EXPECT_EQ(inflated.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(inflated.status().message().rfind("corrupt gzip body", 0), 0u)
        << c.name << ": " << inflated.status().message();
  }
}

TEST(GunzipTest, InflatedBodyParses) {
  auto inflated = Gunzip(Gzip("m,twin=a x=1i 5\n"), 100);
  ASSERT_TRUE(inflated.ok());
  Reading r = ParseOne(*inflated);
  EXPECT_EQ(r.twin_id, "a");
  EXPECT_EQ(r.value, Value(int64_t{1}));
}

}  // namespace
}  // namespace doppel::ingest
