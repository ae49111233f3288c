// DTDL literal values: representational strings/integers/booleans, localizable strings, names.
//
// Each reader returns "" on success or a reason for people; the caller names the member.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/json.h"
#include "model/model.h"

namespace doppel::model::internal {

// Unicode code points in UTF-8 `s` (DTDL counts characters, not bytes).
std::size_t CodePointCount(std::string_view s);

// ^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$
bool IsDtdlName(std::string_view s);

// ^[a-z]{2,4}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$
bool IsLanguageTag(std::string_view s);

// A bare literal or a value object {"@value": ..., "@type": "xsd:..."}. `strict` (DTDL v3)
// forbids members other than @value and @type.
std::string ReadRepresentationalString(const json::value& v, bool strict, std::string& out);
std::string ReadRepresentationalInteger(const json::value& v, bool strict, int64_t& out);
std::string ReadRepresentationalBoolean(const json::value& v, bool strict, bool& out);

// A localisable string: a string, a language map, or an array of strings and
// {"@value", "@language"} objects. Plain strings are stored under "en".
std::string ReadLocalized(const json::value& v, std::size_t max_length, bool strict,
                          LocalizedText& out);

}  // namespace doppel::model::internal
