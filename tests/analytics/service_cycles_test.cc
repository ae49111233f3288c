// Readings → RUL cycles (src/analytics/internal/cycles.h): one cycle per distinct time, complete
// when every column has come or a later time starts; or the mean per time bucket; a column a
// cycle lacks takes its previous value; late readings are ignored.
#include "analytics/internal/cycles.h"

#include <gtest/gtest.h>

namespace doppel::analytics::service_internal {
namespace {

constexpr int64_t kMinute = 60'000'000'000;

TEST(CycleAssemblerTest, AReadingTimeIsACycleOnceEveryColumnHasCome) {
  CycleAssembler cycles(2, 0);
  std::vector<Cycle> out;
  cycles.Add(10, 0, 1.0, out);
  EXPECT_TRUE(out.empty());
  cycles.Add(10, 1, 2.0, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].time, 10);
  EXPECT_EQ(out[0].values, (std::vector<double>{1.0, 2.0}));
  cycles.Add(10, 0, 5.0, out);  // the time is complete: a repeat is ignored
  cycles.Add(5, 0, 5.0, out);   // late
  EXPECT_EQ(out.size(), 1u);
}

TEST(CycleAssemblerTest, ALaterTimeCompletesACycleFillingWhatItLacks) {
  CycleAssembler cycles(2, 0);
  std::vector<Cycle> out;
  cycles.Add(10, 0, 1.0, out);
  cycles.Add(20, 0, 3.0, out);  // the first cycle never had column 1: nothing to fill it with
  EXPECT_TRUE(out.empty());
  cycles.Add(20, 1, 4.0, out);
  cycles.Add(30, 0, 5.0, out);
  cycles.Finish(out);  // column 1 of time 30 comes from time 20
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].values, (std::vector<double>{3.0, 4.0}));
  EXPECT_EQ(out[1].time, 30);
  EXPECT_EQ(out[1].values, (std::vector<double>{5.0, 4.0}));
}

TEST(CycleAssemblerTest, BucketsAverageEachColumn) {
  CycleAssembler cycles(1, 10 * kMinute);
  std::vector<Cycle> out;
  cycles.Add(1 * kMinute, 0, 1.0, out);
  cycles.Add(4 * kMinute, 0, 3.0, out);
  cycles.Add(9 * kMinute, 0, 5.0, out);
  EXPECT_TRUE(out.empty());
  cycles.Add(12 * kMinute, 0, 10.0, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].time, 0);
  EXPECT_DOUBLE_EQ(out[0].values[0], 3.0);
  cycles.Add(8 * kMinute, 0, 100.0, out);  // the bucket is closed
  cycles.Finish(out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].time, 10 * kMinute);
  EXPECT_DOUBLE_EQ(out[1].values[0], 10.0);
}

}  // namespace
}  // namespace doppel::analytics::service_internal
