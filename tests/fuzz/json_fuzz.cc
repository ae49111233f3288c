// Fuzzes base::ParseJson (small limits) and the ToJson round trip: whatever parses must
// serialise to text that parses back to an equal value, and the text must be stable after one
// round. Equal means twin::JsonEqual (numbers by value): ToJson writes integral doubles without
// a fraction, as ADT does, so 1.0 reads back as the integer 1 by design.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/json.h"
#include "fuzz_util.h"
#include "twin/json_patch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace doppel;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  JsonLimits limits;
  limits.max_bytes = 2048;
  limits.max_depth = 8;
  auto parsed = ParseJson(text, limits);
  if (!parsed.ok()) {
    auto code = parsed.status().code();
    FUZZ_CHECK(code == StatusCode::kInvalidArgument || code == StatusCode::kPayloadTooLarge,
               parsed.status().ToString());
    FUZZ_CHECK(!parsed.status().message().empty(), "empty error message");
    FUZZ_CHECK(size > limits.max_bytes || parsed.status().message().find("line") !=
                                              std::string::npos,
               parsed.status().message());
    return 0;
  }
  FUZZ_CHECK(size <= limits.max_bytes, "over max_bytes accepted");
  std::string once = ToJson(*parsed);
  auto again = ParseJson(once);  // default limits: the output may be longer than the input
  FUZZ_CHECK(again.ok(), once + " → " + again.status().ToString());
  FUZZ_CHECK(twin::JsonEqual(*again, *parsed), once);
  std::string twice = ToJson(*again);
  auto thrice = ParseJson(twice);
  FUZZ_CHECK(thrice.ok() && *thrice == *again && ToJson(*thrice) == twice, twice);
  auto pretty = ParseJson(ToPrettyJson(*parsed));
  FUZZ_CHECK(pretty.ok() && *pretty == *again, ToPrettyJson(*parsed));
  return 0;
}
