#include "audit/audit_log.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "audit/internal/record_codec.h"

namespace doppel::audit {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kZeros(64, '0');
const TimePoint kT0 = TimePoint(std::chrono::seconds(1'700'000'000));

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(Slurp(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::string data;
  for (const auto& line : lines) data += line + "\n";
  Spit(path, data);
}

std::vector<std::string> Segments(const std::string& dir) {
  std::vector<std::string> paths;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".jsonl") paths.push_back(e.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  std::string hex;
  for (unsigned char c : digest) hex += fmt::format("{:02x}", c);
  return hex;
}

AuditEvent Event(std::string actor, std::string action, std::string target,
                 std::string outcome = "ok") {
  return {.actor = std::move(actor),
          .action = std::move(action),
          .target = std::move(target),
          .source = "10.0.0.5:5000",
          .outcome = std::move(outcome),
          .detail = {{"status", 200}}};
}

std::vector<uint64_t> Seqs(const std::vector<AuditRecord>& records) {
  std::vector<uint64_t> seqs;
  for (const auto& r : records) seqs.push_back(r.seq);
  return seqs;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "doppel-audit-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/audit";
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<AuditLog> OpenLog(AuditLogOptions options = {}) {
    auto log = AuditLog::Open(dir_, options);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // Appends n records at kT0 + i seconds, alternating actors, actions and targets.
  static void Fill(AuditLog& log, int n, int first = 1) {
    for (int i = first; i < first + n; ++i) {
      auto r =
          log.Append(Event(i % 2 ? "key:odd" : "key:even", i % 3 ? "twin.patch" : "model.create",
                           "turbine-" + std::to_string(i % 4), i % 5 ? "ok" : "denied"),
                     kT0 + std::chrono::seconds(i));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }

  std::string root_;
  std::string dir_;
};

// --- Record format ---

TEST_F(AuditLogTest, StoredLineIsCanonicalJsonWithHashOfPrevAndLineAppended) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  auto r = log->Append({.actor = "key:ab12",
                        .action = "twin.patch",
                        .target = "turbine-7",
                        .source = "10.0.0.5:5000",
                        .outcome = "ok",
                        .detail = {{"method", "PATCH"}, {"status", 200}}},
                       kT0 + std::chrono::nanoseconds(1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string canonical =
      R"({"seq":1,"time":"2023-11-14T22:13:20.000000001Z","actor":"key:ab12",)"
      R"("action":"twin.patch","target":"turbine-7","source":"10.0.0.5:5000","outcome":"ok",)"
      R"("detail":{"method":"PATCH","status":200},"prev":")" +
      kZeros + R"("})";
  std::string hash = Sha256Hex(kZeros + canonical);
  EXPECT_EQ(r->hash, hash);
  EXPECT_EQ(r->prev_hash, kZeros);
  canonical.pop_back();
  EXPECT_EQ(Slurp(dir_ + "/audit-00000000000000000001.jsonl"),
            canonical + R"(,"hash":")" + hash + "\"}\n");
  EXPECT_EQ(r->time, kT0 + std::chrono::nanoseconds(1));  // ns survive
  EXPECT_EQ(json::value(AuditRecordToJson(*r)).at("hash"), json::value(hash));
}

// GET /audit?format=jsonl writes ToJson(AuditRecordToJson(r)): an export must verify like
// the files, so it has to reproduce the stored bytes.
TEST_F(AuditLogTest, RecordToJsonOfAQueriedRecordReproducesTheStoredLine) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  AuditEvent e = Event("key:ab12", "twin.patch", "turbine-7/rel-1");
  e.detail = {{"path", "/digitaltwins/t\xC3\xA9?a=\"b\"\n"},
              {"value", 21.5},
              {"tiny", 1e-7},
              {"big", 12345678901234567.0},
              {"list", json::array{1, -2, "x", nullptr, true}},
              {"nested", json::object{{"k", json::object{}}}}};
  ASSERT_TRUE(log->Append(std::move(e), kT0 + std::chrono::nanoseconds(999999999)).ok());
  Fill(*log, 3, 2);
  auto records = log->Query({});
  ASSERT_TRUE(records.ok());
  auto lines = Lines(dir_ + "/audit-00000000000000000001.jsonl");
  ASSERT_EQ(lines.size(), records->size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(ToJson(AuditRecordToJson((*records)[i])), lines[i]);
  }
}

TEST_F(AuditLogTest, EachRecordChainsToThePreviousAndHeadIsTheNewest) {
  auto log = AuditLog::InMemory();
  EXPECT_EQ(log->Head(), std::make_pair(uint64_t{0}, kZeros));
  auto a = log->Append(Event("key:a", "twin.create", "t1"), kT0);
  auto b = log->Append(Event("key:a", "twin.delete", "t1"), kT0);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->seq, 1u);
  EXPECT_EQ(b->seq, 2u);
  EXPECT_EQ(b->prev_hash, a->hash);
  EXPECT_NE(a->hash, b->hash);
  EXPECT_EQ(log->Head(), std::make_pair(uint64_t{2}, b->hash));
  auto v = log->Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 2u);
}

