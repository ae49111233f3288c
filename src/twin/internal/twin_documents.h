// Building and validating the stored documents of twins and relationships (internal to twin/).
//
// TwinGraph decides *whether* a write may happen (existence, preconditions, references);
// these functions decide what the stored document is and whether its content is valid for
// its model. Pure functions over the registry and the graph state.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "model/model_registry.h"
#include "twin/json_patch.h"
#include "twin/twin_graph.h"

namespace doppel::twin::internal {

// Which properties a write set, so that only their $metadata lastUpdateTime moves.
class TouchedProperties {
 public:
  static TouchedProperties All();
  // The properties named by the paths of `ops` (and "from" of move): "/p" and "/p/x" touch
  // property p (or every property of component p); "/c/p" touches p of component c.
  static TouchedProperties FromPatch(const std::vector<PatchOperation>& ops);

  bool Touches(std::string_view name) const;  // a top-level property (or component as a whole)
  bool TouchesInComponent(std::string_view component, std::string_view name) const;
  bool TouchesComponent(std::string_view component) const;  // any of its properties

 private:
  bool all_ = false;
  std::set<std::string, std::less<>> whole_;  // "/name" touched directly
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> nested_;  // "/a/b..."
};

// The parts of a write every document carries.
struct WriteStamp {
  std::string now;   // RFC 3339
  std::string etag;  // W/"..."
};

struct TwinBuildOptions {
  // The model of the twin being replaced or patched, if any: twins may keep (not take on) a
  // decommissioned model.
  const std::string* previous_model = nullptr;
  // Validate every property, not only the touched ones. PATCH sets it only when $model changed
  // (untouched values were validated when written and models are immutable).
  bool validate_untouched = true;
};

// Validates `body` (an ADT twin: "$metadata": {"$model"}, properties, components) against its
// model and returns the document to store: $dtId, $etag, $metadata (with lastUpdateTime per
// property: `stamp.now` if touched, else the one found in body's $metadata), then the content.
// `body` is consumed (its values move into the result: a PATCH builds from its scratch copy).
// Errors: InvalidArgument with "ValidationFailed", "ModelNotFound" or "ModelDecommissioned".
Result<json::object> BuildTwinDocument(const model::ModelRegistry& models, std::string_view id,
                                       json::object body, const TouchedProperties& touched,
                                       const WriteStamp& stamp, const TwinBuildOptions& options);

// Validates a relationship body ({"$relationshipName", "$targetId", properties}) from the
// existing twin `source_id` and returns the document to store. Errors: NotFound
// "TargetTwinNotFound"; InvalidArgument "InvalidRelationship" (unknown name, wrong target model,
// maxMultiplicity reached) or "ValidationFailed" (properties).
Result<json::object> BuildRelationshipDocument(const GraphState& state, std::string_view source_id,
                                               std::string_view rel_id, const json::object& body,
                                               const std::string& etag);

// A property-level JSON Patch turning `before` into `after` (top-level properties and the
// properties of components; $-members ignored). For Twin.Update events of a PUT replace.
json::array DiffTwinContent(const json::object& before, const json::object& after);

// The canonical key of a primitive value for the property index: numbers by value (3 and 3.0
// share a key), strings and booleans by kind and value. nullopt for null, arrays, objects.
std::optional<std::string> ValueKey(const json::value& value);

// W/"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", unique per sequence number.
std::string MakeEtag(uint64_t seq);

// Ids of twins and relationships: non-empty, at most 1024 bytes, no control characters (the
// store joins source and relationship ids with '\n').
Status CheckId(std::string_view id, std::string_view what);

}  // namespace doppel::twin::internal
