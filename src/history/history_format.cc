#include "history/history_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace doppel::history {
namespace {

bool GroupedByTwin(const HistoryPlan& plan) {
  return plan.request.group_by.kind == GroupBy::Kind::kTwin;
}

// The property value as a CSV group field: strings bare, null empty, others as JSON.
std::string GroupField(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "";
  if (v.is_double()) return fmt::format("{}", v.get_double());
  return ToJson(v);
}

void AppendJsonMember(std::string& out, std::string_view name, std::string_view value) {
  AppendJsonString(out, name);
  out += ':';
  AppendJsonString(out, value);
}

}  // namespace

void AppendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

ResultWriter::ResultWriter(const HistoryPlan& plan, OutputOptions options)
    : plan_(plan), options_(options) {}

std::string_view ResultWriter::content_type() const {
  return csv() ? "text/csv; charset=utf-8" : "application/json";
}

void ResultWriter::AppendTime(tsdb::TimeNs t, std::string& out) const {
  if (options_.time_format == TimeFormat::kNs) {
    fmt::format_to(std::back_inserter(out), "{}", t);
  } else if (csv()) {
    out += FormatTimeRfc3339(t);
  } else {
    out += '"';
    out += FormatTimeRfc3339(t);
    out += '"';
  }
}

void ResultWriter::AppendNumber(double v, std::string& out) const {
  if (std::isfinite(v)) {
    fmt::format_to(std::back_inserter(out), "{}", v);
  } else if (!csv()) {
    out += "null";
  } else {
    out += std::isnan(v) ? "NaN" : (v > 0 ? "Inf" : "-Inf");
  }
}

void ResultWriter::AppendValue(const tsdb::Value& v, std::string& out) const {
  switch (tsdb::TypeOf(v)) {
    case tsdb::ValueType::kDouble:
      return AppendNumber(std::get<double>(v), out);
    case tsdb::ValueType::kInt64:
      fmt::format_to(std::back_inserter(out), "{}", std::get<int64_t>(v));
      return;
    case tsdb::ValueType::kBool:
      out += std::get<bool>(v) ? "true" : "false";
      return;
    case tsdb::ValueType::kString:
      if (csv()) return AppendCsvField(out, std::get<std::string>(v));
      return AppendJsonString(out, std::get<std::string>(v));
  }
}

void ResultWriter::Separator(std::string& out) {
  if (!first_item_) out += ',';
  first_item_ = false;
}

void ResultWriter::Begin(std::string& out) {
  const HistoryRequest& r = plan_.request;
  if (!csv()) {
    out += r.group_by.merges()    ? "{\"groups\":["
           : GroupedByTwin(plan_) ? "{\"twins\":["
                                  : "{\"series\":[";
    return;
  }
  out += r.group_by.merges() ? "group,path,time" : "twin,path,time";
  if (r.mode != Mode::kAggregate) {
    out += ",value";
  } else {
    for (Aggregation a : r.aggregations) out += ',', out += AggregationName(a);
  }
  out += "\r\n";
}

void ResultWriter::BeginSeries(const tsdb::SeriesInfo& info, std::string& out) {
  const tsdb::SeriesSpec& spec = info.spec;
  first_item_ = true;
  if (csv()) {
    csv_prefix_.clear();
    AppendCsvField(csv_prefix_, spec.twin_id);
    csv_prefix_ += ',';
    AppendCsvField(csv_prefix_, spec.path);
    csv_prefix_ += ',';
    return;
  }
  if (GroupedByTwin(plan_) && (first_series_ || spec.twin_id != twin_)) {
    if (!first_series_) out += "]},";
    out += '{';
    AppendJsonMember(out, "twin", spec.twin_id);
    out += ',';
    AppendJsonMember(out, "model", spec.model_id);
    out += ",\"series\":[";
    twin_ = spec.twin_id;
  } else if (!first_series_) {
    out += ',';
  }
  first_series_ = false;
  out += '{';
  AppendJsonMember(out, "twin", spec.twin_id);
  out += ',';
  AppendJsonMember(out, "path", spec.path);
  out += ',';
  AppendJsonMember(out, "model", spec.model_id);
  out += ',';
  AppendJsonMember(out, "unit", spec.unit);
  out += ',';
  AppendJsonMember(out, "type", tsdb::ValueTypeName(spec.type));
  switch (plan_.request.mode) {
    case Mode::kRaw:
      out += ",\"points\":[";
      break;
    case Mode::kAggregate:
      out += ",\"buckets\":[";
      break;
    case Mode::kLast:
      out += ",\"last\":";
      break;
  }
}

