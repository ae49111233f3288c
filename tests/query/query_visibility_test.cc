// QueryOptions::visible: a query never leaks a twin the caller cannot see — not as a row, not
// through a JOIN, not in a COUNT. The fixed cases use the farm graph; the randomized one checks
// the definition itself: a filtered query on a graph returns exactly what the unfiltered query
// returns on a copy of that graph holding only the visible twins (and relationships between
// them).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "query/farm_graph.h"
#include "query/query.h"

namespace doppel::query {
namespace {

using testing::FarmGraph;
using testing::Json;
using Ids = std::vector<std::string>;

twin::TwinFilter Only(std::set<std::string> ids) {
  return [ids = std::move(ids)](std::string_view id, std::string_view) {
    return ids.contains(std::string(id));
  };
}

// Hidden: farm-south, turbine-n3, blade-n1, gearbox-s1.
const std::set<std::string> kSeen = {"farm-north", "gearbox-n1", "turbine-n1", "turbine-n2",
                                     "turbine-s1"};

class QueryVisibilityTest : public ::testing::Test {
 protected:
  void SetUp() override { farm_.Build(); }

  json::array Rows(std::string_view text, const twin::TwinFilter& visible) {
    QueryOptions options;
    options.visible = visible;
    auto page = Execute(farm_.graph(), text, options);
    EXPECT_TRUE(page.ok()) << text << ": " << page.status().ToString();
    if (!page.ok()) return {};
    EXPECT_TRUE(page->continuation_token.empty()) << text;
    return page->value;
  }

  Ids IdsOf(std::string_view text, const twin::TwinFilter& visible = Only(kSeen)) {
    Ids ids;
    for (const json::value& row : Rows(text, visible)) {
      ids.emplace_back(row.at("$dtId").as_string());
    }
    return ids;
  }

  FarmGraph farm_;
};

TEST_F(QueryVisibilityTest, SelectStarReturnsOnlyVisibleTwins) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS"),
            (Ids{"farm-north", "gearbox-n1", "turbine-n1", "turbine-n2", "turbine-s1"}));
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.ratedPowerKw = 3000"), Ids{"turbine-n2"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'farm')"),
            Ids{"farm-north"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE T.$metadata.$model = 'dtmi:test:Gearbox;1'"),
            Ids{"gearbox-n1"});
}

TEST_F(QueryVisibilityTest, NullFilterSeesEverything) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS", nullptr).size(), 9u);
}

TEST_F(QueryVisibilityTest, TheFilterIsGivenTheTwinsModel) {
  twin::TwinFilter turbines = [](std::string_view, std::string_view model) {
    return model == "dtmi:test:Turbine;1";
  };
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS", turbines),
            (Ids{"turbine-n1", "turbine-n2", "turbine-n3", "turbine-s1"}));
}

TEST_F(QueryVisibilityTest, CountCountsOnlyVisibleTwins) {
  EXPECT_EQ(Rows("SELECT COUNT() FROM DIGITALTWINS", Only(kSeen)), Json(R"([{"COUNT":5}])"));
  EXPECT_EQ(Rows("SELECT COUNT() FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:test:Turbine;1')",
                 Only(kSeen)),
            Json(R"([{"COUNT":3}])"));
  EXPECT_EQ(Rows("SELECT COUNT() FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine", Only(kSeen)),
            Json(R"([{"COUNT":2}])"));
  EXPECT_EQ(Rows("SELECT COUNT() FROM DIGITALTWINS", Only({})), Json(R"([{"COUNT":0}])"));
}

TEST_F(QueryVisibilityTest, JoinDropsRowsWhoseRelatedTwinIsInvisible) {
  // farm-north → turbine-n3 (invisible target) and farm-south → turbine-s1 (invisible
  // source) are both gone.
  EXPECT_EQ(Rows("SELECT F.$dtId AS f, T.$dtId AS t FROM DIGITALTWINS F "
                 "JOIN T RELATED F.hasTurbine",
                 Only(kSeen)),
            Json(R"([{"f":"farm-north","t":"turbine-n1"},{"f":"farm-north","t":"turbine-n2"}])"));
  // turbine-n1 → blade-n1 and turbine-s1 → gearbox-s1 have invisible targets.
  EXPECT_EQ(Rows("SELECT T.$dtId AS t, C.$dtId AS c FROM DIGITALTWINS T "
                 "JOIN C RELATED T.hasComponent",
                 Only(kSeen)),
            Json(R"([{"t":"turbine-n1","c":"gearbox-n1"}])"));
  // Pinning the invisible target through the incoming-relationship plan finds nothing.
  EXPECT_TRUE(Rows("SELECT F.$dtId FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine "
                   "WHERE T.$dtId = 'turbine-n3'",
                   Only(kSeen))
                  .empty());
}

