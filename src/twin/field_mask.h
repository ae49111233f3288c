// Which values of a twin a reader may not see: the predicate that masks classified properties
// and telemetry (personal, confidential, ...) for callers without the clearance, wherever twin
// values are read — twin and component documents, query rows and conditions, live telemetry,
// history and streams. Built by the server from the caller's clearances and the data
// classification (auth/classification.h); the domain modules only call it. The twin-level
// sibling of TwinFilter (twin/visibility.h), which hides whole twins.
//
//   twin::FieldMask mask = classification.MaskFor(principal);   // null: sees every value
//   if (mask) MaskTwinDocument(doc, mask);                       // GET /digitaltwins/{id}
//   if (mask.Hides(model_id, "badgeId")) ...                     // one reading, one series
//
// A value is named by its path: a property or telemetry name ("badgeId"), or
// "<component>/<name>" for one inside a component (the form ingest::Reading uses).
//
// A masked value in a document is removed, and its $metadata entry is replaced by
// {"masked": "<classification>"}, so a reader learns that a value exists and why it is hidden,
// never the value or when it was last written.
//
// Thread-safety: a FieldMask is a value; its functions must be callable from any thread,
// possibly under the graph's shared lock (they must not call back into the TwinGraph).
#pragma once

#include <functional>
#include <string_view>

#include "base/json.h"

namespace doppel::twin {

struct FieldMask {
  // The classification hiding `path` of a twin of `model_id` from this reader, or "" when the
  // reader may see it. The view stays valid as long as whatever built the mask lives.
  std::function<std::string_view(std::string_view model_id, std::string_view path)> hidden;
  // False when no value of a twin of `model_id` is hidden from this reader: a quick pre-check
  // (a hash lookup) that spares the per-value calls for the many unclassified models.
  std::function<bool(std::string_view model_id)> hides_any;

  explicit operator bool() const { return static_cast<bool>(hidden); }
  // The classification hiding `path`, or "" (also for a null mask).
  std::string_view Hides(std::string_view model_id, std::string_view path) const {
    if (!hidden || (hides_any && !hides_any(model_id))) return {};
    return hidden(model_id, path);
  }
};

// The object put in $metadata in place of a masked value's entry: {"masked": "<class>"}.
json::object MaskedMetadata(std::string_view classification);

// Masks a twin document (its model from $metadata.$model) in place: every top-level property
// and every property of a component (an object member carrying "$metadata") that `mask`
// hides is removed and its $metadata entry replaced (see the file comment). Returns true when
// something was masked. A null mask changes nothing.
bool MaskTwinDocument(json::object& doc, const FieldMask& mask);

// The same for one component's document (GET .../components/{name}) of a twin of `model_id`.
bool MaskComponentDocument(json::object& component, std::string_view model_id,
                           std::string_view component_name, const FieldMask& mask);

// A JSON Patch (as in Twin.Update events) without the operations on values `mask` hides for a
// twin of `model_id`: ops whose path is "/<name>[/...]", "/<component>/<name>[/...]", or the
// same under "/$metadata/". Returns true when some operation was removed.
bool MaskPatch(json::array& patch, std::string_view model_id, const FieldMask& mask);

}  // namespace doppel::twin
