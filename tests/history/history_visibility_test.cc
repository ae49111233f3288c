// HistoryRequest::visible: every selector yields only series of twins the caller may see, and
// naming an invisible twin, series or model's history gets the answer a nonexistent one gets.
#include <gmock/gmock.h>

#include <set>
#include <string>
#include <vector>

#include "history_fixture.h"

namespace doppel::history::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

twin::TwinFilter Only(std::set<std::string> ids) {
  return [ids = std::move(ids)](std::string_view id, std::string_view) {
    return ids.contains(std::string(id));
  };
}

// Replaces every `from` in `text` by `to`: the error for an invisible name must be the error
// for an unknown one, word for word.
std::string Renamed(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
  return text;
}

class HistoryVisibilityTest : public HistoryTest {
 protected:
  void SetUp() override {
    HistoryTest::SetUp();
    PutTwin("s1", kSensor, "A");
    PutTwin("s2", kSmartSensor, "B");
    PutTwin("s3", kSmartSensor, "A");
    PutTwin("p1", kPump);
    Series("s1", "temperature");
    Series("s1", "status", tsdb::ValueType::kString);
    Series("s2", "temperature");
    Series("s3", "temperature");
    Series("p1", "flow");
    // History of twins no longer in the graph.
    Series("gone-a", "temperature", tsdb::ValueType::kDouble, kSensor);
    Series("gone-b", "temperature", tsdb::ValueType::kDouble, kSensor);
  }

  // Hidden: s2, p1, gone-b.
  static twin::TwinFilter Seen() { return Only({"s1", "s3", "gone-a", "line-1"}); }

  HistoryRequest Raw(twin::TwinFilter visible = Seen()) {
    HistoryRequest r;
    r.mode = Mode::kRaw;
    r.start = 0, r.end = 1'000'000;
    r.visible = std::move(visible);
    return r;
  }

  // The status of `r` run once with its filter and once without: the answers for an invisible
  // `name` and an unknown `unknown` must match (with the names swapped).
  void ExpectSameAsUnknown(HistoryRequest invisible, HistoryRequest unknown,
                           const std::string& name, const std::string& unknown_name) {
    auto hidden = Run(std::move(invisible));
    auto missing = Run(std::move(unknown));
    ASSERT_FALSE(missing.ok());
    ASSERT_FALSE(hidden.ok()) << name << " was found";
    EXPECT_EQ(hidden.status().code(), missing.status().code());
    EXPECT_EQ(hidden.status().message(), Renamed(missing.status().message(), unknown_name, name));
    EXPECT_EQ(hidden.status().code(), StatusCode::kNotFound);
  }
};

TEST_F(HistoryVisibilityTest, ModelSelectorYieldsOnlyVisibleSeries) {
  HistoryRequest r = Raw();
  r.model = kSensor;
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("gone-a/temperature", "s1/status", "s1/temperature",
                                       "s3/temperature"));
  r.visible = nullptr;  // everything
  got = Run(r);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Names(*got).size(), 6u);
}

TEST_F(HistoryVisibilityTest, TwinSelectorYieldsVisibleTwinsAndRefusesInvisibleOnesAsUnknown) {
  HistoryRequest r = Raw();
  r.twins = {"s3", "s1", "gone-a"};
  r.paths = {"temperature"};
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("gone-a/temperature", "s1/temperature", "s3/temperature"));

  // s2 is in the graph, gone-b only in history.
  for (const std::string& hidden : std::vector<std::string>{"s2", "gone-b"}) {
    HistoryRequest invisible = Raw();
    invisible.twins = {"s1", hidden};
    HistoryRequest unknown = Raw();
    unknown.twins = {"s1", "nobody"};
    ExpectSameAsUnknown(invisible, unknown, hidden, "nobody");
  }
}

TEST_F(HistoryVisibilityTest, InvisibleTwinWithoutHistoryIsUnknownNotEmpty) {
  // A visible twin with no series contributes nothing; an invisible one is not found at all,
  // as a twin neither in the graph nor in history is.
  PutTwin("quiet", kSensor);
  HistoryRequest r = Raw(Only({"quiet"}));
  r.twins = {"quiet"};
  auto got = Run(r);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(got->series, IsEmpty());
  HistoryRequest invisible = Raw(Only({}));
  invisible.twins = {"quiet"};
  HistoryRequest unknown = Raw(Only({}));
  unknown.twins = {"nobody"};
  ExpectSameAsUnknown(invisible, unknown, "quiet", "nobody");
}

