// The command transport's topics: templates (fill, subscribe, match) and the strict "commands"
// block of a connector.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "command/internal/topic_template.h"
#include "command/mqtt_command_transport.h"

namespace doppel::command {
namespace {

using internal::TopicTemplate;
using ::testing::HasSubstr;

TEST(TopicTemplateTest, FillsSubscribesAndMatches) {
  TopicTemplate t = TopicTemplate::Compile("doppel/{site}/{twinId}/commands/{commandName}").value();
  EXPECT_EQ(t.Fill({{"site", "kr"}, {"twinId", "wtg-1"}, {"commandName", "stop"}}).value(),
            "doppel/kr/wtg-1/commands/stop");
  EXPECT_EQ(t.Subscription(), "doppel/+/+/commands/+");
  auto values = t.Match("doppel/kr/wtg-1/commands/stop");
  ASSERT_TRUE(values.has_value());
  EXPECT_EQ(values->at("site"), "kr");
  EXPECT_EQ(values->at("twinId"), "wtg-1");
  EXPECT_FALSE(t.Match("doppel/kr/wtg-1/commands").has_value());
  EXPECT_FALSE(t.Match("other/kr/wtg-1/commands/stop").has_value());
}

TEST(TopicTemplateTest, RefusesValuesThatAreNotOneLevel) {
  TopicTemplate t = TopicTemplate::Compile("doppel/{site}/{twinId}/desired").value();
  EXPECT_THAT(t.Fill({{"twinId", "wtg-1"}}).status().message(), HasSubstr("no value for {site}"));
  EXPECT_THAT(t.Fill({{"site", "a/b"}, {"twinId", "x"}}).status().message(), HasSubstr("not a topic level"));
  EXPECT_THAT(t.Fill({{"site", "+"}, {"twinId", "x"}}).status().message(), HasSubstr("not a topic level"));
  TopicTemplate wild = TopicTemplate::Compile("doppel/+/{twinId}").value();
  EXPECT_FALSE(wild.Fill({{"twinId", "x"}}).ok());
  EXPECT_EQ(TopicTemplate::Compile("a/#").value().Match("a/b/c").value().size(), 0u);
}

TEST(TopicTemplateTest, RefusesMalformedTemplates) {
  EXPECT_FALSE(TopicTemplate::Compile("").ok());
  EXPECT_FALSE(TopicTemplate::Compile("a//b").ok());
  EXPECT_FALSE(TopicTemplate::Compile("a/x{twinId}").ok());
  EXPECT_FALSE(TopicTemplate::Compile("a/{twin-id}").ok());
  EXPECT_FALSE(TopicTemplate::Compile("a/#/b").ok());
  EXPECT_FALSE(TopicTemplate::Compile("a/b+").ok());
}

TEST(MqttCommandConfigTest, ParsesTheCommandsBlock) {
  auto topics = ParseMqttCommandTopics(ParseJson(R"({
      "request": "doppel/{site}/{twinId}/commands/{commandName}",
      "response": "doppel/+/{twinId}/commands/{commandName}/response",
      "desired": "doppel/{site}/{twinId}/desired",
      "learn": ["doppel/{site}/{twinId}/properties"],
      "values": {"site": "kr"}})").value());
  ASSERT_TRUE(topics.ok()) << topics.status().ToString();
  EXPECT_EQ(topics->learn.size(), 1u);
  EXPECT_EQ(topics->values.at("site"), "kr");
}

TEST(MqttCommandConfigTest, IsStrictAndNamesTheKey) {
  auto unknown = ParseMqttCommandTopics(ParseJson(R"({"request": "a/{twinId}/{commandName}", "response": "r",
                                                      "reqest": "x"})").value());
  EXPECT_THAT(unknown.status().message(), HasSubstr("commands.reqest: unknown key"));
  auto no_command = ParseMqttCommandTopics(ParseJson(R"({"request": "a/{twinId}", "response": "r"})").value());
  EXPECT_THAT(no_command.status().message(), HasSubstr("commands.request: the topic must hold {commandName}"));
  auto no_response = ParseMqttCommandTopics(ParseJson(R"({"request": "a/{twinId}/{commandName}"})").value());
  EXPECT_THAT(no_response.status().message(), HasSubstr("commands.response: required"));
}

TEST(MqttCommandConfigTest, SplitsTheCommandsBlockOffTheConnectors) {
  auto split = SplitCommandConfigs(ParseJson(R"([
      {"name": "a", "broker": "mqtt://h", "clientId": "a", "mappings": []},
      {"name": "b", "broker": "mqtt://h", "clientId": "b", "mappings": [],
       "commands": {"request": "d/{twinId}/{commandName}", "response": "d/+/r"}}])").value());
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  ASSERT_EQ(split->commands.size(), 1u);
  EXPECT_EQ(split->commands[0].first, 1u);
  EXPECT_FALSE(split->connectors.at(1).as_object().contains("commands"));
  auto bad = SplitCommandConfigs(ParseJson(R"([{"commands": {"request": 3}}])").value());
  EXPECT_THAT(bad.status().message(), HasSubstr("[0].commands.request"));
}

}  // namespace
}  // namespace doppel::command
