// Execution over a real TwinGraph: every feature of the language against the farm graph.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "query/farm_graph.h"
#include "query/query.h"

namespace doppel::query {
namespace {

using testing::FarmGraph;
using testing::Json;

class ExecuteTest : public ::testing::Test {
 protected:
  void SetUp() override { farm_.Build(); }

  json::array Rows(std::string_view text, QueryOptions options = {}) {
    auto page = Execute(farm_.graph(), text, options);
    EXPECT_TRUE(page.ok()) << text << ": " << page.status().ToString();
    if (!page.ok()) return {};
    EXPECT_TRUE(page->continuation_token.empty()) << text;
    return page->value;
  }

  // $dtId of each row of a SELECT * query.
  std::vector<std::string> IdsOf(std::string_view text) {
    std::vector<std::string> ids;
    for (const json::value& row : Rows(text)) {
      EXPECT_TRUE(row.is_object());
      if (!row.is_object()) continue;
      const json::value* id = row.get_object().if_contains("$dtId");
      EXPECT_NE(id, nullptr) << ToJson(row);
      if (id != nullptr) ids.emplace_back(id->get_string());
    }
    return ids;
  }

  Status ErrorOf(std::string_view text, QueryOptions options = {}) {
    auto page = Execute(farm_.graph(), text, options);
    EXPECT_FALSE(page.ok()) << text;
    return page.ok() ? Status::Ok() : page.status();
  }

