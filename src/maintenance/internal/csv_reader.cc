#include "maintenance/internal/csv_reader.h"

#include <fmt/format.h>

#include <algorithm>

#include "maintenance/internal/text.h"

namespace doppel::maintenance::internal {
namespace {

bool AtLineEnd(std::string_view rest) { return rest.starts_with('\n') || rest.starts_with("\r\n"); }

void SkipLineEnd(std::string_view& rest) { rest.remove_prefix(rest[0] == '\r' ? 2 : 1); }

Status FieldError(std::string_view where, std::size_t column, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}, column {}: {}", where, column, what));
}

// A quoted field: `rest` starts after the opening quote and ends after the closing one.
Status ReadQuoted(std::string_view& rest, std::string_view where, std::size_t column,
                  std::string& field) {
  while (true) {
    const std::size_t quote = rest.find('"');
    if (quote == std::string_view::npos)
      return FieldError(where, column, "a quoted field is not closed");
    field.append(rest.substr(0, quote));
    rest.remove_prefix(quote + 1);
    if (!rest.starts_with('"')) break;
    field += '"';  // "" inside quotes
    rest.remove_prefix(1);
  }
  if (!rest.empty() && rest[0] != ',' && !AtLineEnd(rest)) {
    return FieldError(
        where, column,
        "text after a closing quote (inside a quoted field, write a quote as two quotes)");
  }
  return Status::Ok();
}

Status ReadUnquoted(std::string_view& rest, std::string_view where, std::size_t column,
                    std::string& field) {
  const std::size_t end = std::min(rest.find_first_of(",\n\r\""), rest.size());
  field.assign(rest.substr(0, end));
  rest.remove_prefix(end);
  if (rest.starts_with('"')) {
    return FieldError(
        where, column,
        "a quote inside an unquoted field (quote the whole field and double the quote)");
  }
  if (rest.starts_with('\r') && !rest.starts_with("\r\n")) {
    return FieldError(where, column,
                      "a carriage return not followed by a line feed (quote the field to keep it)");
  }
  return Status::Ok();
}

// One record; `rest` moves past it and its line end.
Result<std::vector<std::string>> ReadRecord(std::string_view& rest, std::string_view where) {
  std::vector<std::string> fields;
  while (true) {
    const std::size_t column = fields.size() + 1;
    std::string field;
    if (rest.starts_with('"')) {
      rest.remove_prefix(1);
      DOPPEL_RETURN_IF_ERROR(ReadQuoted(rest, where, column, field));
    } else {
      DOPPEL_RETURN_IF_ERROR(ReadUnquoted(rest, where, column, field));
    }
    if (!IsValidUtf8(field))
      return FieldError(where, column, "not valid UTF-8 (save the file as UTF-8)");
    fields.push_back(std::move(field));
    if (rest.empty()) return fields;
    if (rest[0] != ',') {
      SkipLineEnd(rest);
      return fields;
    }
    rest.remove_prefix(1);
  }
}

void SkipBlankLines(std::string_view& rest) {
  while (AtLineEnd(rest)) SkipLineEnd(rest);
}

Status CheckHeader(const std::vector<std::string>& header) {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i].empty()) return FieldError("header", i + 1, "a column without a name");
    auto first =
        std::find(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(i), header[i]);
    if (first != header.begin() + static_cast<std::ptrdiff_t>(i)) {
      return FieldError("header", i + 1, fmt::format("'{}' appears twice", header[i]));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<CsvTable> ReadCsv(std::string_view text, std::size_t max_rows) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  SkipBlankLines(text);
  if (text.empty()) return Status::InvalidArgument("the CSV has no header row");
  CsvTable table;
  DOPPEL_ASSIGN_OR_RETURN(table.header, ReadRecord(text, "header"));
  DOPPEL_RETURN_IF_ERROR(CheckHeader(table.header));
  for (SkipBlankLines(text); !text.empty(); SkipBlankLines(text)) {
    if (table.rows.size() == max_rows) {
      return Status::PayloadTooLarge(
          fmt::format("the import has more than {} rows; split it into smaller imports", max_rows));
    }
    const std::string where = fmt::format("row {}", table.rows.size() + 1);
    DOPPEL_ASSIGN_OR_RETURN(std::vector<std::string> row, ReadRecord(text, where));
    if (row.size() != table.header.size()) {
      return Status::InvalidArgument(fmt::format("{}: {} field{}, but the header has {} columns",
                                                 where, row.size(), row.size() == 1 ? "" : "s",
                                                 table.header.size()));
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace doppel::maintenance::internal
