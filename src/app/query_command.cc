#include "app/query_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

namespace doppel::app {
namespace {

// Cells longer than this are cut: a table is for scanning, --json is for everything.
constexpr std::size_t kMaxCellWidth = 56;  // a typical dtmi fits

// Columns on a terminal, counting each UTF-8 code point as one.
std::size_t DisplayWidth(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// The first `width` code points of `s`.
std::string TruncateTo(std::string_view s, std::size_t width) {
  std::size_t seen = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && seen++ == width) break;
  }
  return std::string(s.substr(0, i));
}

std::string Cell(const json::value& value) {
  std::string text;
  if (value.is_string()) {
    text = value.as_string();
  } else if (value.is_object() && value.as_object().contains("$metadata")) {
    json::object shown = value.as_object();  // a component: its metadata is noise here
    shown.erase("$metadata");
    text = ToJson(shown);
  } else {
    text = ToJson(value);
  }
  for (char& c : text) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (DisplayWidth(text) > kMaxCellWidth) text = TruncateTo(text, kMaxCellWidth - 3) + "...";
  return text;
}

// The row as shown: a lone projected twin is unwrapped, metadata reduced to the model.
json::object DisplayRow(const json::value& row) {
  if (!row.is_object()) return json::object{{"value", row}};
  const json::object* object = &row.as_object();
  if (object->size() == 1 && object->begin()->value().is_object() &&
      object->begin()->value().as_object().contains("$dtId")) {
    object = &object->begin()->value().as_object();
  }
  json::object shown;
  for (const auto& [key, value] : *object) {
    if (key == "$etag") continue;
    if (key == "$metadata" && value.is_object()) {
      if (const auto* model = value.as_object().if_contains("$model")) shown["$model"] = *model;
      continue;
    }
    shown[key] = value;
  }
  return shown;
}

}  // namespace

std::string FormatTable(const json::array& rows) {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> cells;
  std::vector<json::object> shown;
  for (const auto& row : rows) {
    shown.push_back(DisplayRow(row));
    for (const auto& kv : shown.back()) {
      if (std::find(columns.begin(), columns.end(), kv.key()) == columns.end())
        columns.emplace_back(kv.key());
    }
  }
  std::vector<std::size_t> widths;
  for (const auto& column : columns) widths.push_back(DisplayWidth(column));
  for (const auto& row : shown) {
    auto& line = cells.emplace_back();
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const auto* value = row.if_contains(columns[c]);
      line.push_back(value ? Cell(*value) : "");
      widths[c] = std::max(widths[c], DisplayWidth(line.back()));
    }
  }
  auto format_line = [&](const std::vector<std::string>& line) {
    std::string out;
    for (std::size_t c = 0; c < line.size(); ++c) {
      out += line[c];
      if (c + 1 < line.size()) out.append(widths[c] - DisplayWidth(line[c]) + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();  // empty trailing cells
    return out + "\n";
  };
  std::string out;
  if (!columns.empty()) {
    out += format_line(columns);
    std::vector<std::string> rule;
    for (auto width : widths) rule.emplace_back(width, '-');
    out += format_line(rule);
  }
  for (const auto& line : cells) out += format_line(line);
  out += fmt::format("({} row{})\n", rows.size(), rows.size() == 1 ? "" : "s");
  return out;
}

int RunQuery(const std::string& url, const std::string& query, bool as_json, const CommandIo& io) {
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  auto rows = (*api)->Query(query);
  if (!rows.ok()) return ReportError(rows.status(), io);
  if (as_json) {
    io.out << ToPrettyJson(*rows) << "\n";
  } else {
    io.out << FormatTable(*rows);
  }
  return 0;
}

}  // namespace doppel::app