void ResultWriter::AddPoints(std::span<const tsdb::Point> points, std::string& out) {
  for (const tsdb::Point& p : points) {
    if (csv()) {
      out += csv_prefix_;
      AppendTime(p.time, out);
      out += ',';
      AppendValue(p.value, out);
      out += "\r\n";
      continue;
    }
    Separator(out);
    out += '[';
    AppendTime(p.time, out);
    out += ',';
    AppendValue(p.value, out);
    out += ']';
  }
}

void ResultWriter::AppendBucketJson(const tsdb::Bucket& b, std::string& out) const {
  out += "{\"time\":";
  AppendTime(b.start, out);
  for (Aggregation a : plan_.request.aggregations) {
    out += ",\"";
    out += AggregationName(a);
    out += "\":";
    if (a == Aggregation::kCount) {
      fmt::format_to(std::back_inserter(out), "{}", b.count);
    } else {
      AppendNumber(AggregationValue(b, a), out);
    }
  }
  out += '}';
}

void ResultWriter::AppendBucketCsv(std::string_view prefix, const tsdb::Bucket& b,
                                   std::string& out) const {
  out += prefix;
  AppendTime(b.start, out);
  for (Aggregation a : plan_.request.aggregations) {
    out += ',';
    if (a == Aggregation::kCount) {
      fmt::format_to(std::back_inserter(out), "{}", b.count);
    } else {
      AppendNumber(AggregationValue(b, a), out);
    }
  }
  out += "\r\n";
}

void ResultWriter::AddBuckets(std::span<const tsdb::Bucket> buckets, std::string& out) {
  for (const tsdb::Bucket& b : buckets) {
    if (csv()) {
      AppendBucketCsv(csv_prefix_, b, out);
      continue;
    }
    Separator(out);
    AppendBucketJson(b, out);
  }
}

void ResultWriter::SetLast(const std::optional<tsdb::Point>& last, std::string& out) {
  if (csv()) {
    out += csv_prefix_;
    if (last) {
      AppendTime(last->time, out);
      out += ',';
      AppendValue(last->value, out);
    } else {
      out += ',';
    }
    out += "\r\n";
    return;
  }
  if (!last) {
    out += "null";
    return;
  }
  out += "{\"time\":";
  AppendTime(last->time, out);
  out += ",\"value\":";
  AppendValue(last->value, out);
  out += '}';
}

void ResultWriter::EndSeries(std::string& out) {
  if (csv()) return;
  out += plan_.request.mode == Mode::kLast ? "}" : "]}";
}

void ResultWriter::AddGroup(const PropertyGroup& g, std::string& out) {
  if (csv()) {
    std::string prefix;
    AppendCsvField(prefix, GroupField(g.value));
    prefix += ',';
    AppendCsvField(prefix, g.path);
    prefix += ',';
    for (const tsdb::Bucket& b : g.buckets) AppendBucketCsv(prefix, b, out);
    return;
  }
  if (!first_series_) out += ',';
  first_series_ = false;
  out += '{';
  const GroupBy& by = plan_.request.group_by;
  AppendJsonMember(out, by.kind == GroupBy::Kind::kProperty ? "property" : "relationship", by.name);
  out += ",\"value\":";
  out += ToJson(g.value);
  out += ',';
  AppendJsonMember(out, "path", g.path);
  out += ',';
  AppendJsonMember(out, "unit", g.unit);
  out += ",\"twins\":[";
  for (std::size_t i = 0; i < g.twins.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, g.twins[i]);
  }
  out += "],\"buckets\":[";
  for (std::size_t i = 0; i < g.buckets.size(); ++i) {
    if (i > 0) out += ',';
    AppendBucketJson(g.buckets[i], out);
  }
  out += "]}";
}

void ResultWriter::End(std::string& out) {
  if (csv()) return;
  if (GroupedByTwin(plan_) && !first_series_) out += "]}";
  out += "]}";
}

std::string FormatResult(const HistoryResult& result, OutputOptions options) {
  ResultWriter w(result.plan, options);
  std::string out;
  w.Begin(out);
  for (const PropertyGroup& g : result.groups) w.AddGroup(g, out);
  for (const SeriesResult& s : result.series) {
    w.BeginSeries(s.info, out);
    switch (result.plan.request.mode) {
      case Mode::kRaw:
        w.AddPoints(s.points, out);
        break;
      case Mode::kAggregate:
        w.AddBuckets(s.buckets, out);
        break;
      case Mode::kLast:
        w.SetLast(s.last, out);
        break;
    }
    w.EndSeries(out);
  }
  w.End(out);
  return out;
}

