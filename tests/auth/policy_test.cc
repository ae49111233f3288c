#include "auth/policy.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "twin/journal.h"

namespace doppel::auth {
namespace {

using ::testing::ElementsAre;

json::value J(std::string_view text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString() << " in " << text;
  return parsed.ok() ? std::move(parsed).value() : json::value();
}

PolicyConfig Policy(std::string_view text) {
  auto parsed = ParsePolicyConfig(J(text));
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? std::move(parsed).value() : PolicyConfig{};
}

Principal With(std::vector<std::string> roles) {
  return Principal{
      .subject = "alice", .roles = std::move(roles), .method = AuthMethod::kJwt, .clearances = {}};
}

Resource Twin(std::string_view id, std::string_view model = {}) {
  return Resource{.twin_id = id, .model_id = model};
}

constexpr Resource kServer{};

// ---------------------------------------------------------------------------------------------
// Parsing

TEST(ParsePolicyConfigTest, ReadsEveryMemberOfAGrant) {
  PolicyConfig config = Policy(R"({"roles": {
      "kestrel-operator": [
        {"actions": ["read", "invokeCommands"], "scope": "kestrel-ridge",
         "scopeRelationships": ["contains"]},
        {"actions": ["read"], "twins": ["line-*", "press-7"]},
        {"actions": ["read"], "models": ["dtmi:doppel:WindTurbine;1"]}],
      "auditor": [{"actions": ["admin"]}]}})");
  ASSERT_EQ(config.roles.size(), 2u);
  const std::vector<Grant>& grants = config.roles.at("kestrel-operator");
  ASSERT_EQ(grants.size(), 3u);
  EXPECT_THAT(grants[0].actions, ElementsAre(Action::kRead, Action::kInvokeCommands));
  EXPECT_EQ(grants[0].scope, "kestrel-ridge");
  EXPECT_THAT(grants[0].scope_relationships, ElementsAre("contains"));
  EXPECT_FALSE(grants[0].unscoped());
  EXPECT_THAT(grants[1].twins, ElementsAre("line-*", "press-7"));
  EXPECT_THAT(grants[2].models, ElementsAre("dtmi:doppel:WindTurbine;1"));
  EXPECT_TRUE(config.roles.at("auditor")[0].unscoped());
}

TEST(ParsePolicyConfigTest, EmptyConfigHasNoCustomRoles) {
  EXPECT_TRUE(Policy("{}").roles.empty());
  EXPECT_TRUE(Policy(R"({"roles": {}})").roles.empty());
}

struct BadConfig {
  std::string_view json;
  std::string_view message;
};

class ParsePolicyErrorTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ParsePolicyErrorTest, IsInvalidArgumentNamingThePath) {
  auto parsed = ParsePolicyConfig(J(GetParam().json));
  ASSERT_FALSE(parsed.ok()) << GetParam().json;
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Messages, ParsePolicyErrorTest,
    ::testing::Values(
        BadConfig{R"([])", "auth: expected an object"},
        BadConfig{R"({"rules": {}})", "auth: unknown key 'rules' (known: roles)"},
        BadConfig{R"({"roles": []})",
                  "auth.roles: expected an object mapping role names to arrays of grants"},
        BadConfig{R"({"roles": {"kestrel-operator": [{"actions": ["read"]},
                                                     {"actions": ["read", "fly"]}]}})",
                  "auth.roles.kestrel-operator[1].actions[1]: unknown action 'fly' (known: "
                  "read, writeProperties, ingest, invokeCommands, approveRecommendations, "
                  "manageModels, manageRules, admin)"},
        BadConfig{R"({"roles": {"admin": [{"actions": ["read"]}]}})",
                  "auth.roles.admin: 'admin' is a built-in role and cannot be redefined"},
        BadConfig{R"({"roles": {"viewer": [{"actions": ["read"]}]}})",
                  "auth.roles.viewer: 'viewer' is a built-in role and cannot be redefined"},
        BadConfig{R"({"roles": {"": [{"actions": ["read"]}]}})",
                  "auth.roles: role name '' is empty"},
        BadConfig{R"({"roles": {"ops": {"actions": ["read"]}}})",
                  "auth.roles.ops: expected an array of grants"},
        BadConfig{R"({"roles": {"ops": []}})", "auth.roles.ops: a role needs at least one grant"},
        BadConfig{R"({"roles": {"ops": ["read"]}})", "auth.roles.ops[0]: expected a grant object"},
        BadConfig{R"({"roles": {"ops": [{"actions": ["read"], "twin": ["a"]}]}})",
                  "auth.roles.ops[0]: unknown key 'twin' (known: actions, twins, models, scope, "
                  "scopeRelationships)"},
        BadConfig{R"({"roles": {"ops": [{"twins": ["a"]}]}})",
                  "auth.roles.ops[0]: missing 'actions'"},
        BadConfig{R"({"roles": {"ops": [{"actions": []}]}})",
                  "auth.roles.ops[0].actions: must name at least one action"},
        BadConfig{R"({"roles": {"ops": [{"actions": "read"}]}})",
                  "auth.roles.ops[0].actions: expected an array of action names"},
        BadConfig{R"({"roles": {"ops": [{"actions": [7]}]}})",
                  "auth.roles.ops[0].actions[0]: expected an action name"},
        BadConfig{R"({"roles": {"ops": [{"actions": ["read"], "twins": []}]}})",
                  "auth.roles.ops[0].twins: must not be empty (omit it instead)"},
        BadConfig{R"({"roles": {"ops": [{"actions": ["read"], "twins": ["ok", "bad\u0001id"]}]}})",
                  "auth.roles.ops[0].twins[1]: 'bad\x01id' contains a control character"},
        BadConfig{R"({"roles": {"ops": [{"actions": ["read"], "twins": [""]}]}})",
                  "auth.roles.ops[0].twins[0]: '' is empty"},
        BadConfig{R"({"roles": {"ops": [{"actions": ["read"], "twins": [3]}]}})",
                  "auth.roles.ops[0].twins[0]: expected a string"},
        BadConfig{R"({"roles": {"ops": [{"actions": ["read"], "models": ["WindTurbine"]}]}})",
                  "auth.roles.ops[0].models[0]: 'WindTurbine' is not a valid DTMI"},
        BadConfig{R"({"roles": {"ops": [{"actions": ["read"], "scope": ["site"]}]}})",
                  "auth.roles.ops[0].scope: expected the id of the scope's root twin"},
        BadConfig{R"({"roles": {"ops": [{"actions": ["read"], "scope": ""}]}})",
                  "auth.roles.ops[0].scope: '' is empty"},
        BadConfig{R"({"roles": {"ops": [{"actions": ["read"], "scopeRelationships": ["x"]}]}})",
                  "auth.roles.ops[0].scopeRelationships: needs a 'scope'"},
        BadConfig{R"({"roles": {"ops": [{"actions": ["read"], "scope": "s",
                                         "scopeRelationships": []}]}})",
                  "auth.roles.ops[0].scopeRelationships: must not be empty (omit it instead)"}));

TEST(ParsePolicyConfigTest, BuiltInRoleNames) {
  for (std::string_view name : {"viewer", "operator", "engineer", "admin"}) {
    EXPECT_TRUE(IsBuiltInRole(name)) << name;
  }
  EXPECT_FALSE(IsBuiltInRole("Admin"));
  EXPECT_FALSE(IsBuiltInRole("kestrel-operator"));
}

// ---------------------------------------------------------------------------------------------
// Built-in roles and the pure logic (no graph)

std::vector<Action> AllowedOn(const Authorizer& authz, const Principal& p, const Resource& r) {
  std::vector<Action> allowed;
  for (std::size_t i = 0; i < kActionCount; ++i) {
    if (authz.Allows(p, static_cast<Action>(i), r)) allowed.push_back(static_cast<Action>(i));
  }
  return allowed;
}

TEST(AuthorizerTest, BuiltInRolesGrantTheirActionsOnTwinsAndServerWide) {
  Authorizer authz({}, nullptr, nullptr);
  using A = Action;
  for (const Resource& r : {Twin("pump-1"), kServer}) {
    EXPECT_THAT(AllowedOn(authz, With({"viewer"}), r), ElementsAre(A::kRead));
    EXPECT_THAT(
        AllowedOn(authz, With({"operator"}), r),
        ElementsAre(A::kRead, A::kWriteProperties, A::kInvokeCommands, A::kApproveRecommendations));
    EXPECT_THAT(AllowedOn(authz, With({"engineer"}), r),
                ElementsAre(A::kRead, A::kWriteProperties, A::kIngest, A::kInvokeCommands,
                            A::kApproveRecommendations, A::kManageModels, A::kManageRules));
    EXPECT_EQ(AllowedOn(authz, With({"admin"}), r).size(), kActionCount);
  }
}

TEST(AuthorizerTest, RoleNamesListsBuiltInAndConfiguredSorted) {
  Authorizer authz(Policy(R"({"roles": {"zeta": [{"actions": ["read"]}],
                                       "alpha": [{"actions": ["read"]}]}})"),
                   nullptr, nullptr);
  EXPECT_THAT(authz.RoleNames(),
              ElementsAre("admin", "alpha", "engineer", "operator", "viewer", "zeta"));
}

