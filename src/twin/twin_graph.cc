#include "twin/twin_graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

#include "twin/internal/twin_documents.h"

namespace doppel::twin {

using internal::TouchedProperties;
using internal::WriteStamp;

namespace {

Status TwinNotFound(std::string_view id) {
  return Status::NotFound(fmt::format("no digital twin '{}'", id), "DigitalTwinNotFound");
}

Status RelationshipNotFound(std::string_view source_id, std::string_view rel_id) {
  return Status::NotFound(fmt::format("twin '{}' has no relationship '{}'", source_id, rel_id),
                          "RelationshipNotFound");
}

Status ModelNotFound(std::string_view id) {
  return Status::NotFound(fmt::format("no model '{}'", id), "ModelNotFound");
}

// The $metadata.$model of a twin document, or "" if it has none.
std::string_view ModelIdOf(const json::object& doc) {
  const json::value* meta = doc.if_contains("$metadata");
  const json::value* model =
      meta && meta->is_object() ? meta->get_object().if_contains("$model") : nullptr;
  return model && model->is_string() ? std::string_view(model->get_string()) : std::string_view();
}

std::string EtagOf(const json::object& doc) {
  const json::value* etag = doc.if_contains("$etag");
  return etag && etag->is_string() ? std::string(etag->get_string()) : std::string();
}

// If-Match / If-None-Match as ADT applies them: "*" or one etag, compared exactly.
Status CheckPreconditions(const json::object* existing, const Preconditions& pre,
                          std::string_view what) {
  if (!pre.if_none_match.empty() && existing) {
    if (pre.if_none_match == "*" || pre.if_none_match == EtagOf(*existing)) {
      return Status::PreconditionFailed(
          fmt::format("{} already exists (If-None-Match: {})", what, pre.if_none_match),
          "PreconditionFailed");
    }
  }
  if (!pre.if_match.empty()) {
    if (!existing) {
      return Status::PreconditionFailed(
          fmt::format("{} does not exist (If-Match: {})", what, pre.if_match),
          "PreconditionFailed");
    }
    if (pre.if_match != "*" && pre.if_match != EtagOf(*existing)) {
      return Status::PreconditionFailed(
          fmt::format("{} has etag {}, not {} (If-Match)", what, EtagOf(*existing), pre.if_match),
          "PreconditionFailed");
    }
  }
  return Status::Ok();
}

Result<const json::object*> BodyObject(const json::value& body, std::string_view what) {
  const json::object* obj = body.if_object();
  if (!obj) {
    return Status::InvalidArgument(
        fmt::format("the {} must be a JSON object, not {}", what, JsonTypeName(body)),
        "InvalidArgument");
  }
  return obj;
}

Status PatchInvalid(std::string message) {
  return Status::InvalidArgument(std::move(message), std::string(kJsonPatchInvalid));
}

// A twin patch may change properties, components' properties and $metadata.$model; the
// server owns $dtId, $etag and the rest of $metadata.
Status CheckTwinPatchPath(const std::vector<std::string>& tokens, const std::string& path,
                          PatchOp op, std::size_t index) {
  auto fail = [&](std::string_view why) {
    return PatchInvalid(fmt::format("JSON Patch operation {} ({} {}): {}", index, PatchOpName(op),
                                    path.empty() ? "\"\"" : path, why));
  };
  if (op == PatchOp::kTest) return Status::Ok();
  if (tokens.empty()) return fail("cannot replace the whole twin; patch its properties");
  if (tokens[0] == "$dtId" || tokens[0] == "$etag") return fail("is read-only");
  if (tokens[0] == "$metadata") {
    if (tokens.size() == 2 && tokens[1] == "$model" && op == PatchOp::kReplace) return Status::Ok();
    return fail("only /$metadata/$model may be patched (with replace)");
  }
  if (tokens.size() >= 2 && tokens[1] == "$metadata")
    return fail("a component's $metadata is read-only");
  return Status::Ok();
}

Status CheckRelationshipPatchPath(const PatchOperation& op, std::size_t index) {
  if (op.op == PatchOp::kTest) return Status::Ok();
  auto system = [](const std::vector<std::string>& tokens) {
    return tokens.empty() || tokens[0].starts_with('$');
  };
  bool has_from = op.op == PatchOp::kMove || op.op == PatchOp::kCopy;
  if (system(op.path_tokens) || (has_from && system(op.from_tokens))) {
    return PatchInvalid(
        fmt::format("JSON Patch operation {} ({} {}): only relationship properties may be patched",
                    index, PatchOpName(op.op), op.path.empty() ? "\"\"" : op.path));
  }
  return Status::Ok();
}

json::object LocalizedToJson(const model::LocalizedText& text) {
  json::object out;
  for (const auto& [lang, value] : text) out[lang] = value;
  return out;
}

json::object ModelData(const model::ModelEntry& entry, bool include_definition) {
  const model::Interface& iface = *entry.interface;
  json::object out;
  out["id"] = iface.id;
  if (!iface.display_name.empty()) out["displayName"] = LocalizedToJson(iface.display_name);
  if (!iface.description.empty()) out["description"] = LocalizedToJson(iface.description);
  out["uploadTime"] = entry.upload_time;
  out["decommissioned"] = entry.decommissioned;
  if (include_definition) out["model"] = iface.source;
  return out;
}

std::string ModelRecord(const model::ModelEntry& entry) {
  return ToJson(json::object{{"model", entry.interface->source},
                             {"uploadTime", entry.upload_time},
                             {"decommissioned", entry.decommissioned}});
}

std::string RelationshipKey(std::string_view source_id, std::string_view rel_id) {
  std::string key;
  key.reserve(source_id.size() + rel_id.size() + 1);
  key.append(source_id).append(1, '\n').append(rel_id);
  return key;
}

std::string RelationshipSubject(std::string_view source_id, std::string_view rel_id) {
  return fmt::format("{}/relationships/{}", source_id, rel_id);
}

Relationship RelationshipFromDoc(std::string source_id, std::string rel_id, json::object doc) {
  Relationship rel;
  rel.id = std::move(rel_id);
  rel.source_id = std::move(source_id);
  if (const auto* v = doc.if_contains("$targetId"); v && v->is_string())
    rel.target_id = v->get_string();
  if (const auto* v = doc.if_contains("$relationshipName"); v && v->is_string())
    rel.name = v->get_string();
  rel.doc = std::move(doc);
  return rel;
}

// Every model `id` depends on: its bases and the schemas of its components, transitively.
void CollectDependencies(const model::ModelRegistry& models, const std::string& id,
                         std::set<std::string>& out) {
  if (!out.insert(id).second) return;
  model::InterfacePtr iface = models.Get(id);
  if (!iface) return;
  for (const auto& base : iface->ancestors) CollectDependencies(models, base, out);
  for (const auto& [name, content] : iface->contents) {
    if (content.kind == model::ContentKind::kComponent)
      CollectDependencies(models, content.component_interface, out);
  }
}

}  // namespace

// ---- TwinGraph: plumbing ----

TwinGraph::TwinGraph(Journal& journal, const Clock& clock, EventBus& events)
    : journal_(journal), clock_(clock), events_(events) {}

std::string TwinGraph::NextEtag() const { return internal::MakeEtag(last_event_seq_ + 1); }

std::string TwinGraph::Now() const { return FormatRfc3339(clock_.Now()); }

Status TwinGraph::CommitLocked(std::span<const Mutation> mutations) {
  return journal_.Commit(mutations, last_event_seq_ + 1);
}

void TwinGraph::PublishLocked(EventType type, std::string subject, json::value data) {
  GraphEvent event;
  event.seq = ++last_event_seq_;
  event.type = type;
  event.subject = std::move(subject);
  event.time = Now();
  event.data = std::move(data);
  events_.Publish(event);
}

std::size_t TwinGraph::twin_count() const {
  std::shared_lock lock(mu_);
  return state_.twins_.size();
}

std::size_t TwinGraph::model_count() const {
  std::shared_lock lock(mu_);
  return state_.models_.entries().size();
}

uint64_t TwinGraph::last_event_seq() const {
  std::shared_lock lock(mu_);
  return last_event_seq_;
}

// ---- restore ----

namespace {

struct StoredModel {
  json::value source;
  std::string upload_time;
  bool decommissioned = false;
};

Result<json::object> ParseRecord(std::string_view key, std::string_view value,
                                 std::string_view what) {
  auto parsed = ParseJson(value);
  if (!parsed.ok() || !parsed->is_object()) {
    return Status::Internal(fmt::format("stored {} '{}' is corrupt: {}", what, key,
                                        parsed.ok() ? "not an object" : parsed.status().message()));
  }
  return std::move(parsed->as_object());
}

Result<StoredModel> ParseModelRecord(std::string_view key, std::string_view value) {
  DOPPEL_ASSIGN_OR_RETURN(json::object record, ParseRecord(key, value, "model"));
  StoredModel m;
  if (auto* src = record.if_contains("model")) m.source = std::move(*src);
  if (auto* t = record.if_contains("uploadTime"); t && t->is_string())
    m.upload_time = t->get_string();
  if (auto* d = record.if_contains("decommissioned"); d && d->is_bool())
    m.decommissioned = d->get_bool();
  if (m.source.is_null())
    return Status::Internal(fmt::format("stored model '{}' has no definition", key));
  return m;
}

Result<Twin> ParseTwinRecord(std::string_view key, std::string_view value) {
  DOPPEL_ASSIGN_OR_RETURN(json::object doc, ParseRecord(key, value, "twin"));
  std::string_view model_id = ModelIdOf(doc);
  if (model_id.empty()) return Status::Internal(fmt::format("stored twin '{}' has no $model", key));
  Twin twin;
  twin.id = key;
  twin.model_id = model_id;
  twin.doc = std::move(doc);
  return twin;
}

}  // namespace

Status TwinGraph::Restore() {
  std::unique_lock lock(mu_);
  state_ = GraphState();
  std::vector<StoredModel> models;
  auto visit = [&](Mutation::Kind kind, std::string_view key, std::string_view value) -> Status {
    switch (kind) {
      case Mutation::Kind::kPutModel: {
        DOPPEL_ASSIGN_OR_RETURN(StoredModel m, ParseModelRecord(key, value));
        models.push_back(std::move(m));
        return Status::Ok();
      }
      case Mutation::Kind::kPutTwin: {
        DOPPEL_ASSIGN_OR_RETURN(Twin twin, ParseTwinRecord(key, value));
        state_.AppendRestoredTwin(std::move(twin));
        return Status::Ok();
      }
      case Mutation::Kind::kPutRelationship: {
        auto sep = key.find('\n');
        if (sep == std::string_view::npos) {
          return Status::Internal(fmt::format("stored relationship key '{}' lacks a source", key));
        }
        DOPPEL_ASSIGN_OR_RETURN(json::object doc, ParseRecord(key, value, "relationship"));
        state_.PutRelationship(RelationshipFromDoc(
            std::string(key.substr(0, sep)), std::string(key.substr(sep + 1)), std::move(doc)));
        return Status::Ok();
      }
      default:
        return Status::Internal("journal replay yielded a delete");
    }
  };
  uint64_t seq = 0;
  DOPPEL_RETURN_IF_ERROR(journal_.Replay(visit, seq));

  // Models are parsed as one batch so that references between them resolve in any order.
  std::vector<json::value> sources;
  sources.reserve(models.size());
  for (auto& m : models) sources.push_back(std::move(m.source));
  if (!sources.empty()) {
    model::ParseOptions options;
    options.allow_undefined_extensions = true;  // whatever was accepted once stays loadable
    options.max_interfaces = std::max(options.max_interfaces, sources.size());
    auto prepared = state_.models_.Prepare(sources, options);
    if (!prepared.ok()) {
      return Status::Internal("stored models no longer load: " + prepared.status().message());
    }
    std::map<std::string, std::size_t, std::less<>> index_of;
    for (std::size_t i = 0; i < sources.size(); ++i) {
      if (const auto* id =
              sources[i].is_object() ? sources[i].get_object().if_contains("@id") : nullptr;
          id && id->is_string()) {
        index_of[std::string(id->get_string())] = i;
      }
    }
    for (auto& iface : *prepared) {
      auto it = index_of.find(iface->id);
      const StoredModel* stored = it == index_of.end() ? nullptr : &models[it->second];
      std::string id = iface->id;
      state_.models_.Commit({std::move(iface)}, stored ? stored->upload_time : std::string());
      if (stored && stored->decommissioned) state_.models_.SetDecommissioned(id, true);
    }
  }
  last_event_seq_ = seq;
  return Status::Ok();
}

// ---- models ----

Result<json::array> TwinGraph::AddModels(const std::vector<json::value>& documents,
                                         const model::ParseOptions& options) {
  std::unique_lock lock(mu_);
  DOPPEL_ASSIGN_OR_RETURN(std::vector<model::InterfacePtr> interfaces,
                          state_.models_.Prepare(documents, options));
  std::string now = Now();
  std::vector<Mutation> mutations;
  mutations.reserve(interfaces.size());
  json::array created;
  std::vector<std::string> ids;
  for (const auto& iface : interfaces) {
    model::ModelEntry entry{iface, false, now};
    mutations.push_back({Mutation::Kind::kPutModel, iface->id, ModelRecord(entry)});
    created.push_back(ModelData(entry, false));
    ids.push_back(iface->id);
  }
  DOPPEL_RETURN_IF_ERROR(CommitLocked(mutations));
  state_.models_.Commit(std::move(interfaces), now);
  PublishLocked(EventType::kModelsCreated, fmt::format("{}", fmt::join(ids, ",")), created);
  return created;
}

Result<json::object> TwinGraph::GetModel(std::string_view id, bool include_model_definition) const {
  std::shared_lock lock(mu_);
  const model::ModelEntry* entry = state_.models_.Find(id);
  if (!entry) return ModelNotFound(id);
  return ModelData(*entry, include_model_definition);
}

Result<json::array> TwinGraph::ListModels(const ModelListOptions& options) const {
  std::shared_lock lock(mu_);
  json::array out;
  const auto& entries = state_.models_.entries();
  if (options.dependencies_for.empty()) {
    for (const auto& [id, entry] : entries)
      out.push_back(ModelData(entry, options.include_model_definition));
    return out;
  }
  std::set<std::string> wanted;
  for (const auto& id : options.dependencies_for) {
    if (!state_.models_.Find(id)) return ModelNotFound(id);
    CollectDependencies(state_.models_, id, wanted);
  }
  for (const auto& id : wanted) {
    if (const auto* entry = state_.models_.Find(id))
      out.push_back(ModelData(*entry, options.include_model_definition));
  }
  return out;
}

Status TwinGraph::PatchModel(std::string_view id, const json::value& patch) {
  std::unique_lock lock(mu_);
  const model::ModelEntry* entry = state_.models_.Find(id);
  if (!entry) return ModelNotFound(id);
  DOPPEL_ASSIGN_OR_RETURN(auto ops, ParseJsonPatch(patch));
  bool decommission = entry->decommissioned;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto& op = ops[i];
    if (op.op != PatchOp::kReplace || op.path != "/decommissioned" || !op.value.is_bool()) {
      return PatchInvalid(
          fmt::format("JSON Patch operation {} ({} {}): a model patch may only replace "
                      "/decommissioned with true",
                      i, PatchOpName(op.op), op.path));
    }
    if (!op.value.get_bool() && entry->decommissioned) {
      return PatchInvalid(
          fmt::format("JSON Patch operation {}: model {} is decommissioned and cannot be "
                      "recommissioned",
                      i, id));
    }
    decommission = decommission || op.value.get_bool();
  }
  if (decommission == entry->decommissioned) return Status::Ok();
  model::ModelEntry updated = *entry;
  updated.decommissioned = true;
  Mutation m{Mutation::Kind::kPutModel, std::string(id), ModelRecord(updated)};
  DOPPEL_RETURN_IF_ERROR(CommitLocked({&m, 1}));
  state_.models_.SetDecommissioned(id, true);
  PublishLocked(EventType::kModelUpdated, std::string(id), ModelData(updated, false));
  return Status::Ok();
}

