#include "nab/nab_score.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "base/file_io.h"
#include "base/json.h"

namespace doppel::nab {
namespace {

namespace fs = std::filesystem;

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseField(std::string_view text, std::size_t at, std::size_t len, int64_t& out) {
  if (at + len > text.size()) return false;
  const char* begin = text.data() + at;
  auto [ptr, ec] = std::from_chars(begin, begin + len, out);
  return ec == std::errc() && ptr == begin + len;
}

Result<Series> ReadSeries(const fs::path& path, const std::string& category) {
  DOPPEL_ASSIGN_OR_RETURN(std::string text, ReadFile(path.string()));
  Series series{.category = category,
                .name = fmt::format("{}/{}", category, path.filename().string()),
                .times_ns = {},
                .values = {},
                .windows = {}};
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no++ == 0 || line.empty()) continue;  // the header
    const std::size_t comma = line.find(',');
    if (comma == std::string_view::npos) {
      return Status::InvalidArgument(fmt::format("{}: line {}: expected timestamp,value", path.string(), line_no));
    }
    auto time = ParseTimestamp(line.substr(0, comma));
    double value = 0;
    const std::string_view number = line.substr(comma + 1);
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (!time.ok() || ec != std::errc() || ptr != number.data() + number.size()) {
      return Status::InvalidArgument(fmt::format("{}: line {}: bad timestamp or value", path.string(), line_no));
    }
    series.times_ns.push_back(*time);
    series.values.push_back(value);
  }
  return series;
}

Status AttachWindows(Series& series, const json::value* labels) {
  if (labels == nullptr) return Status::Ok();  // a file without labels has no windows
  if (!labels->is_array()) return Status::InvalidArgument(fmt::format("labels of {}: not an array", series.name));
  for (const auto& pair : labels->get_array()) {
    if (!pair.is_array() || pair.get_array().size() != 2 || !pair.get_array()[0].is_string() ||
        !pair.get_array()[1].is_string()) {
      return Status::InvalidArgument(fmt::format("labels of {}: a window must be [start, end]", series.name));
    }
    DOPPEL_ASSIGN_OR_RETURN(int64_t start, ParseTimestamp(pair.get_array()[0].get_string()));
    DOPPEL_ASSIGN_OR_RETURN(int64_t end, ParseTimestamp(pair.get_array()[1].get_string()));
    const auto& t = series.times_ns;
    const auto first = std::lower_bound(t.begin(), t.end(), start);
    const auto past = std::upper_bound(t.begin(), t.end(), end);
    if (first >= past) {
      return Status::InvalidArgument(fmt::format("labels of {}: window [{}, {}] holds no row", series.name,
                                                 std::string_view(pair.get_array()[0].get_string()),
                                                 std::string_view(pair.get_array()[1].get_string())));
    }
    series.windows.push_back({.first = static_cast<std::size_t>(first - t.begin()),
                              .last = static_cast<std::size_t>(past - t.begin()) - 1});
  }
  std::sort(series.windows.begin(), series.windows.end(),
            [](const Window& a, const Window& b) { return a.first < b.first; });
  return Status::Ok();
}

Result<std::vector<Profile>> ReadProfiles(const fs::path& path) {
  DOPPEL_ASSIGN_OR_RETURN(std::string text, ReadFile(path.string()));
  DOPPEL_ASSIGN_OR_RETURN(json::value doc, ParseJson(text));
  if (!doc.is_object()) return Status::InvalidArgument(fmt::format("{}: not an object", path.string()));
  std::vector<Profile> profiles;
  for (const auto& [name, body] : doc.get_object()) {
    const json::value* costs = body.is_object() ? body.get_object().if_contains("CostMatrix") : nullptr;
    if (costs == nullptr || !costs->is_object()) {
      return Status::InvalidArgument(fmt::format("{}: profile '{}' has no CostMatrix", path.string(), std::string_view(name)));
    }
    Profile p{.name = std::string(name)};
    const auto weight = [&](std::string_view key, double& out) -> Status {
      const auto* v = costs->get_object().if_contains(key);
      if (v == nullptr || !v->is_number()) {
        return Status::InvalidArgument(fmt::format("{}: profile '{}' lacks '{}'", path.string(), p.name, key));
      }
      out = v->to_number<double>();
      return Status::Ok();
    };
    DOPPEL_RETURN_IF_ERROR(weight("tpWeight", p.tp));
    DOPPEL_RETURN_IF_ERROR(weight("fpWeight", p.fp));
    DOPPEL_RETURN_IF_ERROR(weight("fnWeight", p.fn));
    profiles.push_back(std::move(p));
  }
  return profiles;
}

}  // namespace