TEST(AuthorizerTest, AnonymousIsAllowedEverything) {
  Authorizer authz({}, nullptr, nullptr);
  Principal anonymous = Principal::Anonymous();
  EXPECT_EQ(AllowedOn(authz, anonymous, kServer).size(), kActionCount);
  EXPECT_EQ(AllowedOn(authz, anonymous, Twin("anything")).size(), kActionCount);
  EXPECT_EQ(authz.VisibilityFor(anonymous), nullptr);
  // Even with its roles stripped: anonymity itself is the dev-mode grant.
  anonymous.roles.clear();
  EXPECT_TRUE(authz.Allows(anonymous, Action::kAdmin, kServer));
}

TEST(AuthorizerTest, PrincipalWithoutRolesOrIdentityGetsNothing) {
  Authorizer authz({}, nullptr, nullptr);
  EXPECT_TRUE(AllowedOn(authz, With({}), Twin("pump-1")).empty());
  // A default-constructed Principal is not "the anonymous principal": fail closed.
  EXPECT_TRUE(AllowedOn(authz, Principal{}, Twin("pump-1")).empty());
  EXPECT_TRUE(AllowedOn(authz, Principal{}, kServer).empty());
}

TEST(AuthorizerTest, UnknownRoleGrantsNothingButOtherRolesStillCount) {
  Authorizer authz({}, nullptr, nullptr);
  EXPECT_FALSE(authz.Allows(With({"superuser"}), Action::kRead, Twin("pump-1")));
  EXPECT_FALSE(authz.Allows(With({"superuser"}), Action::kRead, Twin("pump-1")));  // cached
  EXPECT_TRUE(authz.Allows(With({"superuser", "viewer"}), Action::kRead, Twin("pump-1")));
  EXPECT_FALSE(authz.Allows(With({"superuser", "viewer"}), Action::kIngest, Twin("pump-1")));
}

// Routes the default logger into a string for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(AuthorizerTest, UnknownRoleIsLoggedOnceEscaped) {
  CapturedLog log;
  Authorizer authz({}, nullptr, nullptr);
  EXPECT_FALSE(authz.Allows(With({"ghost"}), Action::kRead, Twin("a")));
  EXPECT_FALSE(authz.Allows(With({"ghost"}), Action::kRead, Twin("b")));
  EXPECT_TRUE(authz.Allows(With({"viewer", "ghost"}), Action::kRead, Twin("c")));
  EXPECT_EQ(authz.VisibilityFor(With({"ghost", "viewer"})), nullptr);
  EXPECT_FALSE(authz.Allows(With({"evil\nFAKE LOG LINE"}), Action::kRead, Twin("a")));
  EXPECT_EQ(log.text(),
            "auth: unknown role \"ghost\" grants nothing\n"
            "auth: unknown role \"evil\\nFAKE LOG LINE\" grants nothing\n");
}

TEST(AuthorizerTest, RoleListsThatLookAlikeDoNotShareGrants) {
  // "viewer" and "admin" as two roles, and a single unknown role whose name contains both.
  Authorizer authz({}, nullptr, nullptr);
  EXPECT_TRUE(authz.Allows(With({"admin", "viewer"}), Action::kAdmin, kServer));
  EXPECT_FALSE(authz.Allows(With({"5:admin6:viewer"}), Action::kAdmin, kServer));
  EXPECT_FALSE(authz.Allows(With({"admin\nviewer"}), Action::kAdmin, kServer));
  EXPECT_FALSE(authz.Allows(With({"admin,viewer"}), Action::kAdmin, kServer));
}

class PatternTest : public ::testing::Test {
 protected:
  bool Reads(std::string_view pattern, std::string_view id) {
    std::string config = R"({"roles": {"r": [{"actions": ["read"], "twins": [")" +
                         std::string(pattern) + R"("]}]}})";
    Authorizer authz(Policy(config), nullptr, nullptr);
    return authz.Allows(With({"r"}), Action::kRead, Twin(id));
  }
};

TEST_F(PatternTest, Exact) {
  EXPECT_TRUE(Reads("press-7", "press-7"));
  EXPECT_FALSE(Reads("press-7", "press-70"));
  EXPECT_FALSE(Reads("press-7", "press-"));
  EXPECT_FALSE(Reads("press-7", "Press-7"));
}

TEST_F(PatternTest, Prefix) {
  EXPECT_TRUE(Reads("line-*", "line-1"));
  EXPECT_TRUE(Reads("line-*", "line-"));
  EXPECT_FALSE(Reads("line-*", "line"));
  EXPECT_FALSE(Reads("line-*", "xline-1"));
}

TEST_F(PatternTest, Suffix) {
  EXPECT_TRUE(Reads("*-bearing", "t7-bearing"));
  EXPECT_TRUE(Reads("*-bearing", "-bearing"));
  EXPECT_FALSE(Reads("*-bearing", "t7-bearings"));
}