Status TwinGraph::DeleteModel(std::string_view id) {
  std::unique_lock lock(mu_);
  const model::ModelEntry* entry = state_.models_.Find(id);
  if (!entry) return ModelNotFound(id);
  if (const auto* twins = state_.TwinsOfExactModel(id)) {
    return Status::Conflict(
        fmt::format("model {} is used by {} twin(s), e.g. '{}'; delete them first", id,
                    twins->size(), *twins->begin()),
        "ModelReferencesNotDeleted");
  }
  if (auto referrers = state_.models_.ReferencedBy(id); !referrers.empty()) {
    return Status::Conflict(fmt::format("model {} is referenced by model(s) {}; delete them first",
                                        id, fmt::join(referrers, ", ")),
                            "ModelReferencesNotDeleted");
  }
  json::object data = ModelData(*entry, false);
  Mutation m{Mutation::Kind::kDeleteModel, std::string(id), {}};
  DOPPEL_RETURN_IF_ERROR(CommitLocked({&m, 1}));
  state_.models_.Remove(id);
  PublishLocked(EventType::kModelDeleted, std::string(id), std::move(data));
  return Status::Ok();
}

// ---- twins ----

Result<json::object> TwinGraph::PutTwin(std::string_view id, const json::value& body,
                                        const Preconditions& pre) {
  DOPPEL_RETURN_IF_ERROR(internal::CheckId(id, "digital twin"));
  DOPPEL_ASSIGN_OR_RETURN(const json::object* obj, BodyObject(body, "digital twin"));
  std::unique_lock lock(mu_);
  const Twin* existing = state_.FindTwin(id);
  DOPPEL_RETURN_IF_ERROR(CheckPreconditions(existing ? &existing->doc : nullptr, pre,
                                            fmt::format("digital twin '{}'", id)));
  internal::TwinBuildOptions options;
  options.previous_model = existing ? &existing->model_id : nullptr;
  DOPPEL_ASSIGN_OR_RETURN(
      json::object doc,
      internal::BuildTwinDocument(state_.models_, id, json::object(*obj), TouchedProperties::All(),
                                  WriteStamp{Now(), NextEtag()}, options));
  if (!existing) return CommitTwinLocked(id, std::move(doc), EventType::kTwinCreated, nullptr);
  json::array diff = internal::DiffTwinContent(existing->doc, doc);
  return CommitTwinLocked(id, std::move(doc), EventType::kTwinUpdated, std::move(diff));
}

