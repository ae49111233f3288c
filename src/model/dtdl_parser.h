// Parsing and validating DTDL v2/v3 (JSON-LD) into model::Interface.
//
// A batch of documents is parsed together: models may reference each other (extends,
// component schemas, and any element by @id where DTDL allows a "dependent reference") and
// may extend or use as components models already known through `known`. Either every
// interface in the batch is valid and returned, or none is and every error found is reported.
//
// The rules are those of the DTDL v2 and v3 language specifications (checked against the
// reference parser's conformance suite, tests/model/conformance_test.cc): DTMI syntax,
// @context and extensions, required members and value types, string lengths, localizable
// strings, member names given as DTMIs, undefined co-types and members, @id uniqueness,
// which elements may reference which, limits (contents, extends depth and count, schema
// depth), duplicate names including inherited ones, and more. Known extensions
// (quantitativeTypes, historization, annotation, overriding, mqtt, requirement, IoT Central)
// are accepted with their co-types; their own members are not checked further.
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
  // The reference parser's ValidationID suffix where one is known ("typeNotRootable" for
  // "dtmi:dtdl:parsingError:typeNotRootable", "badType", "missingRequiredProperty",
  // "unresolvableContextSpecifier", "excessiveDepth", ...), else a descriptive name
  // ("duplicateContentName", "unresolvedReference").
  std::string rule;
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
  // The batch's top-level interfaces, in document order; empty when `errors` is not. An
  // Interface defined inline (in `extends` or as a Component's schema) belongs to the document
  // that holds it: its contents are flattened into the interfaces extending it and its @id
  // appears in `ancestors` / `component_interface`, but it is not returned on its own (it has
  // no document of its own to store).
  std::vector<InterfacePtr> interfaces;
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

// True if `id` is a syntactically valid DTMI under DTDL v3's rules ("dtmi:seg:seg;version",
// the version optional and possibly "major.minor"; DTDL v2 models require "major").
bool IsValidDtmi(std::string_view id);

// True if `name` is a valid DTDL name (a content, component or enum value name): letters,
// digits and underscores, starting with a letter, not ending with an underscore.
bool IsValidDtdlName(std::string_view name);

}  // namespace doppel::model
