// NAB scoring (bench/nab/nab_score.h) on tiny hand-computed cases, and the corpus reader.
#include "nab/nab_score.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "nab/nab_eval.h"

namespace doppel::nab {
namespace {

const Profile kStandard{.name = "standard", .tp = 1, .fp = 0.11, .fn = 1};

// σ(−0.75)/σ(−1): the weight of a detection 3 rows before the end of a 4-row window.
constexpr double kThreeOfFour = 0.9669890878000605;

TEST(NabScoreTest, ScaledSigmoidAndProbation) {
  EXPECT_DOUBLE_EQ(ScaledSigmoid(0), 0);
  EXPECT_NEAR(ScaledSigmoid(-1), 0.9866142981514305, 1e-15);
  EXPECT_NEAR(ScaledSigmoid(1), -0.9866142981514305, 1e-15);
  EXPECT_EQ(ScaledSigmoid(3.01), -1);
  EXPECT_EQ(ProbationRows(20), 3u);       // floor(0.15 · 20)
  EXPECT_EQ(ProbationRows(1000), 150u);
  EXPECT_EQ(ProbationRows(100000), 750u);  // capped
}

// 20 rows, probation 3, one window [10, 13]. Row 1 is in probation (ignored), row 5 is a false
// positive before any window (−0.11), row 11 detects the window (weight σ(−3/4)/σ(−1)), row 16
// is a false positive 3 rows after the window ended: 0.11·σ(3/3) = −0.10853.
std::vector<double> TinyScores() {
  std::vector<double> s(20, 0.0);
  s[1] = 0.95;
  s[5] = 0.8;
  s[11] = 0.9;
  s[12] = 0.85;  // a later detection in the window: worth nothing more
  s[16] = 0.7;
  return s;
}

TEST(NabScoreTest, EventsSumToTheRawScoreAtEachThreshold) {
  const std::vector<Window> windows{{.first = 10, .last = 13}};
  std::vector<Event> events;
  AppendEvents(TinyScores(), windows, kStandard, events);
  const double null_score = NullScore(1, kStandard);
  EXPECT_DOUBLE_EQ(null_score, -1);
  EXPECT_DOUBLE_EQ(RawAt(events, null_score, 0.96), -1);                 // nothing detected
  EXPECT_DOUBLE_EQ(RawAt(events, null_score, 0.95), -1);                 // row 1 is probation
  EXPECT_NEAR(RawAt(events, null_score, 0.9), kThreeOfFour, 1e-12);      // the window
  EXPECT_NEAR(RawAt(events, null_score, 0.85), kThreeOfFour, 1e-12);     // row 12 adds nothing
  EXPECT_NEAR(RawAt(events, null_score, 0.8), kThreeOfFour - 0.11, 1e-12);
  EXPECT_NEAR(RawAt(events, null_score, 0.7), kThreeOfFour - 0.11 - 0.10852757279665734, 1e-12);
  // Below 0.7 every other row (score 0) is a false positive too.
  EXPECT_LT(RawAt(events, null_score, 0.0), RawAt(events, null_score, 0.7));
}

TEST(NabScoreTest, BestThresholdPrefersTheHighestOfEqualScores) {
  const std::vector<Window> windows{{.first = 10, .last = 13}};
  std::vector<Event> events;
  AppendEvents(TinyScores(), windows, kStandard, events);
  const Sweep best = BestThreshold(events, NullScore(1, kStandard));
  // θ = 0.9 and θ = 0.85 give the same raw score: the higher wins.
  EXPECT_EQ(best.threshold, 0.9);
  EXPECT_NEAR(best.raw, kThreeOfFour, 1e-12);
  EXPECT_NEAR(Normalise(best.raw, 1, kStandard), 100 * (kThreeOfFour + 1) / 2, 1e-9);
}

TEST(NabScoreTest, TheEarliestDetectionInAWindowCounts) {
  std::vector<double> s(20, 0.0);
  s[10] = 0.6;  // the window's first row: worth A_TP exactly
  s[11] = 0.9;
  const std::vector<Window> windows{{.first = 10, .last = 13}};
  std::vector<Event> events;
  AppendEvents(s, windows, kStandard, events);
  EXPECT_NEAR(RawAt(events, -1, 0.9), kThreeOfFour, 1e-12);
  EXPECT_NEAR(RawAt(events, -1, 0.6), 1.0, 1e-12);
  const FileOutcome at_06 = Outcome(s, windows, kStandard, 0.6);
  EXPECT_EQ(at_06.detected, 1u);
  EXPECT_NEAR(at_06.true_positive, 1.0, 1e-12);
  EXPECT_EQ(at_06.false_positives, 0u);
  ASSERT_EQ(at_06.lead.size(), 1u);
  EXPECT_EQ(at_06.lead[0], 0);
}

TEST(NabScoreTest, EveryFalsePositiveRowCountsAndProfilesWeighThem) {
  std::vector<double> s(40, 0.0);
  for (std::size_t i = 20; i < 25; ++i) s[i] = 1.0;  // five detections in a row, no window
  std::vector<Event> events;
  const Profile low_fp{.name = "reward_low_FP_rate", .tp = 1, .fp = 0.22, .fn = 1};
  AppendEvents(s, {}, low_fp, events);
  EXPECT_NEAR(RawAt(events, 0, 1.0), -5 * 0.22, 1e-12);
  // A missed window costs A_FN: 2 under reward_low_FN_rate.
  const Profile low_fn{.name = "reward_low_FN_rate", .tp = 1, .fp = 0.11, .fn = 2};
  std::vector<Event> missed;
  AppendEvents(std::vector<double>(40, 0.0), std::vector<Window>{{.first = 30, .last = 35}}, low_fn, missed);
  EXPECT_DOUBLE_EQ(RawAt(missed, NullScore(1, low_fn), 0.5), -2);
  EXPECT_DOUBLE_EQ(Normalise(-2, 1, low_fn), 0);
  EXPECT_DOUBLE_EQ(Normalise(1, 1, low_fn), 100);
}

TEST(NabScoreTest, ParsesNabTimestamps) {
  EXPECT_EQ(ParseTimestamp("2014-04-10 07:15:00.000000").value(), int64_t{1397114100} * 1'000'000'000);
  EXPECT_EQ(ParseTimestamp("2014-04-10 07:15:00").value(), int64_t{1397114100} * 1'000'000'000);
  EXPECT_FALSE(ParseTimestamp("10/04/2014 07:15").ok());
}

class NabCorpusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("doppel-nab-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "data" / "catA");
    std::filesystem::create_directories(dir_ / "labels");
    std::filesystem::create_directories(dir_ / "config");
    std::ofstream(dir_ / "data" / "catA" / "one.csv") << "timestamp,value\n"
                                                       << "2020-01-01 00:00:00,1\n2020-01-01 00:05:00,2\n"
                                                       << "2020-01-01 00:10:00,3\n2020-01-01 00:15:00,4\n";
    std::ofstream(dir_ / "labels" / "combined_windows.json")
        << R"({"catA/one.csv": [["2020-01-01 00:05:00.000000", "2020-01-01 00:10:00.000000"]]})";
    std::ofstream(dir_ / "config" / "profiles.json")
        << R"({"standard": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}}})";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(NabCorpusTest, ReadsADirectoryInNabFormat) {
  auto corpus = LoadCorpus(dir_.string());
  ASSERT_TRUE(corpus.ok()) << corpus.status().ToString();
  ASSERT_EQ(corpus->files.size(), 1u);
  EXPECT_EQ(corpus->files[0].name, "catA/one.csv");
  EXPECT_EQ(corpus->files[0].category, "catA");
  EXPECT_EQ(corpus->files[0].values, (std::vector<double>{1, 2, 3, 4}));
  ASSERT_EQ(corpus->files[0].windows.size(), 1u);
  EXPECT_EQ(corpus->files[0].windows[0].first, 1u);
  EXPECT_EQ(corpus->files[0].windows[0].last, 2u);
  ASSERT_EQ(corpus->profiles.size(), 1u);
  EXPECT_EQ(corpus->profiles[0].fp, 0.11);
  // Perfect scores (the window's first row only) give 100.
  const auto results = ScoreCorpus(*corpus, {{0, 1, 0, 0}});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_DOUBLE_EQ(results[0].score, 100);
}

TEST_F(NabCorpusTest, RefusesAWindowOutsideItsFile) {
  std::ofstream(dir_ / "labels" / "combined_windows.json")
      << R"({"catA/one.csv": [["2021-01-01 00:00:00", "2021-01-02 00:00:00"]]})";
  auto corpus = LoadCorpus(dir_.string());
  ASSERT_FALSE(corpus.ok());
  EXPECT_NE(corpus.status().message().find("catA/one.csv"), std::string::npos);
}

TEST(NabSharedDataTest, TheSharedCopyHas51FilesAnd97Windows) {
  const std::string dir = std::string(DOPPEL_SHARED_DATA_DIR) + "/nab";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no NAB data at " << dir;
  auto corpus = LoadCorpus(dir);
  ASSERT_TRUE(corpus.ok()) << corpus.status().ToString();
  EXPECT_EQ(corpus->files.size(), 51u);
  EXPECT_EQ(corpus->windows(), 97u);
  EXPECT_EQ(corpus->profiles.size(), 3u);
}

}  // namespace
}  // namespace doppel::nab