Result<json::object> TwinGraph::CommitTwinLocked(std::string_view id, json::object doc,
                                                 EventType type, json::value patch) {
  Mutation m{Mutation::Kind::kPutTwin, std::string(id), ToJson(doc)};
  DOPPEL_RETURN_IF_ERROR(CommitLocked({&m, 1}));
  json::object data;
  data["doc"] = doc;
  if (!patch.is_null()) data["patch"] = std::move(patch);
  std::string model_id(doc.at("$metadata").at("$model").as_string());
  state_.PutTwin(Twin{std::string(id), std::move(model_id), std::move(doc)});
  PublishLocked(type, std::string(id), std::move(data));
  return state_.FindTwin(id)->doc;
}

Result<json::object> TwinGraph::GetTwin(std::string_view id) const {
  std::shared_lock lock(mu_);
  const Twin* twin = state_.FindTwin(id);
  if (!twin) return TwinNotFound(id);
  return twin->doc;
}

Result<json::object> TwinGraph::PatchTwin(std::string_view id, const json::value& patch,
                                          const Preconditions& pre) {
  DOPPEL_ASSIGN_OR_RETURN(auto ops, ParseJsonPatch(patch));
  std::unique_lock lock(mu_);
  return PatchTwinLocked(id, std::move(ops), patch, pre);
}

