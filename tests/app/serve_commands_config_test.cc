// The serve config's "commands" block inside a connector (docs/commands.md): split off before
// the connector parser sees the connector, and paired with that connector's connection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "app/serve.h"

namespace doppel::app {
namespace {

using ::testing::HasSubstr;

Status Apply(const std::string& text, ServeOptions& options) {
  return ApplyServeConfig(ParseJson(text).value(), "", options);
}

constexpr const char* kConnector = R"("name": "site", "broker": "mqtt://127.0.0.1:1884", "clientId": "d1",
    "mappings": [{"topic": "doppel/+/{twinId}/telemetry"}])";

TEST(ServeCommandsConfigTest, AConnectorsCommandsBlockConfiguresTheTransportOnItsBroker) {
  ServeOptions options;
  Status s = Apply(std::string(R"({"connectors": [{)") + kConnector + R"(,
      "commands": {"request": "doppel/{site}/{twinId}/commands/{commandName}",
                   "response": "doppel/+/{twinId}/commands/+/response",
                   "desired": "doppel/{site}/{twinId}/desired", "values": {"site": "kr"}}}]})",
                   options);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(options.connectors.size(), 1u);
  ASSERT_TRUE(options.command_transport.has_value());
  EXPECT_EQ(options.command_transport->connection.port, 1884);
  EXPECT_EQ(options.command_transport->connection.client_id, "d1");
  EXPECT_EQ(options.command_transport->topics.desired, "doppel/{site}/{twinId}/desired");
}

TEST(ServeCommandsConfigTest, WithoutABlockThereIsNoTransport) {
  ServeOptions options;
  ASSERT_TRUE(Apply(std::string(R"({"connectors": [{)") + kConnector + "}]}", options).ok());
  EXPECT_FALSE(options.command_transport.has_value());
}

TEST(ServeCommandsConfigTest, ABadBlockOrTwoBlocksAreRefused) {
  ServeOptions options;
  Status bad = Apply(std::string(R"({"connectors": [{)") + kConnector +
                         R"(, "commands": {"request": "x/{twinId}", "response": "r"}}]})",
                     options);
  EXPECT_THAT(bad.message(), HasSubstr("commands.request: the topic must hold {commandName}"));
  const std::string block = R"("commands": {"request": "a/{twinId}/{commandName}", "response": "r"})";
  Status two = Apply(R"({"connectors": [{"name": "a", "broker": "mqtt://h", "clientId": "a",
                       "mappings": [{"topic": "t/{twinId}"}], )" + block + R"(},
                      {"name": "b", "broker": "mqtt://h", "clientId": "b",
                       "mappings": [{"topic": "u/{twinId}"}], )" + block + "}]}",
                     options);
  EXPECT_THAT(two.message(), HasSubstr("at most one connector"));
}

}  // namespace
}  // namespace doppel::app