TEST_F(AuditLogTest, InvalidUtf8IsReplacedSoTheRecordReadsBack) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  AuditEvent e = Event("key:\xff", "twin.get", "bad\xc3(");
  e.detail = {{"path\xfe", "/x\xff"}};
  auto r = log->Append(std::move(e), kT0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->event.actor, "key:\xEF\xBF\xBD");
  EXPECT_EQ(r->event.target, "bad\xEF\xBF\xBD(");
  EXPECT_EQ(r->event.detail.at("path\xEF\xBF\xBD"), json::value("/x\xEF\xBF\xBD"));
  log.reset();
  log = OpenLog();
  ASSERT_NE(log, nullptr);
  auto q = log->Query({.actor = "key:\xEF\xBF\xBD"});
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 1u);
  EXPECT_EQ((*q)[0].hash, r->hash);
}

TEST_F(AuditLogTest, DetailTooDeepToReadBackIsRefusedAndNothingIsWritten) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  json::value deep = json::object();
  for (int i = 0; i < 100; ++i) deep = json::object{{"x", deep}};
  AuditEvent e = Event("key:a", "twin.patch", "t");
  e.detail = deep.get_object();
  auto r = log->Append(std::move(e), kT0);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Head().first, 0u);
  ASSERT_TRUE(log->Append(Event("key:a", "twin.patch", "t"), kT0).ok());
  EXPECT_TRUE(log->Verify().ok);
}

// --- Query: the same behaviour in memory and on disk ---

class AuditQueryTest : public AuditLogTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    AuditLogTest::SetUp();
    log_ = GetParam() ? OpenLog() : AuditLog::InMemory();
    ASSERT_NE(log_, nullptr);
    Fill(*log_, 20);
  }
  std::vector<uint64_t> Run(const AuditQuery& q) {
    auto r = log_->Query(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? Seqs(*r) : std::vector<uint64_t>{};
  }
  std::unique_ptr<AuditLog> log_;
};

TEST_P(AuditQueryTest, NoFilterReturnsAllInSeqOrderWithTheirContent) {
  auto r = log_->Query({});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 20u);
  for (std::size_t i = 0; i < r->size(); ++i) {
    const AuditRecord& rec = (*r)[i];
    EXPECT_EQ(rec.seq, i + 1);
    EXPECT_EQ(rec.time, kT0 + std::chrono::seconds(i + 1));
    EXPECT_EQ(rec.event.source, "10.0.0.5:5000");
    EXPECT_EQ(rec.event.detail.at("status"), json::value(200));
    if (i > 0) {
      EXPECT_EQ(rec.prev_hash, (*r)[i - 1].hash);
    }
  }
}

TEST_P(AuditQueryTest, FiltersByActor) {
  EXPECT_THAT(Run({.actor = "key:even"}),
              ::testing::ElementsAre(2, 4, 6, 8, 10, 12, 14, 16, 18, 20));
  EXPECT_TRUE(Run({.actor = "key:nobody"}).empty());
}