Result<json::object> TwinGraph::PatchTwinLocked(std::string_view id,
                                                std::vector<PatchOperation> ops,
                                                json::value event_patch, const Preconditions& pre) {
  const Twin* existing = state_.FindTwin(id);
  if (!existing) return TwinNotFound(id);
  DOPPEL_RETURN_IF_ERROR(
      CheckPreconditions(&existing->doc, pre, fmt::format("digital twin '{}'", id)));
  for (std::size_t i = 0; i < ops.size(); ++i) {
    DOPPEL_RETURN_IF_ERROR(CheckTwinPatchPath(ops[i].path_tokens, ops[i].path, ops[i].op, i));
    if (ops[i].op == PatchOp::kMove || ops[i].op == PatchOp::kCopy) {
      DOPPEL_RETURN_IF_ERROR(CheckTwinPatchPath(ops[i].from_tokens, ops[i].from, ops[i].op, i));
    }
  }
  json::value scratch = existing->doc;  // patched in place; the stored twin stays untouched
  DOPPEL_RETURN_IF_ERROR(ApplyJsonPatchInPlace(ops, scratch));
  internal::TwinBuildOptions options;
  options.previous_model = &existing->model_id;
  options.validate_untouched = ModelIdOf(scratch.as_object()) != existing->model_id;
  DOPPEL_ASSIGN_OR_RETURN(json::object doc, internal::BuildTwinDocument(
                                                state_.models_, id, std::move(scratch.as_object()),
                                                TouchedProperties::FromPatch(ops),
                                                WriteStamp{Now(), NextEtag()}, options));
  return CommitTwinLocked(id, std::move(doc), EventType::kTwinUpdated, std::move(event_patch));
}

