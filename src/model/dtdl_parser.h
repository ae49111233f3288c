// Parsing and validating DTDL v2/v3 (JSON-LD) into model::Interface.
//
// A batch of documents is parsed together: models may reference each other (extends,
// component schemas, relationship targets) and may reference models already known through
// `known`. Either every interface in the batch is valid and returned, or none is and every
// error found is reported.
//
//   DtdlParser parser;
//   auto result = parser.Parse(documents, [&](std::string_view id) { return registry.Get(id); });
//   if (!result.ok()) { for (auto& e : result.errors) std::cerr << e.ToString() << "\n"; }
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "model/model.h"

namespace doppel::model {

// One rule broken, named the way the DTDL reference parser names it.
struct ModelError {
  std::string model_id;   // the interface (or "" if it has none yet)
  std::string json_path;  // "$[0].contents[2].schema"
  std::string rule;       // "dtmi:dtdl:parsingError:typeNotRootable"-style id, e.g. "missingType"
  std::string message;    // for people

  std::string ToString() const;  // "dtmi:x;1 at $.contents[2].schema: invalid schema (...)"
};

struct ParseOptions {
  // The reference parser's "AllowUndefinedExtensions": accept @context extensions it doesn't
  // know and co-types from them instead of rejecting the model.
  bool allow_undefined_extensions = false;
  // Maximum number of interfaces in one batch (RealEstateCore has ~770).
  std::size_t max_interfaces = 10000;
};

struct ParseResult {
  std::vector<InterfacePtr> interfaces;  // empty when errors is not
  std::vector<ModelError> errors;
  bool ok() const { return errors.empty(); }
};

// Looks up an interface already known outside the batch (nullptr if none).
using ModelLookup = std::function<InterfacePtr(std::string_view id)>;

class DtdlParser {
 public:
  explicit DtdlParser(ParseOptions options = {}) : options_(options) {}

  // `documents`: each a JSON object (one interface) or an array of them.
  ParseResult Parse(const std::vector<json::value>& documents, const ModelLookup& known = {}) const;

 private:
  ParseOptions options_;
};

// True if `id` is a syntactically valid DTMI ("dtmi:seg:seg;version", DTDL v2/v3 rules).
bool IsValidDtmi(std::string_view id);

}  // namespace doppel::model
