#include "auth/classification.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <charconv>
#include <string>
#include <vector>

#include "base/clock.h"
#include "twin/journal.h"

namespace doppel::auth {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

json::value J(std::string_view text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString() << " in " << text;
  return parsed.ok() ? std::move(parsed).value() : json::value();
}

// Enough of the server's duration syntax for these tests: "<n>d", "<n>h", "<n>s".
Result<std::chrono::nanoseconds> TestDuration(std::string_view text, std::string_view what) {
  long n = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (error != std::errc() || end != text.data() + text.size() - 1) {
    return Status::InvalidArgument(fmt::format("{}: bad duration '{}'", what, text));
  }
  switch (text.back()) {
    case 'd':
      return std::chrono::nanoseconds(std::chrono::hours(24 * n));
    case 'h':
      return std::chrono::nanoseconds(std::chrono::hours(n));
    case 's':
      return std::chrono::nanoseconds(std::chrono::seconds(n));
    default:
      return Status::InvalidArgument(fmt::format("{}: bad duration '{}'", what, text));
  }
}

Result<ClassificationConfig> Parse(std::string_view text) {
  return ParseClassificationConfig(J(text), TestDuration);
}

constexpr std::string_view kConfig = R"({
  "classes": {"personal": {"retention": "30d"}, "confidential": {}},
  "fields": [
    {"model": "dtmi:test:Operator;1", "path": "badgeId", "class": "personal"},
    {"model": "dtmi:test:Operator;1", "path": "vitals/heartRate", "class": "personal"},
    {"model": "dtmi:test:Machine;1", "path": "recipe", "class": "confidential"},
    {"model": "dtmi:test:Supervisor;1", "path": "badgeId", "class": "confidential"}
  ]})";

TEST(ParseClassificationConfigTest, ReadsClassesAndFields) {
  auto config = Parse(kConfig);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->classes.size(), 2u);
  EXPECT_EQ(config->classes[0].name, "personal");
  EXPECT_EQ(config->classes[0].retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(config->classes[1].name, "confidential");
  EXPECT_EQ(config->classes[1].retention, 0ns);
  ASSERT_EQ(config->fields.size(), 4u);
  EXPECT_EQ(config->fields[1].path, "vitals/heartRate");
  EXPECT_EQ(config->fields[2].classification, "confidential");
}

TEST(ParseClassificationConfigTest, FieldsMayComeBeforeClasses) {
  auto config = Parse(
      R"({"fields": [{"model": "dtmi:a:B;1", "path": "x", "class": "c"}], "classes": {"c": {}}})");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->fields.size(), 1u);
}