TEST_F(PatternTest, Infixes) {
  EXPECT_TRUE(Reads("a*b*c", "abc"));
  EXPECT_TRUE(Reads("a*b*c", "a-x-b-y-c"));
  EXPECT_TRUE(Reads("a*b*c", "abcbc"));
  EXPECT_FALSE(Reads("a*b*c", "acb"));
  EXPECT_FALSE(Reads("a*b*c", "ac"));
  EXPECT_TRUE(Reads("*turbine*", "site-turbine-7"));
  EXPECT_FALSE(Reads("*turbine*", "site-turbin-7"));
  // Prefix and suffix may not share characters.
  EXPECT_FALSE(Reads("ab*ba", "aba"));
  EXPECT_TRUE(Reads("ab*ba", "abba"));
  // Only '*' is special.
  EXPECT_FALSE(Reads("p?mp.*", "pump-1"));
  EXPECT_TRUE(Reads("p?mp.*", "p?mp.1"));
}

TEST_F(PatternTest, StarAloneMatchesEveryTwin) {
  EXPECT_TRUE(Reads("*", "anything"));
  EXPECT_TRUE(Reads("**", "x"));
}

TEST(AuthorizerTest, ServerWideActionsNeedAnUnscopedGrant) {
  Authorizer authz(Policy(R"({"roles": {
      "modeller": [{"actions": ["manageModels"]}],
      "all-twins": [{"actions": ["admin", "read"], "twins": ["*"]}],
      "lines": [{"actions": ["admin"], "twins": ["line-*"]}]}})"),
                   nullptr, nullptr);
  EXPECT_TRUE(authz.Allows(With({"modeller"}), Action::kManageModels, kServer));
  EXPECT_TRUE(authz.Allows(With({"modeller"}), Action::kManageModels, Twin("x")));
  EXPECT_FALSE(authz.Allows(With({"modeller"}), Action::kRead, kServer));
  EXPECT_TRUE(authz.Allows(With({"all-twins"}), Action::kAdmin, Twin("x")));
  EXPECT_FALSE(authz.Allows(With({"all-twins"}), Action::kAdmin, kServer));
  EXPECT_FALSE(authz.Allows(With({"lines"}), Action::kAdmin, kServer));
  EXPECT_TRUE(authz.Allows(With({"lines"}), Action::kAdmin, Twin("line-2")));
}

TEST(AuthorizerTest, PrincipalHoldsTheUnionOfItsRoles) {
  Authorizer authz(Policy(R"({"roles": {
      "line-reader": [{"actions": ["read"], "twins": ["line-*"]}],
      "press-hand": [{"actions": ["invokeCommands"], "twins": ["press-7"]},
                     {"actions": ["ingest"], "twins": ["press-*"]}]}})"),
                   nullptr, nullptr);
  Principal both = With({"press-hand", "line-reader"});
  EXPECT_TRUE(authz.Allows(both, Action::kRead, Twin("line-1")));
  EXPECT_TRUE(authz.Allows(both, Action::kInvokeCommands, Twin("press-7")));
  EXPECT_TRUE(authz.Allows(both, Action::kIngest, Twin("press-9")));
  EXPECT_FALSE(authz.Allows(both, Action::kInvokeCommands, Twin("line-1")));
  EXPECT_FALSE(authz.Allows(both, Action::kRead, Twin("press-7")));
  EXPECT_FALSE(authz.Allows(both, Action::kInvokeCommands, Twin("press-9")));
  // Order and repetition of the role list do not matter.
  Principal again = With({"line-reader", "press-hand", "line-reader"});
  EXPECT_TRUE(authz.Allows(again, Action::kRead, Twin("line-1")));
  EXPECT_TRUE(authz.Allows(again, Action::kInvokeCommands, Twin("press-7")));
  // Each role alone keeps only its own grants.
  EXPECT_FALSE(authz.Allows(With({"line-reader"}), Action::kInvokeCommands, Twin("press-7")));
  // With a built-in role: viewer reads all, the custom role adds commands on one twin.
  Principal viewer_plus = With({"viewer", "press-hand"});
  EXPECT_TRUE(authz.Allows(viewer_plus, Action::kRead, Twin("anything")));
  EXPECT_TRUE(authz.Allows(viewer_plus, Action::kInvokeCommands, Twin("press-7")));
  EXPECT_FALSE(authz.Allows(viewer_plus, Action::kInvokeCommands, Twin("press-8")));
}

