// `doppel query "SELECT ..."`: runs a query, following continuation tokens, and shows rows.
#pragma once

#include <string>

#include "app/remote_command.h"
#include "base/json.h"

namespace doppel::app {

// Rows as a table for people: one column per key (in order of first appearance), one line
// per row, then "(N rows)". A row that is a single projected twin ({"T": {...}}) is shown as
// that twin; "$metadata" collapses to its "$model" and "$etag" is left out. Long cells are
// cut with "...". Non-object rows get a single "value" column.
std::string FormatTable(const json::array& rows);

// POST /query until no continuation token is left; prints FormatTable, or with `as_json`
// the rows as one pretty JSON array.
int RunQuery(const std::string& url, const std::string& query, bool as_json, const CommandIo& io);

}  // namespace doppel::app