TEST_P(AuditQueryTest, FiltersByActionPrefix) {
  EXPECT_THAT(Run({.action_prefix = "model."}), ::testing::ElementsAre(3, 6, 9, 12, 15, 18));
  EXPECT_EQ(Run({.action_prefix = "twin."}).size(), 14u);
  EXPECT_EQ(Run({.action_prefix = "twin.patch"}).size(), 14u);
  EXPECT_TRUE(Run({.action_prefix = "twin.patchy"}).empty());
}

TEST_P(AuditQueryTest, FiltersByTargetAndOutcome) {
  EXPECT_THAT(Run({.target = "turbine-1"}), ::testing::ElementsAre(1, 5, 9, 13, 17));
  EXPECT_THAT(Run({.outcome = "denied"}), ::testing::ElementsAre(5, 10, 15, 20));
  EXPECT_THAT(Run({.target = "turbine-1", .outcome = "denied"}), ::testing::ElementsAre(5));
  EXPECT_TRUE(Run({.target = "turbine-9"}).empty());
}

TEST_P(AuditQueryTest, FiltersByTimeSinceInclusiveUntilExclusive) {
  EXPECT_THAT(Run({.since = kT0 + std::chrono::seconds(17)}),
              ::testing::ElementsAre(17, 18, 19, 20));
  EXPECT_THAT(Run({.until = kT0 + std::chrono::seconds(3)}), ::testing::ElementsAre(1, 2));
  EXPECT_THAT(Run({.since = kT0 + std::chrono::seconds(5),
                   .until = kT0 + std::chrono::seconds(7),
                   .actor = "key:odd"}),
              ::testing::ElementsAre(5));
}

TEST_P(AuditQueryTest, PagesWithAfterSeqAndLimit) {
  std::vector<uint64_t> all;
  uint64_t after = 0;
  for (int page = 0; page < 10; ++page) {
    auto seqs = Run({.actor = "key:odd", .after_seq = after, .limit = 3});
    if (seqs.empty()) break;
    EXPECT_LE(seqs.size(), 3u);
    all.insert(all.end(), seqs.begin(), seqs.end());
    after = seqs.back();
  }
  EXPECT_THAT(all, ::testing::ElementsAre(1, 3, 5, 7, 9, 11, 13, 15, 17, 19));
  EXPECT_TRUE(Run({.after_seq = 20}).empty());
  EXPECT_TRUE(Run({.after_seq = 1000}).empty());
  EXPECT_TRUE(Run({.limit = 0}).empty());
}

INSTANTIATE_TEST_SUITE_P(InMemoryAndOnDisk, AuditQueryTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "OnDisk" : "InMemory"; });

TEST_F(AuditLogTest, QueryLimitIsClampedAt10000) {
  auto log = AuditLog::InMemory();
  for (int i = 0; i < 10005; ++i) ASSERT_TRUE(log->Append(Event("a", "x.y", "t"), kT0).ok());
  auto r = log->Query({.limit = 50000});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 10000u);
  EXPECT_EQ(r->back().seq, 10000u);
  auto rest = log->Query({.after_seq = r->back().seq, .limit = 50000});
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(Seqs(*rest), (std::vector<uint64_t>{10001, 10002, 10003, 10004, 10005}));
}

// --- Persistence ---

TEST_F(AuditLogTest, ReopenKeepsRecordsAndTheChainContinues) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  Fill(*log, 5);
  auto head = log->Head();
  auto before = log->Query({});
  ASSERT_TRUE(before.ok());
  log.reset();

  log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->Head(), head);
  auto after = log->Query({});
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*after)[i].hash, (*before)[i].hash);
    EXPECT_EQ((*after)[i].time, (*before)[i].time);
    EXPECT_EQ((*after)[i].event.actor, (*before)[i].event.actor);
  }
  auto next = log->Append(Event("key:z", "apikey.revoke", "apikey:1"), kT0);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq, 6u);
  EXPECT_EQ(next->prev_hash, head.second);
  auto v = log->Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 6u);
}

