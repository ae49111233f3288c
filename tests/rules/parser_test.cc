// Parsing and checking rule conditions: signals, precedence in the canonical text, limits, and
// the exact error messages (with line:column) a rule author sees.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "rules/expression.h"

namespace doppel::rules {
namespace {

constexpr int64_t kMinuteNs = 60'000'000'000;

Expression MustParse(std::string_view text) {
  auto parsed = Expression::Parse(text);
  if (!parsed.ok()) {
    ADD_FAILURE() << text << ": " << parsed.status().message();
    return Expression::Parse("false").value();
  }
  return *parsed;
}

std::string Canonical(std::string_view text) { return MustParse(text).ToString(); }

// "OK", or the code's name and the message.
std::string ErrorOf(std::string_view text, const ExpressionLimits& limits = {}) {
  auto parsed = Expression::Parse(text, limits);
  if (parsed.ok()) return "OK";
  std::string code = parsed.status().code() == StatusCode::kInvalidArgument   ? "InvalidArgument"
                     : parsed.status().code() == StatusCode::kPayloadTooLarge ? "PayloadTooLarge"
                                                                              : "other";
  return code + ": " + parsed.status().message();
}

TEST(ExpressionParse, KeepsTextAndListsEachSignalOnceInFirstUseOrder) {
  Expression e = MustParse("y > 1 and x < 5 or y == 3");
  EXPECT_EQ(e.text(), "y > 1 and x < 5 or y == 3");
  ASSERT_EQ(e.signals().size(), 2u);
  EXPECT_EQ(e.signals()[0], (SignalRef{.relationship = "", .path = "y"}));
  EXPECT_EQ(e.signals()[1], (SignalRef{.relationship = "", .path = "x"}));
  EXPECT_EQ(e.lookback_ns(), 0);
}

TEST(ExpressionParse, ComponentSignalsUseSlashPaths) {
  Expression e = MustParse("nacelle.nacelleTemperature - nacelle.ambientTemperature > 25");
  ASSERT_EQ(e.signals().size(), 2u);
  EXPECT_EQ(e.signals()[0], (SignalRef{.relationship = "", .path = "nacelle/nacelleTemperature"}));
  EXPECT_EQ(e.signals()[1], (SignalRef{.relationship = "", .path = "nacelle/ambientTemperature"}));
  EXPECT_EQ(e.ToString(), "nacelle.nacelleTemperature - nacelle.ambientTemperature > 25");
}

TEST(ExpressionParse, RelatedTwinSignalsAreWrittenWithoutSpacesAroundTheArrow) {
  Expression e = MustParse("hasMainBearing>vibrationRms > 6 and hasGearbox>oil.temperature < 90");
  ASSERT_EQ(e.signals().size(), 2u);
  EXPECT_EQ(e.signals()[0], (SignalRef{.relationship = "hasMainBearing", .path = "vibrationRms"}));
  EXPECT_EQ(e.signals()[1], (SignalRef{.relationship = "hasGearbox", .path = "oil/temperature"}));
  EXPECT_EQ(e.ToString(), "hasMainBearing>vibrationRms > 6 and hasGearbox>oil.temperature < 90");

  // With spaces, or before a number or a call, '>' compares.
  Expression compare = MustParse("a > b");
  ASSERT_EQ(compare.signals().size(), 2u);
  EXPECT_EQ(compare.signals()[1], (SignalRef{.relationship = "", .path = "b"}));
  EXPECT_EQ(Canonical("a>5"), "a > 5");
  EXPECT_EQ(Canonical("a>avg(b,5m)"), "a > avg(b, 5m)");
  // Without spaces between two names it is a related twin's signal (a condition by itself).
  Expression related = MustParse("a>b");
  ASSERT_EQ(related.signals().size(), 1u);
  EXPECT_EQ(related.signals()[0], (SignalRef{.relationship = "a", .path = "b"}));
}

TEST(ExpressionParse, FunctionNamesAreSignalNamesUnlessCalled) {
  Expression e = MustParse("count > 3 and max.avg < 2 and count(count, 1m) > 0");
  ASSERT_EQ(e.signals().size(), 2u);
  EXPECT_EQ(e.signals()[0].path, "count");
  EXPECT_EQ(e.signals()[1].path, "max/avg");
  EXPECT_EQ(e.ToString(), "count > 3 and max.avg < 2 and count(count, 1m) > 0");
}

TEST(ExpressionParse, LookbackIsTheLongestWindowOrFor) {
  EXPECT_EQ(MustParse("avg(x, 10m) > 1 and y > 2 for 1h").lookback_ns(), 60 * kMinuteNs);
  EXPECT_EQ(MustParse("rate(x, 15m) > 2 or delta(y, 90s) > 1").lookback_ns(), 15 * kMinuteNs);
  EXPECT_EQ(MustParse("max(x, 1d) > 1").lookback_ns(), 24 * 60 * kMinuteNs);
}

TEST(ExpressionParse, HeaderExamplesParse) {
  for (const char* text : {"vibrationRms > 7.1", "avg(vibrationRms, 10m) > 4.5 and bearingTemperature > 80 for 5m",
                           "rate(bearingTemperature, 15m) > 2", "rul < 200 or anomalyScore >= 0.9",
                           "state == \"fault\" and not (activeFaultCode == \"\")",
                           "nacelle.nacelleTemperature - nacelle.ambientTemperature > 25",
                           "hasMainBearing>vibrationRms > 6"}) {
    EXPECT_EQ(ErrorOf(text), "OK") << text;
  }
}

TEST(ExpressionToString, NormalisesSpacingNumbersAndDurations) {
  EXPECT_EQ(Canonical("avg( x ,10m )>=4.5"), "avg(x, 10m) >= 4.5");
  EXPECT_EQ(Canonical("x>1e3 for 1.5h"), "x > 1000 for 90m");
  EXPECT_EQ(Canonical("delta(x, 120s) > 0 and rate(x, 1500ms) > 0 and min(x, 48h) > 0"),
            "delta(x, 2m) > 0 and rate(x, 1500ms) > 0 and min(x, 2d) > 0");
  EXPECT_EQ(Canonical("x\n  ==\t\"a\\\"b\\\\c\""), "x == \"a\\\"b\\\\c\"");
  EXPECT_EQ(Canonical("x > 0.000001"), "x > 1e-06");
}

TEST(ExpressionToString, KeepsOnlyTheParenthesesPrecedenceNeeds) {
  EXPECT_EQ(Canonical("a or (b and c)"), "a or b and c");
  EXPECT_EQ(Canonical("(a or b) and c"), "(a or b) and c");
  EXPECT_EQ(Canonical("(a or b) or c"), "a or b or c");
  EXPECT_EQ(Canonical("a or (b or c)"), "a or (b or c)");  // the tree is kept as written
  EXPECT_EQ(Canonical("(a - b) - c > 0"), "a - b - c > 0");
  EXPECT_EQ(Canonical("a - (b - c) > 0"), "a - (b - c) > 0");
  EXPECT_EQ(Canonical("a + (b * c) > 1"), "a + b * c > 1");
  EXPECT_EQ(Canonical("(a + b) * c > 1"), "(a + b) * c > 1");
  EXPECT_EQ(Canonical("(not a) and b"), "not a and b");
  EXPECT_EQ(Canonical("not (a and b)"), "not (a and b)");
  EXPECT_EQ(Canonical("not not (x > 1)"), "not not x > 1");
  EXPECT_EQ(Canonical("(-x) * 2 > 1"), "-x * 2 > 1");
  EXPECT_EQ(Canonical("-(x * 2) > 1"), "-(x * 2) > 1");
  EXPECT_EQ(Canonical("- - x > 1"), "--x > 1");
  EXPECT_EQ(Canonical("abs((x - 20)) > (5)"), "abs(x - 20) > 5");
  EXPECT_EQ(Canonical("(x > 1) == (y > 2)"), "(x > 1) == (y > 2)");
}

TEST(ExpressionParse, RejectsTypeErrorsAtTheOffendingPlace) {
  EXPECT_EQ(ErrorOf("x < \"a\""), "InvalidArgument: at 1:5: '<' needs numbers, found a string");
  EXPECT_EQ(ErrorOf("\"a\" >= 5"), "InvalidArgument: at 1:1: '>=' needs numbers, found a string");
  EXPECT_EQ(ErrorOf("x + true > 1"), "InvalidArgument: at 1:5: '+' needs numbers, found a boolean");
  EXPECT_EQ(ErrorOf("abs(\"s\") > 1"), "InvalidArgument: at 1:5: abs needs numbers, found a string");
  EXPECT_EQ(ErrorOf("1 == \"a\""),
            "InvalidArgument: at 1:3: '==' compares a number with a string; both sides must have the same type");
  EXPECT_EQ(ErrorOf("1 and x"), "InvalidArgument: at 1:1: 'and' needs a condition, found a number");
  EXPECT_EQ(ErrorOf("not \"x\""), "InvalidArgument: at 1:5: 'not' needs a condition, found a string");
  EXPECT_EQ(ErrorOf("x + 1"),
            "InvalidArgument: at 1:1: the expression is a number, not a condition (compare it, as in 'x > 0')");
  // Signals are typed at run time: all of these are fine.
  EXPECT_EQ(ErrorOf("x == \"a\" or x == 1 or x == true or x < y or x"), "OK");
}

TEST(ExpressionParse, RejectsMalformedTextNamingLineAndColumn) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"(a > 1", "at 1:7: expected ')' to close the '(' at 1:1, found the end of the expression"},
      {"a >", "at 1:4: expected a value after '>', found the end of the expression"},
      {"a > 1 and", "at 1:10: expected a value after 'and', found the end of the expression"},
      {"a > 1 and\n  b >", "at 2:6: expected a value after '>', found the end of the expression"},
      {"", "at 1:1: expected a condition, found the end of the expression"},
      {"foo(x, 5m) > 1",
       "at 1:1: unknown function 'foo' (the functions are avg, min, max, count, delta, rate and abs)"},
      {"avg(5, 10m) > 1", "at 1:5: avg needs a signal, not a number"},
      {"rate(\"x\", 10m) > 1", "at 1:6: rate needs a signal, not a string"},
      {"max(abs(x), 1m) > 1", "at 1:5: max needs a signal, not a call of abs"},
      {"avg(x, 10q) > 1", "at 1:8: unknown duration unit 'q' in '10q' (expected ms, s, m, h or d)"},
      {"avg(x, 10) > 1",
       "at 1:8: expected a duration with a unit (ms, s, m, h or d) as the window of avg, found the number 10"},
      {"avg(x, 10m and y", "at 1:12: expected ')' after the window of avg, found 'and'"},
      {"avg(x 10m) > 1", "at 1:7: expected ',' and a window after the signal in avg(, found the duration 10m"},
      {"x for 5m", "at 1:3: 'for' needs a comparison right before it, as in 'x > 90 for 5m'"},
      {"x > 1 for 5", "at 1:11: expected a duration with a unit (ms, s, m, h or d) after 'for', found the number 5"},
      {"x > 5m", "at 1:5: a duration (5m) can only be a window, as in avg(x, 5m), or follow 'for'"},
      {"avg(x, 0s) > 1", "at 1:8: the duration 0s must be positive"},
      {"avg(x, 1.5ms) > 1", "at 1:8: the duration 1.5ms is not a whole number of milliseconds"},
      {"a < b < c", "at 1:7: comparisons cannot be chained: write 'a < b and b < c'"},
      {"x > 1)", "at 1:6: found ')' without a matching '('"},
      {"x > 1 y", "at 1:7: expected an operator or the end of the expression, found 'y'"},
      {"x = 1", "at 1:3: unexpected '=' (write '==' to compare)"},
      {"x > 1 && y", "at 1:7: unexpected character '&'"},
      {"state == \"abc", "at 1:10: unterminated string: expected '\"' before the end of the expression"},
      {"and > 1", "at 1:1: expected a condition, found 'and'"},
      {"x.for > 1", "at 1:3: expected a name after '.', found 'for'"},
      {"_x > 1", "at 1:1: unexpected character '_'"},
      {"x > 1e999", "at 1:5: the number 1e999 is out of range"},
      // Columns count characters, not bytes: "é" is one column (two bytes).
      {"\"é\" == x and y >", "at 1:17: expected a value after '>', found the end of the expression"},
      {"x > 1 and é", "at 1:11: unexpected character 'é'"},
      {"x == \"\xff\"", "at 1:7: invalid UTF-8 byte 0xFF"},
      {"x > 1 \xc3", "at 1:7: invalid UTF-8 byte 0xC3"},
      {"x == \"\xed\xa0\x80\"", "at 1:7: invalid UTF-8 byte 0xED"},  // a UTF-16 surrogate
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ErrorOf(c.text), std::string("InvalidArgument: ") + c.error) << c.text;
  }
}