ResultStream::ResultStream(const tsdb::SeriesStore& store, HistoryPlan plan, OutputOptions options)
    : store_(store), plan_(std::move(plan)), options_(options), writer_(plan_, options) {}

uint64_t ResultStream::EstimatedBytes() const {
  const HistoryRequest& r = plan_.request;
  const uint64_t per_series = 120;  // names and metadata
  // A CSV row repeats the twin and path.
  uint64_t row_prefix = 0;
  if (options_.format == OutputFormat::kCsv) {
    for (const tsdb::SeriesInfo& info : plan_.series) {
      row_prefix =
          std::max<uint64_t>(row_prefix, info.spec.twin_id.size() + info.spec.path.size() + 2);
    }
  }
  switch (r.mode) {
    case Mode::kRaw:
      return plan_.raw_points * (48 + row_prefix) + plan_.series.size() * per_series;
    case Mode::kLast:
      return plan_.series.size() * (per_series + 60);
    case Mode::kAggregate:
      break;
  }
  const __int128 buckets =
      __int128{tsdb::FloorDiv(*r.end - 1, r.step)} - tsdb::FloorDiv(*r.start, r.step) + 1;
  const std::size_t rows = r.group_by.merges() ? plan_.groups.size() : plan_.series.size();
  const __int128 bytes =
      buckets * rows * (40 + row_prefix + 24 * static_cast<__int128>(r.aggregations.size())) +
      rows * per_series;
  return bytes > static_cast<__int128>(UINT64_MAX / 2) ? UINT64_MAX / 2
                                                       : static_cast<uint64_t>(bytes);
}

Status ResultStream::Next(std::string& piece) {
  piece.clear();
  while (phase_ != Phase::kDone && piece.size() < kPieceBytes) DOPPEL_RETURN_IF_ERROR(Step(piece));
  return Status::Ok();
}

// Writes up to a piece's worth of the current series' points or buckets; ends the series when
// they are all out.
void ResultStream::EmitPending(std::string& out) {
  const bool raw = plan_.request.mode == Mode::kRaw;
  const std::size_t total = raw ? current_->points.size() : current_->buckets.size();
  const std::size_t block = raw ? 1024 : 256;
  while (emitted_ < total && out.size() < kPieceBytes) {
    const std::size_t n = std::min(block, total - emitted_);
    if (raw) {
      writer_.AddPoints(std::span(current_->points).subspan(emitted_, n), out);
    } else {
      writer_.AddBuckets(std::span(current_->buckets).subspan(emitted_, n), out);
    }
    emitted_ += n;
  }
  if (emitted_ == total) {
    writer_.EndSeries(out);
    current_.reset();
  }
}

Status ResultStream::Step(std::string& out) {
  const HistoryRequest& r = plan_.request;
  switch (phase_) {
    case Phase::kBegin:
      writer_.Begin(out);
      phase_ = Phase::kBody;
      if (r.mode == Mode::kLast && !r.group_by.merges()) {
        DOPPEL_ASSIGN_OR_RETURN(last_, RunLast(store_, plan_));
      }
      return Status::Ok();
    case Phase::kEnd:
      writer_.End(out);
      phase_ = Phase::kDone;
      return Status::Ok();
    case Phase::kDone:
      return Status::Ok();
    case Phase::kBody:
      break;
  }
  if (r.group_by.merges()) {
    if (next_ == plan_.groups.size()) {
      phase_ = Phase::kEnd;
      return Status::Ok();
    }
    DOPPEL_ASSIGN_OR_RETURN(PropertyGroup g, RunGroup(store_, plan_, next_++));
    writer_.AddGroup(g, out);
    return Status::Ok();
  }
  if (current_) {
    EmitPending(out);
    return Status::Ok();
  }
  if (next_ == plan_.series.size()) {
    phase_ = Phase::kEnd;
    return Status::Ok();
  }
  if (r.mode == Mode::kLast) {
    const SeriesResult& s = last_[next_++];
    writer_.BeginSeries(s.info, out);
    writer_.SetLast(s.last, out);
    writer_.EndSeries(out);
    return Status::Ok();
  }
  DOPPEL_ASSIGN_OR_RETURN(SeriesResult s, RunSeries(store_, plan_, next_++));
  current_ = std::move(s);
  emitted_ = 0;
  writer_.BeginSeries(current_->info, out);
  EmitPending(out);
  return Status::Ok();
}

}  // namespace doppel::history
