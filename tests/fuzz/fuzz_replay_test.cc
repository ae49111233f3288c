// Replays the checked-in seed corpus (tests/fuzz/corpus/<target>/*) through every fuzz target,
// so each crash ever found stays fixed and the targets' invariants hold on valid and invalid
// examples — in every build, GCC included, without libFuzzer.
//
// Each target's LLVMFuzzerTestOneInput is compiled under the name <target>FuzzOne (CMake
// passes -DLLVMFuzzerTestOneInput=<target>FuzzOne); a target aborts on a broken invariant.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

extern "C" int json_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int dtdl_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int query_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int json_patch_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int twin_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int http_request_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int line_protocol_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int mqtt_codec_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int mqtt_mapping_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int opcua_message_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int bearer_token_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int audit_record_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int scenario_request_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int sim_binding_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int fmu_model_description_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int fmu_archive_fuzzFuzzOne(const uint8_t* data, size_t size);
extern "C" int rule_expression_fuzzFuzzOne(const uint8_t* data, size_t size);

namespace {

using FuzzOne = int (*)(const uint8_t*, size_t);

struct Target {
  const char* name;
  FuzzOne run;
};

// Names the target in test listings instead of dumping the struct's bytes.
void PrintTo(const Target& target, std::ostream* os) { *os << target.name; }

class FuzzReplay : public ::testing::TestWithParam<Target> {};

std::vector<std::filesystem::path> CorpusFiles(const std::string& target) {
  std::vector<std::filesystem::path> files;
  std::filesystem::path dir = std::filesystem::path(DOPPEL_FUZZ_CORPUS_DIR) / target;
  if (!std::filesystem::is_directory(dir)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST_P(FuzzReplay, EveryCorpusFileKeepsTheInvariants) {
  auto files = CorpusFiles(GetParam().name);
  ASSERT_FALSE(files.empty()) << "no corpus for " << GetParam().name;
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A broken invariant aborts the process (and fails the test); 0 is the only answer.
    EXPECT_EQ(GetParam().run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay,
                         ::testing::Values(Target{"json", json_fuzzFuzzOne},
                                           Target{"dtdl", dtdl_fuzzFuzzOne},
                                           Target{"query", query_fuzzFuzzOne},
                                           Target{"json_patch", json_patch_fuzzFuzzOne},
                                           Target{"twin", twin_fuzzFuzzOne},
                                           Target{"http_request", http_request_fuzzFuzzOne},
                                           Target{"line_protocol", line_protocol_fuzzFuzzOne},
                                           Target{"mqtt_codec", mqtt_codec_fuzzFuzzOne},
                                           Target{"mqtt_mapping", mqtt_mapping_fuzzFuzzOne},
                                           Target{"opcua_message", opcua_message_fuzzFuzzOne},
                                           Target{"bearer_token", bearer_token_fuzzFuzzOne},
                                           Target{"audit_record", audit_record_fuzzFuzzOne},
                                           Target{"scenario_request", scenario_request_fuzzFuzzOne},
                                           Target{"sim_binding", sim_binding_fuzzFuzzOne},
                                           Target{"fmu_model_description", fmu_model_description_fuzzFuzzOne},
                                           Target{"fmu_archive", fmu_archive_fuzzFuzzOne},
                                           Target{"rule_expression", rule_expression_fuzzFuzzOne}),
                         [](const ::testing::TestParamInfo<Target>& p) { return std::string(p.param.name); });

}  // namespace
