// connect_load: the whole-system load generator behind `make bench-connect` (issue #4).
// scripts/bench-connect.sh starts a Mosquitto broker and a Doppel server on loopback, runs the
// subcommands below and merges what each prints (one JSON object, last line of stdout).
// Progress goes to stderr.
//
//   connect_load setup --url URL --prefix m --twins 100        the bench model + twins m0000..
//   connect_load mqtt --port P --topic-prefix ceil --subscribe   ceiling: a bare counting subscriber
//   connect_load mqtt --port P --topic-prefix bench --doppel URL Doppel's connector, via /metrics
//   connect_load write --url URL --prefix lp --twins 1000 --points 2000000 [--gzip]
//
// mqtt: `--publishers` libmosquitto clients (one thread each, QoS 1, at most `--window`
// unacknowledged messages each) publish `--messages` messages, a flat JSON object
// {"ts": <epoch ns>, "f0": v, ..., "f9": v} on <topic-prefix>/<twin>/telemetry; publisher k owns
// the twins t with t % publishers == k and sends each twin's messages in time order. First a
// warm-up of one message per twin (waited for, not timed), then the timed run: from the first
// publish until the receiving side has every message. With --subscribe the receiver is a bare
// libmosquitto subscriber in this process (persistent session, QoS 1, counts and nothing else);
// with --doppel it is the Doppel server, whose doppel_mqtt_readings_total{connector=...} must
// grow by messages × 10 (polled every --poll-ms).
//
// write: the InfluxDB line protocol to POST /write?precision=ns, `--lines` lines of 10 fields per
// request over `--connections` keep-alive connections; connection c owns the twins t with
// t % connections == c and sends their lines in time order. Every body is prepared (and, with
// --gzip, compressed) before the clock starts, so the figure is the server's, not the client's;
// an untimed warm-up of one line per twin first creates every series (a new series costs a
// synced catalog write, which steady-state ingest does not pay). 429/503 answers are
// backpressure: the same body is sent again 20 ms later (counted as retries).
#include <fmt/format.h>
#include <mosquitto.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "client/http_client.h"

namespace doppel::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kFields = 10;
constexpr std::string_view kModelId = "dtmi:doppel:bench:Connect;1";
// 2026-11-25T00:00:00Z: readings are in the recent past, as a live fleet's would be.
constexpr int64_t kBaseNs = 1795564800LL * 1'000'000'000LL;

struct Options {
  std::string command;
  std::string url, doppel, prefix = "m", topic_prefix = "bench", connector = "bench";
  int port = 1883;
  int twins = 100;
  int64_t messages = 200'000;
  int publishers = 4;
  int window = 1000;
  int poll_ms = 20;
  bool subscribe = false;
  int64_t points = 2'000'000;
  int connections = 4;
  int lines = 5000;
  bool gzip = false;
  // Shifts every timestamp by this many hours, so a second run never writes into the past of
  // the first (for the same twins).
  int hour_offset = 0;
};

[[noreturn]] void Die(std::string_view what) {
  fmt::print(stderr, "connect_load: {}\n", what);
  std::exit(1);
}

double Seconds(SteadyClock::time_point since) {
  return std::chrono::duration<double>(SteadyClock::now() - since).count();
}

std::string TwinId(const Options& o, int t) { return fmt::format("{}{:04d}", o.prefix, t); }

// A deterministic, sensor-like value: a slow sine per channel plus noise, 2 decimals.
double Value(std::mt19937_64& rng, int twin, int field, int64_t step) {
  std::uniform_real_distribution<double> noise(-0.05, 0.05);
  const double v = 20 + field + 5 * std::sin(0.001 * static_cast<double>(step) + twin * 0.7 + field) + noise(rng);
  return std::round(v * 100) / 100;
}

// ---- setup -----------------------------------------------------------------------------------

std::string ModelJson() {
  std::string contents;
  for (int f = 0; f < kFields; ++f) {
    if (f > 0) contents += ",";
    contents += fmt::format(R"({{"@type":"Telemetry","name":"f{}","schema":"double"}})", f);
  }
  return fmt::format(R"([{{"@context":"dtmi:dtdl:context;2","@id":"{}","@type":"Interface","contents":[{}]}}])",
                     kModelId, contents);
}