TEST_F(QueryVisibilityTest, NoJoinThroughAnInvisibleTwin) {
  // farm-north and gearbox-n1 are visible, but the turbine between them is not.
  std::set<std::string> seen = kSeen;
  seen.erase("turbine-n1");
  EXPECT_TRUE(Rows("SELECT F.$dtId AS f, C.$dtId AS c FROM DIGITALTWINS F "
                   "JOIN T RELATED F.hasTurbine JOIN C RELATED T.hasComponent",
                   Only(seen))
                  .empty());
  EXPECT_EQ(Rows("SELECT F.$dtId AS f, C.$dtId AS c FROM DIGITALTWINS F "
                 "JOIN T RELATED F.hasTurbine JOIN C RELATED T.hasComponent",
                 Only(kSeen)),
            Json(R"([{"f":"farm-north","c":"gearbox-n1"}])"));
}

TEST_F(QueryVisibilityTest, RelationshipsNeedBothEndsVisible) {
  Ids rels;
  for (const json::value& row : Rows("SELECT * FROM RELATIONSHIPS", Only(kSeen))) {
    rels.push_back(fmt::format("{}/{}", std::string_view(row.at("$sourceId").as_string()),
                               std::string_view(row.at("$relationshipId").as_string())));
  }
  EXPECT_EQ(rels, (Ids{"farm-north/r-n1", "farm-north/r-n2", "turbine-n1/c-gear"}));
  EXPECT_EQ(Rows("SELECT COUNT() FROM RELATIONSHIPS", Only(kSeen)), Json(R"([{"COUNT":3}])"));
  // Indexed by source or target: still filtered.
  EXPECT_TRUE(
      Rows("SELECT * FROM RELATIONSHIPS R WHERE R.$targetId = 'gearbox-s1'", Only(kSeen)).empty());
  EXPECT_TRUE(
      Rows("SELECT * FROM RELATIONSHIPS R WHERE R.$sourceId = 'farm-south'", Only(kSeen)).empty());
  EXPECT_EQ(Rows("SELECT R.$targetId FROM RELATIONSHIPS R WHERE R.$sourceId = 'turbine-s1'",
                 Only(kSeen)),
            json::array{});
}

TEST_F(QueryVisibilityTest, IsOfModelSeesOnlyVisibleTwins) {
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:test:Component;1')"),
            Ids{"gearbox-n1"});
  EXPECT_EQ(IdsOf("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:test:WindFarm;1')"),
            Ids{"farm-north"});
}

TEST_F(QueryVisibilityTest, AnInvisibleTwinNamedByIdLooksLikeAMissingOne) {
  for (std::string_view text :
       {"SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 'farm-south'",
        "SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 'no-such-twin'",
        "SELECT * FROM DIGITALTWINS T WHERE T.$dtId IN ['farm-south', 'blade-n1']"}) {
    EXPECT_TRUE(Rows(text, Only(kSeen)).empty()) << text;
  }
  EXPECT_EQ(Rows("SELECT COUNT() FROM DIGITALTWINS T WHERE T.$dtId = 'farm-south'", Only(kSeen)),
            Rows("SELECT COUNT() FROM DIGITALTWINS T WHERE T.$dtId = 'no-such-twin'", Only(kSeen)));
}

TEST_F(QueryVisibilityTest, TopCountsOnlyVisibleRows) {
  EXPECT_EQ(IdsOf("SELECT TOP(2) * FROM DIGITALTWINS"), (Ids{"farm-north", "gearbox-n1"}));
  EXPECT_EQ(IdsOf("SELECT TOP(3) * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:test:Asset;1')"),
            (Ids{"farm-north", "gearbox-n1", "turbine-n1"}));
}

TEST_F(QueryVisibilityTest, PagesConcatenateToTheVisibleResult) {
  QueryOptions options;
  options.page_size = 2;
  options.visible = Only(kSeen);
  Ids ids;
  std::string text = "SELECT * FROM DIGITALTWINS";
  int pages = 0;
  while (true) {
    auto page = Execute(farm_.graph(), text, options);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ++pages;
    for (const json::value& row : page->value) ids.emplace_back(row.at("$dtId").as_string());
    if (page->continuation_token.empty()) break;
    options.continuation_token = page->continuation_token;
    text.clear();
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ids, (Ids{"farm-north", "gearbox-n1", "turbine-n1", "turbine-n2", "turbine-s1"}));
}

