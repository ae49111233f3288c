// The Numenta Anomaly Benchmark's scoring, exactly as ../shared/data/README.md ("nab") states
// it, and a reader for any directory in NAB format:
//
//   <dir>/data/<category>/<file>.csv      timestamp,value (header row first)
//   <dir>/labels/combined_windows.json    {"<category>/<file>.csv": [["start", "end"], ...]}
//   <dir>/config/profiles.json            {"standard": {"CostMatrix": {"tpWeight", "fpWeight",
//                                          "fnWeight"}}, ...}
//
//   auto corpus = nab::LoadCorpus(dir);
//   std::vector<nab::Event> events;
//   for (file : corpus->files) nab::AppendEvents(scores_of(file), file.windows, profile, events);
//   nab::Sweep best = nab::BestThreshold(events, nab::NullScore(windows, profile));
//   double score = nab::Normalise(best.raw, windows, profile);
//
// The rules: the first P = min(floor(0.15·N), 750) rows of a file are probation (never a
// detection); a row is a detection when its score ≥ θ; a window [l, r] (W rows) scores the weight
// of its earliest detection, A_TP·σ(−(r−i+1)/W)/σ(−1), or −A_FN; every detection outside the
// windows adds A_FP·σ((i−r')/(W'−1)) after a window [l', r'] ended, −A_FP before any; σ(y) =
// 2/(1+e^{5y}) − 1 (−1 for y > 3). One θ for all files, the distinct score value maximising the
// summed raw score (ties → the highest θ); normalised 100·(raw − null)/(perfect − null).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace doppel::nab {

struct Profile {
  std::string name;
  double tp = 1, fp = 0.11, fn = 1;  // A_TP, A_FP, A_FN
};

// A labelled window as row indices, both ends inclusive.
struct Window {
  std::size_t first = 0, last = 0;
};

struct Series {
  std::string category;  // "realTweets"
  std::string name;      // "realTweets/Twitter_volume_AAPL.csv", the key of the labels
  std::vector<int64_t> times_ns;
  std::vector<double> values;
  std::vector<Window> windows;
};

struct Corpus {
  std::vector<Series> files;  // sorted by name
  std::vector<Profile> profiles;
  std::size_t windows() const;
};

// Reads every data/<category>/*.csv with its windows and the profiles. Errors name the file:
// a window whose ends are not timestamps of its file's rows is InvalidArgument.
Result<Corpus> LoadCorpus(const std::string& dir);
// Parses "2015-02-26 21:42:53" (optionally with fractional seconds, or 'T') as UTC.
Result<int64_t> ParseTimestamp(std::string_view text);

double ScaledSigmoid(double y);
std::size_t ProbationRows(std::size_t rows);

// A score at which the raw total changes by `delta` when θ comes down to it (or a row that
// changes nothing, delta 0, kept so every distinct score is a candidate θ).
struct Event {
  double score = 0;
  double delta = 0;
};
// The events of one file's scores (one per row) under `profile`.
void AppendEvents(std::span<const double> scores, std::span<const Window> windows, const Profile& profile,
                  std::vector<Event>& out);

struct Sweep {
  double threshold = 0;
  double raw = 0;
};
double NullScore(std::size_t windows, const Profile& profile);  // −A_FN·windows
// The best θ over every distinct event score (ties → the highest). Sorts `events`.
Sweep BestThreshold(std::vector<Event>& events, double null_score);
// The raw score at a given θ.
double RawAt(std::span<const Event> events, double null_score, double threshold);
double Normalise(double raw, std::size_t windows, const Profile& profile);

// One file's outcome at a threshold, for diagnostics: windows detected and what they earned,
// detections outside windows and what they cost.
struct FileOutcome {
  std::size_t detected = 0;
  double true_positive = 0;  // Σ weights of the windows' earliest detections
  double missed = 0;         // Σ −A_FN of the missed windows
  std::size_t false_positives = 0;
  double false_positive = 0;  // Σ (negative) weights of the detections outside windows
  std::vector<std::ptrdiff_t> lead = {};  // per detected window: its earliest detection − its first row
};
FileOutcome Outcome(std::span<const double> scores, std::span<const Window> windows, const Profile& profile,
                    double threshold);

}  // namespace doppel::nab
