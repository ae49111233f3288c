// Which index the planner picks for the FROM twins, and that it picks the cheapest.
#include "query/internal/planner.h"

#include <gtest/gtest.h>

#include "query/farm_graph.h"
#include "query/internal/evaluator.h"
#include "query/query.h"

namespace doppel::query {
namespace {

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override { farm_.Build(); }

  // The plan's description and the ids it would visit.
  std::pair<std::string, std::vector<std::string>> Plan(std::string_view text,
                                                        std::string_view from_id = "") {
    auto parsed = Parse(text);
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    if (!parsed.ok()) return {};
    const ParsedQuery& query = **parsed;
    return farm_.graph().Read([&](const twin::GraphState& state) {
      Evaluator evaluator(query, state);
      CandidatePlan plan = PlanCandidates(query, state, evaluator);
      std::vector<std::string> ids;
      ForEachCandidate(state, plan, from_id, [&](const twin::Twin& twin) {
        ids.push_back(twin.id);
        return true;
      });
      return std::make_pair(plan.description, ids);
    });
  }

  testing::FarmGraph farm_;
};

using Ids = std::vector<std::string>;

TEST_F(PlannerTest, IdLookups) {
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 'turbine-n1'"),
            std::make_pair(std::string("id lookup"), Ids{"turbine-n1"}));
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE T.$dtId IN ['turbine-s1', 'x', 'blade-n1']"),
            std::make_pair(std::string("id lookup"), Ids{"blade-n1", "turbine-s1"}));
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE (T.$dtId = 'farm-south' OR "
                 "T.$dtId IN ['farm-north']) AND IS_DEFINED(T.name)"),
            std::make_pair(std::string("id lookup"), Ids{"farm-north", "farm-south"}));
  // A non-string can never equal an id: nothing to visit.
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 3"),
            std::make_pair(std::string("id lookup"), Ids{}));
}

TEST_F(PlannerTest, PrefixModelAndPropertyIndexes) {
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'gearbox')"),
            std::make_pair(std::string("id prefix range"), Ids{"gearbox-n1", "gearbox-s1"}));
  EXPECT_EQ(
      Plan("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:test:Component;1')"),
      std::make_pair(std::string("model index"), Ids{"blade-n1", "gearbox-n1", "gearbox-s1"}));
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:test:Component;1', exact)"),
            std::make_pair(std::string("model index"), Ids{"blade-n1"}));
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE T.$metadata.$model = 'dtmi:test:WindFarm;1'"),
            std::make_pair(std::string("model index"), Ids{"farm-north", "farm-south"}));
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE T.status = 'stopped'"),
            std::make_pair(std::string("property index"), Ids{"turbine-n2"}));
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE 3000 = T.ratedPowerKw"),
            std::make_pair(std::string("property index"), Ids{"turbine-n2", "turbine-n3"}));
}

TEST_F(PlannerTest, PicksTheSmallestCandidateSet) {
  // 4 turbines by model, 1 by id, 2 by status: the id wins whatever the order.
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL('dtmi:test:Turbine;1') AND "
                 "T.status = 'running' AND T.$dtId = 'turbine-s1'")
                .first,
            "id lookup");
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL('dtmi:test:Asset;1') AND "
                 "T.status = 'running'")
                .first,
            "property index");
}

TEST_F(PlannerTest, FallsBackToScanWhenNothingIsIndexable) {
  for (const char* text : {
           "SELECT * FROM DIGITALTWINS",
           "SELECT * FROM DIGITALTWINS T WHERE T.ratedPowerKw > 1",
           "SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 'a' OR T.name = 'b'",
           "SELECT * FROM DIGITALTWINS T WHERE NOT T.$dtId = 'a'",
           "SELECT * FROM DIGITALTWINS T WHERE T.$dtId NIN ['a']",
           "SELECT * FROM DIGITALTWINS T WHERE T.nacelle.temperature = 55.5",
       }) {
    auto [description, ids] = Plan(text);
    EXPECT_EQ(description, "full scan") << text;
    EXPECT_EQ(ids.size(), 9u) << text;
  }
}

TEST_F(PlannerTest, JoinTargetPinnedByIdUsesIncomingRelationships) {
  EXPECT_EQ(Plan("SELECT F FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine "
                 "WHERE T.$dtId IN ['turbine-n1', 'turbine-s1']"),
            std::make_pair(std::string("incoming relationships"), Ids{"farm-north", "farm-south"}));
  // Another relationship name into the same twin does not count.
  EXPECT_EQ(Plan("SELECT F FROM DIGITALTWINS F JOIN T RELATED F.hasComponent "
                 "WHERE T.$dtId = 'turbine-n1'"),
            std::make_pair(std::string("incoming relationships"), Ids{}));
}

TEST_F(PlannerTest, FromRelationshipsPlansTheirSourceTwins) {
  EXPECT_EQ(Plan("SELECT * FROM RELATIONSHIPS R WHERE R.$sourceId = 'turbine-n1'"),
            std::make_pair(std::string("source lookup"), Ids{"turbine-n1"}));
  EXPECT_EQ(Plan("SELECT * FROM RELATIONSHIPS R WHERE R.$targetId IN ['gearbox-s1', 'turbine-n2']"),
            std::make_pair(std::string("incoming relationships"), Ids{"farm-north", "turbine-s1"}));
  EXPECT_EQ(Plan("SELECT * FROM RELATIONSHIPS R WHERE R.since > 2000").first, "full scan");
}

TEST_F(PlannerTest, CandidatesResumeFromAnId) {
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS", "turbine").second,
            (Ids{"turbine-n1", "turbine-n2", "turbine-n3", "turbine-s1"}));
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'turbine')", "turbine-n3")
                .second,
            (Ids{"turbine-n3", "turbine-s1"}));
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:test:Asset;1')", "gearbox-s1")
                .second,
            (Ids{"gearbox-s1", "turbine-n1", "turbine-n2", "turbine-n3", "turbine-s1"}));
  EXPECT_EQ(Plan("SELECT * FROM DIGITALTWINS T WHERE T.status = 'running'", "turbine-n2").second,
            Ids{"turbine-s1"});
}

}  // namespace
}  // namespace doppel::query