TEST_F(QueryVisibilityTest, MaxScannedCountsInvisibleCandidatesToo) {
  // Whether a query is too large does not depend on who asks.
  QueryOptions options;
  options.visible = Only({"farm-north"});
  options.max_scanned = 9;
  EXPECT_TRUE(Execute(farm_.graph(), "SELECT * FROM DIGITALTWINS", options).ok());
  options.max_scanned = 8;
  auto page = Execute(farm_.graph(), "SELECT * FROM DIGITALTWINS", options);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), StatusCode::kPayloadTooLarge);
}

// ---------------------------------------------------------------- randomized: filter == copy

const char* kModelsJson = R"([
  {"@id":"dtmi:vis:A;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
   "contents":[{"@type":"Property","name":"level","schema":"integer"},
               {"@type":"Property","name":"tag","schema":"string"},
               {"@type":"Relationship","name":"link",
                "properties":[{"@type":"Property","name":"w","schema":"integer"}]},
               {"@type":"Relationship","name":"feeds"}]},
  {"@id":"dtmi:vis:B;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
   "extends":"dtmi:vis:A;1",
   "contents":[{"@type":"Property","name":"extra","schema":"boolean"}]}
])";

struct SpecTwin {
  std::string id, model;
  json::object body;
};
struct SpecRel {
  std::string source, id, target, name;
  int w;
};

// One graph from a spec, keeping only the twins `keep` admits and the relationships between
// them: the "copy holding only the visible twins".
class SpecGraph {
 public:
  SpecGraph(const std::vector<SpecTwin>& twins, const std::vector<SpecRel>& rels,
            const twin::TwinFilter& keep)
      : graph_(journal_, clock_, events_) {
    const json::value parsed = Json(kModelsJson);
    std::vector<json::value> models(parsed.as_array().begin(), parsed.as_array().end());
    auto added = graph_.AddModels(models);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    std::set<std::string> kept;
    for (const SpecTwin& t : twins) {
      if (keep && !keep(t.id, t.model)) continue;
      kept.insert(t.id);
      auto r = graph_.PutTwin(t.id, t.body, {});
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    }
    for (const SpecRel& rel : rels) {
      if (!kept.contains(rel.source) || !kept.contains(rel.target)) continue;
      json::object body{{"$targetId", rel.target}, {"$relationshipName", rel.name}};
      if (rel.w >= 0) body["w"] = rel.w;
      auto r = graph_.PutRelationship(rel.source, rel.id, body, {});
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    }
  }
  const twin::TwinGraph& graph() const { return graph_; }

 private:
  twin::MemoryJournal journal_;
  ManualClock clock_;  // never advanced: both graphs stamp the same times
  twin::EventBus events_;
  twin::TwinGraph graph_;
};

// Etags come from each graph's own event sequence, so they are the one thing that differs.
void StripEtags(json::value& v) {
  if (v.is_array()) {
    for (json::value& item : v.get_array()) StripEtags(item);
  } else if (v.is_object()) {
    v.get_object().erase("$etag");
    for (auto& member : v.get_object()) StripEtags(member.value());
  }
}

// Every page of `text`, concatenated (etags stripped), or the error's text.
std::string RunAllPages(const twin::TwinGraph& graph, const std::string& text,
                        std::size_t page_size, const twin::TwinFilter& visible) {
  QueryOptions options;
  options.page_size = page_size;
  options.visible = visible;
  json::value all = json::array{};
  std::string query = text;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = Execute(graph, query, options);
    if (!page.ok()) return page.status().ToString();
    for (const json::value& row : page->value) all.get_array().push_back(row);
    if (page->continuation_token.empty()) break;
    options.continuation_token = page->continuation_token;
    query.clear();
  }
  StripEtags(all);
  return ToJson(all);
}

