#include "ingest/erasure.h"

namespace doppel::ingest {

Result<TwinErasure> EraseTwinEverywhere(std::string_view twin_id, twin::TwinGraph& graph, Ingestor& ingestor,
                                        tsdb::SeriesStore& history, LiveState& live) {
  TwinErasure erased;
  Status graph_erased = graph.EraseTwin(twin_id, &erased.relationships);
  const bool in_graph = graph_erased.code() != StatusCode::kNotFound;
  // A commit that failed left the twin in place: stop before anything else goes. Purge
  // failing after the commit leaves it deleted: carry on, report the error at the end.
  if (!graph_erased.ok() && in_graph && graph.GetTwin(twin_id).ok()) return graph_erased;
  ingestor.ForgetTwin(twin_id);
  Status history_erased = history.EraseTwin(twin_id, &erased.history);
  live.EraseTwin(twin_id);
  if (!in_graph) {
    if (history_erased.ok() && erased.history.series == 0) return graph_erased;  // no trace anywhere
    graph_erased = Status::Ok();
  }
  DOPPEL_RETURN_IF_ERROR(graph_erased);
  DOPPEL_RETURN_IF_ERROR(history_erased);
  return erased;
}

}  // namespace doppel::ingest
