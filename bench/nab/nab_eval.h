// The NAB evaluation's pieces shared by the program (nab_eval_main.cc) and its replay paths:
// the profile scores of one set of per-row scores, and the cross-validated (held-out) score of a
// grid of detector configurations.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "nab/nab_score.h"

namespace doppel::nab {

// One score per row of each file of the corpus (same order as corpus.files).
using CorpusScores = std::vector<std::vector<double>>;

struct ProfileResult {
  std::string profile;
  double score = 0;      // normalised, over every file, one threshold
  double threshold = 0;  // θ chosen
  double raw = 0;
};

// Every profile's score over the whole corpus (one global threshold each).
std::vector<ProfileResult> ScoreCorpus(const Corpus& corpus, const CorpusScores& scores);

// Leave-one-category-out cross-validation over a grid: for each category, the configuration
// (index into `grid_scores`) and threshold that maximise the score on the other categories are
// applied to the held-out category; the held-out raw scores are summed over the folds and
// normalised over all windows. Returns one result per profile (threshold unused: 0).
struct HeldOut {
  std::vector<ProfileResult> results;
  // Per profile, per category (sorted): the configuration chosen for that fold.
  std::vector<std::vector<std::size_t>> chosen;
  // Per profile, per category: the held-out raw score of that fold.
  std::vector<std::vector<double>> fold_raw;
  std::vector<std::string> categories;
};
// `score_config(k)` returns the corpus scores of configuration k (computed on demand so only
// one configuration's scores are held at a time); k in [0, configs).
HeldOut CrossValidate(const Corpus& corpus, std::size_t configs,
                      const std::function<CorpusScores(std::size_t)>& score_config,
                      std::vector<std::vector<ProfileResult>>* full_per_config = nullptr);

}  // namespace doppel::nab
