// Fuzzes the DTDL parser: the input is one JSON document (an interface or an array of them),
// parsed with and without allow_undefined_extensions. Every error must name its rule and JSON
// path; a batch that parses must also pass ModelRegistry::Prepare and Commit, after which each
// interface is found by id.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "fuzz_util.h"
#include "model/dtdl_parser.h"
#include "model/model_registry.h"

namespace {

void CheckOne(const std::vector<doppel::json::value>& docs, bool allow_undefined) {
  using namespace doppel;
  model::ParseOptions options;
  options.allow_undefined_extensions = allow_undefined;
  options.max_interfaces = 64;
  model::DtdlParser parser(options);
  auto result = parser.Parse(docs);
  for (const auto& e : result.errors) {
    FUZZ_CHECK(!e.rule.empty(), e.ToString());
    FUZZ_CHECK(!e.json_path.empty() && e.json_path[0] == '$', e.ToString());
    FUZZ_CHECK(!e.message.empty(), e.ToString());
  }
  if (!result.ok()) {
    FUZZ_CHECK(result.interfaces.empty(), "interfaces returned with errors");
    return;
  }
  model::ModelRegistry registry;
  auto prepared = registry.Prepare(docs, options);
  FUZZ_CHECK(prepared.ok(), prepared.status().ToString());
  FUZZ_CHECK(prepared->size() == result.interfaces.size(), "Prepare and Parse disagree");
  std::vector<std::string> ids;
  for (const auto& i : *prepared) ids.push_back(i->id);
  registry.Commit(std::move(*prepared), "2024-01-01T00:00:00Z");
  for (const auto& id : ids) FUZZ_CHECK(registry.Get(id) != nullptr, id);
  // The same batch again is a duplicate, never a crash or a silent success.
  if (!ids.empty()) {
    auto twice = registry.Prepare(docs, options);
    FUZZ_CHECK(!twice.ok(), "re-adding a batch succeeded");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace doppel;
  JsonLimits limits;
  limits.max_bytes = 8192;
  limits.max_depth = 32;
  auto parsed = ParseJson(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!parsed.ok()) return 0;
  std::vector<json::value> docs = {*parsed};
  CheckOne(docs, false);
  CheckOne(docs, true);
  return 0;
}
