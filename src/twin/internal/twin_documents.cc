#include "twin/internal/twin_documents.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "base/clock.h"
#include "model/value_validation.h"

namespace doppel::twin::internal {
namespace {

constexpr std::string_view kValidationFailed = "ValidationFailed";
constexpr std::string_view kInvalidRelationship = "InvalidRelationship";

Status Invalid(std::string message) {
  return Status::InvalidArgument(std::move(message), std::string(kValidationFailed));
}

std::string_view KindName(model::ContentKind kind) {
  switch (kind) {
    case model::ContentKind::kProperty:
      return "property";
    case model::ContentKind::kTelemetry:
      return "telemetry";
    case model::ContentKind::kCommand:
      return "command";
    case model::ContentKind::kRelationship:
      return "relationship";
    case model::ContentKind::kComponent:
      return "component";
  }
  return "content";
}

bool IsSystemName(std::string_view name) { return !name.empty() && name[0] == '$'; }

// $metadata.<prop> for a written property: lastUpdateTime moves only if the write touched it;
// a client-supplied sourceTime (when the reading was taken) is kept if it is a date-time.
// `previous` (the entry found in the body, if any) is consumed. `component` is "" for a
// top-level property (it only names the property in errors).
Result<json::object> PropertyMetadata(json::object* previous, bool touched,
                                      std::string_view component, std::string_view name,
                                      const std::string& now) {
  if (!touched && previous) {
    // An untouched property keeps its entry as stored (validated when it was written); this
    // is the common case of a PATCH, so it moves rather than rebuilds.
    const json::value* old_time = previous->if_contains("lastUpdateTime");
    if (old_time && old_time->is_string()) return std::move(*previous);
  }
  json::object meta;
  meta["lastUpdateTime"] = now;
  if (const json::value* source_time = previous ? previous->if_contains("sourceTime") : nullptr) {
    if (!source_time->is_string() || !ParseRfc3339(source_time->get_string()).ok()) {
      return Invalid(
          fmt::format("property '{}{}{}': $metadata sourceTime must be an RFC 3339 date-time",
                      component, component.empty() ? "" : ".", name));
    }
    meta["sourceTime"] = *source_time;
  }
  return meta;
}

json::object* MetadataEntry(json::object* metadata, std::string_view name) {
  if (!metadata) return nullptr;
  json::value* entry = metadata->if_contains(name);
  return entry ? entry->if_object() : nullptr;
}

Status NotSettable(const model::Content& content, std::string_view path,
                   std::string_view model_id) {
  return Invalid(fmt::format("'{}' is a {} of model {}, not a property, and cannot be set", path,
                             KindName(content.kind), model_id));
}

// `value` is consumed: its members move into the result.
Result<json::object> BuildComponent(const model::ModelRegistry& models,
                                    const model::Content& content, json::value& value,
                                    const TouchedProperties& touched, const WriteStamp& stamp,
                                    bool validate_untouched) {
  const std::string& name = content.name;
  json::object* body = value.if_object();
  json::value* meta_value = body ? body->if_contains("$metadata") : nullptr;
  if (!body || !meta_value || !meta_value->is_object()) {
    return Invalid(
        fmt::format("component '{}' must be an object holding \"$metadata\": {{}} and its "
                    "properties",
                    name));
  }
  model::InterfacePtr iface = models.Get(content.component_interface);
  if (!iface) {
    return Status::Internal(
        fmt::format("component '{}': schema {} is not loaded", name, content.component_interface));
  }
  json::object& meta_in = meta_value->get_object();
  json::object out;
  out.reserve(body->size());
  json::object meta;
  const json::value* old_time = meta_in.if_contains("$lastUpdateTime");
  meta["$lastUpdateTime"] = (!touched.TouchesComponent(name) && old_time && old_time->is_string())
                                ? *old_time
                                : json::value(stamp.now);
  out["$metadata"] = nullptr;  // keeps $metadata first; filled below
  for (auto& kv : *body) {
    std::string_view key = kv.key();
    if (key == "$metadata") continue;
    if (IsSystemName(key))
      return Invalid(fmt::format("component '{}': unknown member '{}'", name, key));
    const model::Content* prop = iface->Find(key);
    if (!prop) {
      return Invalid(fmt::format("property '{}.{}' is not defined in component '{}' ({})", name,
                                 key, name, iface->id));
    }
    if (prop->kind != model::ContentKind::kProperty)
      return NotSettable(*prop, fmt::format("{}.{}", name, key), iface->id);
    bool is_touched = touched.TouchesInComponent(name, key);
    if ((is_touched || validate_untouched) && prop->schema) {
      DOPPEL_RETURN_IF_ERROR(
          model::ValidateValue(*prop->schema, kv.value(), fmt::format("{}.{}", name, key)));
    }
    DOPPEL_ASSIGN_OR_RETURN(meta[key], PropertyMetadata(MetadataEntry(&meta_in, key), is_touched,
                                                        name, key, stamp.now));
    out[key] = std::move(kv.value());
  }
  out["$metadata"] = std::move(meta);
  return out;
}

Result<const model::ModelEntry*> TwinModel(const model::ModelRegistry& models,
                                           const json::object& body,
                                           const TwinBuildOptions& options) {
  const json::value* meta = body.if_contains("$metadata");
  const json::value* model_id =
      meta && meta->is_object() ? meta->get_object().if_contains("$model") : nullptr;
  if (!model_id || !model_id->is_string()) {
    return Invalid("a twin needs \"$metadata\": {\"$model\": \"<model id>\"}");
  }
  std::string_view id = model_id->get_string();
  const model::ModelEntry* entry = models.Find(id);
  if (!entry)
    return Status::InvalidArgument(fmt::format("model {} does not exist", id), "ModelNotFound");
  bool keeps_model = options.previous_model && *options.previous_model == id;
  if (entry->decommissioned && !keeps_model) {
    return Status::InvalidArgument(
        fmt::format("model {} is decommissioned: no new twins of it may be created", id),
        "ModelDecommissioned");
  }
  return entry;
}

// Numbers: integral values that fit an int64 print as integers, so 3, 3.0 and 3u share a key.
std::string NumberKey(const json::value& v) {
  char buf[40];
  buf[0] = 'n';
  char* const first = buf + 1;
  char* const last = buf + sizeof buf;
  std::to_chars_result r{first, std::errc()};
  if (v.is_int64()) {
    r = std::to_chars(first, last, v.get_int64());
  } else if (v.is_uint64()) {
    r = std::to_chars(first, last, v.get_uint64());
  } else if (double d = v.get_double(); std::trunc(d) == d && std::fabs(d) < 9.2e18) {
    r = std::to_chars(first, last, static_cast<int64_t>(d));
  } else {
    r = std::to_chars(first, last, d);
  }
  return std::string(buf, r.ec == std::errc() ? r.ptr : first);
}

void DiffMembers(const json::object& before, const json::object& after, const std::string& prefix,
                 bool recurse, json::array& out) {
  for (const auto& kv : after) {
    if (IsSystemName(kv.key())) continue;
    std::string path = prefix + "/" + EscapeJsonPointerToken(kv.key());
    const json::value* old = before.if_contains(kv.key());
    if (!old) {
      out.push_back(json::object{{"op", "add"}, {"path", path}, {"value", kv.value()}});
    } else if (recurse && old->is_object() && kv.value().is_object() &&
               kv.value().get_object().contains("$metadata")) {
      DiffMembers(old->get_object(), kv.value().get_object(), path, false, out);  // a component
    } else if (!JsonEqual(*old, kv.value())) {
      out.push_back(json::object{{"op", "replace"}, {"path", path}, {"value", kv.value()}});
    }
  }
  for (const auto& kv : before) {
    if (IsSystemName(kv.key()) || after.contains(kv.key())) continue;
    out.push_back(
        json::object{{"op", "remove"}, {"path", prefix + "/" + EscapeJsonPointerToken(kv.key())}});
  }
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

// ---- TouchedProperties ----

TouchedProperties TouchedProperties::All() {
  TouchedProperties t;
  t.all_ = true;
  return t;
}

TouchedProperties TouchedProperties::FromPatch(const std::vector<PatchOperation>& ops) {
  TouchedProperties t;
  auto note = [&t](const std::vector<std::string>& tokens) {
    if (tokens.empty()) {
      t.all_ = true;
    } else if (tokens.size() == 1) {
      t.whole_.insert(tokens[0]);
    } else {
      t.nested_[tokens[0]].insert(tokens[1]);
    }
  };
  for (const auto& op : ops) {
    if (op.op == PatchOp::kTest) continue;
    note(op.path_tokens);
    if (op.op == PatchOp::kMove) note(op.from_tokens);
  }
  return t;
}

bool TouchedProperties::Touches(std::string_view name) const {
  // "/p/field" changes property p as a whole: its lastUpdateTime moves too.
  return all_ || whole_.contains(name) || nested_.contains(name);
}

bool TouchedProperties::TouchesInComponent(std::string_view component,
                                           std::string_view name) const {
  if (all_ || whole_.contains(component)) return true;
  auto it = nested_.find(component);
  return it != nested_.end() && it->second.contains(name);
}

bool TouchedProperties::TouchesComponent(std::string_view component) const {
  return all_ || whole_.contains(component) || nested_.contains(component);
}

// ---- twins ----

Result<json::object> BuildTwinDocument(const model::ModelRegistry& models, std::string_view id,
                                       json::object body, const TouchedProperties& touched,
                                       const WriteStamp& stamp, const TwinBuildOptions& options) {
  DOPPEL_ASSIGN_OR_RETURN(const model::ModelEntry* entry, TwinModel(models, body, options));
  const model::Interface& iface = *entry->interface;
  json::object* meta_in = &body["$metadata"].get_object();

  json::object out;
  out.reserve(body.size() + 3);
  out["$dtId"] = id;
  out["$etag"] = stamp.etag;
  out["$metadata"] = nullptr;  // keeps the system members first; filled below
  json::object meta;
  meta.reserve(body.size() + 2);
  meta["$model"] = iface.id;
  meta["$lastUpdateTime"] = stamp.now;
  for (auto& kv : body) {
    std::string_view key = kv.key();
    if (key == "$dtId" || key == "$etag" || key == "$metadata") continue;
    if (IsSystemName(key)) return Invalid(fmt::format("unknown system property '{}'", key));
    const model::Content* content = iface.Find(key);
    if (!content)
      return Invalid(fmt::format("property '{}' is not defined in model {}", key, iface.id));
    if (content->kind == model::ContentKind::kComponent) {
      DOPPEL_ASSIGN_OR_RETURN(out[key], BuildComponent(models, *content, kv.value(), touched, stamp,
                                                       options.validate_untouched));
      continue;
    }
    if (content->kind != model::ContentKind::kProperty) return NotSettable(*content, key, iface.id);
    bool is_touched = touched.Touches(key);
    if ((is_touched || options.validate_untouched) && content->schema) {
      DOPPEL_RETURN_IF_ERROR(model::ValidateValue(*content->schema, kv.value(), key));
    }
    DOPPEL_ASSIGN_OR_RETURN(
        meta[key], PropertyMetadata(MetadataEntry(meta_in, key), is_touched, "", key, stamp.now));
    out[key] = std::move(kv.value());
  }
  // ADT requires every component to be present (at least as {"$metadata": {}}).
  for (const auto& [name, content] : iface.contents) {
    if (content.kind == model::ContentKind::kComponent && !out.contains(name)) {
      return Invalid(
          fmt::format("component '{}' of model {} is missing: send it as "
                      "\"{}\": {{\"$metadata\": {{}}}}",
                      name, iface.id, name));
    }
  }
  out["$metadata"] = std::move(meta);
  return out;
}

// ---- relationships ----

namespace {

Result<std::string_view> RequiredString(const json::object& body, std::string_view member) {
  const json::value* v = body.if_contains(member);
  if (!v || !v->is_string() || v->get_string().empty()) {
    return Status::InvalidArgument(
        fmt::format("a relationship needs a non-empty string '{}'", member), "InvalidArgument");
  }
  return std::string_view(v->get_string());
}

Status CheckMultiplicity(const GraphState& state, const model::Content& content,
                         std::string_view source_id, std::string_view rel_id,
                         std::string_view model_id) {
  if (!content.max_multiplicity) return Status::Ok();
  int64_t count = 0;
  if (const auto* out = state.Outgoing(source_id)) {
    for (const auto& [id, rel] : *out) {
      if (rel.name == content.name && id != rel_id) ++count;
    }
  }
  if (count >= *content.max_multiplicity) {
    return Status::InvalidArgument(
        fmt::format("twin '{}' already has {} '{}' relationship(s); model {} allows at most {}",
                    source_id, count, content.name, model_id, *content.max_multiplicity),
        std::string(kInvalidRelationship));
  }
  return Status::Ok();
}

Result<json::object> RelationshipProperties(const model::Content& content,
                                            const json::object& body) {
  json::object props;
  for (const auto& kv : body) {
    std::string_view key = kv.key();
    if (key == "$relationshipId" || key == "$sourceId" || key == "$relationshipName" ||
        key == "$targetId" || key == "$etag") {
      continue;
    }
    if (IsSystemName(key)) return Invalid(fmt::format("unknown system property '{}'", key));
    const model::Content* prop = nullptr;
    for (const auto& p : content.relationship_properties) {
      if (p.name == key) prop = &p;
    }
    if (!prop) {
      return Invalid(
          fmt::format("property '{}' is not defined on relationship '{}'", key, content.name));
    }
    if (prop->schema) DOPPEL_RETURN_IF_ERROR(model::ValidateValue(*prop->schema, kv.value(), key));
    props[key] = kv.value();
  }
  return props;
}

}  // namespace

Result<json::object> BuildRelationshipDocument(const GraphState& state, std::string_view source_id,
                                               std::string_view rel_id, const json::object& body,
                                               const std::string& etag) {
  DOPPEL_ASSIGN_OR_RETURN(std::string_view name, RequiredString(body, "$relationshipName"));
  DOPPEL_ASSIGN_OR_RETURN(std::string_view target_id, RequiredString(body, "$targetId"));
  const Twin* source = state.FindTwin(source_id);
  if (!source)
    return Status::NotFound(fmt::format("no digital twin '{}'", source_id), "DigitalTwinNotFound");
  const Twin* target = state.FindTwin(target_id);
  if (!target) {
    return Status::NotFound(fmt::format("target digital twin '{}' does not exist", target_id),
                            "TargetTwinNotFound");
  }
  model::InterfacePtr iface = state.models().Get(source->model_id);
  if (!iface)
    return Status::Internal(
        fmt::format("model {} of twin '{}' is not loaded", source->model_id, source_id));
  const model::Content* content = iface->Find(name);
  if (!content || content->kind != model::ContentKind::kRelationship) {
    return Status::InvalidArgument(
        fmt::format("model {} of twin '{}' has no relationship '{}'", iface->id, source_id, name),
        std::string(kInvalidRelationship));
  }
  if (!content->target.empty() && !state.models().IsOfModel(target->model_id, content->target)) {
    return Status::InvalidArgument(
        fmt::format("relationship '{}' of model {} must target a twin of {}, but '{}' is a {}",
                    name, iface->id, content->target, target_id, target->model_id),
        std::string(kInvalidRelationship));
  }
  DOPPEL_RETURN_IF_ERROR(CheckMultiplicity(state, *content, source_id, rel_id, iface->id));
  DOPPEL_ASSIGN_OR_RETURN(json::object props, RelationshipProperties(*content, body));

  json::object out;
  out.reserve(props.size() + 5);
  out["$relationshipId"] = rel_id;
  out["$etag"] = etag;
  out["$sourceId"] = source_id;
  out["$relationshipName"] = name;
  out["$targetId"] = target_id;
  for (auto& kv : props) out[kv.key()] = std::move(kv.value());
  return out;
}

// ---- small things ----

json::array DiffTwinContent(const json::object& before, const json::object& after) {
  json::array out;
  DiffMembers(before, after, "", true, out);
  return out;
}

std::optional<std::string> ValueKey(const json::value& value) {
  switch (value.kind()) {
    case json::kind::string: {
      std::string key = "s";
      key += value.get_string();
      return key;
    }
    case json::kind::bool_:
      return std::string(value.get_bool() ? "b1" : "b0");
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return NumberKey(value);
    default:
      return std::nullopt;
  }
}

std::string MakeEtag(uint64_t seq) {
  uint64_t h = SplitMix64(seq);
  return fmt::format("W/\"{:08x}-{:04x}-{:04x}-{:04x}-{:012x}\"", h >> 32, (h >> 16) & 0xffff,
                     h & 0xffff, (seq >> 48) & 0xffff, seq & 0xffffffffffffull);
}

Status CheckId(std::string_view id, std::string_view what) {
  if (id.empty())
    return Status::InvalidArgument(fmt::format("the {} id is empty", what), "InvalidArgument");
  if (id.size() > 1024) {
    return Status::InvalidArgument(fmt::format("the {} id is longer than 1024 bytes", what),
                                   "InvalidArgument");
  }
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument(fmt::format("the {} id contains a control character", what),
                                     "InvalidArgument");
    }
  }
  return Status::Ok();
}

}  // namespace doppel::twin::internal
