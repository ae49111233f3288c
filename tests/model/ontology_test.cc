// The RealEstateCore ontology (767 interfaces, one per file, each with a UTF-8 BOM) must parse
// as one batch: a real-world model repository, deep extends chains and all. (The copy in
// shared/data declares "dtmi:dtdl:context;3" in every file, so it is DTDL v3.)
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "base/json.h"
#include "model/dtdl_parser.h"
#include "model/model_registry.h"

namespace doppel::model {
namespace {

namespace fs = std::filesystem;

const fs::path kOntologyDir =
    fs::path(DOPPEL_SHARED_DATA_DIR) / "dtdl" / "realestatecore" / "Ontology";

std::vector<json::value> LoadOntology() {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(kOntologyDir)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<json::value> docs;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto v = ParseJson(ss.str());
    EXPECT_TRUE(v.ok()) << f << ": " << v.status().ToString();
    if (v.ok()) docs.push_back(std::move(v).value());
  }
  return docs;
}

const Interface* Find(const ParseResult& r, std::string_view id) {
  for (const auto& i : r.interfaces) {
    if (i->id == id) return i.get();
  }
  return nullptr;
}

TEST(RealEstateCore, WholeOntologyParsesInOneBatch) {
  if (!fs::is_directory(kOntologyDir)) GTEST_SKIP() << "no ontology under " << kOntologyDir;
  auto docs = LoadOntology();
  ASSERT_EQ(docs.size(), 767u);
  ParseResult r = DtdlParser().Parse(docs);
  std::string errors;
  for (std::size_t i = 0; i < r.errors.size() && i < 20; ++i) errors += r.errors[i].ToString() + "\n";
  ASSERT_TRUE(r.ok()) << r.errors.size() << " errors, first:\n" << errors;
  EXPECT_EQ(r.interfaces.size(), 767u);

  // Inheritance is resolved: a Room is a Space, and inherits Space's contents.
  const Interface* room = Find(r, "dtmi:digitaltwins:rec_3_3:core:Room;1");
  ASSERT_NE(room, nullptr);
  EXPECT_TRUE(room->ancestors.contains("dtmi:digitaltwins:rec_3_3:core:Space;1"));
  const Interface* space = Find(r, "dtmi:digitaltwins:rec_3_3:core:Space;1");
  ASSERT_NE(space, nullptr);
  for (const auto& [name, content] : space->contents) {
    EXPECT_NE(room->Find(name), nullptr) << name;
  }
  EXPECT_GT(room->contents.size(), space->contents.size() - 1);
  for (const auto& i : r.interfaces) EXPECT_EQ(i->dtdl_version, 3) << i->id;
}

TEST(RealEstateCore, LoadsIntoRegistryAndAnswersIsOfModel) {
  if (!fs::is_directory(kOntologyDir)) GTEST_SKIP() << "no ontology under " << kOntologyDir;
  ModelRegistry registry;
  auto prepared = registry.Prepare(LoadOntology());
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString().substr(0, 2000);
  registry.Commit(std::move(prepared).value(), "2026-01-01T00:00:00Z");
  EXPECT_EQ(registry.entries().size(), 767u);
  EXPECT_TRUE(registry.IsOfModel("dtmi:digitaltwins:rec_3_3:core:Room;1",
                                 "dtmi:digitaltwins:rec_3_3:core:Space;1"));
  EXPECT_FALSE(registry.IsOfModel("dtmi:digitaltwins:rec_3_3:core:Space;1",
                                  "dtmi:digitaltwins:rec_3_3:core:Room;1"));
  EXPECT_FALSE(registry.ReferencedBy("dtmi:digitaltwins:rec_3_3:core:Space;1").empty());
}

}  // namespace
}  // namespace doppel::model