TEST_F(AuditLogTest, SecondOpenOfTheSameDirectoryIsUnavailable) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  auto second = AuditLog::Open(dir_);
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  log.reset();
  EXPECT_TRUE(AuditLog::Open(dir_).ok());
}

TEST_F(AuditLogTest, SegmentsRollOverAndVerifyAcrossThem) {
  auto log = OpenLog({.segment_bytes = 1024});
  ASSERT_NE(log, nullptr);
  Fill(*log, 30);
  auto segments = Segments(dir_);
  ASSERT_GE(segments.size(), 5u);
  uint64_t next_first = 1;
  for (const auto& path : segments) {
    EXPECT_EQ(fs::path(path).filename().string(), fmt::format("audit-{:020}.jsonl", next_first));
    EXPECT_LE(fs::file_size(path), 1024u);
    next_first += Lines(path).size();
  }
  EXPECT_EQ(next_first, 31u);
  auto v = log->Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 30u);
  log.reset();

  log = OpenLog({.segment_bytes = 1024});
  ASSERT_NE(log, nullptr);
  Fill(*log, 10, 31);
  auto all = log->Query({.limit = 100});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 40u);
  EXPECT_EQ(all->back().seq, 40u);
  auto odd_late = log->Query({.actor = "key:odd", .after_seq = 25});
  ASSERT_TRUE(odd_late.ok());
  EXPECT_EQ(Seqs(*odd_late), (std::vector<uint64_t>{27, 29, 31, 33, 35, 37, 39}));
  v = log->Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 40u);
}

TEST_F(AuditLogTest, VerifyReportsAMissingSegment) {
  auto log = OpenLog({.segment_bytes = 1024});
  ASSERT_NE(log, nullptr);
  Fill(*log, 30);
  auto segments = Segments(dir_);
  ASSERT_GE(segments.size(), 3u);
  uint64_t lost_first = 1 + Lines(segments[0]).size();
  fs::remove(segments[1]);
  auto v = log->Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, lost_first);
  EXPECT_THAT(v.problem, HasSubstr("record " + std::to_string(lost_first) + ": missing"));
  log.reset();
  auto reopened = AuditLog::Open(dir_);
  EXPECT_EQ(reopened.status().code(), StatusCode::kInternal);
}

// --- Tampering ---

class AuditTamperTest : public AuditLogTest {
 protected:
  void SetUp() override {
    AuditLogTest::SetUp();
    log_ = OpenLog();
    ASSERT_NE(log_, nullptr);
    Fill(*log_, 10);
    path_ = dir_ + "/audit-00000000000000000001.jsonl";
    lines_ = Lines(path_);
    ASSERT_EQ(lines_.size(), 10u);
  }
  void ExpectVerifyReports(uint64_t seq, const std::string& what) {
    auto v = log_->Verify();
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_seq, seq) << v.problem;
    EXPECT_EQ(v.records, seq - 1);
    EXPECT_THAT(v.problem, HasSubstr("record " + std::to_string(seq) + ": " + what));
  }
  std::unique_ptr<AuditLog> log_;
  std::string path_;
  std::vector<std::string> lines_;
};

TEST_F(AuditTamperTest, EditedFieldIsReportedByVerifyEvenAfterReopen) {
  std::string& line = lines_[4];  // record 5, outcome "denied"
  auto pos = line.find("\"outcome\":\"denied\"");
  ASSERT_NE(pos, std::string::npos);
  line.replace(pos, 18, "\"outcome\":\"ok\"");
  WriteLines(path_, lines_);
  ExpectVerifyReports(5, "hash does not match its content");

  // Open checks continuity, not content: the log opens, and Verify still finds the edit.
  log_.reset();
  log_ = OpenLog();
  ASSERT_NE(log_, nullptr);
  ExpectVerifyReports(5, "hash does not match its content");
}

TEST_F(AuditTamperTest, DeletedLineIsReportedAndOpenRefusesNamingFileAndLine) {
  lines_.erase(lines_.begin() + 4);
  WriteLines(path_, lines_);
  ExpectVerifyReports(5, "expected here, found record 6");
  log_.reset();
  auto reopened = AuditLog::Open(dir_);
  ASSERT_EQ(reopened.status().code(), StatusCode::kInternal);
  EXPECT_THAT(reopened.status().message(), HasSubstr(path_ + " line 5"));
}