TEST(ParseClassificationConfigTest, RefusesMistakesNamingTheKey) {
  struct Case {
    std::string_view config;
    std::string_view message;
  };
  const Case cases[] = {
      {R"([])", "classification: must be an object"},
      {R"({"class": {}})", "classification.class: unknown key (known: classes, fields)"},
      {R"({"classes": {"personal": {"keep": "1d"}}})",
       "classification.classes.personal.keep: unknown key"},
      {R"({"classes": {"per sonal": {}}})", "classification.classes.per sonal: a class name is"},
      {R"({"classes": {"*": {}}})", "classification.classes.*: a class name is"},
      {R"({"classes": {"p": {"retention": "soon"}}})",
       "classification.classes.p.retention: bad duration"},
      {R"({"classes": {"p": {"retention": 30}}})",
       "classification.classes.p.retention: must be a duration"},
      {R"({"classes": {"p": {}}, "fields": [{"model": "dtmi:a:B;1", "path": "x", "class": "secret"}]})",
       "classification.fields[0].class: unknown class 'secret' (known: p)"},
      {R"({"classes": {"p": {}}, "fields": [{"model": "dtmi:a:B;1", "path": "a/b/c", "class": "p"}]})",
       "classification.fields[0].path: 'a/b/c' is not a property or telemetry name"},
      {R"({"classes": {"p": {}}, "fields": [{"model": "dtmi:a:B;1", "path": "/x", "class": "p"}]})",
       "classification.fields[0].path"},
      {R"({"classes": {"p": {}}, "fields": [{"model": "dtmi:a:B;1", "path": "1x", "class": "p"}]})",
       "classification.fields[0].path"},
      {R"({"classes": {"p": {}}, "fields": [{"model": "Operator", "path": "x", "class": "p"}]})",
       "classification.fields[0].model: 'Operator' is not a valid DTMI"},
      {R"({"classes": {"p": {}}, "fields": [{"path": "x", "class": "p"}]})",
       "classification.fields[0]: needs \"model\""},
      {R"({"classes": {"p": {}}, "fields": [{"model": "dtmi:a:B;1", "path": "x", "class": "p", "why": 1}]})",
       "classification.fields[0].why: unknown key (known: model, path, class)"},
      {R"({"classes": {"p": {}}, "fields": [{"model": "dtmi:a:B;1", "path": "x", "class": "p"},
                                           {"model": "dtmi:a:B;1", "path": "x", "class": "p"}]})",
       "classification.fields[1]: 'x' of 'dtmi:a:B;1' is classified twice"},
  };
  for (const Case& c : cases) {
    auto config = Parse(c.config);
    ASSERT_FALSE(config.ok()) << c.config;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr(c.message)) << c.config;
  }
}

// Lookups against a real graph:
//   Person ← Operator ← Supervisor       Machine      Operator has component vitals (Vitals)
class ClassifiedGraph : public ::testing::Test {
 protected:
  ClassifiedGraph() : graph_(journal_, clock_, events_) {}

  void SetUp() override {
    AddModel(R"({"@id":"dtmi:test:Vitals;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
      "contents":[{"@type":"Telemetry","name":"heartRate","schema":"double"}]})");
    AddModel(R"({"@id":"dtmi:test:Person;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
      "contents":[{"@type":"Property","name":"name","schema":"string"}]})");
    AddModel(R"({"@id":"dtmi:test:Operator;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
      "extends":"dtmi:test:Person;1",
      "contents":[{"@type":"Property","name":"badgeId","schema":"string"},
                  {"@type":"Component","name":"vitals","schema":"dtmi:test:Vitals;1"}]})");
    AddModel(R"({"@id":"dtmi:test:Machine;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
      "contents":[{"@type":"Property","name":"recipe","schema":"string"}]})");
    auto config = Parse(kConfig);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    classification_ =
        std::make_unique<DataClassification>(std::move(config).value(), graph_, events_);
  }

  void AddModel(std::string_view text) {
    auto added = graph_.AddModels({J(text)});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
  }

  static Principal Cleared(std::vector<std::string> clearances) {
    return Principal{.subject = "alice",
                     .roles = {"viewer"},
                     .method = AuthMethod::kJwt,
                     .clearances = std::move(clearances)};
  }

  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_;
  std::unique_ptr<DataClassification> classification_;
};

TEST_F(ClassifiedGraph, ClassOfFollowsTheModelAndItsPath) {
  EXPECT_EQ(classification_->ClassOf("dtmi:test:Operator;1", "badgeId"), "personal");
  EXPECT_EQ(classification_->ClassOf("dtmi:test:Operator;1", "vitals/heartRate"), "personal");
  EXPECT_EQ(classification_->ClassOf("dtmi:test:Operator;1", "name"), "");
  EXPECT_EQ(classification_->ClassOf("dtmi:test:Machine;1", "recipe"), "confidential");
  // A base does not inherit its descendants' classification.
  EXPECT_EQ(classification_->ClassOf("dtmi:test:Person;1", "badgeId"), "");
  EXPECT_EQ(classification_->ClassOf("dtmi:test:Unknown;1", "badgeId"), "");
}