std::size_t Corpus::windows() const {
  std::size_t n = 0;
  for (const auto& f : files) n += f.windows.size();
  return n;
}

Result<int64_t> ParseTimestamp(std::string_view text) {
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!ParseField(text, 0, 4, y) || text.size() < 19 || text[4] != '-' || !ParseField(text, 5, 2, mo) ||
      text[7] != '-' || !ParseField(text, 8, 2, d) || (text[10] != ' ' && text[10] != 'T') ||
      !ParseField(text, 11, 2, h) || text[13] != ':' || !ParseField(text, 14, 2, mi) || text[16] != ':' ||
      !ParseField(text, 17, 2, s) || mo < 1 || mo > 12 || d < 1 || d > 31) {
    return Status::InvalidArgument(fmt::format("bad timestamp '{}'", text));
  }
  int64_t frac_ns = 0;
  if (text.size() > 19) {
    if (text[19] != '.') return Status::InvalidArgument(fmt::format("bad timestamp '{}'", text));
    int64_t scale = 100'000'000;
    for (std::size_t i = 20; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return Status::InvalidArgument(fmt::format("bad timestamp '{}'", text));
      frac_ns += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * 60'000'000'000 + s * 1'000'000'000 + frac_ns;
}

Result<Corpus> LoadCorpus(const std::string& dir) {
  const fs::path root(dir);
  std::error_code ec;
  if (!fs::is_directory(root / "data", ec)) {
    return Status::NotFound(fmt::format("{}: no data/ directory (not a NAB-format directory)", dir));
  }
  DOPPEL_ASSIGN_OR_RETURN(std::string labels_text, ReadFile((root / "labels" / "combined_windows.json").string()));
  DOPPEL_ASSIGN_OR_RETURN(json::value labels, ParseJson(labels_text));
  if (!labels.is_object()) return Status::InvalidArgument("combined_windows.json: not an object");
  Corpus corpus;
  DOPPEL_ASSIGN_OR_RETURN(corpus.profiles, ReadProfiles(root / "config" / "profiles.json"));
  std::vector<std::pair<fs::path, std::string>> paths;
  for (const auto& category : fs::directory_iterator(root / "data")) {
    if (!category.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(category.path())) {
      if (file.path().extension() == ".csv") paths.emplace_back(file.path(), category.path().filename().string());
    }
  }
  for (const auto& [path, category] : paths) {
    DOPPEL_ASSIGN_OR_RETURN(Series series, ReadSeries(path, category));
    DOPPEL_RETURN_IF_ERROR(AttachWindows(series, labels.get_object().if_contains(series.name)));
    corpus.files.push_back(std::move(series));
  }
  std::sort(corpus.files.begin(), corpus.files.end(), [](const Series& a, const Series& b) { return a.name < b.name; });
  return corpus;
}

double ScaledSigmoid(double y) {
  if (y > 3) return -1;
  return 2 / (1 + std::exp(5 * y)) - 1;
}

std::size_t ProbationRows(std::size_t rows) {
  return std::min<std::size_t>(static_cast<std::size_t>(std::floor(0.15 * static_cast<double>(rows))), 750);
}

void AppendEvents(std::span<const double> scores, std::span<const Window> windows, const Profile& profile,
                  std::vector<Event>& out) {
  const std::size_t n = scores.size();
  const std::size_t probation = ProbationRows(n);
  const double sigma_one = ScaledSigmoid(-1);
  std::size_t next_window = 0;       // the first window not yet ended
  const Window* ended = nullptr;     // the latest window that ended before the row
  for (std::size_t i = 0; i < n;) {
    if (next_window < windows.size() && i >= windows[next_window].first) {
      // A window: its value is the weight of its earliest detection, which steps to an earlier
      // row each time θ comes down to a score higher than every score before it in the window.
      const Window& w = windows[next_window];
      const double width = static_cast<double>(w.last - w.first + 1);
      double value = -profile.fn;  // with no detection
      // The record-breaking rows from the left, found left to right; their deltas, as θ
      // decreases, run right to left: −A_FN → w(last record) → ... → w(first record).
      std::vector<std::pair<double, double>> records;  // (score, weight)
      double best = -std::numeric_limits<double>::infinity();
      for (std::size_t j = std::max(w.first, i); j <= w.last && j < n; ++j) {
        if (j < probation) continue;
        const double weight = profile.tp * ScaledSigmoid(-static_cast<double>(w.last - j + 1) / width) / sigma_one;
        if (scores[j] > best) {
          best = scores[j];
          records.emplace_back(scores[j], weight);
        } else {
          out.push_back({.score = scores[j], .delta = 0});
        }
      }
      for (auto it = records.rbegin(); it != records.rend(); ++it) {
        out.push_back({.score = it->first, .delta = it->second - value});
        value = it->second;
      }
      ended = &w;
      i = w.last + 1;
      ++next_window;
      continue;
    }
    if (i >= probation) {
      double weight = -profile.fp;
      if (ended != nullptr) {
        const double width = static_cast<double>(ended->last - ended->first + 1);
        weight = width > 1 ? profile.fp * ScaledSigmoid(static_cast<double>(i - ended->last) / (width - 1)) : -profile.fp;
      }
      out.push_back({.score = scores[i], .delta = weight});
    }
    ++i;
  }
}

FileOutcome Outcome(std::span<const double> scores, std::span<const Window> windows, const Profile& profile,
                    double threshold) {
  // Each window's and each outside row's weight, by the same events AppendEvents makes: a
  // single-file sweep whose events at or above θ are summed per kind.
  FileOutcome outcome;
  const std::size_t probation = ProbationRows(scores.size());
  std::vector<bool> inside(scores.size(), false);
  for (const Window& w : windows) {
    for (std::size_t j = w.first; j <= w.last && j < scores.size(); ++j) inside[j] = true;
    std::size_t earliest = SIZE_MAX;
    for (std::size_t j = std::max(w.first, probation); j <= w.last && j < scores.size(); ++j) {
      if (scores[j] >= threshold) {
        earliest = j;
        break;
      }
    }
    if (earliest == SIZE_MAX) {
      outcome.missed -= profile.fn;
      continue;
    }
    ++outcome.detected;
    const double width = static_cast<double>(w.last - w.first + 1);
    outcome.true_positive +=
        profile.tp * ScaledSigmoid(-static_cast<double>(w.last - earliest + 1) / width) / ScaledSigmoid(-1);
    outcome.lead.push_back(static_cast<std::ptrdiff_t>(earliest) - static_cast<std::ptrdiff_t>(w.first));
  }
  std::vector<Event> events;
  std::vector<double> outside(scores.begin(), scores.end());
  for (std::size_t j = 0; j < scores.size(); ++j) {
    if (inside[j]) outside[j] = -std::numeric_limits<double>::infinity();
  }
  AppendEvents(outside, windows, {.name = "", .tp = 0, .fp = profile.fp, .fn = 0}, events);
  for (const Event& e : events) {
    if (e.score >= threshold && e.delta != 0) {
      ++outcome.false_positives;
      outcome.false_positive += e.delta;
    }
  }
  return outcome;
}

double NullScore(std::size_t windows, const Profile& profile) { return -profile.fn * static_cast<double>(windows); }

Sweep BestThreshold(std::vector<Event>& events, double null_score) {
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.score > b.score; });
  Sweep best{.threshold = events.empty() ? 0 : events.front().score, .raw = -std::numeric_limits<double>::infinity()};
  double raw = null_score;
  for (std::size_t i = 0; i < events.size();) {
    const double theta = events[i].score;
    for (; i < events.size() && events[i].score == theta; ++i) raw += events[i].delta;
    if (raw > best.raw) best = {.threshold = theta, .raw = raw};  // strict: ties keep the higher θ
  }
  if (events.empty()) best.raw = null_score;
  return best;
}

double RawAt(std::span<const Event> events, double null_score, double threshold) {
  double raw = null_score;
  for (const Event& e : events) {
    if (e.score >= threshold) raw += e.delta;
  }
  return raw;
}

double Normalise(double raw, std::size_t windows, const Profile& profile) {
  const double null_score = NullScore(windows, profile);
  const double perfect = profile.tp * static_cast<double>(windows);
  if (perfect == null_score) return 0;
  return 100 * (raw - null_score) / (perfect - null_score);
}

}  // namespace doppel::nab