TEST_F(AuditTamperTest, ReorderedLinesAreReported) {
  std::swap(lines_[3], lines_[4]);
  WriteLines(path_, lines_);
  ExpectVerifyReports(4, "expected here, found record 5");
}

TEST_F(AuditTamperTest, DeletedLastLineIsReportedByTheRunningLog) {
  auto anchored = log_->Head();
  lines_.pop_back();
  WriteLines(path_, lines_);
  ExpectVerifyReports(10, "missing");
  // After a restart the shortened chain is self-consistent: only an anchored head shows it.
  log_.reset();
  log_ = OpenLog();
  ASSERT_NE(log_, nullptr);
  EXPECT_TRUE(log_->Verify().ok);
  EXPECT_NE(log_->Head(), anchored);
}

TEST_F(AuditTamperTest, RewrittenTailWithRecomputedHashesIsReportedByTheRunningLog) {
  // An attacker who understands the format rewrites record 7 and re-seals 7..10.
  std::string prev = lines_[5].substr(lines_[5].size() - 66, 64);
  for (std::size_t i = 6; i < 10; ++i) {
    auto record = internal::ParseRecordLine(lines_[i]);
    ASSERT_TRUE(record.ok());
    if (i == 6) record->event.actor = "key:mallory";
    record->prev_hash = prev;
    lines_[i] = internal::SealRecord(*record);
    prev = record->hash;
  }
  WriteLines(path_, lines_);
  ExpectVerifyReports(10, "hash is not the head this process appended");
}

TEST_F(AuditTamperTest, GarbageMiddleLineMakesOpenRefuse) {
  lines_[2] = "{\"seq\":3,\"nonsense\":true}";
  WriteLines(path_, lines_);
  ExpectVerifyReports(3, "not a record");
  log_.reset();
  auto reopened = AuditLog::Open(dir_);
  ASSERT_EQ(reopened.status().code(), StatusCode::kInternal);
  EXPECT_THAT(reopened.status().message(), HasSubstr(path_ + " line 3"));
}

// --- Crash recovery ---

TEST_F(AuditLogTest, TornLastLineIsTruncatedAtOpenAndTheLogContinues) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  Fill(*log, 3);
  auto head = log->Head();
  log.reset();
  std::string path = dir_ + "/audit-00000000000000000001.jsonl";
  auto intact_size = fs::file_size(path);
  std::ofstream(path, std::ios::binary | std::ios::app) << R"({"seq":4,"time":"2023-11)";

  log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(fs::file_size(path), intact_size);
  EXPECT_EQ(log->Head(), head);
  auto next = log->Append(Event("key:a", "twin.patch", "t"), kT0);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq, 4u);
  EXPECT_EQ(next->prev_hash, head.second);
  auto v = log->Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, 4u);
  EXPECT_EQ(Lines(path).size(), 4u);
}

TEST_F(AuditLogTest, TornLineInAnOlderSegmentIsRefused) {
  auto log = OpenLog({.segment_bytes = 1024});
  ASSERT_NE(log, nullptr);
  Fill(*log, 12);
  log.reset();
  auto segments = Segments(dir_);
  ASSERT_GE(segments.size(), 2u);
  std::ofstream(segments[0], std::ios::binary | std::ios::app) << "{\"seq\":";
  auto reopened = AuditLog::Open(dir_);
  ASSERT_EQ(reopened.status().code(), StatusCode::kInternal);
  EXPECT_THAT(reopened.status().message(), HasSubstr(segments[0]));
}

TEST_F(AuditLogTest, LogThatDoesNotStartAtRecordOneIsRefused) {
  auto log = OpenLog({.segment_bytes = 1024});
  ASSERT_NE(log, nullptr);
  Fill(*log, 12);
  log.reset();
  fs::remove(Segments(dir_)[0]);
  auto reopened = AuditLog::Open(dir_);
  ASSERT_EQ(reopened.status().code(), StatusCode::kInternal);
  EXPECT_THAT(reopened.status().message(), HasSubstr("record 1: missing"));
}

