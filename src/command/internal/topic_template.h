// MQTT topic templates of the command transport (internal to src/command): a topic whose
// levels may be placeholders "{name}" (letters only), each a whole level —
// "doppel/{site}/{twinId}/commands/{commandName}". Filled to publish, turned into a
// subscription ('+' per placeholder), or matched against a received topic to learn the
// placeholders' values. Pure and thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace doppel::command::internal {

using TopicValues = std::map<std::string, std::string, std::less<>>;

class TopicTemplate {
 public:
  // InvalidArgument: empty, an empty level, a bad placeholder ("{}", "{a-b}", "x{a}"), '#' not
  // last, '+'/'#' inside a level.
  static Result<TopicTemplate> Compile(std::string_view text);

  const std::string& text() const { return text_; }
  std::vector<std::string> placeholders() const;
  bool Has(std::string_view placeholder) const;
  // Every placeholder must have a value that is a valid level (non-empty, no '/', '+', '#',
  // NUL): else InvalidArgument naming the placeholder. Wildcards are not allowed in a topic to
  // publish to (InvalidArgument).
  Result<std::string> Fill(const TopicValues& values) const;
  // The filter to subscribe to: placeholders as '+'.
  std::string Subscription() const;
  // The placeholders' values when `topic` matches (MQTT rules for '+' and '#'), else nullopt.
  std::optional<TopicValues> Match(std::string_view topic) const;

 private:
  struct Level {
    std::string text;  // a literal, "+", "#", or the placeholder's name
    bool placeholder = false;
  };
  std::string text_;
  std::vector<Level> levels_;
};

// Splits "a/b/c" into its levels.
std::vector<std::string_view> TopicLevels(std::string_view topic);

}  // namespace doppel::command::internal
