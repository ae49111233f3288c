#include "maintenance/internal/enterprise_records.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <span>

#include "maintenance/internal/csv_reader.h"
#include "maintenance/internal/text.h"

namespace doppel::maintenance::internal {
namespace {

constexpr std::size_t kMaxIdChars = 200;
constexpr std::size_t kMaxShortTextChars = 200;
constexpr std::size_t kMaxDescriptionChars = 4000;

constexpr std::array<std::string_view, 4> kKinds = {"corrective", "preventive", "predictive",
                                                    "inspection"};

Status ColumnError(std::string_view column, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", column, what));
}

// One row of an import, whatever its format: CSV cells arrive as strings (empty ones left
// out), so numbers are read from text there.
struct RowReader {
  const json::object& row;
  bool from_csv = false;

  const json::value* Find(std::string_view name) const {
    const json::value* v = row.if_contains(name);
    return v == nullptr || v->is_null() ? nullptr : v;
  }

  Result<std::string> String(std::string_view name, bool required, std::size_t max_chars) const {
    const json::value* v = Find(name);
    if (v == nullptr || (v->is_string() && v->get_string().empty())) {
      if (required) return ColumnError(name, "required");
      return std::string();
    }
    if (!v->is_string())
      return ColumnError(name, fmt::format("expected a string, got {}", JsonTypeName(*v)));
    std::string text(v->get_string());
    if (CountCharacters(text) > max_chars)
      return ColumnError(name, fmt::format("longer than {} characters", max_chars));
    return text;
  }

  Result<std::optional<TimePoint>> Time(std::string_view name, bool required) const {
    DOPPEL_ASSIGN_OR_RETURN(std::string text, String(name, required, kMaxShortTextChars));
    if (text.empty()) return std::optional<TimePoint>();
    auto t = ParseRfc3339(text);
    if (!t.ok()) return ColumnError(name, fmt::format("not an RFC 3339 time ('{}')", text));
    return std::optional<TimePoint>(*t);
  }

