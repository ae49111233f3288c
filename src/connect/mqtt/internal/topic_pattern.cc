#include "connect/mqtt/internal/topic_pattern.h"

#include <utility>

namespace doppel::connect::mqtt::internal {
namespace {

std::vector<std::string_view> SplitLevels(std::string_view topic) {
  std::vector<std::string_view> levels;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = topic.find('/', start);
    if (slash == std::string_view::npos) {
      levels.push_back(topic.substr(start));
      return levels;
    }
    levels.push_back(topic.substr(start, slash - start));
    start = slash + 1;
  }
}

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// The code point starting at text[i] (advancing i), or -1 for a malformed sequence.
int32_t NextCodePoint(std::string_view text, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  int extra = 0;
  int32_t cp = 0;
  int32_t min = 0;
  if ((lead & 0xE0) == 0xC0) {
    extra = 1, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3, cp = lead & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (i + extra >= text.size()) return -1;
  for (int k = 1; k <= extra; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += extra + 1;
  return cp;
}

Status Invalid(std::string message) { return Status::InvalidArgument(std::move(message)); }

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (NextCodePoint(text, i) < 0) return false;
  }
  return true;
}

Status CheckTwinIdLevel(std::string_view level) {
  if (level.empty()) return Invalid("twin id is empty");
  if (level.size() > kMaxTwinIdBytes) return Invalid("twin id is longer than 1024 bytes");
  if (level == "." || level == "..") return Invalid("twin id is a relative path ('" + std::string(level) + "')");
  for (std::size_t i = 0; i < level.size();) {
    const int32_t cp = NextCodePoint(level, i);
    if (cp < 0) return Invalid("twin id is not valid UTF-8");
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return Invalid("twin id contains a control character");
    if (cp == '+' || cp == '#') return Invalid(std::string("twin id contains '") + static_cast<char>(cp) + "'");
  }
  return Status::Ok();
}

Status CheckNameLevel(std::string_view level, std::string_view what) {
  const std::string name(what);
  if (level.empty()) return Invalid(name + " is empty");
  if (level.size() > kMaxNameBytes) return Invalid(name + " is longer than 512 bytes");
  bool ok = IsAsciiLetter(level.front()) && level.back() != '_';
  for (char c : level) ok = ok && (IsAsciiLetter(c) || IsAsciiDigit(c) || c == '_');
  if (!ok) return Invalid(name + " is not a DTDL name (letters, digits and '_', starting with a letter)");
  return Status::Ok();
}

Result<TopicPattern> TopicPattern::Compile(std::string_view pattern) {
  if (pattern.empty()) return Invalid("the topic pattern is empty");
  TopicPattern p;
  p.pattern_ = std::string(pattern);
  bool has_twin = false;
  const std::vector<std::string_view> levels = SplitLevels(pattern);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    std::string_view level = levels[i];
    Level compiled{LevelKind::kLiteral, ""};
    if (level == "+") {
      compiled.kind = LevelKind::kPlus;
    } else if (level == "#") {
      if (i + 1 != levels.size()) return Invalid("'#' must be the last level");
      compiled.kind = LevelKind::kHash;
    } else if (level == "{twinId}" || level == "{component}" || level == "{path}") {
      const bool twin = level == "{twinId}", component = level == "{component}";
      if ((twin && has_twin) || (component && p.component_level_) || (!twin && !component && p.path_level_)) {
        return Invalid("placeholder " + std::string(level) + " appears twice");
      }
      compiled.kind = twin ? LevelKind::kTwinId : component ? LevelKind::kComponent : LevelKind::kPath;
      if (twin) has_twin = true;
      if (component) p.component_level_ = i;
      if (compiled.kind == LevelKind::kPath) p.path_level_ = i;
    } else {
      if (level.empty()) return Invalid("the topic pattern has an empty level");
      if (level.find_first_of("+#") != std::string_view::npos) {
        return Invalid("'+' and '#' must stand alone in a level ('" + std::string(level) + "')");
      }
      if (level.find_first_of("{}") != std::string_view::npos) {
        return Invalid("unknown placeholder '" + std::string(level) +
                       "' (known: {twinId}, {component}, {path}, each a whole level)");
      }
      if (!IsValidUtf8(level) || level.find('\0') != std::string_view::npos) {
        return Invalid("the topic pattern is not valid UTF-8");
      }
      compiled.text = std::string(level);
    }
    const bool placeholder = compiled.kind == LevelKind::kTwinId || compiled.kind == LevelKind::kComponent ||
                             compiled.kind == LevelKind::kPath;
    if (i > 0) p.subscription_ += '/';
    p.subscription_ += placeholder ? std::string_view("+") : level;
    p.levels_.push_back(std::move(compiled));
  }
  if (!has_twin) return Invalid("the topic pattern has no {twinId} level");
  return p;
}

std::optional<Result<TopicBindings>> TopicPattern::Match(std::string_view topic) const {
  const std::vector<std::string_view> levels = SplitLevels(topic);
  // MQTT 4.7.2: topics starting with '$' are not matched by a leading wildcard.
  if (!topic.empty() && topic.front() == '$' && !levels_.empty() && levels_.front().kind != LevelKind::kLiteral) {
    return std::nullopt;
  }
  TopicBindings bindings;
  std::size_t i = 0;
  bool rest_matched = false;  // a trailing '#' takes whatever levels are left, even none
  for (; i < levels_.size(); ++i) {
    const Level& level = levels_[i];
    if (level.kind == LevelKind::kHash) {
      rest_matched = true;
      break;
    }
    if (i >= levels.size()) return std::nullopt;
    switch (level.kind) {
      case LevelKind::kLiteral:
        if (levels[i] != level.text) return std::nullopt;
        break;
      case LevelKind::kPlus:
      case LevelKind::kHash:
        break;
      case LevelKind::kTwinId:
        bindings.twin_id = std::string(levels[i]);
        break;
      case LevelKind::kComponent:
        bindings.component = std::string(levels[i]);
        break;
      case LevelKind::kPath:
        bindings.path = std::string(levels[i]);
        break;
    }
  }
  if (!rest_matched && i != levels.size()) return std::nullopt;
  if (Status s = CheckTwinIdLevel(bindings.twin_id); !s.ok()) return Result<TopicBindings>(s);
  if (component_level_) {
    if (Status s = CheckNameLevel(bindings.component, "component"); !s.ok()) return Result<TopicBindings>(s);
  }
  if (path_level_) {
    if (Status s = CheckNameLevel(bindings.path, "path"); !s.ok()) return Result<TopicBindings>(s);
  }
  return Result<TopicBindings>(std::move(bindings));
}

}  // namespace doppel::connect::mqtt::internal