int Setup(const Options& o) {
  auto http = client::HttpClient::Create(o.url);
  if (!http.ok()) Die(http.status().ToString());
  auto models = (*http)->Post("/models", ModelJson());
  if (!models.ok()) Die(models.status().ToString());
  if (models->status != 201 && models->status != 200 && models->status != 409) {
    Die(fmt::format("POST /models: {} {}", models->status, models->body));
  }
  const std::string twin = fmt::format(R"({{"$metadata":{{"$model":"{}"}}}})", kModelId);
  for (int t = 0; t < o.twins; ++t) {
    auto r = (*http)->Put("/digitaltwins/" + TwinId(o, t), twin);
    if (!r.ok()) Die(r.status().ToString());
    if (r->status != 200) Die(fmt::format("PUT twin {}: {} {}", TwinId(o, t), r->status, r->body));
  }
  fmt::print(stderr, "connect_load: model and {} twins {}0000.. created\n", o.twins, o.prefix);
  fmt::print("{{\"twins\":{}}}\n", o.twins);
  return 0;
}

// ---- MQTT ----------------------------------------------------------------------------------

// One publishing client: QoS 1, at most `window` messages awaiting PUBACK.
class Publisher {
 public:
  Publisher(const Options& o, int index) : window_(o.window) {
    mosq_ = mosquitto_new(fmt::format("bench-pub-{}-{}", o.topic_prefix, index).c_str(), true, this);
    if (mosq_ == nullptr) Die("mosquitto_new failed");
    mosquitto_int_option(mosq_, MOSQ_OPT_SEND_MAXIMUM, o.window);
    mosquitto_publish_callback_set(mosq_, [](mosquitto*, void* self, int) {
      auto* p = static_cast<Publisher*>(self);
      std::lock_guard lock(p->mu_);
      ++p->acked_;
      p->cv_.notify_one();
    });
    if (mosquitto_connect(mosq_, "127.0.0.1", o.port, 60) != MOSQ_ERR_SUCCESS) Die("publisher cannot connect");
    if (mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS) Die("mosquitto_loop_start failed");
  }
  ~Publisher() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void Publish(const std::string& topic, const std::string& payload) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return sent_ - acked_ < window_; });
      ++sent_;
    }
    int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
    if (rc != MOSQ_ERR_SUCCESS) Die(fmt::format("mosquitto_publish: {}", mosquitto_strerror(rc)));
  }

  void WaitAllAcked() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return acked_ == sent_; });
  }

 private:
  mosquitto* mosq_ = nullptr;
  const int64_t window_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t sent_ = 0;
  int64_t acked_ = 0;
};

