#include "command/internal/topic_template.h"

#include <fmt/format.h>

#include <algorithm>

namespace doppel::command::internal {
namespace {

bool IsPlaceholderName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

Status CheckValue(std::string_view name, std::string_view value) {
  if (value.empty()) return Status::InvalidArgument(fmt::format("no value for {{{}}}", name));
  if (value.find_first_of(std::string_view("/+#\0", 4)) != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("the value of {{{}}} is not a topic level: '{}'", name, value));
  }
  return Status::Ok();
}

}  // namespace

std::vector<std::string_view> TopicLevels(std::string_view topic) {
  std::vector<std::string_view> levels;
  while (true) {
    std::size_t slash = topic.find('/');
    levels.push_back(topic.substr(0, slash));
    if (slash == std::string_view::npos) break;
    topic.remove_prefix(slash + 1);
  }
  return levels;
}

Result<TopicTemplate> TopicTemplate::Compile(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("a topic must not be empty");
  TopicTemplate t;
  t.text_ = std::string(text);
  std::vector<std::string_view> levels = TopicLevels(text);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    std::string_view level = levels[i];
    if (level.empty()) return Status::InvalidArgument(fmt::format("topic '{}' has an empty level", text));
    if (level.front() == '{' && level.back() == '}') {
      std::string_view name = level.substr(1, level.size() - 2);
      if (!IsPlaceholderName(name)) {
        return Status::InvalidArgument(fmt::format("topic '{}': '{}' is not a placeholder (letters only)", text, level));
      }
      t.levels_.push_back({std::string(name), true});
      continue;
    }
    if (level.find_first_of("{}") != std::string_view::npos) {
      return Status::InvalidArgument(fmt::format("topic '{}': a placeholder must be a whole level", text));
    }
    if (level.find_first_of("+#") != std::string_view::npos && level.size() > 1) {
      return Status::InvalidArgument(fmt::format("topic '{}': '+' and '#' must be whole levels", text));
    }
    if (level == "#" && i + 1 != levels.size()) {
      return Status::InvalidArgument(fmt::format("topic '{}': '#' must be the last level", text));
    }
    t.levels_.push_back({std::string(level), false});
  }
  return t;
}

std::vector<std::string> TopicTemplate::placeholders() const {
  std::vector<std::string> names;
  for (const Level& l : levels_) {
    if (l.placeholder) names.push_back(l.text);
  }
  return names;
}

bool TopicTemplate::Has(std::string_view placeholder) const {
  return std::any_of(levels_.begin(), levels_.end(),
                     [&](const Level& l) { return l.placeholder && l.text == placeholder; });
}

Result<std::string> TopicTemplate::Fill(const TopicValues& values) const {
  std::string topic;
  for (const Level& l : levels_) {
    if (!topic.empty() || &l != &levels_.front()) topic += '/';
    if (!l.placeholder) {
      if (l.text == "+" || l.text == "#") {
        return Status::InvalidArgument(fmt::format("topic '{}' has wildcards: it cannot be published to", text_));
      }
      topic += l.text;
      continue;
    }
    auto it = values.find(l.text);
    std::string_view value = it == values.end() ? std::string_view() : std::string_view(it->second);
    DOPPEL_RETURN_IF_ERROR(CheckValue(l.text, value));
    topic += value;
  }
  return topic;
}

std::string TopicTemplate::Subscription() const {
  std::string filter;
  for (std::size_t i = 0; i < levels_.size(); ++i) {
    if (i > 0) filter += '/';
    filter += levels_[i].placeholder ? std::string("+") : levels_[i].text;
  }
  return filter;
}

std::optional<TopicValues> TopicTemplate::Match(std::string_view topic) const {
  std::vector<std::string_view> levels = TopicLevels(topic);
  TopicValues values;
  for (std::size_t i = 0; i < levels_.size(); ++i) {
    const Level& l = levels_[i];
    if (!l.placeholder && l.text == "#") return values;
    if (i >= levels.size()) return std::nullopt;
    if (l.placeholder) {
      if (levels[i].empty()) return std::nullopt;
      values[l.text] = std::string(levels[i]);
    } else if (l.text != "+" && l.text != levels[i]) {
      return std::nullopt;
    }
  }
  if (levels.size() != levels_.size()) return std::nullopt;
  return values;
}

}  // namespace doppel::command::internal
