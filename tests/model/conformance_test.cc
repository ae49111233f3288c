// Runs the official DTDL parser's conformance cases (digitaltwinconsortium/DTDLParser) for
// DTDL v2 and v3 through DtdlParser and compares the valid/invalid verdicts.
//
// A case counts for the DTDL version its models declare ("dtmi:dtdl:context;N"). That is the
// file-name suffix for the specification cases, but the extension examples in doc-examples/
// are suffixed with the *extension's* version (quantitativeTypesDocExample-...-V3 is DTDL v4
// with quantitativeTypes;3); cases in DTDL versions other than 2 and 3 are not run.
//
// Prints the agreement per version and the files whose verdicts differ. Set
// DOPPEL_CONFORMANCE_VERBOSE=1 to also print each disagreeing case's input and our errors.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "base/json.h"
#include "model/dtdl_parser.h"

namespace doppel::model {
namespace {

namespace fs = std::filesystem;

const fs::path kConformanceDir = fs::path(DOPPEL_SHARED_DATA_DIR) / "dtdl" / "conformance";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Tally {
  int cases = 0, agreed = 0, files = 0, files_agreed = 0;
  double Rate() const { return cases == 0 ? 1.0 : static_cast<double>(agreed) / cases; }
};

struct CaseOutcome {
  bool expected_valid = false;
  ParseResult result;
};

ParseOptions OptionsOf(const json::object& c) {
  ParseOptions options;
  if (const auto* opts = c.if_contains("options"); opts && opts->is_array()) {
    for (const auto& o : opts->as_array()) {
      if (o.is_string() && o.as_string() == "AllowUndefinedExtensions") {
        options.allow_undefined_extensions = true;
      }
    }
  }
  return options;
}

CaseOutcome RunCase(const json::object& c) {
  CaseOutcome out;
  out.expected_valid = c.at("valid").as_bool();
  std::vector<json::value> docs;
  for (const auto& doc : c.at("input").as_array()) docs.push_back(doc);
  out.result = DtdlParser(OptionsOf(c)).Parse(docs);
  return out;
}

// The version a file name states ("...V3.json" → 3), 0 if none.
int VersionOfName(const fs::path& p) {
  std::string name = p.stem().string();
  if (name.size() < 2 || name[name.size() - 2] != 'V') return 0;
  return name.back() - '0';
}

// The highest DTDL version named by a "dtmi:dtdl:context;N" in `v` (recursively), 0 if none.
int DeclaredVersion(const json::value& v) {
  int version = 0;
  if (v.is_string()) {
    std::string_view s = v.as_string();
    constexpr std::string_view kPrefix = "dtmi:dtdl:context;";
    // "dtmi:dtdl:context;4#limitless" is DTDL v4 too.
    if (s.starts_with(kPrefix) && s.size() > kPrefix.size()) version = s[kPrefix.size()] - '0';
  } else if (v.is_array()) {
    for (const auto& e : v.as_array()) version = std::max(version, DeclaredVersion(e));
  } else if (v.is_object()) {
    if (const auto* ctx = v.as_object().if_contains("@context")) version = DeclaredVersion(*ctx);
    for (const auto& kv : v.as_object()) {
      if (kv.key() != "@context") version = std::max(version, DeclaredVersion(kv.value()));
    }
  }
  return version;
}

int VersionOfCase(const json::object& c, const fs::path& file) {
  int declared = DeclaredVersion(c.at("input"));
  return declared != 0 ? declared : VersionOfName(file);
}

std::vector<fs::path> CaseFiles() {
  std::vector<fs::path> files;
  for (const char* sub : {"specification", "doc-examples"}) {
    fs::path dir = kConformanceDir / sub;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".json") files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

void PrintDisagreement(const fs::path& file, const json::object& c, const CaseOutcome& o) {
  std::cout << "  case in " << file.filename().string() << ": expected "
            << (o.expected_valid ? "valid" : "invalid") << "\n    input: "
            << ToJson(c.at("input")) << "\n";
  for (const auto& e : o.result.errors) std::cout << "    error: " << e.ToString() << "\n";
}

TEST(DtdlConformance, AgreesWithReferenceParser) {
  auto files = CaseFiles();
  if (files.empty()) GTEST_SKIP() << "no conformance cases under " << kConformanceDir;
  bool verbose = std::getenv("DOPPEL_CONFORMANCE_VERBOSE") != nullptr;
  std::map<int, Tally> tally;
  std::vector<std::string> disagreeing;
  for (const auto& file : files) {
    auto parsed = ParseJson(ReadFile(file));
    ASSERT_TRUE(parsed.ok()) << file << ": " << parsed.status().ToString();
    json::array cases = parsed->is_array() ? parsed->as_array() : json::array{*parsed};
    bool file_agrees = true;
    std::set<int> file_versions;
    for (const auto& c : cases) {
      int version = VersionOfCase(c.as_object(), file);
      if (version != 2 && version != 3) continue;
      CaseOutcome o = RunCase(c.as_object());
      bool agrees = o.result.ok() == o.expected_valid;
      Tally& t = tally[version];
      ++t.cases;
      t.agreed += agrees;
      if (!agrees && verbose) PrintDisagreement(file, c.as_object(), o);
      file_agrees &= agrees;
      file_versions.insert(version);
    }
    for (int v : file_versions) {
      ++tally[v].files;
      tally[v].files_agreed += file_agrees;
    }
    if (file_versions.empty()) continue;
    if (!file_agrees) disagreeing.push_back(file.parent_path().filename().string() + "/" +
                                            file.filename().string());
  }
  Tally all;
  for (const auto& [version, t] : tally) {
    std::cout << "DTDL v" << version << ": " << t.agreed << "/" << t.cases << " cases agree ("
              << 100.0 * t.Rate() << "%), " << t.files_agreed << "/" << t.files << " files\n";
    all.cases += t.cases;
    all.agreed += t.agreed;
    all.files += t.files;
    all.files_agreed += t.files_agreed;
  }
  std::cout << "overall: " << all.agreed << "/" << all.cases << " cases agree ("
            << 100.0 * all.Rate() << "%), " << all.files_agreed << "/" << all.files
            << " files\n";
  std::cout << disagreeing.size() << " files with a disagreeing case:\n";
  for (const auto& f : disagreeing) std::cout << "  " << f << "\n";
  EXPECT_GE(all.Rate(), 0.95);
}

}  // namespace
}  // namespace doppel::model