// The ceiling: a subscriber that only counts (persistent session, QoS 1, like Doppel's).
class CountingSubscriber {
 public:
  explicit CountingSubscriber(const Options& o) {
    mosq_ = mosquitto_new(fmt::format("bench-ceiling-{}", o.topic_prefix).c_str(), false, this);
    if (mosq_ == nullptr) Die("mosquitto_new failed");
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message*) {
      static_cast<CountingSubscriber*>(self)->count_.fetch_add(1, std::memory_order_relaxed);
    });
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<CountingSubscriber*>(self)->subscribed_.store(true);
    });
    if (mosquitto_connect(mosq_, "127.0.0.1", o.port, 60) != MOSQ_ERR_SUCCESS) Die("subscriber cannot connect");
    const std::string filter = o.topic_prefix + "/+/telemetry";
    if (mosquitto_subscribe(mosq_, nullptr, filter.c_str(), 1) != MOSQ_ERR_SUCCESS) Die("subscribe failed");
    if (mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS) Die("mosquitto_loop_start failed");
    const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
    while (!subscribed_.load()) {
      if (SteadyClock::now() > deadline) Die("no SUBACK within 10 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ~CountingSubscriber() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }
  CountingSubscriber(const CountingSubscriber&) = delete;
  CountingSubscriber& operator=(const CountingSubscriber&) = delete;

  int64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  mosquitto* mosq_ = nullptr;
  std::atomic<int64_t> count_{0};
  std::atomic<bool> subscribed_{false};
};

// The value of the sample `name{connector="..."}` in a Prometheus text exposition, or -1.
int64_t MetricValue(const std::string& text, const std::string& sample) {
  size_t at = 0;
  while ((at = text.find(sample, at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      return static_cast<int64_t>(std::strtod(text.c_str() + at + sample.size(), nullptr));
    }
    at += sample.size();
  }
  return -1;
}

// What the receiving side has so far: the subscriber's count, or Doppel's readings / 10.
class Receiver {
 public:
  explicit Receiver(const Options& o) : poll_(o.poll_ms) {
    if (o.subscribe) {
      subscriber_ = std::make_unique<CountingSubscriber>(o);
      return;
    }
    auto http = client::HttpClient::Create(o.doppel);
    if (!http.ok()) Die(http.status().ToString());
    http_ = std::move(*http);
    sample_ = fmt::format("doppel_mqtt_readings_total{{connector=\"{}\"}} ", o.connector);
    WaitConnected(o.connector);
  }

  int64_t Messages() {
    if (subscriber_) return subscriber_->count();
    auto r = http_->Get("/metrics");
    if (!r.ok()) Die(r.status().ToString());
    last_metrics_ = r->body;
    const int64_t readings = MetricValue(r->body, sample_);
    return readings < 0 ? 0 : readings / kFields;
  }

  // Blocks until Messages() >= target. Dies (with Doppel's rejection counters) after 60 s
  // without progress.
  void WaitFor(int64_t target) {
    int64_t last = -1;
    auto last_progress = SteadyClock::now();
    for (;;) {
      const int64_t now = Messages();
      if (now >= target) return;
      if (now != last) {
        last = now;
        last_progress = SteadyClock::now();
      } else if (Seconds(last_progress) > 60) {
        Die(fmt::format("stuck at {} of {} messages; metrics:\n{}", now, target, MqttLines()));
      }
      std::this_thread::sleep_for(subscriber_ ? std::chrono::milliseconds(1) : poll_);
    }
  }

 private:
  // Messages published before the connector has subscribed would not be queued for it: wait
  // for doppel_mqtt_connected 1, then give the SUBSCRIBE a moment (the warm-up proves it).
  void WaitConnected(const std::string& connector) {
    const std::string connected = fmt::format("doppel_mqtt_connected{{connector=\"{}\"}} ", connector);
    const auto deadline = SteadyClock::now() + std::chrono::seconds(30);
    for (;;) {
      auto r = http_->Get("/metrics");
      if (!r.ok()) Die(r.status().ToString());
      if (MetricValue(r->body, connected) == 1) break;
      if (SteadyClock::now() > deadline) Die("connector '" + connector + "' not connected to the broker within 30 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  std::string MqttLines() const {
    std::string out;
    size_t at = 0;
    while (at < last_metrics_.size()) {
      size_t end = last_metrics_.find('\n', at);
      if (end == std::string::npos) end = last_metrics_.size();
      std::string_view line(last_metrics_.data() + at, end - at);
      if (line.starts_with("doppel_mqtt")) out += fmt::format("  {}\n", line);
      at = end + 1;
    }
    return out;
  }

  std::chrono::milliseconds poll_;
  std::unique_ptr<CountingSubscriber> subscriber_;
  std::unique_ptr<client::HttpClient> http_;
  std::string sample_;
  std::string last_metrics_;
};

std::string Payload(std::mt19937_64& rng, int twin, int64_t step, int hour_offset) {
  const int64_t ts = kBaseNs + int64_t{hour_offset} * 3'600'000'000'000LL + step * 1'000'000;  // 1 ms apart
  std::string out = fmt::format("{{\"ts\":{}", ts);
  for (int f = 0; f < kFields; ++f) out += fmt::format(",\"f{}\":{}", f, Value(rng, twin, f, step));
  out += "}";
  return out;
}

// Publisher k sends `count` messages for its twins (round robin), steps from `first_step`.
void PublishShare(const Options& o, Publisher& pub, int k, int64_t count, int64_t first_step) {
  std::mt19937_64 rng(1000 + k);
  std::vector<int> mine;
  for (int t = k; t < o.twins; t += o.publishers) mine.push_back(t);
  if (mine.empty()) return;
  std::vector<std::string> topics;
  for (int t : mine) topics.push_back(fmt::format("{}/{}/telemetry", o.topic_prefix, TwinId(o, t)));
  for (int64_t i = 0; i < count; ++i) {
    const size_t slot = static_cast<size_t>(i) % mine.size();
    const int64_t step = first_step + i / static_cast<int64_t>(mine.size());
    pub.Publish(topics[slot], Payload(rng, mine[slot], step, o.hour_offset));
  }
}

int Mqtt(const Options& o) {
  if (o.twins < o.publishers) Die("--twins must be >= --publishers");
  mosquitto_lib_init();
  int64_t published = 0;
  double seconds = 0, publish_seconds = 0;
  {
    Receiver receiver(o);
    const int64_t before = receiver.Messages();
    std::vector<std::unique_ptr<Publisher>> pubs;
    for (int k = 0; k < o.publishers; ++k) pubs.push_back(std::make_unique<Publisher>(o, k));

    // Warm-up: one message per twin (step 0), waited for; proves the subscription is live.
    for (int k = 0; k < o.publishers; ++k) {
      const int64_t share = (o.twins - k + o.publishers - 1) / o.publishers;
      PublishShare(o, *pubs[k], k, share, 0);
    }
    receiver.WaitFor(before + o.twins);
    const int64_t base = receiver.Messages();
    fmt::print(stderr, "connect_load: mqtt {} -> {}: warm-up done, publishing {} messages with {} publishers\n",
               o.topic_prefix, o.subscribe ? "bare subscriber" : "doppel", o.messages, o.publishers);

    // Timed run: shares sized so that every twin gets whole rounds where possible.
    const auto start = SteadyClock::now();
    std::vector<std::thread> threads;
    std::atomic<int64_t> publish_done_ns{0};
    for (int k = 0; k < o.publishers; ++k) {
      const int64_t share = o.messages / o.publishers + (k < o.messages % o.publishers ? 1 : 0);
      threads.emplace_back([&, k, share] {
        PublishShare(o, *pubs[k], k, share, 1);
        pubs[k]->WaitAllAcked();
        const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - start).count();
        int64_t prev = publish_done_ns.load();
        while (ns > prev && !publish_done_ns.compare_exchange_weak(prev, ns)) {
        }
      });
    }
    receiver.WaitFor(base + o.messages);
    seconds = Seconds(start);
    for (auto& t : threads) t.join();
    publish_seconds = static_cast<double>(publish_done_ns.load()) / 1e9;
    published = o.messages;
  }
  mosquitto_lib_cleanup();
  const double rate = static_cast<double>(published) / seconds;
  fmt::print(stderr, "connect_load: mqtt {}: {} messages in {:.2f} s = {:.0f} msgs/s (publishers done at {:.2f} s)\n",
             o.topic_prefix, published, seconds, rate, publish_seconds);
  fmt::print("{{\"messages\":{},\"seconds\":{:.3f},\"msgs_per_s\":{:.0f},\"publish_seconds\":{:.3f}}}\n", published,
             seconds, rate, publish_seconds);
  return 0;
}

// ---- line protocol ---------------------------------------------------------------------------

std::string Gzip(const std::string& in) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) Die("deflateInit2");
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) Die("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// The bodies connection c sends, in order.
// With `warm_up`, instead one body of one line per twin of c, timestamped before all others.
std::vector<std::string> Bodies(const Options& o, int c, int64_t lines_total, bool warm_up, size_t* raw_bytes) {
  std::vector<int> mine;
  for (int t = c; t < o.twins; t += o.connections) mine.push_back(t);
  std::mt19937_64 rng(7 + c);
  const int64_t my_lines = lines_total / o.connections + (c < lines_total % o.connections ? 1 : 0);
  const int64_t offset_ns = int64_t{o.hour_offset} * 3'600'000'000'000LL;
  std::vector<std::string> bodies;
  std::string body;
  if (warm_up) {
    // One line per twin, 1 s before the timed data: creates every series before the clock starts.
    for (int t : mine) {
      body += fmt::format("bench,twin={} ", TwinId(o, t));
      for (int f = 0; f < kFields; ++f) body += fmt::format("{}f{}={}", f == 0 ? "" : ",", f, Value(rng, t, f, 0));
      body += fmt::format(" {}\n", kBaseNs + offset_ns - 1'000'000'000);
    }
    bodies.push_back(o.gzip ? Gzip(body) : std::move(body));
    return bodies;
  }
  for (int64_t i = 0; i < my_lines; ++i) {
    const size_t slot = static_cast<size_t>(i) % mine.size();
    const int64_t step = i / static_cast<int64_t>(mine.size());
    body += fmt::format("bench,twin={} ", TwinId(o, mine[slot]));
    for (int f = 0; f < kFields; ++f) {
      body += fmt::format("{}f{}={}", f == 0 ? "" : ",", f, Value(rng, mine[slot], f, step));
    }
    body += fmt::format(" {}\n", kBaseNs + offset_ns + step * 1'000'000);
    if ((i + 1) % o.lines == 0 || i + 1 == my_lines) {
      *raw_bytes += body.size();
      bodies.push_back(o.gzip ? Gzip(body) : std::move(body));
      body.clear();
    }
  }
  return bodies;
}

void SendBodies(client::HttpClient& http, const std::vector<std::string>& bodies, const client::HttpHeaders& headers,
                std::atomic<int64_t>& retries) {
  for (const auto& body : bodies) {
    for (;;) {
      auto r = http.Post("/write?precision=ns", body, headers);
      if (!r.ok()) Die(r.status().ToString());
      if (r->status == 204 || r->status == 200) break;
      if (r->status != 429 && r->status != 503) Die(fmt::format("POST /write: {} {}", r->status, r->body));
      retries.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

int Write(const Options& o) {
  if (o.twins < o.connections) Die("--twins must be >= --connections");
  const int64_t lines_total = o.points / kFields;
  std::vector<std::vector<std::string>> bodies(o.connections), warm_up(o.connections);
  size_t raw_bytes = 0, sent_bytes = 0, warm_up_bytes = 0;
  for (int c = 0; c < o.connections; ++c) {
    bodies[c] = Bodies(o, c, lines_total, false, &raw_bytes);
    warm_up[c] = Bodies(o, c, lines_total, true, &warm_up_bytes);
    for (const auto& b : bodies[c]) sent_bytes += b.size();
  }
  fmt::print(stderr, "connect_load: line protocol{}: {} points, {} MB ({} MB on the wire), {} connections\n",
             o.gzip ? " (gzip)" : "", lines_total * kFields, raw_bytes >> 20, sent_bytes >> 20, o.connections);
  client::HttpHeaders headers{{"Content-Type", "text/plain; charset=utf-8"}};
  if (o.gzip) headers.emplace_back("Content-Encoding", "gzip");
  std::atomic<int64_t> retries{0};
  std::vector<std::unique_ptr<client::HttpClient>> clients;
  for (int c = 0; c < o.connections; ++c) {
    auto http = client::HttpClient::Create(o.url);
    if (!http.ok()) Die(http.status().ToString());
    clients.push_back(std::move(*http));
  }
  // Sends `to_send[c]` over connection c, all connections at once; 429/503 is backpressure:
  // wait a little and send the same body again.
  auto send_all = [&](const std::vector<std::vector<std::string>>& to_send) {
    std::vector<std::thread> threads;
    for (int c = 0; c < o.connections; ++c) {
      threads.emplace_back([&, c] { SendBodies(*clients[c], to_send[c], headers, retries); });
    }
    for (auto& t : threads) t.join();
  };
  send_all(warm_up);
  retries = 0;
  const auto start = SteadyClock::now();
  send_all(bodies);
  const double seconds = Seconds(start);
  const double rate = static_cast<double>(lines_total * kFields) / seconds;
  fmt::print(stderr, "connect_load: line protocol{}: {:.2f} s = {:.0f} points/s ({} retries after 429/503)\n",
             o.gzip ? " (gzip)" : "", seconds, rate, retries.load());
  fmt::print("{{\"points\":{},\"seconds\":{:.3f},\"points_per_s\":{:.0f},\"retries\":{},\"bytes\":{}}}\n",
             lines_total * kFields, seconds, rate, retries.load(), sent_bytes);
  return 0;
}

// ---- command line ----------------------------------------------------------------------------

Options Parse(int argc, char** argv) {
  if (argc < 2) Die("usage: connect_load setup|mqtt|write [--flag value]...");
  Options o;
  o.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--subscribe") {
      o.subscribe = true;
      continue;
    }
    if (flag == "--gzip") {
      o.gzip = true;
      continue;
    }
    if (i + 1 >= argc) Die("missing value for " + flag);
    const std::string value = argv[++i];
    auto num = [&] { return std::stoll(value); };
    if (flag == "--url") o.url = value;
    else if (flag == "--doppel") o.doppel = value;
    else if (flag == "--prefix") o.prefix = value;
    else if (flag == "--topic-prefix") o.topic_prefix = value;
    else if (flag == "--connector") o.connector = value;
    else if (flag == "--port") o.port = static_cast<int>(num());
    else if (flag == "--twins") o.twins = static_cast<int>(num());
    else if (flag == "--messages") o.messages = num();
    else if (flag == "--publishers") o.publishers = static_cast<int>(num());
    else if (flag == "--window") o.window = static_cast<int>(num());
    else if (flag == "--poll-ms") o.poll_ms = static_cast<int>(num());
    else if (flag == "--points") o.points = num();
    else if (flag == "--connections") o.connections = static_cast<int>(num());
    else if (flag == "--lines") o.lines = static_cast<int>(num());
    else if (flag == "--hour-offset") o.hour_offset = static_cast<int>(num());
    else Die("unknown flag " + flag);
  }
  if (o.twins <= 0 || o.publishers <= 0 || o.connections <= 0 || o.lines <= 0 || o.window <= 0) {
    Die("counts must be positive");
  }
  if (o.command == "mqtt" && !o.subscribe && o.doppel.empty()) Die("mqtt needs --subscribe or --doppel URL");
  return o;
}

}  // namespace
}  // namespace doppel::bench

int main(int argc, char** argv) {
  using namespace doppel::bench;
  const Options o = Parse(argc, argv);
  if (o.command == "setup") return Setup(o);
  if (o.command == "mqtt") return Mqtt(o);
  if (o.command == "write") return Write(o);
  Die("unknown command " + o.command);
}
