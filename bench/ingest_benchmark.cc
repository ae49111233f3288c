// Micro-benchmarks of the bulk ingest path's decoding (issue #4: >= 1M points/s through HTTP on
// 2 cores, so decoding must cost a small fraction of a core): line protocol parse throughput in
// fields per second on a realistic Telegraf-like body, and gzip inflate throughput.
//
//   build/ingest_benchmark --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "ingest/line_protocol.h"

namespace doppel::ingest {
namespace {

constexpr int kLines = 10'000;
constexpr int kFieldsPerLine = 10;
constexpr int64_t kStartNs = 1'732'525'200'000'000'000;

// 10,000 lines of one measurement, twin tag sNNNN (100 twins), 10 float fields with sensor-like
// precision, ns timestamps one second apart per twin:
//   telemetry,twin=s0042 f0=21.53,f1=0.0213,...,f9=1013.2 1732525200000000000
// With `component`, each line also carries component=nacelle (paths "nacelle/f0", ...).
std::string MakeBody(bool component) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 1);
  std::string body;
  char buf[64];
  for (int i = 0; i < kLines; ++i) {
    std::snprintf(buf, sizeof buf, "telemetry,twin=s%04d", i % 100);
    body += buf;
    if (component) body += ",component=nacelle";
    for (int f = 0; f < kFieldsPerLine; ++f) {
      const double v = 20.0 * (f + 1) + noise(rng);
      std::snprintf(buf, sizeof buf, "%cf%d=%.*f", f == 0 ? ' ' : ',', f, 2 + f % 3, v);
      body += buf;
    }
    std::snprintf(buf, sizeof buf, " %lld\n",
                  static_cast<long long>(kStartNs + static_cast<int64_t>(i / 100) * 1'000'000'000));
    body += buf;
  }
  return body;
}

std::string Gzip(const std::string& data) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void ParseBody(benchmark::State& state, bool component) {
  const std::string body = MakeBody(component);
  LineProtocolOptions options;
  options.now = kStartNs;
  std::vector<Reading> out;
  for (auto _ : state) {
    out.clear();
    out.shrink_to_fit();  // as in the server: a fresh vector per request
    Status status = ParseLineProtocol(body, options, out);
    if (!status.ok() || out.size() != kLines * kFieldsPerLine) {
      state.SkipWithError(status.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kLines * kFieldsPerLine);  // fields/s
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_ParseLineProtocol(benchmark::State& state) { ParseBody(state, /*component=*/false); }
BENCHMARK(BM_ParseLineProtocol)->Unit(benchmark::kMillisecond);

void BM_ParseLineProtocolWithComponent(benchmark::State& state) { ParseBody(state, /*component=*/true); }
BENCHMARK(BM_ParseLineProtocolWithComponent)->Unit(benchmark::kMillisecond);

// Inflate throughput, reported as decompressed bytes/s (and fields/s of the body it carries).
void BM_Gunzip(benchmark::State& state) {
  const std::string body = MakeBody(false);
  const std::string compressed = Gzip(body);
  for (auto _ : state) {
    auto inflated = Gunzip(compressed, body.size());
    if (!inflated.ok() || inflated->size() != body.size()) {
      state.SkipWithError(inflated.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(inflated->data());
  }
  state.SetItemsProcessed(state.iterations() * kLines * kFieldsPerLine);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.counters["ratio"] = static_cast<double>(body.size()) / static_cast<double>(compressed.size());
}
BENCHMARK(BM_Gunzip)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace doppel::ingest

BENCHMARK_MAIN();