// --- Concurrency ---

TEST_F(AuditLogTest, ConcurrentAppendsGiveContiguousSeqsAndAValidChain) {
  auto log = OpenLog({.segment_bytes = 16 << 10});
  ASSERT_NE(log, nullptr);
  constexpr int kThreads = 4, kPerThread = 100;
  std::vector<std::vector<uint64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = log->Append(Event("thread:" + std::to_string(t), "twin.patch", "t"), kT0);
        if (r.ok()) seqs[t].push_back(r->seq);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(seqs[t].size(), static_cast<std::size_t>(kPerThread));
    EXPECT_TRUE(std::is_sorted(seqs[t].begin(), seqs[t].end()));
    all.insert(seqs[t].begin(), seqs[t].end());
  }
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(log->Head().first, static_cast<uint64_t>(kThreads * kPerThread));
  auto v = log->Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records, static_cast<uint64_t>(kThreads * kPerThread));
  auto mine = log->Query({.actor = "thread:2", .limit = 1000});
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(Seqs(*mine), seqs[2]);
}

TEST_F(AuditLogTest, QueriesAndVerifyDuringAppendsSeeOnlyCompleteRecords) {
  auto log = OpenLog({.segment_bytes = 4 << 10});
  ASSERT_NE(log, nullptr);
  std::atomic<bool> done = false;
  std::thread writer([&] {
    Fill(*log, 200);
    done = true;
  });
  int rounds = 0;
  for (; !done || rounds == 0; ++rounds) {
    auto v = log->Verify();
    EXPECT_TRUE(v.ok) << v.problem;
    auto r = log->Query({.limit = 10000});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (std::size_t i = 0; i < r->size(); ++i) {
      ASSERT_EQ((*r)[i].seq, i + 1);
      if (i > 0) {
        ASSERT_EQ((*r)[i].prev_hash, (*r)[i - 1].hash);
      }
    }
  }
  writer.join();
  EXPECT_GT(rounds, 0);
  EXPECT_EQ(log->Head().first, 200u);
}

// Found by audit_record_fuzz: a detail object ending in ,"hash":"<63 hex>"} made the line end
// in the hash suffix while the record's own "hash" came first.
TEST(RecordCodecTest, HashNestedAtTheEndIsNotTheRecordsHash) {
  const std::string line = "{\"hash\":\"" + std::string(64, 'a') +
                           "\",\"seq\":1,\"time\":\"2026-11-26T01:00:00.000000000Z\",\"actor\":\"a\","
                           "\"action\":\"twin.create\",\"target\":\"t\",\"source\":\"\",\"outcome\":\"ok\","
                           "\"prev\":\"" + kZeros + "\",\"detail\":{\"a\":1,\"hash\":\"" + std::string(63, 'b') + "\"}}";
  auto parsed = internal::ParseRecordLine(line);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "\"hash\" is not the last field");

  AuditRecord record{.seq = 1, .time = kT0, .event = {.actor = "a", .action = "twin.create"}, .prev_hash = kZeros};
  record.event.detail["hash"] = std::string(64, 'c');  // a "hash" inside detail is fine when not last
  const std::string sealed = internal::SealRecord(record);
  auto back = internal::ParseRecordLine(sealed);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->hash, record.hash);
}

// Found by audit_record_fuzz: times before 1677-09-21T00:12:44Z overflowed (undefined behaviour).
TEST(RecordCodecTest, FormatsEveryTimePoint) {
  using std::chrono::nanoseconds;
  EXPECT_EQ(internal::FormatAuditTime(TimePoint::min()), "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(internal::FormatAuditTime(TimePoint::max()), "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(internal::FormatAuditTime(TimePoint(nanoseconds(-1))), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(internal::FormatAuditTime(TimePoint(nanoseconds(0))), "1970-01-01T00:00:00.000000000Z");
}

}  // namespace
}  // namespace doppel::audit
