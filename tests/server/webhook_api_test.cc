// /webhooks/deliveries through the API, over a WebhookSender that is never started (its
// deliveries stay pending): the list and its limit, one delivery, 404, 503 without webhooks, and
// that neither answer shows a delivery's body or secret.
#include <fmt/format.h>
#include <gmock/gmock.h>

#include "api_test_fixture.h"
#include "client/webhook_sender.h"

namespace doppel::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class WebhookApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServices services;
    services.webhooks = webhooks_.get();
    api_ = std::make_unique<DigitalTwinsApi>(graph_, clock_, ApiOptions{}, services);
  }
  HttpResponse Call(std::string target, DigitalTwinsApi* api = nullptr) {
    HttpRequest req;
    req.method = "GET";
    req.target = std::move(target);
    return (api != nullptr ? api : api_.get())->Handle(req);
  }
  std::string Enqueue(std::string event) {
    auto id = webhooks_->Enqueue({.url = "https://cmms.example/hooks/doppel",
                                  .secret = "hush-hush",
                                  .event = std::move(event),
                                  .body = {{"note", "confidential body"}}});
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    clock_.Advance(std::chrono::seconds(1));  // distinct creation times
    return id.ok() ? *id : "";
  }
  static json::value Json(const HttpResponse& r) { return ParseJson(r.body).value(); }
  static std::string ErrorCode(const HttpResponse& r) {
    return std::string(Json(r).at("error").at("code").as_string());
  }

  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<client::WebhookSender> webhooks_ =
      client::WebhookSender::Open({}, clock_).value();
  std::unique_ptr<DigitalTwinsApi> api_;
};

TEST_F(WebhookApiTest, ListsDeliveriesNewestFirstWithinTheLimit) {
  const std::string first = Enqueue("workOrder.created");
  const std::string second = Enqueue("rule.activated");
  HttpResponse all = Call("/webhooks/deliveries");
  ASSERT_EQ(all.status, 200) << all.body;
  const json::value doc = Json(all);
  const json::array& value = doc.at("value").as_array();
  ASSERT_EQ(value.size(), 2u);
  EXPECT_EQ(value[0].at("deliveryId"), json::value(second));
  EXPECT_EQ(value[0].at("event"), json::value("rule.activated"));
  EXPECT_EQ(value[0].at("state"), json::value("pending"));
  EXPECT_EQ(value[0].at("url"), json::value("https://cmms.example/hooks/doppel"));
  EXPECT_EQ(value[1].at("deliveryId"), json::value(first));
  EXPECT_THAT(all.body, Not(HasSubstr("hush-hush")));
  EXPECT_THAT(all.body, Not(HasSubstr("confidential body")));

  HttpResponse one = Call("/webhooks/deliveries?limit=1");
  ASSERT_EQ(one.status, 200) << one.body;
  ASSERT_EQ(Json(one).at("value").as_array().size(), 1u);
  EXPECT_EQ(Json(one).at("value").at(0).at("deliveryId"), json::value(second));
  for (const char* bad : {"0", "-1", "ten", "1x"}) {
    HttpResponse r = Call(fmt::format("/webhooks/deliveries?limit={}", bad));
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_THAT(r.body, HasSubstr("'limit' must be a positive integer")) << bad;
  }
}

TEST_F(WebhookApiTest, GetsOneDeliveryAndAnswers404ForAnUnknownOne) {
  const std::string id = Enqueue("workOrder.created");
  HttpResponse r = Call("/webhooks/deliveries/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value d = Json(r);
  EXPECT_EQ(d.at("deliveryId"), json::value(id));
  EXPECT_EQ(d.at("attempts"), json::value(0));
  EXPECT_TRUE(d.as_object().contains("nextAttemptTime"));
  EXPECT_THAT(r.body, Not(HasSubstr("hush-hush")));
  EXPECT_THAT(r.body, Not(HasSubstr("confidential body")));

  HttpResponse missing = Call("/webhooks/deliveries/0123456789abcdef0123456789abcdef");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCode(missing), "DeliveryNotFound");
}

TEST_F(WebhookApiTest, WithoutWebhooksBothRoutesAre503) {
  DigitalTwinsApi bare(graph_, clock_, ApiOptions{}, ApiServices{});
  for (const char* target :
       {"/webhooks/deliveries", "/webhooks/deliveries/0123456789abcdef0123456789abcdef"}) {
    HttpResponse r = Call(target, &bare);
    EXPECT_EQ(r.status, 503) << target;
    EXPECT_THAT(r.body, HasSubstr("webhooks are not enabled on this server")) << target;
  }
}

}  // namespace
}  // namespace doppel::server::testing
