// Request-target pieces: percent-decoding, query strings, and building links back to the server.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace doppel::server {

// Decodes %XX escapes. `plus_is_space` turns '+' into ' ' (query strings, not paths).
// Errors (InvalidArgument) name the offset: a '%' not followed by two hex digits, a NUL (raw or %00),
// or a result that is not valid UTF-8.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space = false);

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD,
// so that client input echoed in an error message cannot make the JSON answer invalid.
std::string SanitizeUtf8(std::string_view text);

// Escapes everything but RFC 3986 unreserved characters.
std::string PercentEncode(std::string_view text);

// A parsed query string, in order; a name may repeat (ADT's `dependenciesFor` does).
class QueryParams {
 public:
  // Parses "a=1&b=x%20y&flag". Empty pieces ("a=1&&b=2") are skipped; a name without '=' has
  // an empty value. Errors as PercentDecode's, naming the parameter.
  static Result<QueryParams> Parse(std::string_view query);

  // The first value of `name` (case-sensitive), or nullptr.
  const std::string* Find(std::string_view name) const;
  std::vector<std::string> All(std::string_view name) const;
  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

  void Set(std::string_view name, std::string value);  // replaces every occurrence
  void Remove(std::string_view name);
  // Re-encodes to "a=1&b=x%20y" (order kept).
  std::string Encode() const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

}  // namespace doppel::server
