// A test-side MQTT client (libmosquitto) that records every message under doppel/# and can
// publish, for the devsim round-trip tests.
#pragma once

#include <mosquitto.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"

namespace doppel::devsim::testing {

struct Received {
  std::string topic;
  json::object body;
  int qos = 0;
};

// A libmosquitto client that records everything under doppel/# (its own thread delivers). With
// clean_session false the broker keeps its subscription and queues QoS 1 messages while it is
// away (the test broker persists both across a restart).
class Listener {
 public:
  Listener(int port, std::string id, bool clean_session = true) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(id.c_str(), clean_session, this);
    mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void*, int rc) {
      if (rc == 0) mosquitto_subscribe(m, nullptr, "doppel/#", 1);
    });
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
      auto* l = static_cast<Listener*>(self);
      std::lock_guard lock(l->mu_);
      l->subscribed_ = true;
      l->cv_.notify_all();
    });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
      static_cast<Listener*>(self)->Record(*m);
    });
    EXPECT_EQ(mosquitto_connect(mosq_, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
    EXPECT_EQ(mosquitto_loop_start(mosq_), MOSQ_ERR_SUCCESS);
    EXPECT_TRUE(WaitUntil([this] { return subscribed_; }));
  }
  ~Listener() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }

  void Publish(const std::string& topic, const json::value& body) {
    const std::string payload = ToJson(body);
    ASSERT_EQ(mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                payload.data(), 1, false),
              MOSQ_ERR_SUCCESS);
  }

  // Waits (up to 20 s) for a message on `topic` for which `match` holds, received at or after
  // position `from`; returns it, or nullopt.
  std::optional<Received> WaitFor(const std::string& topic,
                                  const std::function<bool(const json::object&)>& match = nullptr,
                                  std::size_t from = 0) {
    std::optional<Received> found;
    WaitUntil([&] {
      for (std::size_t i = from; i < received_.size(); ++i) {
        if (received_[i].topic == topic && (!match || match(received_[i].body))) {
          found = received_[i];
          return true;
        }
      }
      return false;
    });
    return found;
  }

  // Every message on `topic` received from position `from` on.
  std::vector<json::object> All(const std::string& topic, std::size_t from = 0) {
    std::lock_guard lock(mu_);
    std::vector<json::object> out;
    for (std::size_t i = from; i < received_.size(); ++i) {
      if (received_[i].topic == topic) out.push_back(received_[i].body);
    }
    return out;
  }

  std::size_t size() {
    std::lock_guard lock(mu_);
    return received_.size();
  }

 private:
  void Record(const mosquitto_message& m) {
    auto body = ParseJson(std::string_view(static_cast<const char*>(m.payload), m.payloadlen));
    std::lock_guard lock(mu_);
    received_.push_back({m.topic, body.ok() && body->is_object() ? body->as_object() : json::object{}, m.qos});
    cv_.notify_all();
  }

  bool WaitUntil(const std::function<bool()>& done) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), done);
  }

  mosquitto* mosq_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool subscribed_ = false;           // guarded by mu_
  std::vector<Received> received_;  // guarded by mu_
};

}  // namespace doppel::devsim::testing
