// Topic patterns: MQTT wildcard semantics, placeholder binding, and the refusal of topic levels
// that try to smuggle a path, wildcard or control character into a twin id.
#include "connect/mqtt/internal/topic_pattern.h"

#include <gtest/gtest.h>

#include "connect/mqtt/internal/log_sample.h"

namespace doppel::connect::mqtt::internal {
namespace {

TopicPattern Compile(std::string_view pattern) {
  Result<TopicPattern> p = TopicPattern::Compile(pattern);
  EXPECT_TRUE(p.ok()) << pattern << ": " << p.status().ToString();
  return std::move(p).value();
}

// The bindings of a matching, acceptable topic ("" fields when not bound).
TopicBindings Bind(const TopicPattern& p, std::string_view topic) {
  std::optional<Result<TopicBindings>> m = p.Match(topic);
  EXPECT_TRUE(m.has_value()) << topic;
  if (!m) return {};
  EXPECT_TRUE(m->ok()) << topic << ": " << m->status().ToString();
  return m->ok() ? m->value() : TopicBindings{};
}

// The refusal message for a matching topic whose bound level is not acceptable.
std::string Refusal(const TopicPattern& p, std::string_view topic) {
  std::optional<Result<TopicBindings>> m = p.Match(topic);
  if (!m) return "<no match>";
  if (m->ok()) return "<accepted>";
  return m->status().message();
}

TEST(TopicPatternTest, SubscriptionReplacesPlaceholdersWithPlus) {
  EXPECT_EQ(Compile("doppel/+/{twinId}/telemetry").subscription(), "doppel/+/+/telemetry");
  EXPECT_EQ(Compile("plant/{twinId}/{component}/{path}").subscription(), "plant/+/+/+");
  EXPECT_EQ(Compile("site/{twinId}/#").subscription(), "site/+/#");
  EXPECT_EQ(Compile("{twinId}").subscription(), "+");
}

TEST(TopicPatternTest, BindsPlaceholders) {
  TopicPattern p = Compile("plant/{twinId}/{component}/{path}");
  TopicBindings b = Bind(p, "plant/kr-wtg-01/nacelle/temperature");
  EXPECT_EQ(b.twin_id, "kr-wtg-01");
  EXPECT_EQ(b.component, "nacelle");
  EXPECT_EQ(b.path, "temperature");
  EXPECT_TRUE(p.has_path());
  EXPECT_TRUE(p.has_component());
  // Twin ids may hold what the graph allows, e.g. spaces, dots and non-ASCII letters.
  EXPECT_EQ(Bind(Compile("t/{twinId}"), "t/Pump 7.a").twin_id, "Pump 7.a");
  EXPECT_EQ(Bind(Compile("t/{twinId}"), "t/Pumpe-Größe").twin_id, "Pumpe-Größe");
}

TEST(TopicPatternTest, FollowsMqttWildcardRules) {
  TopicPattern plus = Compile("doppel/+/{twinId}/telemetry");
  EXPECT_EQ(Bind(plus, "doppel/site-a/pump-1/telemetry").twin_id, "pump-1");
  EXPECT_FALSE(plus.Match("doppel/site-a/pump-1/properties"));
  EXPECT_FALSE(plus.Match("doppel/a/b/pump-1/telemetry"));  // '+' is one level
  EXPECT_FALSE(plus.Match("doppel/site-a/pump-1"));
  EXPECT_FALSE(plus.Match("doppel/site-a/pump-1/telemetry/extra"));

  TopicPattern hash = Compile("site/{twinId}/#");
  EXPECT_EQ(Bind(hash, "site/pump-1/a/b/c").twin_id, "pump-1");
  EXPECT_EQ(Bind(hash, "site/pump-1").twin_id, "pump-1");  // '#' also matches the parent
  EXPECT_FALSE(hash.Match("other/pump-1/a"));

  // A leading wildcard never matches $SYS-style topics (MQTT 4.7.2).
  TopicPattern leading = Compile("{twinId}/telemetry");
  EXPECT_FALSE(leading.Match("$SYS/telemetry"));
  EXPECT_EQ(Bind(leading, "pump-1/telemetry").twin_id, "pump-1");
}

TEST(TopicPatternTest, RefusesTopicInjection) {
  TopicPattern p = Compile("t/{twinId}/telemetry");
  EXPECT_EQ(Refusal(p, "t/../telemetry"), "twin id is a relative path ('..')");
  EXPECT_EQ(Refusal(p, "t/./telemetry"), "twin id is a relative path ('.')");
  EXPECT_EQ(Refusal(p, "t//telemetry"), "twin id is empty");
  EXPECT_EQ(Refusal(p, "t/a+b/telemetry"), "twin id contains '+'");
  EXPECT_EQ(Refusal(p, "t/#/telemetry"), "twin id contains '#'");
  EXPECT_EQ(Refusal(p, std::string("t/a\0b/telemetry", 15)), "twin id contains a control character");
  EXPECT_EQ(Refusal(p, "t/a\nb/telemetry"), "twin id contains a control character");
  EXPECT_EQ(Refusal(p, "t/a\xc2\x85" "b/telemetry"), "twin id contains a control character");  // U+0085 NEL
  EXPECT_EQ(Refusal(p, "t/a\xff/telemetry"), "twin id is not valid UTF-8");
  EXPECT_EQ(Refusal(p, "t/" + std::string(1025, 'x') + "/telemetry"), "twin id is longer than 1024 bytes");
  EXPECT_EQ(Refusal(p, "t/" + std::string(1024, 'x') + "/telemetry"), "<accepted>");
  // A twin id with '/' cannot bind: it is two levels, and the pattern does not match at all.
  EXPECT_EQ(Refusal(p, "t/a/b/telemetry"), "<no match>");

  TopicPattern v = Compile("plant/{twinId}/{component}/{path}");
  EXPECT_EQ(Refusal(v, "plant/p1/nacelle/.."), "path is not a DTDL name (letters, digits and '_', starting with a letter)");
  EXPECT_EQ(Refusal(v, "plant/p1/../temp"),
            "component is not a DTDL name (letters, digits and '_', starting with a letter)");
  EXPECT_EQ(Refusal(v, "plant/p1/nacelle/$metadata"),
            "path is not a DTDL name (letters, digits and '_', starting with a letter)");
  EXPECT_EQ(Refusal(v, "plant/p1/nacelle/temp_"), "path is not a DTDL name (letters, digits and '_', starting with a letter)");
  EXPECT_EQ(Refusal(v, "plant/p1/nacelle/" + std::string(513, 'a')), "path is longer than 512 bytes");
}

TEST(TopicPatternTest, RefusesBadPatterns) {
  const auto error = [](std::string_view pattern) { return TopicPattern::Compile(pattern).status().message(); };
  EXPECT_EQ(error(""), "the topic pattern is empty");
  EXPECT_EQ(error("a//{twinId}"), "the topic pattern has an empty level");
  EXPECT_EQ(error("a/b+/{twinId}"), "'+' and '#' must stand alone in a level ('b+')");
  EXPECT_EQ(error("a/#/{twinId}"), "'#' must be the last level");
  EXPECT_EQ(error("{twinId}/{twinId}"), "placeholder {twinId} appears twice");
  EXPECT_EQ(error("{twinId}/{path}/{path}"), "placeholder {path} appears twice");
  EXPECT_EQ(error("a/x{twinId}"), "unknown placeholder 'x{twinId}' (known: {twinId}, {component}, {path}, each a whole level)");
  EXPECT_EQ(error("a/b"), "the topic pattern has no {twinId} level");
}

TEST(LogSampleTest, EscapesAndTruncates) {
  EXPECT_EQ(LogSample("plain text"), "plain text");
  EXPECT_EQ(LogSample("line\nbreak\\"), "line\\x0abreak\\\\");
  EXPECT_EQ(LogSample("Größe"), "Größe");                // valid UTF-8 kept
  EXPECT_EQ(LogSample("a\xff\xc3"), "a\\xff\\xc3");      // invalid bytes escaped
  EXPECT_EQ(LogSample(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(LogSample(std::string(500, 'x'), 10), "xxxxxxxxxx...(500 bytes)");
}

}  // namespace
}  // namespace doppel::connect::mqtt::internal
