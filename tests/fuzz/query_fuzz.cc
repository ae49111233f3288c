// Fuzzes the query language: query::Parse on arbitrary text, then query::Execute on a small
// fixed graph. Errors must be InvalidArgument (PayloadTooLarge for the scan limit) and syntax
// errors must name a line. A query that runs in one page must give the same rows when paged
// two at a time through continuation tokens. The input is also tried as a continuation token.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/json.h"
#include "fuzz_util.h"
#include "query/query.h"

namespace {

doppel::fuzz::SmallGraph& Graph() {
  static doppel::fuzz::SmallGraph* graph = [] {
    auto* g = new doppel::fuzz::SmallGraph();
    g->Build(/*with_twins=*/true);
    return g;
  }();
  return *graph;
}

void CheckError(const doppel::Status& status) {
  using doppel::StatusCode;
  FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument ||
                 status.code() == StatusCode::kPayloadTooLarge,
             status.ToString());
  FUZZ_CHECK(!status.message().empty(), "empty message");
  if (status.message().find("syntax error") != std::string::npos) {
    FUZZ_CHECK(status.message().find("line") != std::string::npos, status.message());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace doppel;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto& graph = Graph().graph();

  auto parsed = query::Parse(text);
  if (!parsed.ok()) CheckError(parsed.status());

  query::QueryOptions whole;
  whole.page_size = 1000;
  whole.max_scanned = 10000;
  auto all = query::Execute(graph, text, whole);
  FUZZ_CHECK(all.ok() || !parsed.ok() ||
                 all.status().code() == StatusCode::kPayloadTooLarge,
             "Parse accepted what Execute rejected: " + all.status().ToString());
  if (!all.ok()) {
    CheckError(all.status());
  } else {
    FUZZ_CHECK(parsed.ok(), "Execute accepted what Parse rejected");
    // Round-trip every row through JSON text: results go to clients as ToJson.
    auto reparsed = ParseJson(ToJson(all->value));
    FUZZ_CHECK(reparsed.ok(), ToJson(all->value));
    if (all->continuation_token.empty()) {
      json::array paged;
      query::QueryOptions small = whole;
      small.page_size = 2;
      for (int page = 0; page < 64; ++page) {
        auto next = query::Execute(graph, page == 0 ? text : std::string_view(), small);
        FUZZ_CHECK(next.ok(), next.status().ToString());
        FUZZ_CHECK(next->value.size() <= 2, "page larger than page_size");
        for (auto& row : next->value) paged.push_back(row);
        if (next->continuation_token.empty()) break;
        small.continuation_token = next->continuation_token;
      }
      FUZZ_CHECK(paged == all->value, "paged " + ToJson(paged) + " vs " + ToJson(all->value));
    }
  }

  query::QueryOptions bogus;
  bogus.continuation_token = std::string(text);
  if (!bogus.continuation_token.empty()) {
    auto resumed = query::Execute(graph, "", bogus);
    if (!resumed.ok()) CheckError(resumed.status());
  }
  return 0;
}
