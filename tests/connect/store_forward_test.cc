// StoreForward (the disk buffer: order, limit, restart, torn tail) and ForwardingWriter (the
// connector's write path that uses it).
#include "connect/store_forward.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tsdb/temp_dir.h"

namespace doppel::connect {
namespace {

using ingest::Reading;

std::vector<Reading> Batch(int first, int count) {
  std::vector<Reading> batch;
  for (int i = first; i < first + count; ++i) {
    batch.push_back({.twin_id = "press-1", .path = "speed", .time = i, .value = static_cast<double>(i) + 0.5});
  }
  return batch;
}

// Every reading's time, in the order `buffer` replays them (all accepted).
std::vector<int64_t> Drain(StoreForward& buffer) {
  std::vector<int64_t> times;
  auto replayed = buffer.Replay([&](std::span<const Reading> batch) {
    for (const Reading& r : batch) times.push_back(r.time);
    return Status::Ok();
  });
  EXPECT_TRUE(replayed.ok()) << replayed.status().ToString();
  return times;
}

std::vector<int64_t> Range(int first, int count) {
  std::vector<int64_t> times;
  for (int i = first; i < first + count; ++i) times.push_back(i);
  return times;
}

class StoreForwardTest : public ::testing::Test {
 protected:
  std::unique_ptr<StoreForward> Open(uint64_t max_bytes = uint64_t{1} << 20) {
    auto opened = StoreForward::Open({.dir = dir_.path() + "/press-1", .max_bytes = max_bytes, .sync = false});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }
  tsdb::testing::TempDir dir_;
};

TEST_F(StoreForwardTest, EncodesEveryValueKindExactly) {
  std::vector<Reading> batch{{.twin_id = "t", .path = "a", .time = -5, .value = 0.1},
                             {.twin_id = "t", .path = "c/b", .time = 1, .value = int64_t{-9007199254740993}},
                             {.twin_id = "t\"", .path = "d", .time = 2, .value = true},
                             {.twin_id = "t", .path = "e", .time = 3, .value = std::string("x\n]y")}};
  auto decoded = DecodeBatch(EncodeBatch(batch));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ((*decoded)[i].twin_id, batch[i].twin_id);
    EXPECT_EQ((*decoded)[i].path, batch[i].path);
    EXPECT_EQ((*decoded)[i].time, batch[i].time);
    EXPECT_EQ((*decoded)[i].value, batch[i].value);
  }
}

TEST_F(StoreForwardTest, ReplaysOldestFirst) {
  auto buffer = Open();
  ASSERT_TRUE(buffer->Append(Batch(0, 3)).ok());
  ASSERT_TRUE(buffer->Append(Batch(3, 2)).ok());
  ASSERT_TRUE(buffer->Append(Batch(5, 4)).ok());
  EXPECT_EQ(buffer->stats().batches, 3u);
  EXPECT_EQ(buffer->stats().readings, 9u);
  EXPECT_EQ(Drain(*buffer), Range(0, 9));
  EXPECT_TRUE(buffer->empty());
  EXPECT_EQ(buffer->stats().replayed_readings, 9u);
  EXPECT_EQ(std::filesystem::file_size(dir_.path() + "/press-1/buffer.jsonl"), 0u);  // emptied: truncated
}

TEST_F(StoreForwardTest, ARetryableFailureKeepsTheBatchFirst) {
  auto buffer = Open();
  ASSERT_TRUE(buffer->Append(Batch(0, 2)).ok());
  ASSERT_TRUE(buffer->Append(Batch(2, 2)).ok());
  int calls = 0;
  auto replayed = buffer->Replay([&](std::span<const Reading>) {
    return ++calls == 1 ? Status::Ok() : Status::Unavailable("store down");
  });
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(buffer->stats().batches, 1u);
  EXPECT_EQ(Drain(*buffer), Range(2, 2));
}

TEST_F(StoreForwardTest, APermanentRefusalDropsTheBatchAndGoesOn) {
  auto buffer = Open();
  ASSERT_TRUE(buffer->Append(Batch(0, 1)).ok());
  ASSERT_TRUE(buffer->Append(Batch(1, 1)).ok());
  std::vector<int64_t> written;
  auto replayed = buffer->Replay([&](std::span<const Reading> batch) {
    if (batch[0].time == 0) return Status::NotFound("twin 'press-1' not found");
    written.push_back(batch[0].time);
    return Status::Ok();
  });
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(*replayed, 2u);
  EXPECT_EQ(written, Range(1, 1));
  EXPECT_EQ(buffer->stats().rejected_batches, 1u);
}

TEST_F(StoreForwardTest, DropsTheOldestBeyondTheLimit) {
  const uint64_t line = EncodeBatch(Batch(20, 10)).size() + 1;  // batches 1..4 are this long
  auto buffer = Open(line * 3);  // room for three batches of ten
  for (int b = 0; b < 5; ++b) ASSERT_TRUE(buffer->Append(Batch(b * 10, 10)).ok());
  StoreForwardStats stats = buffer->stats();
  EXPECT_EQ(stats.batches, 3u);
  EXPECT_LE(stats.bytes, line * 3);
  EXPECT_EQ(stats.dropped_batches, 2u);
  EXPECT_EQ(stats.dropped_readings, 20u);
  EXPECT_EQ(Drain(*buffer), Range(20, 30));  // the newest three batches, in order
}

TEST_F(StoreForwardTest, ABatchLargerThanTheLimitIsDroppedItself) {
  auto buffer = Open(1024);
  ASSERT_TRUE(buffer->Append(Batch(0, 1)).ok());
  ASSERT_TRUE(buffer->Append(Batch(1, 1000)).ok());
  EXPECT_EQ(buffer->stats().dropped_readings, 1000u);
  EXPECT_EQ(Drain(*buffer), Range(0, 1));
}

TEST_F(StoreForwardTest, SurvivesARestartWhereReplayLeftOff) {
  {
    auto buffer = Open();
    for (int b = 0; b < 4; ++b) ASSERT_TRUE(buffer->Append(Batch(b * 2, 2)).ok());
    auto replayed = buffer->Replay([](std::span<const Reading>) { return Status::Ok(); }, 1);
    ASSERT_TRUE(replayed.ok());
    EXPECT_EQ(*replayed, 1u);
  }
  auto reopened = Open();
  EXPECT_EQ(reopened->stats().batches, 3u);
  EXPECT_EQ(reopened->stats().readings, 6u);
  ASSERT_TRUE(reopened->Append(Batch(8, 1)).ok());
  EXPECT_EQ(Drain(*reopened), Range(2, 7));
}

TEST_F(StoreForwardTest, CompactionKeepsOrderAcrossARestart) {
  const uint64_t line = EncodeBatch(Batch(10, 1)).size() + 1;  // times 10..39: all this long
  {
    auto buffer = Open(line * 4);
    // Replay one at a time while appending: dead bytes pile up before the head until the file
    // is rewritten.
    int next = 0;
    for (int round = 0; round < 20; ++round) {
      ASSERT_TRUE(buffer->Append(Batch(next++, 1)).ok());
      ASSERT_TRUE(buffer->Append(Batch(next++, 1)).ok());
      ASSERT_TRUE(buffer->Replay([](std::span<const Reading>) { return Status::Ok(); }, 1).ok());
    }
    // From the fourth round on, each round's second append drops the oldest: four fit.
    EXPECT_EQ(buffer->stats().dropped_batches, 17u);
    // Dead bytes never outgrow the limit by more than a line before the file is rewritten.
    EXPECT_LE(std::filesystem::file_size(dir_.path() + "/press-1/buffer.jsonl"), line * 9);
  }
  auto reopened = Open(line * 4);
  EXPECT_EQ(Drain(*reopened), Range(37, 3));
}

TEST_F(StoreForwardTest, ATornLastLineIsIgnoredAtOpen) {
  {
    auto buffer = Open();
    ASSERT_TRUE(buffer->Append(Batch(0, 2)).ok());
  }
  {
    std::ofstream out(dir_.path() + "/press-1/buffer.jsonl", std::ios::app);
    out << R"([["press-1","speed",2,0,2.)";  // a crash mid-append
  }
  auto reopened = Open();
  EXPECT_EQ(reopened->stats().batches, 1u);
  ASSERT_TRUE(reopened->Append(Batch(2, 1)).ok());
  EXPECT_EQ(Drain(*reopened), Range(0, 3));
}

// ---- ForwardingWriter ----------------------------------------------------------------------

// A sink that plays the store: refuses readings of twin "ghost" (NotFound), fails every write
// with Unavailable while `down`, and records what it stored.
struct FakeHistory {
  bool down = false;
  std::vector<int64_t> stored = {};
  std::vector<Status> operator()(std::span<const std::span<const Reading>> groups) {
    std::vector<Status> results;
    for (auto group : groups) {
      if (group[0].twin_id == "ghost") {
        results.push_back(Status::NotFound("twin 'ghost' not found"));
      } else {
        results.push_back(down ? Status::Unavailable("store cannot write") : Status::Ok());
      }
    }
    if (!down) {
      for (std::size_t i = 0; i < groups.size(); ++i) {
        if (results[i].ok()) stored.push_back(groups[i][0].time);
      }
    }
    return results;
  }
};

TEST_F(StoreForwardTest, WriterBuffersDuringAnOutageAndReplaysInOrder) {
  auto buffer = Open();
  FakeHistory history;
  ForwardingWriter writer([&](auto groups) { return history(groups); }, buffer.get());
  EXPECT_EQ(writer.Write(Batch(0, 2)).written, 2u);
  history.down = true;
  ForwardingWriter::Outcome outage = writer.Write(Batch(2, 2));
  EXPECT_EQ(outage.buffered, 2u);
  EXPECT_EQ(outage.error.code(), StatusCode::kUnavailable);
  outage = writer.Write(Batch(4, 2));  // behind the first, still down
  EXPECT_EQ(outage.buffered, 2u);
  EXPECT_EQ(buffer->stats().readings, 4u);
  history.down = false;
  ForwardingWriter::Outcome recovered = writer.Write(Batch(6, 2));
  EXPECT_TRUE(recovered.error.ok()) << recovered.error.ToString();
  EXPECT_EQ(recovered.written, 6u);  // the two buffered batches and this one
  EXPECT_TRUE(buffer->empty());
  EXPECT_EQ(history.stored, Range(0, 8));
}

TEST_F(StoreForwardTest, WriterRefusesBadReadingsWithoutBufferingThem) {
  auto buffer = Open();
  FakeHistory history;
  ForwardingWriter writer([&](auto groups) { return history(groups); }, buffer.get());
  std::vector<Reading> batch = Batch(0, 3);
  batch[1].twin_id = "ghost";
  ForwardingWriter::Outcome outcome = writer.Write(batch);
  EXPECT_EQ(outcome.written, 2u);
  ASSERT_EQ(outcome.refused.size(), 1u);
  EXPECT_EQ(outcome.refused[0].first, 1u);
  EXPECT_EQ(outcome.refused[0].second.code(), StatusCode::kNotFound);
  EXPECT_TRUE(buffer->empty());
}

TEST_F(StoreForwardTest, WriterWithoutABufferRefusesDuringAnOutage) {
  FakeHistory history{.down = true};
  ForwardingWriter writer([&](auto groups) { return history(groups); }, nullptr);
  ForwardingWriter::Outcome outcome = writer.Write(Batch(0, 2));
  EXPECT_EQ(outcome.written, 0u);
  EXPECT_EQ(outcome.buffered, 0u);
  EXPECT_EQ(outcome.refused.size(), 2u);
}

}  // namespace
}  // namespace doppel::connect
