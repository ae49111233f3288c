#include "sim/fmi/internal/fmu_protocol.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

namespace doppel::sim::fmi::internal {
namespace {

TEST(FmuProtocolTest, FramesRoundTripOverASocket) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  FrameWriter writer(MessageType::kStep);
  writer.F64(12.5).F64(-0.25);
  WriteSets(writer, {{3, 500.0}, {7, -1e300}});
  writer.Bytes(std::string("a\0b", 3)).U8(9);
  ASSERT_EQ(SendAll(fds[0], writer.Finish(), std::nullopt), IoError::kNone);

  std::string body;
  ASSERT_EQ(ReceiveFrame(fds[1], body, std::nullopt), IoError::kNone);
  FrameReader reader(body);
  EXPECT_EQ(reader.type(), MessageType::kStep);
  EXPECT_EQ(reader.F64(), 12.5);
  EXPECT_EQ(reader.F64(), -0.25);
  auto sets = ReadSets(reader);
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[1].index, 7u);
  EXPECT_EQ(sets[1].value, -1e300);
  EXPECT_EQ(reader.Bytes(), std::string("a\0b", 3));
  EXPECT_EQ(reader.U8(), 9);
  EXPECT_TRUE(reader.ok());
  EXPECT_TRUE(reader.at_end());
  EXPECT_EQ(reader.U32(), 0u);  // past the end
  EXPECT_FALSE(reader.ok());
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(FmuProtocolTest, ReportsTimeoutsClosedPeersAndOversizedFrames) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  std::string body;
  auto soon = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
  EXPECT_EQ(ReceiveFrame(fds[1], body, soon), IoError::kTimeout);
  const char huge[4] = {'\xff', '\xff', '\xff', '\x7f'};
  ASSERT_EQ(SendAll(fds[0], std::string_view(huge, 4), std::nullopt), IoError::kNone);
  EXPECT_EQ(ReceiveFrame(fds[1], body, std::nullopt), IoError::kMalformed);
  ::close(fds[0]);
  EXPECT_EQ(ReceiveFrame(fds[1], body, std::nullopt), IoError::kClosed);
  // Writing to a closed peer is an error value, not SIGPIPE.
  EXPECT_EQ(SendAll(fds[1], "x", std::nullopt), IoError::kClosed);
  ::close(fds[1]);
}

}  // namespace
}  // namespace doppel::sim::fmi::internal
