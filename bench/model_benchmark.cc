// DTDL parsing speed: the whole RealEstateCore ontology (767 interfaces) as one batch, and a
// small interface. Files are read once outside the timed loop; each iteration times ParseJson
// of every file plus DtdlParser::Parse of the batch.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/json.h"
#include "model/dtdl_parser.h"

namespace doppel::model {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> ReadOntologyTexts() {
  fs::path dir = fs::path(DOPPEL_SHARED_DATA_DIR) / "dtdl" / "realestatecore" / "Ontology";
  std::vector<fs::path> files;
  if (fs::is_directory(dir)) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.path().extension() == ".json") files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> texts;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    texts.push_back(ss.str());
  }
  return texts;
}

void ParseTexts(benchmark::State& state, const std::vector<std::string>& texts) {
  DtdlParser parser;
  for (auto _ : state) {
    std::vector<json::value> docs;
    docs.reserve(texts.size());
    for (const auto& t : texts) {
      auto v = ParseJson(t);
      if (!v.ok()) {
        state.SkipWithError(v.status().ToString().c_str());
        return;
      }
      docs.push_back(std::move(v).value());
    }
    ParseResult r = parser.Parse(docs);
    if (!r.ok()) {
      state.SkipWithError(r.errors.front().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(r.interfaces.data());
  }
  state.counters["interfaces"] = static_cast<double>(texts.size());
}

void BM_ParseRealEstateCoreOntology(benchmark::State& state) {
  static const std::vector<std::string> texts = ReadOntologyTexts();
  if (texts.empty()) {
    state.SkipWithError("RealEstateCore ontology not found under shared/data");
    return;
  }
  ParseTexts(state, texts);
}
BENCHMARK(BM_ParseRealEstateCoreOntology)->Unit(benchmark::kMillisecond);

// DtdlParser::Parse alone, on documents parsed once up front.
void BM_DtdlParseOnlyRealEstateCoreOntology(benchmark::State& state) {
  static const std::vector<std::string> texts = ReadOntologyTexts();
  std::vector<json::value> docs;
  for (const auto& t : texts) {
    auto v = ParseJson(t);
    if (v.ok()) docs.push_back(std::move(v).value());
  }
  if (docs.empty()) {
    state.SkipWithError("RealEstateCore ontology not found under shared/data");
    return;
  }
  DtdlParser parser;
  for (auto _ : state) {
    ParseResult r = parser.Parse(docs);
    benchmark::DoNotOptimize(r.interfaces.data());
  }
}
BENCHMARK(BM_DtdlParseOnlyRealEstateCoreOntology)->Unit(benchmark::kMillisecond);

void BM_ParseSmallInterface(benchmark::State& state) {
  static const std::vector<std::string> texts = {R"({
    "@context": "dtmi:dtdl:context;3",
    "@id": "dtmi:com:example:Thermostat;1",
    "@type": "Interface",
    "displayName": "Thermostat",
    "contents": [
      {"@type": "Telemetry", "name": "temperature", "schema": "double"},
      {"@type": "Property", "name": "targetTemperature", "schema": "double", "writable": true},
      {"@type": "Property", "name": "mode", "schema": {"@type": "Enum", "valueSchema": "string",
        "enumValues": [{"name": "off", "enumValue": "off"}, {"name": "heat", "enumValue": "heat"}]}},
      {"@type": "Command", "name": "reboot", "request": {"name": "delay", "schema": "duration"}},
      {"@type": "Relationship", "name": "inRoom", "target": "dtmi:com:example:Room;1"}
    ]
  })"};
  ParseTexts(state, texts);
}
BENCHMARK(BM_ParseSmallInterface)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace doppel::model

BENCHMARK_MAIN();
