// The right to erasure across the engines (docs/security.md, "Erasing a twin"): a twin, its
// relationships in and out, every history series of it with every point, roll-up and index
// entry, its ingest cache entries and its live values.
//
//   Result<ingest::TwinErasure> erased = ingest::EraseTwinEverywhere("ws-4711", graph, ingestor, history, live);
//
// The order matters, and is why this lives in one function: the graph first, so no new
// reading of the twin is accepted (kUnknownTwin); then Ingestor::ForgetTwin, which waits for
// readings already validated to be stored; then history (whatever they stored goes too); the
// live state last (their listeners have run by then).
#pragma once

#include <cstddef>
#include <string_view>

#include "base/status.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "tsdb/series_store.h"
#include "twin/twin_graph.h"

namespace doppel::ingest {

struct TwinErasure {
  std::size_t relationships = 0;  // deleted from the graph, outgoing and incoming
  tsdb::EraseStats history;       // series, points and chunks erased from history
};

// A twin already deleted from the graph (DELETE keeps its history) is erased from history and
// the live state all the same, with relationships = 0. Errors: NotFound "DigitalTwinNotFound"
// when neither the graph nor history knows the id; a graph commit error (nothing changed);
// otherwise the first error of a step, after every later step has still run (a failed
// compaction must not leave the history of a twin that is gone from the graph).
Result<TwinErasure> EraseTwinEverywhere(std::string_view twin_id, twin::TwinGraph& graph, Ingestor& ingestor,
                                        tsdb::SeriesStore& history, LiveState& live);

}  // namespace doppel::ingest