TEST(AuthorizerTest, ModelGrantWithoutGraphUsesTheModelTheCallerGives) {
  Authorizer authz(Policy(R"({"roles": {
      "r": [{"actions": ["read"], "models": ["dtmi:test:Turbine;1"]}]}})"),
                   nullptr, nullptr);
  EXPECT_TRUE(authz.Allows(With({"r"}), Action::kRead, Twin("t1", "dtmi:test:Turbine;1")));
  EXPECT_FALSE(authz.Allows(With({"r"}), Action::kRead, Twin("t1", "dtmi:test:Bearing;1")));
  EXPECT_FALSE(authz.Allows(With({"r"}), Action::kRead, Twin("t1")));
}

// ---------------------------------------------------------------------------------------------
// Against a real TwinGraph
//
//   Asset {name; contains, feeds, locatedIn → any}
//     ← Site   ← Turbine ← WindTurbine   ← Bearing
//
//   site-a ─contains→ turbine-a1 (Turbine) ─contains→ bearing-a1 ─locatedIn→ site-a (a cycle)
//          ─contains→ turbine-a2 (WindTurbine)
//          ─feeds→    meter-a (Asset)
//   site-b ─contains→ turbine-b1 (WindTurbine) ─contains→ bearing-b1

class PlantGraph : public ::testing::Test {
 protected:
  PlantGraph() : graph_(journal_, clock_, events_) {}

