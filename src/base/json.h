// JSON in and out of the server: parsing with limits, serialising for humans.
//
// Every document that crosses a boundary (HTTP body, file, stored record) is parsed here, so
// that the limits and the error messages are the same everywhere. Boost.JSON underneath.
#pragma once

#include <boost/json.hpp>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace doppel {

namespace json = boost::json;

struct JsonLimits {
  // Largest document accepted, in bytes. Default 32 MiB: a RealEstateCore-sized model batch
  // (~6 MiB) fits with room; larger uploads should be split.
  std::size_t max_bytes = 32u << 20;
  // Deepest nesting of arrays/objects. Default 64: DTDL nests a few levels (interface →
  // content → schema → fields → schema); 64 leaves room while refusing stack-eating input.
  std::size_t max_depth = 64;
};

// Parses `text` as one JSON document. A leading UTF-8 BOM is skipped (DTDL files carry one).
// Errors (InvalidArgument, or PayloadTooLarge over max_bytes) name the byte offset, line and
// column, and the reason: "invalid JSON at line 3, column 7 (offset 41): syntax error".
// Invalid UTF-8 inside strings, comments, trailing commas and NaN/Infinity are rejected.
Result<json::value> ParseJson(std::string_view text, const JsonLimits& limits = {});

// Serialises compactly. Doubles are written in the shortest form that reads back exactly,
// in plain notation where reasonable (21.5, not 2.15E1); integral doubles keep a ".0"-free
// form only when they came in as integers (json::value keeps int64 and double apart).
std::string ToJson(const json::value& value);

// A finite double as a JSON number; NaN and infinities (no value, in JSON) as null.
inline json::value FiniteOrNull(double v) { return std::isfinite(v) ? json::value(v) : json::value(nullptr); }

// Serialises with two-space indentation, for the CLI and files meant for people.
std::string ToPrettyJson(const json::value& value);

// The JSON type name for messages: "object", "array", "string", "number", "boolean", "null".
std::string_view JsonTypeName(const json::value& value);

// Appends `s` to `out` as a quoted, escaped JSON string.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace doppel
