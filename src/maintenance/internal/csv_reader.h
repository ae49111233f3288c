// A small, strict CSV reader for the enterprise imports (RFC 4180): comma-separated fields,
// records ended by CRLF or LF, fields optionally in double quotes (a quoted field may hold
// commas, line breaks and "" for a quote), a header row first. Internal to src/maintenance.
//
//   auto table = ReadCsv("id,name\r\n1,\"Pump, main\"\r\n", 1000);
//   table->header == {"id", "name"};  table->rows == {{"1", "Pump, main"}}
//
// Strict where a lenient reader would guess: a quote inside an unquoted field, text after a
// closing quote, an unterminated quote, a record with more or fewer fields than the header and
// bytes that are not UTF-8 are errors naming the row and column. Rows count data records from
// 1 (the header is "header"); columns count from 1. Blank lines are skipped and a leading
// UTF-8 byte order mark (Excel writes one) is ignored.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace doppel::maintenance::internal {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as wide as the header
};

// InvalidArgument naming the row and column; PayloadTooLarge past `max_rows` data rows.
Result<CsvTable> ReadCsv(std::string_view text, std::size_t max_rows);

}  // namespace doppel::maintenance::internal