  Result<double> NonNegativeNumber(std::string_view name) const {
    const json::value* v = Find(name);
    if (v == nullptr) return 0.0;
    double x = 0;
    if (v->is_number()) {
      x = v->to_number<double>();
    } else if (from_csv && v->is_string()) {
      std::string_view text = v->get_string();
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
      if (ec != std::errc() || end != text.data() + text.size()) {
        return ColumnError(name, fmt::format("not a number ('{}')", text));
      }
    } else {
      return ColumnError(name, fmt::format("expected a number, got {}", JsonTypeName(*v)));
    }
    if (!std::isfinite(x) || x < 0) return ColumnError(name, "must be a number ≥ 0");
    return x;
  }
};

Status CheckOrder(TimePoint start, std::optional<TimePoint> end) {
  if (end && *end <= start) return ColumnError("end", "must be after start");
  return Status::Ok();
}

Result<MaintenanceRecord> MaintenanceFromRow(const RowReader& r) {
  MaintenanceRecord record;
  DOPPEL_ASSIGN_OR_RETURN(record.id, r.String("recordId", true, kMaxIdChars));
  DOPPEL_ASSIGN_OR_RETURN(record.twin_id, r.String("twinId", true, kMaxIdChars));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<TimePoint> start, r.Time("start", true));
  record.start = *start;
  DOPPEL_ASSIGN_OR_RETURN(record.end, r.Time("end", false));
  DOPPEL_RETURN_IF_ERROR(CheckOrder(record.start, record.end));
  DOPPEL_ASSIGN_OR_RETURN(record.kind, r.String("kind", true, kMaxShortTextChars));
  if (std::find(kKinds.begin(), kKinds.end(), record.kind) == kKinds.end()) {
    return ColumnError(
        "kind",
        fmt::format("must be one of corrective, preventive, predictive, inspection, got '{}'",
                    record.kind));
  }
  DOPPEL_ASSIGN_OR_RETURN(record.description, r.String("description", false, kMaxDescriptionChars));
  DOPPEL_ASSIGN_OR_RETURN(record.failure_mode, r.String("failureMode", false, kMaxShortTextChars));
  return record;
}

Result<ProductionOrder> ProductionFromRow(const RowReader& r) {
  ProductionOrder order;
  DOPPEL_ASSIGN_OR_RETURN(order.id, r.String("orderId", true, kMaxIdChars));
  DOPPEL_ASSIGN_OR_RETURN(order.twin_id, r.String("twinId", true, kMaxIdChars));
  DOPPEL_ASSIGN_OR_RETURN(order.product, r.String("product", false, kMaxShortTextChars));
  DOPPEL_ASSIGN_OR_RETURN(order.quantity, r.NonNegativeNumber("quantity"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<TimePoint> start, r.Time("start", true));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<TimePoint> end, r.Time("end", true));
  order.start = *start;
  order.end = *end;
  DOPPEL_RETURN_IF_ERROR(CheckOrder(order.start, order.end));
  DOPPEL_ASSIGN_OR_RETURN(order.status, r.String("status", false, kMaxShortTextChars));
  return order;
}

// What one kind of import looks like.
template <typename Record>
struct Schema {
  std::span<const std::string_view> columns;
  std::span<const std::string_view> required;
  std::string_view id_column;
  Result<Record> (*from_row)(const RowReader&);
};

constexpr std::string_view kMaintenanceColumns[] = {"recordId", "twinId",      "start",      "end",
                                                    "kind",     "description", "failureMode"};
constexpr std::string_view kMaintenanceRequired[] = {"recordId", "twinId", "start", "kind"};
constexpr std::string_view kProductionColumns[] = {"orderId", "twinId", "product", "quantity",
                                                   "start",   "end",    "status"};
constexpr std::string_view kProductionRequired[] = {"orderId", "twinId", "start", "end"};

const Schema<MaintenanceRecord> kMaintenanceSchema{kMaintenanceColumns, kMaintenanceRequired,
                                                   "recordId", MaintenanceFromRow};
const Schema<ProductionOrder> kProductionSchema{kProductionColumns, kProductionRequired, "orderId",
                                                ProductionFromRow};

std::string Expected(std::span<const std::string_view> columns) {
  return fmt::format("expected {}", fmt::join(columns, ", "));
}

bool Known(std::span<const std::string_view> columns, std::string_view name) {
  return std::find(columns.begin(), columns.end(), name) != columns.end();
}

// "text/csv; charset=utf-8" → "text/csv".
std::string MediaType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  while (!content_type.empty() && content_type.front() == ' ') content_type.remove_prefix(1);
  std::string lower(content_type);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower;
}

struct ImportRows {
  std::vector<json::object> rows;
  bool from_csv = false;
};

Result<ImportRows> JsonRows(std::string_view body, std::span<const std::string_view> columns,
                            std::size_t max_rows) {
  DOPPEL_ASSIGN_OR_RETURN(json::value doc, ParseJson(body));
  if (!doc.is_array()) {
    return Status::InvalidArgument(
        fmt::format("expected a JSON array of objects, got {}", JsonTypeName(doc)));
  }
  json::array& array = doc.as_array();
  if (array.size() > max_rows) {
    return Status::PayloadTooLarge(
        fmt::format("the import has more than {} rows; split it into smaller imports", max_rows));
  }
  ImportRows out;
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_object()) {
      return Status::InvalidArgument(
          fmt::format("row {}: expected an object, got {}", i + 1, JsonTypeName(array[i])));
    }
    for (const auto& member : array[i].as_object()) {
      if (!Known(columns, member.key())) {
        return Status::InvalidArgument(fmt::format("row {}: unknown member '{}' ({})", i + 1,
                                                   std::string_view(member.key()),
                                                   Expected(columns)));
      }
    }
    out.rows.push_back(std::move(array[i].as_object()));
  }
  return out;
}

