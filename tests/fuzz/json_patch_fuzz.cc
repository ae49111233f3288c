// Fuzzes JSON Patch / JSON Pointer: the input is "<document>\n<patch>" (split at the first
// newline). A failed apply leaves the document unchanged and says JsonPatchInvalid; a
// successful one gives the same result as the in-place variant; every pointer in a parsed
// patch formats back to its own text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/json.h"
#include "fuzz_util.h"
#include "twin/json_patch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace doppel;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto split = input.find('\n');
  if (split == std::string_view::npos) return 0;
  JsonLimits limits;
  limits.max_bytes = 4096;
  limits.max_depth = 16;
  auto doc = ParseJson(input.substr(0, split), limits);
  auto patch = ParseJson(input.substr(split + 1), limits);
  if (!doc.ok() || !patch.ok()) return 0;

  auto ops = twin::ParseJsonPatch(*patch);
  json::value document = *doc;
  Status applied = twin::ApplyJsonPatch(*patch, document);
  FUZZ_CHECK(applied.ok() ? ops.ok() : true, "ApplyJsonPatch accepted an unparsable patch");
  if (!applied.ok()) {
    FUZZ_CHECK(applied.code() == StatusCode::kInvalidArgument, applied.ToString());
    FUZZ_CHECK(applied.error_code() == twin::kJsonPatchInvalid, applied.ToString());
    FUZZ_CHECK(document == *doc, "failed patch changed the document: " + ToJson(document));
  }
  if (!ops.ok()) {
    FUZZ_CHECK(!applied.ok(), "parse failed but apply succeeded");
    return 0;
  }
  for (const auto& op : *ops) {
    FUZZ_CHECK(twin::FormatJsonPointer(op.path_tokens) == op.path, op.path);
  }
  json::value in_place = *doc;
  Status in_place_status = twin::ApplyJsonPatchInPlace(*ops, in_place);
  FUZZ_CHECK(in_place_status.ok() == applied.ok(), in_place_status.ToString());
  if (applied.ok()) {
    FUZZ_CHECK(in_place == document, ToJson(in_place) + " vs " + ToJson(document));
    FUZZ_CHECK(twin::JsonEqual(in_place, document), "JsonEqual not reflexive");
  }
  return 0;
}