TEST_F(HistoryVisibilityTest, ExplicitInvisibleSeriesIsUnknown) {
  HistoryRequest r = Raw();
  r.series = {{"s1", "temperature"}, {"gone-a", "temperature"}};
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("gone-a/temperature", "s1/temperature"));
  for (const std::string& hidden : std::vector<std::string>{"s2", "gone-b"}) {
    HistoryRequest invisible = Raw();
    invisible.series = {{"s1", "temperature"}, {hidden, "temperature"}};
    HistoryRequest unknown = Raw();
    unknown.series = {{"s1", "temperature"}, {"nobody", "temperature"}};
    ExpectSameAsUnknown(invisible, unknown, hidden, "nobody");
  }
}

TEST_F(HistoryVisibilityTest, GraphQuerySelectorRunsWithTheFilter) {
  HistoryRequest r = Raw();
  r.query = "SELECT T FROM DIGITALTWINS T";
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("s1/status", "s1/temperature", "s3/temperature"));
  r.query = "SELECT T FROM DIGITALTWINS T WHERE T.line = 'B'";  // only s2
  got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(got->series, IsEmpty());
  // No JOIN through an invisible twin: line-2 is hidden, so its sensors are not reached.
  PutTwin("line-2", kLine);
  Relate("line-2", "s1");
  r.query = "SELECT S FROM DIGITALTWINS L JOIN S RELATED L.contains";
  got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(got->series, IsEmpty());
}

TEST_F(HistoryVisibilityTest, UnknownModelWithOnlyInvisibleHistoryIsNotFound) {
  Series("older-a", "temperature", tsdb::ValueType::kDouble, "dtmi:test:Old;1");
  Series("older-b", "temperature", tsdb::ValueType::kDouble, "dtmi:test:Older;1");
  // Only older-b's history records dtmi:test:Older;1, and older-b is hidden.
  HistoryRequest invisible = Raw(Only({"older-a"}));
  invisible.model = "dtmi:test:Older;1";
  HistoryRequest unknown = Raw(Only({"older-a"}));
  unknown.model = "dtmi:test:Nope;1";
  ExpectSameAsUnknown(invisible, unknown, "dtmi:test:Older;1", "dtmi:test:Nope;1");
  HistoryRequest visible = Raw(Only({"older-a"}));
  visible.model = "dtmi:test:Old;1";
  auto got = Run(visible);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("older-a/temperature"));
}

TEST_F(HistoryVisibilityTest, SeriesModelComesFromTheGraphWhileTheTwinExists) {
  // s1 is a Sensor now, though this series recorded it as a Pump; gone-a is judged by the
  // model its history recorded.
  Series("s1", "flow", tsdb::ValueType::kDouble, kPump);
  twin::TwinFilter sensors = [](std::string_view, std::string_view model) {
    return model == kSensor;
  };
  HistoryRequest r = Raw(sensors);
  r.twins = {"s1", "gone-a"};
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got),
              ElementsAre("gone-a/temperature", "s1/flow", "s1/status", "s1/temperature"));
  twin::TwinFilter pumps = [](std::string_view, std::string_view model) { return model == kPump; };
  r = Raw(pumps);
  r.model = kPump;
  got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("p1/flow"));  // not s1/flow: s1 is not a Pump
}

TEST_F(HistoryVisibilityTest, GroupByRelationshipIgnoresInvisibleParents) {
  PutTwin("line-1", kLine);
  PutTwin("line-2", kLine);
  Relate("line-1", "s1");
  Relate("line-2", "s3");  // line-2 is hidden: s3 has no visible parent
  HistoryRequest r = Raw();
  r.mode = Mode::kAggregate;
  r.step = 1'000'000;
  r.aggregations = {Aggregation::kCount};
  r.model = kSensor;
  r.paths = {"temperature"};
  r.group_by = {GroupBy::Kind::kRelationship, "contains"};
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->groups.size(), 2u);
  EXPECT_EQ(got->groups[0].value, json::value("line-1"));
  EXPECT_THAT(got->groups[0].twins, ElementsAre("s1"));
  EXPECT_TRUE(got->groups[1].value.is_null());
  EXPECT_THAT(got->groups[1].twins, ElementsAre("gone-a", "s3"));
}

}  // namespace
}  // namespace doppel::history::testing