Result<ImportRows> CsvRows(std::string_view body, std::span<const std::string_view> columns,
                           std::span<const std::string_view> required, std::size_t max_rows) {
  DOPPEL_ASSIGN_OR_RETURN(CsvTable table, ReadCsv(body, max_rows));
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    if (!Known(columns, table.header[c])) {
      return Status::InvalidArgument(fmt::format("header, column {}: unknown column '{}' ({})",
                                                 c + 1, table.header[c], Expected(columns)));
    }
  }
  for (std::string_view name : required) {
    if (std::find(table.header.begin(), table.header.end(), name) == table.header.end()) {
      return Status::InvalidArgument(fmt::format("header: missing column '{}'", name));
    }
  }
  ImportRows out{.rows = {}, .from_csv = true};
  out.rows.reserve(table.rows.size());
  for (std::vector<std::string>& cells : table.rows) {
    json::object row;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (!cells[c].empty()) row[table.header[c]] = std::move(cells[c]);
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

Result<ImportRows> ReadRows(std::string_view body, std::string_view content_type,
                            std::span<const std::string_view> columns,
                            std::span<const std::string_view> required, std::size_t max_rows) {
  const std::string media = MediaType(content_type);
  if (media == "application/json") return JsonRows(body, columns, max_rows);
  if (media == "text/csv") return CsvRows(body, columns, required, max_rows);
  return Status::InvalidArgument(
      fmt::format("Content-Type must be application/json or text/csv, got '{}'", content_type),
      "UnsupportedMediaType");
}

template <typename Record>
Result<std::vector<Record>> ParseImport(const Schema<Record>& schema, std::string_view body,
                                        std::string_view content_type, const ImportLimits& limits) {
  DOPPEL_ASSIGN_OR_RETURN(ImportRows rows, ReadRows(body, content_type, schema.columns,
                                                    schema.required, limits.max_rows));
  std::vector<Record> out;
  out.reserve(rows.rows.size());
  std::map<std::string, std::size_t, std::less<>> first_row;
  for (std::size_t i = 0; i < rows.rows.size(); ++i) {
    const std::size_t row = i + 1;
    Result<Record> record = schema.from_row(RowReader{rows.rows[i], rows.from_csv});
    if (!record.ok())
      return Status::InvalidArgument(fmt::format("row {}: {}", row, record.status().message()));
    if (limits.twin_exists != nullptr && *limits.twin_exists &&
        !(*limits.twin_exists)(record->twin_id)) {
      return Status::InvalidArgument(fmt::format(
          "row {}: twinId: there is no digital twin with id '{}'", row, record->twin_id));
    }
    auto [it, first] = first_row.emplace(record->id, row);
    if (!first) {
      return Status::InvalidArgument(
          fmt::format("row {}: {}: '{}' appears twice in this import (first in row {})", row,
                      schema.id_column, record->id, it->second));
    }
    out.push_back(std::move(*record));
  }
  return out;
}

}  // namespace

Result<std::vector<MaintenanceRecord>> ParseMaintenanceImport(std::string_view body,
                                                              std::string_view content_type,
                                                              const ImportLimits& limits) {
  return ParseImport(kMaintenanceSchema, body, content_type, limits);
}

Result<std::vector<ProductionOrder>> ParseProductionImport(std::string_view body,
                                                           std::string_view content_type,
                                                           const ImportLimits& limits) {
  return ParseImport(kProductionSchema, body, content_type, limits);
}

Result<MaintenanceRecord> MaintenanceRecordFromJson(json::object record) {
  record.erase("key");
  return MaintenanceFromRow(RowReader{record});
}

Result<ProductionOrder> ProductionOrderFromJson(json::object record) {
  record.erase("key");
  return ProductionFromRow(RowReader{record});
}

}  // namespace doppel::maintenance::internal