TEST(ExpressionParse, EarlierSyntaxErrorWinsOverALaterBadCharacter) {
  EXPECT_EQ(ErrorOf("x > > 1 # y"), "InvalidArgument: at 1:5: expected a value after '>', found '>'");
}

TEST(ExpressionParse, LimitsNameTheLimit) {
  std::string deep = std::string(33, '(') + "x" + std::string(33, ')');
  EXPECT_EQ(ErrorOf(deep), "PayloadTooLarge: at 1:33: the expression nests deeper than the limit of 32 levels");
  std::string ok_depth = std::string(32, '(') + "x" + std::string(32, ')');
  EXPECT_EQ(ErrorOf(ok_depth), "OK");
  EXPECT_EQ(ErrorOf(std::string(40, '-') + "x > 1"),
            "PayloadTooLarge: at 1:33: the expression nests deeper than the limit of 32 levels");

  std::string long_text = "x > 1" + std::string(4092, ' ');  // 4097 characters
  EXPECT_EQ(ErrorOf(long_text), "PayloadTooLarge: the expression is 4097 characters long, over the limit of 4096");
  std::string wide = "x == \"" + std::string(8000, 'a') + "\"";
  EXPECT_EQ(ErrorOf(wide), "PayloadTooLarge: the expression is 8007 characters long, over the limit of 4096");
  std::string two_byte_chars = "x == \"";
  for (int i = 0; i < 4000; ++i) two_byte_chars += "é";  // 8000 bytes, 4000 characters
  EXPECT_EQ(ErrorOf(two_byte_chars + "\""), "OK");

  std::string name(65, 'a');
  EXPECT_EQ(ErrorOf(name + " > 1"),
            "InvalidArgument: at 1:1: the name 'aaaaaaaaaaaaaaaaaaaaaaaa…' is longer than 64 characters");
  EXPECT_EQ(ErrorOf(std::string(64, 'a') + " > 1"), "OK");

  ExpressionLimits five_nodes{.max_nodes = 5};
  EXPECT_EQ(ErrorOf("a + b > 1", five_nodes), "OK");  // a, b, +, 1, >
  EXPECT_EQ(ErrorOf("a + b + c > 1", five_nodes),
            "PayloadTooLarge: at 1:13: the expression has more than the limit of 5 nodes");

  EXPECT_EQ(ErrorOf("avg(x, 7d) > 1 and y > 1 for 168h"), "OK");
  EXPECT_EQ(ErrorOf("avg(x, 8d) > 1"), "InvalidArgument: at 1:8: the duration 8d is longer than the limit of 7d");
  EXPECT_EQ(ErrorOf("y > 1 for 10081m"),
            "InvalidArgument: at 1:11: the duration 10081m is longer than the limit of 7d");
}

}  // namespace
}  // namespace doppel::rules
