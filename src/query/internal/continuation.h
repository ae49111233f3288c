// Continuation tokens: where the next page of a query starts.
//
// A token carries the query text itself (so a client may send the token alone, as ADT allows)
// and where the last page ended: the FROM twin of its last row and how many rows of that twin
// were returned so far (a JOIN yields several rows per FROM twin), plus the rows returned in
// all (for TOP). Resuming after a twin id rather than at an offset keeps pages right when
// twins are added or deleted in between — a twin created after the last returned id is
// seen, none is returned twice — and lets an index range start where the last page stopped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace doppel::query {

struct Continuation {
  std::string query;      // the query text
  std::string last_id;    // FROM twin id of the last row returned
  uint64_t skip = 0;      // rows of that twin returned so far
  uint64_t returned = 0;  // rows returned by all earlier pages
};

// URL-safe base64 of a small JSON record.
std::string EncodeContinuation(const Continuation& continuation);

// InvalidArgument ("BadRequest", "the continuation token is invalid") on anything malformed.
Result<Continuation> DecodeContinuation(std::string_view token);

}  // namespace doppel::query
