// Topic patterns of the MQTT connector (internal to connect/mqtt): an MQTT topic filter whose
// levels may be placeholders — {twinId}, {component}, {path} — each standing for exactly one
// level. The broker subscription is the filter with placeholders turned into '+'; matching a
// received topic binds the placeholders and checks each bound level, because a topic is
// untrusted input that names a twin:
//   {twinId}              non-empty, at most kMaxTwinIdBytes, valid UTF-8, no control
//                         characters, no '+' or '#', not "." or "..";
//   {component}, {path}   a DTDL name: [A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?, at most 512.
// ('/' never appears inside a level.) Pure and thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace doppel::connect::mqtt::internal {

inline constexpr std::size_t kMaxTwinIdBytes = 1024;  // as the twin graph's id rule
inline constexpr std::size_t kMaxNameBytes = 512;     // DTDL's name length limit

struct TopicBindings {
  std::string twin_id;
  std::string component;  // "" when the pattern has no {component}
  std::string path;       // "" when the pattern has no {path}
};

class TopicPattern {
 public:
  // Errors (InvalidArgument): empty pattern, empty level, '+'/'#' mixed with other characters
  // in a level, '#' not last, an unknown or repeated placeholder ("{twinid}"), a brace outside
  // a placeholder, no {twinId}.
  static Result<TopicPattern> Compile(std::string_view pattern);

  const std::string& pattern() const { return pattern_; }
  // The filter to subscribe to: placeholders replaced by '+'.
  const std::string& subscription() const { return subscription_; }
  bool has_path() const { return path_level_.has_value(); }
  bool has_component() const { return component_level_.has_value(); }

  // nullopt if `topic` does not match the filter (MQTT rules: '+' one level, '#' the rest,
  // wildcards never match a first level starting with '$'). Otherwise the bindings, or
  // InvalidArgument naming the placeholder whose level is not acceptable.
  std::optional<Result<TopicBindings>> Match(std::string_view topic) const;

 private:
  enum class LevelKind { kLiteral, kPlus, kHash, kTwinId, kComponent, kPath };
  struct Level {
    LevelKind kind;
    std::string text;  // for literals
  };

  std::string pattern_;
  std::string subscription_;
  std::vector<Level> levels_;
  std::optional<std::size_t> path_level_;
  std::optional<std::size_t> component_level_;
};

// The checks above, exposed for tests and the config parser. Each returns InvalidArgument
// with the reason ("twin id contains '+'", ...).
Status CheckTwinIdLevel(std::string_view level);
Status CheckNameLevel(std::string_view level, std::string_view what);

// True if `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace doppel::connect::mqtt::internal