Status TwinGraph::DeleteTwin(std::string_view id, const Preconditions& pre) {
  std::unique_lock lock(mu_);
  const Twin* existing = state_.FindTwin(id);
  if (!existing) return TwinNotFound(id);
  DOPPEL_RETURN_IF_ERROR(
      CheckPreconditions(&existing->doc, pre, fmt::format("digital twin '{}'", id)));
  const auto* out = state_.Outgoing(id);
  const auto* in = state_.Incoming(id);
  if (out || in) {
    // 400, as ADT's 2023-10-31 Swagger lists it: clients written for ADT switch on it.
    return Status::InvalidArgument(fmt::format("digital twin '{}' still has {} outgoing and {} incoming "
                                        "relationship(s); delete them first",
                                        id, out ? out->size() : 0, in ? in->size() : 0),
                            "RelationshipsNotDeleted");
  }
  Mutation m{Mutation::Kind::kDeleteTwin, std::string(id), {}};
  DOPPEL_RETURN_IF_ERROR(CommitLocked({&m, 1}));
  json::object deleted = existing->doc;
  state_.EraseTwin(id);
  PublishLocked(EventType::kTwinDeleted, std::string(id), std::move(deleted));
  return Status::Ok();
}

Status TwinGraph::EraseTwin(std::string_view id, std::size_t* relationships) {
  std::vector<Mutation> mutations;
  {
    std::unique_lock lock(mu_);
    const Twin* existing = state_.FindTwin(id);
    if (!existing) return TwinNotFound(id);
    std::vector<std::pair<std::string, std::string>> rels;  // (source, relationship id)
    if (const auto* out = state_.Outgoing(id)) {
      for (const auto& [rel_id, rel] : *out) rels.emplace_back(std::string(id), rel_id);
    }
    if (const auto* in = state_.Incoming(id)) {
      for (const auto& [source, rel_id] : *in) {
        if (source != id) rels.emplace_back(source, rel_id);  // a self-relationship is outgoing too
      }
    }
    for (const auto& [source, rel_id] : rels) {
      mutations.push_back({Mutation::Kind::kDeleteRelationship, RelationshipKey(source, rel_id), {}});
    }
    mutations.push_back({Mutation::Kind::kDeleteTwin, std::string(id), {}});
    // One commit for all of it, recording the sequence of the last of its events.
    DOPPEL_RETURN_IF_ERROR(journal_.Commit(mutations, last_event_seq_ + mutations.size()));
    for (const auto& [source, rel_id] : rels) {
      json::object deleted = state_.FindRelationship(source, rel_id)->doc;
      state_.EraseRelationship(source, rel_id);
      PublishLocked(EventType::kRelationshipDeleted, RelationshipSubject(source, rel_id), std::move(deleted));
    }
    json::object deleted = existing->doc;
    state_.EraseTwin(id);
    PublishLocked(EventType::kTwinDeleted, std::string(id), std::move(deleted));
    if (relationships != nullptr) *relationships = rels.size();
  }
  // Outside the lock: a store may rewrite files for this, and other writers must not wait.
  return journal_.Purge(mutations);
}

