// State shared by the stages of parsing one batch of DTDL documents.
//
// Stages (dtdl_parser.cc drives them):
//   1. Index: every object with an "@id" anywhere in the batch is recorded, so dependent
//      references (a DTMI in place of an element) resolve regardless of document order.
//   2. Parse: each top-level Interface (and every inline one) becomes a Draft; elements named
//      by reference are parsed where they are defined; schemas with an @id are memoised.
//   3. Resolve: `extends` is followed (cycles, depth), inherited contents are flattened, and
//      references to interfaces (components, extends) are checked.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/json.h"
#include "model/dtdl_parser.h"
#include "model/model.h"

namespace doppel::model::internal {

// What the @context in force allows.
struct Scope {
  int version = 2;
  bool undefined_extension = false;  // an unknown extension context is in force and allowed
  bool quantitative_types = false;   // v3 dtmi:dtdl:extension:quantitativeTypes;1
  bool known_extension = false;      // another v3 extension the parser knows (historization...)
  bool iotcentral = false;           // v2 dtmi:iotcentral:context;2
};

// Where an element is. `model_id` is the innermost Interface around it: errors name it, and
// it is the element's "partition" for the rules on which elements may reference which.
struct Where {
  std::string_view model_id;
  std::string path;
};

// An element with an @id somewhere in the batch.
struct Definition {
  const json::object* object = nullptr;
  Scope scope;
  std::string path;
  std::string partition;  // @id of the innermost Interface holding it (itself for one)
  bool top_level = false;
  bool is_interface = false;
};

struct Reference {
  std::string id;
  std::string path;
};

// An interface being built.
struct Draft {
  std::shared_ptr<Interface> iface;
  Scope scope;
  std::string path;
  bool top_level = false;  // false: defined inline in another interface's document
  std::vector<Reference> extends;
  std::vector<Content> own;               // in declaration order
  std::vector<std::string> own_paths;     // parallel to `own`
  // Resolution state.
  enum class State { kNew, kVisiting, kDone, kFailed } state = State::kNew;
  int depth = 0;  // longest extends chain above this interface
};

class Batch {
 public:
  Batch(const ParseOptions& options, const ModelLookup& known) : options_(options), known_(known) {}

  const ParseOptions& options() const { return options_; }

  void Error(const Where& where, std::string_view rule, std::string message);
  void Error(std::string_view model_id, std::string path, std::string_view rule,
             std::string message) {
    Error(Where{model_id, std::move(path)}, rule, std::move(message));
  }
  bool has_errors() const { return !errors_.empty(); }
  std::size_t error_count() const { return errors_.size(); }
  std::vector<ModelError> TakeErrors() { return std::move(errors_); }

  // Definitions (stage 1).
  void Define(std::string id, Definition def);
  const Definition* FindDefinition(std::string_view id) const;

  // Memoised schemas by @id.
  std::unordered_map<std::string, SchemaPtr>& schemas() { return schemas_; }

  // Elements being parsed right now: reaching one again through a reference is a path from
  // an element to itself, which DTDL forbids.
  bool Enter(const json::object* o) { return active_.insert(o).second; }
  void Leave(const json::object* o) { active_.erase(o); }

  // Drafts (stage 2).
  Draft& AddDraft(Draft draft);
  Draft* FindDraft(std::string_view id);
  std::vector<std::unique_ptr<Draft>>& drafts() { return drafts_; }

  // An interface known outside the batch.
  InterfacePtr Known(std::string_view id) const { return known_ ? known_(id) : nullptr; }

 private:
  ParseOptions options_;
  const ModelLookup& known_;
  std::vector<ModelError> errors_;
  std::unordered_map<std::string, Definition> definitions_;
  std::unordered_map<std::string, SchemaPtr> schemas_;
  std::unordered_set<const json::object*> active_;
  std::vector<std::unique_ptr<Draft>> drafts_;
  std::unordered_map<std::string, Draft*> draft_by_id_;
};

// Marks an element as being parsed for the scope of the guard.
class ActiveElement {
 public:
  ActiveElement(Batch& batch, const json::object* o) : batch_(batch), o_(o) {
    entered_ = batch_.Enter(o_);
  }
  ~ActiveElement() {
    if (entered_) batch_.Leave(o_);
  }
  // False if the element was already being parsed (it was reached through itself).
  bool entered() const { return entered_; }
  ActiveElement(const ActiveElement&) = delete;
  ActiveElement& operator=(const ActiveElement&) = delete;

 private:
  Batch& batch_;
  const json::object* o_;
  bool entered_;
};

}  // namespace doppel::model::internal
