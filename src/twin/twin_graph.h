// The twin graph: models, twins (instances of models) and relationships (typed edges), kept in
// memory, validated against the models, made durable through a Journal, announced on an
// EventBus.
//
// Documents use the Azure Digital Twins JSON shapes, so the server passes them through:
//   twin:         {"$dtId", "$etag", "$metadata": {"$model", "$lastUpdateTime",
//                  "<prop>": {"lastUpdateTime"}}, "<prop>": value, "<component>": {
//                  "$metadata": {...}, "<prop>": value}}
//   relationship: {"$relationshipId", "$etag", "$sourceId", "$relationshipName", "$targetId",
//                  "<prop>": value}
//
// Thread-safety: every public method may be called from any thread. Writers are serialised by
// one mutex (a write validates, commits to the journal — an fsync — then applies in memory and
// publishes its events, in that order, so an event is never seen for a change that could be
// lost). Readers take a shared lock through Read() and see a consistent state.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "model/model_registry.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/json_patch.h"

namespace doppel::twin {

struct Twin {
  std::string id;
  std::string model_id;
  json::object doc;  // the full ADT representation, including $dtId, $etag, $metadata
};

struct Relationship {
  std::string id;
  std::string source_id;
  std::string target_id;
  std::string name;
  json::object doc;  // the full ADT representation
};

// Optimistic concurrency: If-Match / If-None-Match as received ("*" or an etag), or empty.
struct Preconditions {
  std::string if_match;
  std::string if_none_match;
};

// The graph's state, read under the shared lock (see TwinGraph::Read). Indexes are exact and
// maintained on every write.
class GraphState {
 public:
  const model::ModelRegistry& models() const { return models_; }
  // All twins, ordered by id (so a $dtId prefix is a range scan).
  const std::map<std::string, Twin, std::less<>>& twins() const { return twins_; }
  const Twin* FindTwin(std::string_view id) const;
  // Ids of twins whose model is exactly `model_id` (nullptr if none).
  const std::set<std::string>* TwinsOfExactModel(std::string_view model_id) const;
  // Outgoing relationships of `source_id`, by relationship id (nullptr if none).
  const std::map<std::string, Relationship, std::less<>>* Outgoing(
      std::string_view source_id) const;
  const Relationship* FindRelationship(std::string_view source_id, std::string_view rel_id) const;
  // Incoming relationships of `target_id` as (source id, relationship id) pairs.
  const std::set<std::pair<std::string, std::string>>* Incoming(std::string_view target_id) const;
  // Ids of twins whose top-level property `name` equals `value` (strings, numbers, booleans;
  // numbers compare by value, so 3 matches 3.0). nullptr if none.
  const std::set<std::string>* TwinsWithProperty(std::string_view name,
                                                 const json::value& value) const;
  std::size_t relationship_count() const { return relationship_count_; }

 private:
  friend class TwinGraph;
  // Mutations keep every index exact. PutTwin creates or replaces.
  void PutTwin(Twin twin);
  // For Restore: twins arrive in id order, so each insert lands at the end of the map.
  void AppendRestoredTwin(Twin twin);
  void EraseTwin(std::string_view id);
  void IndexTwin(const Twin& twin);
  void UnindexTwin(const Twin& twin);
  void ReindexTwin(const Twin& before, const Twin& after);
  void UnindexProperty(std::string_view name, const std::string& key, const std::string& id);
  void PutRelationship(Relationship rel);
  void EraseRelationship(std::string_view source_id, std::string_view rel_id);

  model::ModelRegistry models_;
  std::map<std::string, Twin, std::less<>> twins_;
  std::unordered_map<std::string, std::set<std::string>> twins_by_model_;
  std::unordered_map<std::string, std::map<std::string, Relationship, std::less<>>> outgoing_;
  std::unordered_map<std::string, std::set<std::pair<std::string, std::string>>> incoming_;
  // property name → canonical value key (internal::ValueKey: 3 and 3.0 share one) → twin ids
  std::unordered_map<std::string, std::unordered_map<std::string, std::set<std::string>>>
      by_property_;
  std::size_t relationship_count_ = 0;
};

struct ModelListOptions {
  std::vector<std::string> dependencies_for;  // only these models and what they depend on
  bool include_model_definition = false;
};

// Errors follow the ADT REST API (Status code → HTTP status; the Azure code in quotes):
//   NotFound: "DigitalTwinNotFound", "RelationshipNotFound", "ModelNotFound",
//     "ComponentNotFound", "TargetTwinNotFound" (a relationship's $targetId).
//   InvalidArgument: "InvalidArgument" (ids, body shape), "ValidationFailed" (content against
//     the model; the message names the property, e.g. "motor.rpm"), "JsonPatchInvalid",
//     "ModelNotFound"/"ModelDecommissioned" (a twin's $model), "InvalidRelationship" (name,
//     target model, maxMultiplicity), "DTDLParserError", "RelationshipsNotDeleted".
//   AlreadyExists "ModelAlreadyExists"; Conflict "ModelReferencesNotDeleted";
//   PreconditionFailed "PreconditionFailed" (If-Match / If-None-Match);
//   whatever Journal::Commit returns (nothing changed then).
// Events (see events.h for their data) are published only for writes that committed.
class TwinGraph {
 public:
  // `journal`, `clock` and `events` must outlive the graph.
  TwinGraph(Journal& journal, const Clock& clock, EventBus& events);

  // Rebuilds the in-memory state from the journal. Call once, before serving.
  Status Restore();