TEST_F(ClassifiedGraph, ModelsUploadedLaterInheritOnRefresh) {
  AddModel(R"({"@id":"dtmi:test:Supervisor;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
    "extends":"dtmi:test:Operator;1"})");
  AddModel(R"({"@id":"dtmi:test:Trainee;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
    "extends":"dtmi:test:Operator;1"})");
  classification_->Refresh();
  EXPECT_EQ(classification_->ClassOf("dtmi:test:Trainee;1", "badgeId"), "personal");
  EXPECT_EQ(classification_->ClassOf("dtmi:test:Trainee;1", "vitals/heartRate"), "personal");
  // Supervisor's own field wins over the one it inherits from Operator.
  EXPECT_EQ(classification_->ClassOf("dtmi:test:Supervisor;1", "badgeId"), "confidential");
  EXPECT_EQ(classification_->ClassOf("dtmi:test:Supervisor;1", "vitals/heartRate"), "personal");
}

TEST_F(ClassifiedGraph, MaskHidesOnlyUnclearedClasses) {
  twin::FieldMask none = classification_->MaskFor(Cleared({}));
  ASSERT_TRUE(static_cast<bool>(none));
  EXPECT_EQ(none.Hides("dtmi:test:Operator;1", "badgeId"), "personal");
  EXPECT_EQ(none.Hides("dtmi:test:Machine;1", "recipe"), "confidential");
  EXPECT_EQ(none.Hides("dtmi:test:Operator;1", "name"), "");
  EXPECT_TRUE(none.hides_any("dtmi:test:Operator;1"));
  EXPECT_FALSE(none.hides_any("dtmi:test:Person;1"));

  twin::FieldMask personal = classification_->MaskFor(Cleared({"personal", "unknown-class"}));
  ASSERT_TRUE(static_cast<bool>(personal));
  EXPECT_EQ(personal.Hides("dtmi:test:Operator;1", "badgeId"), "");
  EXPECT_EQ(personal.Hides("dtmi:test:Machine;1", "recipe"), "confidential");
  EXPECT_FALSE(personal.hides_any("dtmi:test:Operator;1"));

  EXPECT_FALSE(static_cast<bool>(classification_->MaskFor(Cleared({"personal", "confidential"}))));
  EXPECT_FALSE(static_cast<bool>(classification_->MaskFor(Cleared({"*"}))));
  EXPECT_FALSE(static_cast<bool>(classification_->MaskFor(Principal::Anonymous())));
}

TEST_F(ClassifiedGraph, LongLivedMaskFollowsModelUploads) {
  twin::FieldMask mask = classification_->MaskFor(Cleared({}));
  AddModel(R"({"@id":"dtmi:test:Trainee;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
    "extends":"dtmi:test:Operator;1"})");
  classification_->Refresh();
  EXPECT_EQ(mask.Hides("dtmi:test:Trainee;1", "badgeId"), "personal");
}

TEST_F(ClassifiedGraph, RetentionRulesCoverEveryModelOfARetainedClass) {
  AddModel(R"({"@id":"dtmi:test:Trainee;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
    "extends":"dtmi:test:Operator;1"})");
  std::vector<std::string> rules;
  for (const ClassRetention& r : classification_->RetentionRules()) {
    EXPECT_EQ(r.keep, std::chrono::hours(24 * 30));
    rules.push_back(r.model_id + " " + r.path);
  }
  // Machine's recipe is confidential, which has no retention of its own; Supervisor is
  // configured but not uploaded, and its badgeId is confidential.
  EXPECT_THAT(rules, ::testing::ElementsAre(
                         "dtmi:test:Operator;1 badgeId", "dtmi:test:Operator;1 vitals/heartRate",
                         "dtmi:test:Trainee;1 badgeId", "dtmi:test:Trainee;1 vitals/heartRate"));
}

}  // namespace
}  // namespace doppel::auth