  void SetUp() override {
    AddModel(R"({"@id":"dtmi:test:Asset;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
      "contents":[{"@type":"Property","name":"name","schema":"string"},
                  {"@type":"Relationship","name":"contains"},
                  {"@type":"Relationship","name":"feeds"},
                  {"@type":"Relationship","name":"locatedIn"}]})");
    for (std::string_view model : {"Site", "Turbine", "Bearing"}) {
      AddModel(fmt::format(R"({{"@id":"dtmi:test:{};1","@type":"Interface",
        "@context":"dtmi:dtdl:context;3","extends":"dtmi:test:Asset;1"}})",
                           model));
    }
    AddModel(R"({"@id":"dtmi:test:WindTurbine;1","@type":"Interface",
      "@context":"dtmi:dtdl:context;3","extends":"dtmi:test:Turbine;1"})");
    Put("site-a", "Site");
    Put("site-b", "Site");
    Put("turbine-a1", "Turbine");
    Put("turbine-a2", "WindTurbine");
    Put("turbine-b1", "WindTurbine");
    Put("bearing-a1", "Bearing");
    Put("bearing-b1", "Bearing");
    Put("meter-a", "Asset");
    Relate("site-a", "c1", "contains", "turbine-a1");
    Relate("site-a", "c2", "contains", "turbine-a2");
    Relate("site-a", "f1", "feeds", "meter-a");
    Relate("turbine-a1", "c1", "contains", "bearing-a1");
    Relate("bearing-a1", "l1", "locatedIn", "site-a");
    Relate("site-b", "c1", "contains", "turbine-b1");
    Relate("turbine-b1", "c1", "contains", "bearing-b1");
  }

  void AddModel(std::string_view text) {
    auto added = graph_.AddModels({J(text)});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
  }

  void Put(std::string_view id, std::string_view model) {
    auto put = graph_.PutTwin(
        id, J(fmt::format(R"({{"$metadata":{{"$model":"dtmi:test:{};1"}}}})", model)), {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  void Relate(std::string_view source, std::string_view rel_id, std::string_view name,
              std::string_view target) {
    auto put = graph_.PutRelationship(
        source, rel_id,
        J(fmt::format(R"({{"$targetId":"{}","$relationshipName":"{}"}})", target, name)), {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  void Unrelate(std::string_view source, std::string_view rel_id) {
    ASSERT_TRUE(graph_.DeleteRelationship(source, rel_id, {}).ok());
  }

  std::unique_ptr<Authorizer> Make(std::string_view config) {
    return std::make_unique<Authorizer>(Policy(config), &graph_, &events_);
  }

  // The twins `principal` may read, of all twins in the graph.
  std::vector<std::string> Readable(const Authorizer& authz, const Principal& principal) {
    std::vector<std::string> ids;
    for (const std::string& id : AllTwins()) {
      if (authz.Allows(principal, Action::kRead, Twin(id))) ids.push_back(id);
    }
    return ids;
  }

  std::vector<std::string> Visible(const twin::TwinFilter& filter) {
    std::vector<std::string> ids;
    graph_.Read([&](const twin::GraphState& state) {
      for (const auto& [id, twin] : state.twins()) {
        if (filter(id, twin.model_id)) ids.push_back(id);
      }
      return 0;
    });
    return ids;
  }

  std::vector<std::string> AllTwins() {
    return graph_.Read([](const twin::GraphState& state) {
      std::vector<std::string> ids;
      for (const auto& [id, twin] : state.twins()) ids.push_back(id);
      return ids;
    });
  }

  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_;
};

constexpr std::string_view kSiteAOperator = R"({"roles": {"site-a-operator": [
    {"actions": ["read", "invokeCommands"], "scope": "site-a"}]}})";

TEST_F(PlantGraph, ScopeCoversTheRootAndWhatItReaches) {
  auto authz = Make(kSiteAOperator);
  Principal p = With({"site-a-operator"});
  EXPECT_THAT(Readable(*authz, p),
              ElementsAre("bearing-a1", "meter-a", "site-a", "turbine-a1", "turbine-a2"));
  EXPECT_TRUE(authz->Allows(p, Action::kInvokeCommands, Twin("bearing-a1")));
  EXPECT_FALSE(authz->Allows(p, Action::kInvokeCommands, Twin("turbine-b1")));
  EXPECT_FALSE(authz->Allows(p, Action::kWriteProperties, Twin("turbine-a1")));
  EXPECT_FALSE(authz->Allows(p, Action::kRead, kServer));
}

TEST_F(PlantGraph, ScopeFollowsRelationshipChanges) {
  auto authz = Make(kSiteAOperator);
  Principal p = With({"site-a-operator"});
  ASSERT_FALSE(authz->Allows(p, Action::kRead, Twin("turbine-b1")));

  Relate("site-a", "c3", "contains", "turbine-b1");
  EXPECT_TRUE(authz->Allows(p, Action::kRead, Twin("turbine-b1")));
  EXPECT_TRUE(authz->Allows(p, Action::kRead, Twin("bearing-b1")));  // and what it reaches
  EXPECT_FALSE(authz->Allows(p, Action::kRead, Twin("site-b")));

  Unrelate("site-a", "c3");
  EXPECT_FALSE(authz->Allows(p, Action::kRead, Twin("turbine-b1")));
  EXPECT_FALSE(authz->Allows(p, Action::kRead, Twin("bearing-b1")));

  Unrelate("turbine-a1", "c1");
  EXPECT_FALSE(authz->Allows(p, Action::kRead, Twin("bearing-a1")));
  EXPECT_TRUE(authz->Allows(p, Action::kRead, Twin("turbine-a1")));
}

TEST_F(PlantGraph, ScopeFollowsARelationshipRetargetedByPut) {
  auto authz = Make(kSiteAOperator);
  Principal p = With({"site-a-operator"});
  ASSERT_TRUE(authz->Allows(p, Action::kRead, Twin("meter-a")));
  Relate("site-a", "f1", "feeds", "site-b");  // replaces f1: now site-a feeds site-b
  EXPECT_FALSE(authz->Allows(p, Action::kRead, Twin("meter-a")));
  EXPECT_TRUE(authz->Allows(p, Action::kRead, Twin("bearing-b1")));
}

TEST_F(PlantGraph, ScopeIncludesNewTwinsOnlyOnceRelated) {
  auto authz = Make(kSiteAOperator);
  Principal p = With({"site-a-operator"});
  Put("turbine-a3", "Turbine");
  EXPECT_FALSE(authz->Allows(p, Action::kRead, Twin("turbine-a3")));
  Relate("site-a", "c3", "contains", "turbine-a3");
  EXPECT_TRUE(authz->Allows(p, Action::kRead, Twin("turbine-a3")));
}

TEST_F(PlantGraph, ScopeRelationshipsLimitTheWalk) {
  auto authz = Make(R"({"roles": {"containment": [
      {"actions": ["read"], "scope": "site-a", "scopeRelationships": ["contains"]}]}})");
  // meter-a is fed, not contained; the cycle back through locatedIn is not followed either.
  EXPECT_THAT(Readable(*authz, With({"containment"})),
              ElementsAre("bearing-a1", "site-a", "turbine-a1", "turbine-a2"));
}

TEST_F(PlantGraph, WalkTerminatesOnCycles) {
  // From bearing-a1 the walk goes locatedIn → site-a → contains → turbine-a1 → bearing-a1 …
  auto authz = Make(R"({"roles": {"from-bearing": [
      {"actions": ["read"], "scope": "bearing-a1"}]}})");
  EXPECT_THAT(Readable(*authz, With({"from-bearing"})),
              ElementsAre("bearing-a1", "meter-a", "site-a", "turbine-a1", "turbine-a2"));
  Relate("turbine-a2", "back", "contains", "site-a");  // a second cycle
  EXPECT_THAT(Readable(*authz, With({"from-bearing"})),
              ElementsAre("bearing-a1", "meter-a", "site-a", "turbine-a1", "turbine-a2"));
}

TEST_F(PlantGraph, ScopeRootThatDoesNotExistSelectsOnlyItsId) {
  auto authz = Make(R"({"roles": {"r": [{"actions": ["read"], "scope": "site-z"}]}})");
  EXPECT_TRUE(Readable(*authz, With({"r"})).empty());
  Put("site-z", "Site");
  Relate("site-z", "c1", "contains", "turbine-b1");
  EXPECT_THAT(Readable(*authz, With({"r"})), ElementsAre("bearing-b1", "site-z", "turbine-b1"));
}

