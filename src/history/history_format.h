// History results as JSON or CSV (shapes in docs/history.md), written piece by piece so that a
// large answer can be streamed series by series and point block by point block.
//
//   ResultWriter w(plan, options);
//   std::string out;
//   w.Begin(out);
//   for (each series) { w.BeginSeries(info, out); w.AddPoints(block, out); ...; w.EndSeries(out); }
//   w.End(out);                       // `out` may be flushed and cleared between any two calls
//
// Non-finite numbers (NaN, ±inf, which history stores faithfully) are written as null in JSON
// (JSON has no literal for them) and as NaN, Inf, -Inf in CSV. CSV fields holding a comma,
// quote, CR or LF are quoted per RFC 4180.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "history/history_query.h"
#include "history/history_request.h"

namespace doppel::history {

class ResultWriter {
 public:
  // `plan` must outlive the writer.
  ResultWriter(const HistoryPlan& plan, OutputOptions options);

  void Begin(std::string& out);
  // Series come in plan order (sorted by twin, then path). Raw: AddPoints; aggregate:
  // AddBuckets (each any number of times); last: SetLast once.
  void BeginSeries(const tsdb::SeriesInfo& info, std::string& out);
  void AddPoints(std::span<const tsdb::Point> points, std::string& out);
  void AddBuckets(std::span<const tsdb::Bucket> buckets, std::string& out);
  void SetLast(const std::optional<tsdb::Point>& last, std::string& out);
  void EndSeries(std::string& out);
  // groupBy property: one whole group.
  void AddGroup(const PropertyGroup& group, std::string& out);
  void End(std::string& out);

  std::string_view content_type() const;

 private:
  bool csv() const { return options_.format == OutputFormat::kCsv; }
  void AppendTime(tsdb::TimeNs t, std::string& out) const;
  void AppendValue(const tsdb::Value& v, std::string& out) const;
  void AppendNumber(double v, std::string& out) const;
  void AppendBucketJson(const tsdb::Bucket& b, std::string& out) const;
  void AppendBucketCsv(std::string_view prefix, const tsdb::Bucket& b, std::string& out) const;
  void Separator(std::string& out);

  const HistoryPlan& plan_;
  const OutputOptions options_;
  bool first_series_ = true;  // no series (or group) written yet
  bool first_item_ = true;    // no point/bucket written yet in the current series
  std::string twin_;          // groupBy twin: the twin whose object is open
  std::string csv_prefix_;    // "twin,path," of the current series
};

// Produces a whole answer piece by piece from a plan, computing one series or group at a time:
// memory holds one series' points (at most kMaxRawPoints) and one piece of output. For
// HttpResponse::stream, and for small answers run to the end at once.
//
//   ResultStream stream(store, std::move(plan), options);
//   std::string piece;
//   while (stream.Next(piece).ok() && !piece.empty()) send(piece);
class ResultStream {
 public:
  // Pieces are about this size (a block of points never splits a point).
  static constexpr std::size_t kPieceBytes = 64u << 10;

  // `store` must outlive the stream.
  ResultStream(const tsdb::SeriesStore& store, HistoryPlan plan, OutputOptions options);
  ResultStream(const ResultStream&) = delete;
  ResultStream& operator=(const ResultStream&) = delete;

  // Clears `piece` and fills it with the next part of the answer; empty at the end. Errors
  // are the engine's (a series deleted since planning is NotFound, store errors Internal).
  Status Next(std::string& piece);

  // A size estimate of the whole answer from the plan (an upper bound for aggregates), to
  // choose between streaming and answering in one piece.
  uint64_t EstimatedBytes() const;
  std::string_view content_type() const { return writer_.content_type(); }

 private:
  Status Step(std::string& out);
  void EmitPending(std::string& out);

  const tsdb::SeriesStore& store_;
  const HistoryPlan plan_;
  const OutputOptions options_;
  ResultWriter writer_;
  enum class Phase { kBegin, kBody, kEnd, kDone } phase_ = Phase::kBegin;
  std::size_t next_ = 0;                 // next series or group
  std::optional<SeriesResult> current_;  // series being written
  std::size_t emitted_ = 0;              // of current_'s points or buckets
  std::vector<SeriesResult> last_;       // mode last: all at once (one store call)
};

// The whole result in one string (for small answers and tests).
std::string FormatResult(const HistoryResult& result, OutputOptions options);

// Appends `field` as an RFC 4180 CSV field (quoted only when it must be).
void AppendCsvField(std::string& out, std::string_view field);

}  // namespace doppel::history