  // ---- models ----
  // Validates and adds a batch atomically; returns the ADT model data of each new model.
  Result<json::array> AddModels(const std::vector<json::value>& documents,
                                const model::ParseOptions& options = {});
  // ADT DigitalTwinsModelData: {"id", "displayName", "description", "uploadTime",
  // "decommissioned", "model"?}
  Result<json::object> GetModel(std::string_view id, bool include_model_definition) const;
  Result<json::array> ListModels(const ModelListOptions& options) const;
  // ADT PATCH /models/{id}: only [{"op":"replace","path":"/decommissioned","value":true}].
  Status PatchModel(std::string_view id, const json::value& patch);
  // Conflict ("ModelReferencesNotDeleted") if twins or other models reference it.
  Status DeleteModel(std::string_view id);

  // ---- twins ----
  // Create or replace. Returns the stored twin document (with $etag and $metadata). Every
  // component of the model must be present (at least as {"$metadata": {}}); a twin may not be
  // created with a decommissioned model.
  Result<json::object> PutTwin(std::string_view id, const json::value& body,
                               const Preconditions& pre);
  Result<json::object> GetTwin(std::string_view id) const;
  // JSON Patch (RFC 6902) on the twin's properties and components ("/prop", "/comp/prop");
  // "/$metadata/$model" may be replaced, other system members not. The result is validated
  // as a whole; only the touched properties get a new lastUpdateTime.
  Result<json::object> PatchTwin(std::string_view id, const json::value& patch,
                                 const Preconditions& pre);
  // InvalidArgument "RelationshipsNotDeleted" (400, as in ADT) if the twin still has
  // relationships, outgoing or incoming: ADT requires deleting them first.
  Status DeleteTwin(std::string_view id, const Preconditions& pre);
  // Right to erasure (docs/security.md, "Erasing a twin"): deletes every outgoing and incoming
  // relationship of the twin and then the twin, in ONE journal commit (all or nothing), and
  // publishes the events a client deleting them one by one would cause: RelationshipDeleted
  // for each (outgoing first, by id, then incoming by source), then TwinDeleted. After the
  // commit, outside the graph's lock, asks the journal to Purge the deleted records so their
  // bytes leave its files (Journal::Purge). `relationships` (optional) receives how many were
  // deleted. No preconditions: erasure is not a concurrent edit. Errors: NotFound
  // "DigitalTwinNotFound"; the journal's (nothing changed); Purge's (the twin is deleted, its
  // bytes may linger until the store's next compaction of that range).
  Status EraseTwin(std::string_view id, std::size_t* relationships = nullptr);

  // ---- components ----
  Result<json::object> GetComponent(std::string_view id, std::string_view component) const;
  // Paths in `patch` are relative to the component. Returns the whole updated twin (for its
  // $etag). NotFound "ComponentNotFound" if the twin's model has no such component.
  Result<json::object> PatchComponent(std::string_view id, std::string_view component,
                                      const json::value& patch, const Preconditions& pre);

  // ---- relationships ----
  Result<json::object> PutRelationship(std::string_view source_id, std::string_view rel_id,
                                       const json::value& body, const Preconditions& pre);
  Result<json::object> GetRelationship(std::string_view source_id, std::string_view rel_id) const;
  Result<json::object> PatchRelationship(std::string_view source_id, std::string_view rel_id,
                                         const json::value& patch, const Preconditions& pre);
  Status DeleteRelationship(std::string_view source_id, std::string_view rel_id,
                            const Preconditions& pre);
  // Outgoing relationships of a twin, optionally only those named `name` ("" = all).
  Result<json::array> ListRelationships(std::string_view source_id, std::string_view name) const;
  // ADT IncomingRelationship shape: {"$relationshipId","$sourceId","$relationshipName",
  // "$relationshipLink"}.
  Result<json::array> ListIncomingRelationships(std::string_view target_id) const;

  // ---- reads for queries, metrics, etc. ----
  // Runs `f(const GraphState&)` under the shared lock and returns what it returns.
  template <typename F>
  auto Read(F&& f) const {
    std::shared_lock lock(mu_);
    return f(state_);
  }
  std::size_t twin_count() const;
  std::size_t model_count() const;
  uint64_t last_event_seq() const;

 private:
  Result<json::object> PatchTwinLocked(std::string_view id, std::vector<PatchOperation> ops,
                                       json::value event_patch, const Preconditions& pre);
  // Commits, applies and announces a twin document built for a write; returns it. `patch`
  // (null for a create) goes into the event.
  Result<json::object> CommitTwinLocked(std::string_view id, json::object doc, EventType type,
                                        json::value patch);
  // The relationship a PATCH or DELETE addresses: its source twin and itself exist and `pre`
  // holds, or the error saying which does not.
  Result<const Relationship*> WritableRelationshipLocked(std::string_view source_id,
                                                         std::string_view rel_id,
                                                         const Preconditions& pre) const;
  // Commits, applies and announces a relationship document built for a write; returns it.
  // `patch` (null for a create) goes into the event.
  Result<json::object> CommitRelationshipLocked(std::string_view source_id,
                                                std::string_view rel_id, json::object doc,
                                                EventType type, json::value patch);
  // Commits `mutations` with the sequence number of the (single) event the write publishes;
  // on success the write may be applied, on error nothing has changed.
  Status CommitLocked(std::span<const Mutation> mutations);
  // Assigns the next sequence number and publishes. After CommitLocked and the apply.
  void PublishLocked(EventType type, std::string subject, json::value data);
  std::string NextEtag() const;
  std::string Now() const;

  Journal& journal_;
  const Clock& clock_;
  EventBus& events_;
  mutable std::shared_mutex mu_;  // guards state_ and last_event_seq_
  GraphState state_;
  uint64_t last_event_seq_ = 0;
};

}  // namespace doppel::twin