TEST_F(PlantGraph, ModelGrantCoversModelsThatExtendIt) {
  auto authz = Make(R"({"roles": {"turbines": [
      {"actions": ["read"], "models": ["dtmi:test:Turbine;1"]}]}})");
  Principal p = With({"turbines"});
  // Looked up in the graph (no model given): Turbine and WindTurbine twins.
  EXPECT_THAT(Readable(*authz, p), ElementsAre("turbine-a1", "turbine-a2", "turbine-b1"));
  // Given by the caller: trusted, no look-up.
  EXPECT_TRUE(authz->Allows(p, Action::kRead, Twin("whatever", "dtmi:test:WindTurbine;1")));
  EXPECT_FALSE(authz->Allows(p, Action::kRead, Twin("turbine-a1", "dtmi:test:Bearing;1")));
  EXPECT_FALSE(authz->Allows(p, Action::kRead, Twin("no-such-twin")));
}

TEST_F(PlantGraph, ModelGrantOnABaseCoversEveryDescendant) {
  auto authz = Make(R"({"roles": {"assets": [
      {"actions": ["read"], "models": ["dtmi:test:Asset;1"]}]}})");
  EXPECT_EQ(Readable(*authz, With({"assets"})), AllTwins());
}

TEST_F(PlantGraph, ModelGrantCoversModelsAddedLater) {
  auto authz = Make(R"({"roles": {"turbines": [
      {"actions": ["read"], "models": ["dtmi:test:Turbine;1"]}]}})");
  Principal p = With({"turbines"});
  AddModel(R"({"@id":"dtmi:test:OffshoreTurbine;1","@type":"Interface",
    "@context":"dtmi:dtdl:context;3","extends":"dtmi:test:WindTurbine;1"})");
  Put("turbine-x", "OffshoreTurbine");
  EXPECT_TRUE(authz->Allows(p, Action::kRead, Twin("turbine-x")));
  EXPECT_TRUE(authz->Allows(p, Action::kRead, Twin("turbine-x", "dtmi:test:OffshoreTurbine;1")));
}

TEST_F(PlantGraph, ModelGrantFollowsATwinsModelChange) {
  auto authz = Make(R"({"roles": {"bearings": [
      {"actions": ["read"], "models": ["dtmi:test:Bearing;1"]}]}})");
  Principal p = With({"bearings"});
  ASSERT_FALSE(authz->Allows(p, Action::kRead, Twin("meter-a")));
  auto patched = graph_.PatchTwin(
      "meter-a",
      J(R"([{"op":"replace","path":"/$metadata/$model","value":"dtmi:test:Bearing;1"}])"), {});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_TRUE(authz->Allows(p, Action::kRead, Twin("meter-a")));
}

TEST_F(PlantGraph, GrantSelectsATwinMatchingAnyOfItsSelectors) {
  auto authz = Make(R"({"roles": {"mixed": [
      {"actions": ["read"], "twins": ["meter-*"], "models": ["dtmi:test:Bearing;1"],
       "scope": "site-b", "scopeRelationships": ["contains"]}]}})");
  EXPECT_THAT(Readable(*authz, With({"mixed"})),
              ElementsAre("bearing-a1", "bearing-b1", "meter-a", "site-b", "turbine-b1"));
}

TEST_F(PlantGraph, UnionOfScopedRoles) {
  auto authz = Make(R"({"roles": {
      "site-a-reader": [{"actions": ["read"], "scope": "site-a",
                         "scopeRelationships": ["contains"]}],
      "site-b-commander": [{"actions": ["invokeCommands"], "scope": "site-b"}]}})");
  Principal p = With({"site-b-commander", "site-a-reader"});
  EXPECT_TRUE(authz->Allows(p, Action::kRead, Twin("turbine-a1")));
  EXPECT_FALSE(authz->Allows(p, Action::kInvokeCommands, Twin("turbine-a1")));
  EXPECT_TRUE(authz->Allows(p, Action::kInvokeCommands, Twin("bearing-b1")));
  EXPECT_FALSE(authz->Allows(p, Action::kRead, Twin("bearing-b1")));
}