// ---- components ----

namespace {

Status CheckComponent(const GraphState& state, const Twin& twin, std::string_view component) {
  model::InterfacePtr iface = state.models().Get(twin.model_id);
  const model::Content* content = iface ? iface->Find(component) : nullptr;
  if (!content || content->kind != model::ContentKind::kComponent) {
    return Status::NotFound(fmt::format("digital twin '{}' (model {}) has no component '{}'",
                                        twin.id, twin.model_id, component),
                            "ComponentNotFound");
  }
  return Status::Ok();
}

// Re-roots a component patch at the twin: "/p" → "/<component>/p".
json::value PrefixPatch(const json::value& patch, std::vector<PatchOperation>& ops,
                        std::string_view component) {
  std::string prefix = "/" + EscapeJsonPointerToken(component);
  json::array rewritten = patch.get_array();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto& op = ops[i];
    auto& obj = rewritten[i].as_object();
    op.path = prefix + op.path;
    op.path_tokens.insert(op.path_tokens.begin(), std::string(component));
    obj["path"] = op.path;
    if (op.op == PatchOp::kMove || op.op == PatchOp::kCopy) {
      op.from = prefix + op.from;
      op.from_tokens.insert(op.from_tokens.begin(), std::string(component));
      obj["from"] = op.from;
    }
  }
  return rewritten;
}

}  // namespace