  FarmGraph farm_;
};

using Ids = std::vector<std::string>;

const Ids kAllIds = {"blade-n1",   "farm-north", "farm-south", "gearbox-n1", "gearbox-s1",
                     "turbine-n1", "turbine-n2", "turbine-n3", "turbine-s1"};

TEST_F(ExecuteTest, SelectStarReturnsTwinDocumentsInIdOrder) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS"), kAllIds);
  json::array rows = Rows("SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 'turbine-n1'");
  ASSERT_EQ(rows.size(), 1u);
  const json::object& doc = rows[0].get_object();
  EXPECT_EQ(doc.at("name"), json::value("N1"));
  EXPECT_EQ(doc.at("$metadata").at("$model"), json::value("dtmi:test:Turbine;1"));
  EXPECT_TRUE(doc.contains("$etag"));
  EXPECT_EQ(doc.at("nacelle").at("temperature"), json::value(55.5));
}

TEST_F(ExecuteTest, DtIdEqualityAndIn) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS WHERE $dtId = 'farm-south'"), Ids{"farm-south"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 'nope'"), Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.$dtId IN ['turbine-s1', 'blade-n1', "
                  "'missing', 'blade-n1']"),
            (Ids{"blade-n1", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE 'farm-north' = T.$dtId"), Ids{"farm-north"});
}

TEST_F(ExecuteTest, IsOfModelFollowsInheritanceUnlessExact) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:test:Asset;1')"), kAllIds);
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:test:Component;1')"),
            (Ids{"blade-n1", "gearbox-n1", "gearbox-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:test:Component;1', "
                  "exact)"),
            Ids{"blade-n1"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:test:Asset;1', exact)"),
            Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:test:Unknown;1')"), Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS WHERE NOT IS_OF_MODEL('dtmi:test:Asset;1')"), Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.$metadata.$model = 'dtmi:test:Gearbox;1'"),
            (Ids{"gearbox-n1", "gearbox-s1"}));
}

TEST_F(ExecuteTest, PropertyComparisons) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.ratedPowerKw = 3000"),
            (Ids{"turbine-n2", "turbine-n3"}));  // 3000.0 and 3000 are the same number
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.ratedPowerKw >= 3000"),
            (Ids{"turbine-n2", "turbine-n3", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.ratedPowerKw < 3000"), Ids{"turbine-n1"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.ratedPowerKw > 4500 AND "
                  "T.ratedPowerKw <= 4500.5"),
            Ids{"turbine-s1"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.name > 'N2' AND T.name < 'T'"),
            (Ids{"farm-north", "farm-south", "turbine-n3", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.online = false"), Ids{"turbine-n2"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.status <> 'running'"), Ids{"turbine-n2"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.status != 'stopped'"),
            (Ids{"turbine-n1", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.nacelle.temperature > 60"),
            (Ids{"turbine-n2", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.online"),
            (Ids{"turbine-n1", "turbine-n3", "turbine-s1"}));
}

TEST_F(ExecuteTest, MismatchedTypesAndMissingPropertiesAreUndefinedNotErrors) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.ratedPowerKw = '3000'"), Ids{});
  // Undefined stays undefined under NOT, so neither side of the negation matches.
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE NOT (T.ratedPowerKw = '3000')"), Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.online > 1"), Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.nacelle = 'x'"), Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.nosuch.deeper = 1"), Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.status = null"), Ids{});
  // OR with one undefined side still matches on the other.
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.wear = 'x' OR T.$dtId = 'blade-n1'"),
            Ids{"blade-n1"});
}

TEST_F(ExecuteTest, BooleanLogicAndParentheses) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.region = 'EU' OR T.kind = 'blade'"),
            (Ids{"blade-n1", "farm-north"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE (T.status = 'running' OR T.status = "
                  "'stopped') AND T.ratedPowerKw < 4000"),
            (Ids{"turbine-n1", "turbine-n2"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.status = 'running' OR T.status = "
                  "'stopped' AND T.ratedPowerKw > 4000"),
            (Ids{"turbine-n1", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL('dtmi:test:Turbine;1') AND "
                  "NOT T.online = true"),
            Ids{"turbine-n2"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE NOT NOT T.online = false"),
            Ids{"turbine-n2"});
}

TEST_F(ExecuteTest, InAndNin) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.status IN ['stopped', 'failed']"),
            Ids{"turbine-n2"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.ratedPowerKw IN [2000, 4500.5, '3000']"),
            (Ids{"turbine-n1", "turbine-s1"}));
  // NIN is false for a missing property (undefined), true for defined non-members.
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.status NIN ['stopped']"),
            (Ids{"turbine-n1", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.kind IN []"), Ids{});
}

TEST_F(ExecuteTest, TypeFunctions) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_DEFINED(T.status)"),
            (Ids{"turbine-n1", "turbine-n2", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL('dtmi:test:Turbine;1') AND "
                  "NOT IS_DEFINED(T.status)"),
            Ids{"turbine-n3"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_DEFINED(T.nacelle.temperature)"),
            (Ids{"turbine-n1", "turbine-n2", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_OBJECT(T.nacelle)"),
            (Ids{"turbine-n1", "turbine-n2", "turbine-n3", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_PRIMITIVE(T.nacelle)"), Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_PRIMITIVE(T.region)"),
            (Ids{"farm-north", "farm-south"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_BOOL(T.online) AND IS_NUMBER(T.wear)"),
            Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_NUMBER(T.wear)"),
            (Ids{"blade-n1", "gearbox-n1", "gearbox-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_STRING(T.kind) AND IS_BOOL(T.kind)"),
            Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_BOOL(T.online) AND IS_STRING(T.name)"),
            (Ids{"turbine-n1", "turbine-n2", "turbine-n3", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_NULL(T.name) OR IS_NULL(T.missing)"),
            Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 'blade-n1' AND IS_NULL(null)"),
            Ids{"blade-n1"});
}

TEST_F(ExecuteTest, StringFunctions) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'turbine-n')"),
            (Ids{"turbine-n1", "turbine-n2", "turbine-n3"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'zzz')"), Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE ENDSWITH(T.$dtId, '-s1')"),
            (Ids{"gearbox-s1", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE CONTAINS(T.name, 'box')"),
            (Ids{"gearbox-n1", "gearbox-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.ratedPowerKw, '2')"), Ids{});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE NOT STARTSWITH(T.ratedPowerKw, '2')"), Ids{});
}

TEST_F(ExecuteTest, ProjectionsShapeRowsAndOmitMissingProperties) {
  json::array rows = Rows(
      "SELECT T.name, T.status AS state, T.nacelle.temperature, T.$metadata.$model "
      "FROM DIGITALTWINS T WHERE IS_OF_MODEL('dtmi:test:Turbine;1')");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], Json(R"({"name":"N1","state":"running","temperature":55.5,
                              "$model":"dtmi:test:Turbine;1"})"));
  EXPECT_EQ(rows[2], Json(R"({"name":"N3","$model":"dtmi:test:Turbine;1"})"));

  json::array objects = Rows("SELECT T.nacelle FROM DIGITALTWINS T WHERE T.$dtId = 'turbine-s1'");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0].at("nacelle").at("temperature"), json::value(64));

  json::array aliases = Rows("SELECT T FROM DIGITALTWINS T WHERE T.$dtId = 'blade-n1'");
  ASSERT_EQ(aliases.size(), 1u);
  EXPECT_EQ(aliases[0].at("T").at("$dtId"), json::value("blade-n1"));

  json::array bare = Rows("SELECT name FROM DIGITALTWINS WHERE $dtId = 'farm-north'");
  EXPECT_EQ(bare, Json(R"([{"name":"North"}])").as_array());
}

TEST_F(ExecuteTest, CountAndTop) {
  EXPECT_EQ(Rows("SELECT COUNT() FROM DIGITALTWINS"), Json(R"([{"COUNT":9}])").as_array());
  EXPECT_EQ(Rows("SELECT COUNT() FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, "
                 "'dtmi:test:Component;1')"),
            Json(R"([{"COUNT":3}])").as_array());
  EXPECT_EQ(Rows("SELECT COUNT() FROM DIGITALTWINS T WHERE T.$dtId = 'none'"),
            Json(R"([{"COUNT":0}])").as_array());
  EXPECT_EQ(Rows("SELECT COUNT() FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine"),
            Json(R"([{"COUNT":4}])").as_array());
  EXPECT_EQ(IdsOf("SELECT TOP(2) * FROM DIGITALTWINS"), (Ids{"blade-n1", "farm-north"}));
  EXPECT_EQ(IdsOf("SELECT TOP(100) * FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'farm')"),
            (Ids{"farm-north", "farm-south"}));
}

TEST_F(ExecuteTest, JoinFromOneFarmToItsTurbines) {
  json::array rows = Rows(
      "SELECT F, T, R FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine R "
      "WHERE F.$dtId = 'farm-north'");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].at("F").at("$dtId"), json::value("farm-north"));
  EXPECT_EQ(rows[0].at("T").at("$dtId"), json::value("turbine-n1"));
  EXPECT_EQ(rows[0].at("R").at("$relationshipId"), json::value("r-n1"));
  EXPECT_EQ(rows[0].at("R").at("since"), json::value(2015));
  EXPECT_EQ(rows[2].at("T").at("$dtId"), json::value("turbine-n3"));
}

TEST_F(ExecuteTest, JoinFiltersOnRelationshipAndTargetProperties) {
  json::array rows = Rows(
      "SELECT T.name, R.since FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine AS R "
      "WHERE R.since >= 2018 AND R.$relationshipName = 'hasTurbine' AND T.online = true");
  EXPECT_EQ(rows, Json(R"([{"name":"N3","since":2021},{"name":"S1","since":2019}])").as_array());

  // No $dtId on the source: every farm is a source (ADT would demand one; we don't).
  json::array all = Rows(
      "SELECT F.name AS farm, T.name AS turbine FROM DIGITALTWINS F "
      "JOIN T RELATED F.hasTurbine");
  EXPECT_EQ(all.size(), 4u);
  EXPECT_EQ(all[3], Json(R"({"farm":"South","turbine":"S1"})"));

  // A relationship name nobody uses, and one used from other twins only.
  EXPECT_TRUE(Rows("SELECT F, T FROM DIGITALTWINS F JOIN T RELATED F.feeds").empty());
  EXPECT_TRUE(Rows("SELECT F, T FROM DIGITALTWINS F JOIN T RELATED F.hasComponent "
                   "WHERE IS_OF_MODEL(F, 'dtmi:test:WindFarm;1')")
                  .empty());
}

TEST_F(ExecuteTest, MultiHopJoin) {
  json::array rows = Rows(
      "SELECT F.name AS farm, T.name AS turbine, C.kind FROM DIGITALTWINS F "
      "JOIN T RELATED F.hasTurbine JOIN C RELATED T.hasComponent "
      "WHERE IS_OF_MODEL(C, 'dtmi:test:Gearbox;1')");
  EXPECT_EQ(rows, Json(R"([{"farm":"North","turbine":"N1","kind":"gearbox"},
                          {"farm":"South","turbine":"S1","kind":"gearbox"}])")
                      .as_array());
  json::array blades = Rows(
      "SELECT C.$dtId FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine "
      "JOIN C RELATED T.hasComponent WHERE F.$dtId = 'farm-north' AND C.wear < 0.4");
  EXPECT_EQ(blades, Json(R"([{"$dtId":"blade-n1"}])").as_array());
}

TEST_F(ExecuteTest, JoinPinnedOnTheTargetFindsTheParent) {
  json::array rows = Rows(
      "SELECT F.$dtId FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine "
      "WHERE T.$dtId = 'turbine-n2'");
  EXPECT_EQ(rows, Json(R"([{"$dtId":"farm-north"}])").as_array());
  // Only `max_scanned` 2 needed: one farm candidate (via incoming relationships) + one turbine.
  QueryOptions tight;
  tight.max_scanned = 4;
  EXPECT_EQ(Rows("SELECT F.$dtId FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine "
                 "WHERE T.$dtId IN ['turbine-n2', 'turbine-s1']",
                 tight)
                .size(),
            2u);
}

TEST_F(ExecuteTest, FromRelationships) {
  json::array all = Rows("SELECT * FROM RELATIONSHIPS");
  ASSERT_EQ(all.size(), 7u);  // by source id, then relationship id
  EXPECT_EQ(all[0].at("$relationshipId"), json::value("r-n1"));
  EXPECT_EQ(all[0].at("$sourceId"), json::value("farm-north"));
  EXPECT_EQ(all[0].at("$targetId"), json::value("turbine-n1"));
  EXPECT_EQ(all[4].at("$relationshipId"), json::value("c-blade"));

  EXPECT_EQ(Rows("SELECT R.$targetId, R.since FROM RELATIONSHIPS R WHERE R.since >= 2019"),
            Json(R"([{"$targetId":"turbine-n3","since":2021},
                     {"$targetId":"turbine-s1","since":2019}])")
                .as_array());
  EXPECT_EQ(Rows("SELECT R.$relationshipId FROM RELATIONSHIPS R "
                 "WHERE R.$sourceId = 'turbine-n1' AND R.$relationshipName = 'hasComponent'"),
            Json(R"([{"$relationshipId":"c-blade"},{"$relationshipId":"c-gear"}])").as_array());
  EXPECT_EQ(Rows("SELECT R.$sourceId FROM RELATIONSHIPS R WHERE R.$targetId = 'gearbox-s1'"),
            Json(R"([{"$sourceId":"turbine-s1"}])").as_array());
  EXPECT_EQ(Rows("SELECT COUNT() FROM RELATIONSHIPS R WHERE R.$relationshipName = 'hasTurbine'"),
            Json(R"([{"COUNT":4}])").as_array());
  EXPECT_EQ(Rows("SELECT COUNT() FROM RELATIONSHIPS WHERE NOT IS_DEFINED(since)"),
            Json(R"([{"COUNT":3}])").as_array());

  // Pages split a twin's relationships and resume inside them.
  QueryOptions options;
  options.page_size = 2;
  json::array paged;
  do {
    auto page = Execute(farm_.graph(), "SELECT * FROM RELATIONSHIPS", options);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (auto& row : page->value) paged.push_back(row);
    options.continuation_token = page->continuation_token;
  } while (!options.continuation_token.empty());
  EXPECT_EQ(paged, all);

  QueryOptions one;
  one.max_scanned = 1;
  EXPECT_EQ(Rows("SELECT * FROM RELATIONSHIPS R WHERE R.$sourceId = 'farm-south'", one).size(), 1u);
}

TEST_F(ExecuteTest, IndexesKeepQueriesUnderMaxScanned) {
  QueryOptions one;
  one.max_scanned = 1;
  EXPECT_EQ(Rows("SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 'turbine-n2'", one).size(), 1u);
  QueryOptions three;
  three.max_scanned = 3;
  EXPECT_EQ(
      Rows("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:test:Component;1')", three)
          .size(),
      3u);
  EXPECT_EQ(
      Rows("SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'turbine-n')", three).size(),
      3u);
  QueryOptions two;
  two.max_scanned = 2;
  EXPECT_EQ(Rows("SELECT * FROM DIGITALTWINS T WHERE T.status = 'running'", two).size(), 2u);
  EXPECT_EQ(Rows("SELECT * FROM DIGITALTWINS T WHERE T.ratedPowerKw = 3000", two).size(), 2u);
  EXPECT_EQ(Rows("SELECT * FROM DIGITALTWINS T WHERE T.$metadata.$model = "
                 "'dtmi:test:WindFarm;1'",
                 two)
                .size(),
            2u);

  // A JOIN target filtered by a property (index) or pinned by id is not even looked up.
  EXPECT_EQ(Rows("SELECT T.$dtId FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine "
                 "WHERE F.$dtId = 'farm-north' AND T.status = 'stopped'",
                 two),
            Json(R"([{"$dtId":"turbine-n2"}])").as_array());
  EXPECT_EQ(Rows("SELECT T.$dtId FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine "
                 "WHERE F.$dtId = 'farm-north' AND T.$dtId = 'turbine-n3'",
                 two),
            Json(R"([{"$dtId":"turbine-n3"}])").as_array());
  EXPECT_EQ(Rows("SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 'turbine-n1' OR "
                 "T.$dtId = 'farm-south'",
                 two)
                .size(),
            2u);

  Status scan = ErrorOf("SELECT * FROM DIGITALTWINS T WHERE T.ratedPowerKw > 1", three);
  EXPECT_EQ(scan.code(), StatusCode::kPayloadTooLarge);
  EXPECT_NE(scan.message().find("more than 3 twins or relationships"), std::string::npos)
      << scan.message();
}

TEST_F(ExecuteTest, PagesConcatenateToTheFullResult) {
  for (std::size_t page_size : {1u, 2u, 4u, 8u, 9u, 100u}) {
    QueryOptions options;
    options.page_size = page_size;
    std::vector<std::string> ids;
    int pages = 0;
    do {
      auto page = Execute(farm_.graph(), "SELECT * FROM DIGITALTWINS", options);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      ASSERT_LE(page->value.size(), page_size);
      for (const json::value& row : page->value) ids.emplace_back(row.at("$dtId").as_string());
      options.continuation_token = page->continuation_token;
      ++pages;
    } while (!options.continuation_token.empty());
    EXPECT_EQ(ids, kAllIds) << "page size " << page_size;
    EXPECT_EQ(pages, static_cast<int>((kAllIds.size() + page_size - 1) / page_size));
  }
}

TEST_F(ExecuteTest, PagingThroughJoinRowsAndTop) {
  const std::string text =
      "SELECT T.$dtId, C.$dtId AS component FROM DIGITALTWINS T JOIN C RELATED T.hasComponent";
  json::array expected = Rows(text);
  ASSERT_EQ(expected.size(), 3u);
  QueryOptions options;
  options.page_size = 1;
  json::array got;
  do {
    auto page = Execute(farm_.graph(), text, options);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (auto& row : page->value) got.push_back(row);
    options.continuation_token = page->continuation_token;
  } while (!options.continuation_token.empty());
  EXPECT_EQ(got, expected);

  QueryOptions top_pages;
  top_pages.page_size = 2;
  auto first = Execute(farm_.graph(), "SELECT TOP(3) * FROM DIGITALTWINS", top_pages);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->value.size(), 2u);
  top_pages.continuation_token = first->continuation_token;
  auto second = Execute(farm_.graph(), "", top_pages);  // the token carries the query
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->value.size(), 1u);
  EXPECT_EQ(second->value[0].at("$dtId"), json::value("farm-south"));
  EXPECT_TRUE(second->continuation_token.empty());
}

TEST_F(ExecuteTest, PagesResumeByIdAcrossWrites) {
  QueryOptions options;
  options.page_size = 3;
  auto first = Execute(farm_.graph(), "SELECT * FROM DIGITALTWINS", options);
  ASSERT_TRUE(first.ok());
  // blade-n1, farm-north, farm-south returned; now delete a returned twin and add one later.
  ASSERT_TRUE(farm_.graph().DeleteRelationship("turbine-n1", "c-blade", {}).ok());
  ASSERT_TRUE(farm_.graph().DeleteTwin("blade-n1", {}).ok());
  farm_.PutTwin("gearbox-a", R"({"$metadata":{"$model":"dtmi:test:Gearbox;1"}})");
  options.continuation_token = first->continuation_token;
  std::vector<std::string> rest;
  do {
    auto page = Execute(farm_.graph(), "SELECT * FROM DIGITALTWINS", options);
    ASSERT_TRUE(page.ok());
    for (const json::value& row : page->value) rest.emplace_back(row.at("$dtId").as_string());
    options.continuation_token = page->continuation_token;
  } while (!options.continuation_token.empty());
  EXPECT_EQ(rest, (Ids{"gearbox-a", "gearbox-n1", "gearbox-s1", "turbine-n1", "turbine-n2",
                       "turbine-n3", "turbine-s1"}));
}

TEST_F(ExecuteTest, BadTokensAndOptions) {
  QueryOptions options;
  options.page_size = 2;
  auto first = Execute(farm_.graph(), "SELECT * FROM DIGITALTWINS", options);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->continuation_token.empty());

  options.continuation_token = first->continuation_token;
  Status other = ErrorOf("SELECT * FROM DIGITALTWINS T WHERE T.name = 'x'", options);
  EXPECT_EQ(other.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(other.message(), "the continuation token belongs to a different query");

  for (std::string bad :
       std::vector<std::string>{"not base64!", "AAAA", "eyJ2IjoxfQ", std::string(300000, 'A')}) {
    options.continuation_token = bad;
    Status status = ErrorOf("SELECT * FROM DIGITALTWINS", options);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(status.message(), "the continuation token is invalid");
  }

  QueryOptions zero;
  zero.page_size = 0;
  EXPECT_EQ(ErrorOf("SELECT * FROM DIGITALTWINS", zero).code(), StatusCode::kInvalidArgument);
  QueryOptions huge;
  huge.page_size = 1'000'000;  // clamped to 10000, which holds every row here
  EXPECT_EQ(Rows("SELECT * FROM DIGITALTWINS", huge).size(), kAllIds.size());
}

TEST_F(ExecuteTest, QueryErrorsComeBackFromExecute) {
  Status syntax = ErrorOf("SELECT * FORM DIGITALTWINS");
  EXPECT_EQ(syntax.message(),
            "query syntax error at line 1, column 10: expected FROM, found "
            "'FORM'");
  EXPECT_EQ(syntax.http_status(), 400);
  Status alias = ErrorOf("SELECT X FROM DIGITALTWINS T");
  EXPECT_NE(alias.message().find("unknown alias 'X'"), std::string::npos);
}

// Found by tests/fuzz/query_fuzz.cc: every page of a query that runs must be reachable
// through its continuation token; a query with invalid UTF-8 is now refused up front.
TEST_F(ExecuteTest, QueriesThatRunCanBePagedToTheEnd) {
  QueryOptions options;
  options.page_size = 1;
  auto bad = Execute(farm_.graph(), "SELECT * FROM DIGITALTWINS WHERE STARTSWITH($dtId, '\xFF')",
                     options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  std::size_t rows = 0;
  std::string text = "SELECT * FROM DIGITALTWINS WHERE STARTSWITH($dtId, 'turbine') OR name = 'caf\xC3\xA9'";
  do {
    auto page = Execute(farm_.graph(), options.continuation_token.empty() ? text : "", options);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    rows += page->value.size();
    options.continuation_token = page->continuation_token;
  } while (!options.continuation_token.empty());
  EXPECT_EQ(rows, 4u);
}

}  // namespace
}  // namespace doppel::query
