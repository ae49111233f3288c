#include "nab/nab_eval.h"

#include <algorithm>
#include <limits>
#include <map>

namespace doppel::nab {
namespace {

// Per category: events under `profile` and the number of windows.
struct CategoryEvents {
  std::vector<Event> events;
  std::size_t windows = 0;
};

std::map<std::string, CategoryEvents> EventsByCategory(const Corpus& corpus, const CorpusScores& scores,
                                                       const Profile& profile) {
  std::map<std::string, CategoryEvents> by;
  for (std::size_t f = 0; f < corpus.files.size(); ++f) {
    auto& c = by[corpus.files[f].category];
    AppendEvents(scores[f], corpus.files[f].windows, profile, c.events);
    c.windows += corpus.files[f].windows.size();
  }
  return by;
}

}  // namespace

std::vector<ProfileResult> ScoreCorpus(const Corpus& corpus, const CorpusScores& scores) {
  std::vector<ProfileResult> results;
  const std::size_t windows = corpus.windows();
  for (const Profile& profile : corpus.profiles) {
    std::vector<Event> events;
    for (std::size_t f = 0; f < corpus.files.size(); ++f) {
      AppendEvents(scores[f], corpus.files[f].windows, profile, events);
    }
    const Sweep best = BestThreshold(events, NullScore(windows, profile));
    results.push_back({.profile = profile.name,
                       .score = Normalise(best.raw, windows, profile),
                       .threshold = best.threshold,
                       .raw = best.raw});
  }
  return results;
}

HeldOut CrossValidate(const Corpus& corpus, std::size_t configs,
                      const std::function<CorpusScores(std::size_t)>& score_config,
                      std::vector<std::vector<ProfileResult>>* full_per_config) {
  HeldOut out;
  for (const auto& f : corpus.files) {
    if (std::find(out.categories.begin(), out.categories.end(), f.category) == out.categories.end()) {
      out.categories.push_back(f.category);
    }
  }
  std::sort(out.categories.begin(), out.categories.end());
  const std::size_t profiles = corpus.profiles.size(), folds = out.categories.size();
  // best_train[p][fold] = (training score, held-out raw) of the best configuration so far.
  std::vector<std::vector<std::pair<double, double>>> best(
      profiles, std::vector<std::pair<double, double>>(folds, {-std::numeric_limits<double>::infinity(), 0}));
  out.chosen.assign(profiles, std::vector<std::size_t>(folds, 0));
  for (std::size_t k = 0; k < configs; ++k) {
    const CorpusScores scores = score_config(k);
    if (full_per_config != nullptr) full_per_config->push_back(ScoreCorpus(corpus, scores));
    for (std::size_t p = 0; p < profiles; ++p) {
      const Profile& profile = corpus.profiles[p];
      auto by = EventsByCategory(corpus, scores, profile);
      for (std::size_t fold = 0; fold < folds; ++fold) {
        std::vector<Event> train;
        std::size_t train_windows = 0;
        for (const auto& [category, c] : by) {
          if (category == out.categories[fold]) continue;
          train.insert(train.end(), c.events.begin(), c.events.end());
          train_windows += c.windows;
        }
        const Sweep sweep = BestThreshold(train, NullScore(train_windows, profile));
        const double train_score = Normalise(sweep.raw, train_windows, profile);
        if (train_score > best[p][fold].first) {
          const auto& held = by[out.categories[fold]];
          best[p][fold] = {train_score, RawAt(held.events, NullScore(held.windows, profile), sweep.threshold)};
          out.chosen[p][fold] = k;
        }
      }
    }
  }
  const std::size_t windows = corpus.windows();
  for (std::size_t p = 0; p < profiles; ++p) {
    double raw = 0;
    auto& fold_raw = out.fold_raw.emplace_back();
    for (const auto& [train_score, held_raw] : best[p]) {
      raw += held_raw;
      fold_raw.push_back(held_raw);
    }
    out.results.push_back(
        {.profile = corpus.profiles[p].name, .score = Normalise(raw, windows, corpus.profiles[p]), .raw = raw});
  }
  return out;
}

}  // namespace doppel::nab