Result<json::object> TwinGraph::GetComponent(std::string_view id,
                                             std::string_view component) const {
  std::shared_lock lock(mu_);
  const Twin* twin = state_.FindTwin(id);
  if (!twin) return TwinNotFound(id);
  DOPPEL_RETURN_IF_ERROR(CheckComponent(state_, *twin, component));
  const json::value* value = twin->doc.if_contains(component);
  if (!value || !value->is_object()) return json::object{{"$metadata", json::object()}};
  return value->get_object();
}

Result<json::object> TwinGraph::PatchComponent(std::string_view id, std::string_view component,
                                               const json::value& patch, const Preconditions& pre) {
  DOPPEL_ASSIGN_OR_RETURN(auto ops, ParseJsonPatch(patch));
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].op != PatchOp::kTest && ops[i].path_tokens.empty()) {
      return PatchInvalid(
          fmt::format("JSON Patch operation {} ({} \"\"): cannot replace the whole component; "
                      "patch its properties",
                      i, PatchOpName(ops[i].op)));
    }
  }
  std::unique_lock lock(mu_);
  const Twin* twin = state_.FindTwin(id);
  if (!twin) return TwinNotFound(id);
  DOPPEL_RETURN_IF_ERROR(CheckComponent(state_, *twin, component));
  json::value event_patch = PrefixPatch(patch, ops, component);
  return PatchTwinLocked(id, std::move(ops), std::move(event_patch), pre);
}

// ---- relationships ----

Result<json::object> TwinGraph::PutRelationship(std::string_view source_id, std::string_view rel_id,
                                                const json::value& body, const Preconditions& pre) {
  DOPPEL_RETURN_IF_ERROR(internal::CheckId(source_id, "digital twin"));
  DOPPEL_RETURN_IF_ERROR(internal::CheckId(rel_id, "relationship"));
  DOPPEL_ASSIGN_OR_RETURN(const json::object* obj, BodyObject(body, "relationship"));
  std::unique_lock lock(mu_);
  if (!state_.FindTwin(source_id)) return TwinNotFound(source_id);
  const Relationship* existing = state_.FindRelationship(source_id, rel_id);
  DOPPEL_RETURN_IF_ERROR(
      CheckPreconditions(existing ? &existing->doc : nullptr, pre,
                         fmt::format("relationship '{}' of '{}'", rel_id, source_id)));
  DOPPEL_ASSIGN_OR_RETURN(json::object doc, internal::BuildRelationshipDocument(
                                                state_, source_id, rel_id, *obj, NextEtag()));
  if (!existing) {
    return CommitRelationshipLocked(source_id, rel_id, std::move(doc),
                                    EventType::kRelationshipCreated, nullptr);
  }
  json::array diff = internal::DiffTwinContent(existing->doc, doc);
  return CommitRelationshipLocked(source_id, rel_id, std::move(doc),
                                  EventType::kRelationshipUpdated, std::move(diff));
}

Result<json::object> TwinGraph::CommitRelationshipLocked(std::string_view source_id,
                                                         std::string_view rel_id, json::object doc,
                                                         EventType type, json::value patch) {
  Mutation m{Mutation::Kind::kPutRelationship, RelationshipKey(source_id, rel_id), ToJson(doc)};
  DOPPEL_RETURN_IF_ERROR(CommitLocked({&m, 1}));
  json::object data{{"doc", doc}};
  if (!patch.is_null()) data["patch"] = std::move(patch);
  state_.PutRelationship(RelationshipFromDoc(std::string(source_id), std::string(rel_id), doc));
  PublishLocked(type, RelationshipSubject(source_id, rel_id), std::move(data));
  return doc;
}