TEST(QueryVisibilityRandomTest, FilteredQueryEqualsQueryOnACopyOfTheVisibleTwins) {
  std::mt19937 rng(20261126);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const std::vector<std::string> kTags = {"x", "y", "z"};
  int compared = 0, nonempty = 0;
  for (int round = 0; round < 25; ++round) {
    std::vector<SpecTwin> twins;
    const int n = uniform(8, 30);
    for (int i = 0; i < n; ++i) {
      SpecTwin t;
      t.id = fmt::format("{}{:02}", uniform(0, 1) ? "a" : "b", i);
      t.model = uniform(0, 2) ? "dtmi:vis:A;1" : "dtmi:vis:B;1";
      t.body["$metadata"] = json::object{{"$model", t.model}};
      if (uniform(0, 3)) t.body["level"] = uniform(0, 3);
      if (uniform(0, 3)) t.body["tag"] = kTags[uniform(0, 2)];
      twins.push_back(std::move(t));
    }
    std::vector<SpecRel> rels;
    const int m = uniform(0, 3 * n);
    std::set<std::pair<std::string, std::string>> used;
    for (int i = 0; i < m; ++i) {
      SpecRel r{twins[uniform(0, n - 1)].id, fmt::format("e{}", i), twins[uniform(0, n - 1)].id,
                uniform(0, 2) ? "link" : "feeds", -1};
      if (r.name == "link" && uniform(0, 2)) r.w = uniform(0, 3);
      rels.push_back(std::move(r));
    }
    // A random subset of ids, sometimes combined with a model rule.
    std::set<std::string> seen;
    const int percent = uniform(0, 100);
    for (const SpecTwin& t : twins) {
      if (uniform(1, 100) <= percent) seen.insert(t.id);
    }
    const bool only_a = uniform(0, 3) == 0;
    twin::TwinFilter visible = [seen, only_a](std::string_view id, std::string_view model) {
      return seen.contains(std::string(id)) && (!only_a || model == "dtmi:vis:A;1");
    };
    SpecGraph full(twins, rels, nullptr);
    SpecGraph copy(twins, rels, visible);

    const std::string some = twins[uniform(0, n - 1)].id;
    const std::string other = twins[uniform(0, n - 1)].id;
    const std::vector<std::string> queries = {
        "SELECT * FROM DIGITALTWINS",
        "SELECT COUNT() FROM DIGITALTWINS",
        "SELECT * FROM DIGITALTWINS T WHERE T.level = 2",
        "SELECT * FROM DIGITALTWINS T WHERE T.level > 1 OR T.tag = 'x'",
        "SELECT COUNT() FROM DIGITALTWINS T WHERE T.tag IN ['x', 'z']",
        "SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'a')",
        "SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:vis:B;1')",
        "SELECT * FROM DIGITALTWINS T WHERE T.$metadata.$model = 'dtmi:vis:A;1'",
        fmt::format("SELECT * FROM DIGITALTWINS T WHERE T.$dtId = '{}'", some),
        fmt::format("SELECT * FROM DIGITALTWINS T WHERE T.$dtId IN ['{}', '{}']", some, other),
        "SELECT TOP(3) * FROM DIGITALTWINS",
        "SELECT TOP(4) T.$dtId FROM DIGITALTWINS T WHERE T.level >= 1",
        "SELECT T, C FROM DIGITALTWINS T JOIN C RELATED T.link",
        "SELECT T.$dtId, C.$dtId AS c, R.w FROM DIGITALTWINS T JOIN C RELATED T.link R "
        "WHERE R.w >= 1",
        "SELECT COUNT() FROM DIGITALTWINS T JOIN C RELATED T.link JOIN D RELATED C.feeds",
        "SELECT T.$dtId, D.$dtId AS d FROM DIGITALTWINS T JOIN C RELATED T.link "
        "JOIN D RELATED C.feeds WHERE D.level = 1",
        fmt::format("SELECT T.$dtId FROM DIGITALTWINS T JOIN C RELATED T.link "
                    "WHERE C.$dtId = '{}'",
                    some),
        "SELECT * FROM RELATIONSHIPS",
        "SELECT COUNT() FROM RELATIONSHIPS R WHERE R.$relationshipName = 'link'",
        fmt::format("SELECT * FROM RELATIONSHIPS R WHERE R.$targetId = '{}'", some),
        fmt::format("SELECT R.$targetId FROM RELATIONSHIPS R WHERE R.$sourceId = '{}'", other),
        "SELECT TOP(5) R.$relationshipId FROM RELATIONSHIPS R WHERE R.w >= 0",
    };
    for (const std::string& text : queries) {
      const std::string expected = RunAllPages(copy.graph(), text, 100, nullptr);
      ASSERT_EQ(RunAllPages(full.graph(), text, 100, visible), expected) << text;
      const std::size_t page_size = uniform(1, 4);
      ASSERT_EQ(RunAllPages(full.graph(), text, page_size, visible), expected)
          << text << " in pages of " << page_size;
      ++compared;
      if (expected != "[]" && expected.find("\"COUNT\":0") == std::string::npos) ++nonempty;
    }
  }
  EXPECT_EQ(compared, 25 * 22);
  EXPECT_GT(nonempty, compared / 2);  // the comparison is not vacuous
}

}  // namespace
}  // namespace doppel::query