TEST_F(PlantGraph, VisibilityIsNullForPrincipalsWhoReadEverything) {
  auto authz = Make(R"({"roles": {
      "auditor": [{"actions": ["read"]}],
      "star": [{"actions": ["read"], "twins": ["*"]}],
      "scoped-plus-viewer": [{"actions": ["invokeCommands"], "scope": "site-a"}]}})");
  EXPECT_EQ(authz->VisibilityFor(With({"admin"})), nullptr);
  EXPECT_EQ(authz->VisibilityFor(With({"viewer"})), nullptr);
  EXPECT_EQ(authz->VisibilityFor(With({"operator"})), nullptr);
  EXPECT_EQ(authz->VisibilityFor(With({"auditor"})), nullptr);
  EXPECT_EQ(authz->VisibilityFor(With({"star"})), nullptr);
  EXPECT_EQ(authz->VisibilityFor(With({"scoped-plus-viewer", "viewer"})), nullptr);
  EXPECT_EQ(authz->VisibilityFor(Principal::Anonymous()), nullptr);
}

TEST_F(PlantGraph, VisibilityPredicateForScopedReaders) {
  auto authz = Make(R"({"roles": {
      "site-a-operator": [{"actions": ["read"], "scope": "site-a"}],
      "bearings": [{"actions": ["read"], "models": ["dtmi:test:Bearing;1"]}],
      "commander": [{"actions": ["invokeCommands"]}]}})");
  twin::TwinFilter scoped = authz->VisibilityFor(With({"site-a-operator"}));
  ASSERT_NE(scoped, nullptr);
  EXPECT_THAT(Visible(scoped),
              ElementsAre("bearing-a1", "meter-a", "site-a", "turbine-a1", "turbine-a2"));

  twin::TwinFilter by_model = authz->VisibilityFor(With({"bearings"}));
  ASSERT_NE(by_model, nullptr);
  EXPECT_THAT(Visible(by_model), ElementsAre("bearing-a1", "bearing-b1"));
  EXPECT_FALSE(by_model("bearing-a1", ""));  // a filter cannot look models up

  // No read grant at all: a predicate that admits nothing, not null.
  twin::TwinFilter none = authz->VisibilityFor(With({"commander"}));
  ASSERT_NE(none, nullptr);
  EXPECT_TRUE(Visible(none).empty());
  twin::TwinFilter unknown = authz->VisibilityFor(With({"nobody"}));
  ASSERT_NE(unknown, nullptr);
  EXPECT_TRUE(Visible(unknown).empty());
}

TEST_F(PlantGraph, VisibilityPredicateKeepsItsSnapshot) {
  auto authz = Make(kSiteAOperator);
  Principal p = With({"site-a-operator"});
  twin::TwinFilter before = authz->VisibilityFor(p);
  Relate("site-a", "c3", "contains", "turbine-b1");
  twin::TwinFilter after = authz->VisibilityFor(p);
  EXPECT_FALSE(before("turbine-b1", "dtmi:test:WindTurbine;1"));
  EXPECT_TRUE(after("turbine-b1", "dtmi:test:WindTurbine;1"));
  // And it outlives the Authorizer that made it.
  authz.reset();
  EXPECT_TRUE(after("bearing-b1", "dtmi:test:Bearing;1"));
  EXPECT_FALSE(after("site-b", "dtmi:test:Site;1"));
}

TEST_F(PlantGraph, DestroyedAuthorizerNoLongerListensToTheGraph) {
  {
    auto authz = Make(kSiteAOperator);
    ASSERT_TRUE(authz->Allows(With({"site-a-operator"}), Action::kRead, Twin("site-a")));
  }
  // Would call into the freed Authorizer if it were still subscribed (ASan catches that).
  Relate("site-a", "c3", "contains", "turbine-b1");
  auto again = Make(kSiteAOperator);
  EXPECT_TRUE(again->Allows(With({"site-a-operator"}), Action::kRead, Twin("turbine-b1")));
}

TEST_F(PlantGraph, ConcurrentChecksStayCorrectWhileTheGraphChanges) {
  auto authz = Make(kSiteAOperator);
  Principal p = With({"site-a-operator"});
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> checkers;
  for (int t = 0; t < 3; ++t) {
    checkers.emplace_back([&] {
      while (!stop.load()) {
        // Twins whose standing never changes while site-b is related and unrelated.
        if (!authz->Allows(p, Action::kRead, Twin("turbine-a1"))) ++wrong;
        if (authz->Allows(p, Action::kRead, Twin("site-b"))) ++wrong;
        twin::TwinFilter filter = authz->VisibilityFor(p);
        if (!filter("bearing-a1", "dtmi:test:Bearing;1")) ++wrong;
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    Relate("site-a", "c3", "contains", "turbine-b1");
    EXPECT_TRUE(authz->Allows(p, Action::kRead, Twin("bearing-b1")));
    Unrelate("site-a", "c3");
    EXPECT_FALSE(authz->Allows(p, Action::kRead, Twin("bearing-b1")));
  }
  stop = true;
  for (std::thread& t : checkers) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace doppel::auth