Result<const Relationship*> TwinGraph::WritableRelationshipLocked(std::string_view source_id,
                                                                  std::string_view rel_id,
                                                                  const Preconditions& pre) const {
  if (!state_.FindTwin(source_id)) return TwinNotFound(source_id);
  const Relationship* existing = state_.FindRelationship(source_id, rel_id);
  if (!existing) return RelationshipNotFound(source_id, rel_id);
  DOPPEL_RETURN_IF_ERROR(CheckPreconditions(
      &existing->doc, pre, fmt::format("relationship '{}' of '{}'", rel_id, source_id)));
  return existing;
}

Result<json::object> TwinGraph::GetRelationship(std::string_view source_id,
                                                std::string_view rel_id) const {
  std::shared_lock lock(mu_);
  if (!state_.FindTwin(source_id)) return TwinNotFound(source_id);
  const Relationship* rel = state_.FindRelationship(source_id, rel_id);
  if (!rel) return RelationshipNotFound(source_id, rel_id);
  return rel->doc;
}

Result<json::object> TwinGraph::PatchRelationship(std::string_view source_id,
                                                  std::string_view rel_id, const json::value& patch,
                                                  const Preconditions& pre) {
  DOPPEL_ASSIGN_OR_RETURN(auto ops, ParseJsonPatch(patch));
  for (std::size_t i = 0; i < ops.size(); ++i)
    DOPPEL_RETURN_IF_ERROR(CheckRelationshipPatchPath(ops[i], i));
  std::unique_lock lock(mu_);
  DOPPEL_ASSIGN_OR_RETURN(const Relationship* existing,
                          WritableRelationshipLocked(source_id, rel_id, pre));
  json::value scratch = existing->doc;
  DOPPEL_RETURN_IF_ERROR(ApplyJsonPatchInPlace(ops, scratch));
  DOPPEL_ASSIGN_OR_RETURN(json::object doc,
                          internal::BuildRelationshipDocument(state_, source_id, rel_id,
                                                              scratch.get_object(), NextEtag()));
  return CommitRelationshipLocked(source_id, rel_id, std::move(doc),
                                  EventType::kRelationshipUpdated, patch);
}

Status TwinGraph::DeleteRelationship(std::string_view source_id, std::string_view rel_id,
                                     const Preconditions& pre) {
  std::unique_lock lock(mu_);
  DOPPEL_ASSIGN_OR_RETURN(const Relationship* existing,
                          WritableRelationshipLocked(source_id, rel_id, pre));
  Mutation m{Mutation::Kind::kDeleteRelationship, RelationshipKey(source_id, rel_id), {}};
  DOPPEL_RETURN_IF_ERROR(CommitLocked({&m, 1}));
  json::object deleted = existing->doc;
  state_.EraseRelationship(source_id, rel_id);
  PublishLocked(EventType::kRelationshipDeleted, RelationshipSubject(source_id, rel_id),
                std::move(deleted));
  return Status::Ok();
}

Result<json::array> TwinGraph::ListRelationships(std::string_view source_id,
                                                 std::string_view name) const {
  std::shared_lock lock(mu_);
  if (!state_.FindTwin(source_id)) return TwinNotFound(source_id);
  json::array out;
  if (const auto* rels = state_.Outgoing(source_id)) {
    for (const auto& [id, rel] : *rels) {
      if (name.empty() || rel.name == name) out.push_back(rel.doc);
    }
  }
  return out;
}

Result<json::array> TwinGraph::ListIncomingRelationships(std::string_view target_id) const {
  std::shared_lock lock(mu_);
  if (!state_.FindTwin(target_id)) return TwinNotFound(target_id);
  json::array out;
  if (const auto* incoming = state_.Incoming(target_id)) {
    for (const auto& [source_id, rel_id] : *incoming) {
      const Relationship* rel = state_.FindRelationship(source_id, rel_id);
      if (!rel) continue;
      out.push_back(json::object{
          {"$relationshipId", rel_id},
          {"$sourceId", source_id},
          {"$relationshipName", rel->name},
          {"$relationshipLink", "/digitaltwins/" + source_id + "/relationships/" + rel_id}});
    }
  }
  return out;
}

}  // namespace doppel::twin
