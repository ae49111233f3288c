#include "twin/field_mask.h"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace doppel::twin {
namespace {

// Members of a twin or component document that are not values: $dtId, $etag, $metadata, ...
bool IsSystemMember(std::string_view key) { return key.starts_with('$'); }

json::object* MetadataOf(json::object& doc) {
  json::value* meta = doc.if_contains("$metadata");
  return meta != nullptr ? meta->if_object() : nullptr;
}

// Removes each member of `doc` whose path (prefix + name) `mask` hides; returns whether any was.
bool MaskMembers(json::object& doc, std::string_view model_id, std::string_view prefix,
                 const FieldMask& mask) {
  std::vector<std::pair<std::string, std::string_view>> hidden;  // name, classification
  for (const auto& member : doc) {
    if (IsSystemMember(member.key())) continue;
    std::string_view cls =
        prefix.empty()
            ? mask.hidden(model_id, member.key())
            : mask.hidden(model_id, fmt::format("{}/{}", prefix, std::string_view(member.key())));
    if (!cls.empty()) hidden.emplace_back(member.key(), cls);
  }
  if (hidden.empty()) return false;
  json::object* meta = MetadataOf(doc);
  for (const auto& [name, cls] : hidden) {
    doc.erase(name);
    if (meta != nullptr) (*meta)[name] = MaskedMetadata(cls);
  }
  return true;
}

// The members of "/a/b/c" (no unescaping: DTDL names hold neither '/' nor '~').
std::vector<std::string_view> PointerSegments(std::string_view pointer) {
  std::vector<std::string_view> out;
  if (!pointer.starts_with('/')) return out;
  pointer.remove_prefix(1);
  while (true) {
    std::size_t slash = pointer.find('/');
    out.push_back(pointer.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    pointer.remove_prefix(slash + 1);
  }
}

// Whether a patch operation touches a hidden value; an operation replacing a whole component
// keeps its place but has the component's hidden members masked in its value.
bool DropsOperation(json::object& op, std::string_view model_id, const FieldMask& mask) {
  const json::value* path = op.if_contains("path");
  if (path == nullptr || !path->is_string()) return false;
  std::vector<std::string_view> segments = PointerSegments(path->get_string());
  if (!segments.empty() && segments.front() == "$metadata") segments.erase(segments.begin());
  if (segments.empty()) return false;
  if (!mask.hidden(model_id, segments[0]).empty()) return true;
  if (segments.size() >= 2 &&
      !mask.hidden(model_id, fmt::format("{}/{}", segments[0], segments[1])).empty()) {
    return true;
  }
  if (segments.size() == 1) {
    if (json::value* value = op.if_contains("value"); value != nullptr && value->is_object()) {
      MaskComponentDocument(value->get_object(), model_id, segments[0], mask);
    }
  }
  return false;
}

}  // namespace

json::object MaskedMetadata(std::string_view classification) {
  return json::object{{"masked", classification}};
}

bool MaskTwinDocument(json::object& doc, const FieldMask& mask) {
  if (!mask) return false;
  const json::object* meta = MetadataOf(doc);
  const json::value* model = meta != nullptr ? meta->if_contains("$model") : nullptr;
  if (model == nullptr || !model->is_string()) return false;
  const std::string model_id(model->get_string());
  if (mask.hides_any && !mask.hides_any(model_id)) return false;
  bool masked = MaskMembers(doc, model_id, "", mask);
  for (auto& member : doc) {
    if (IsSystemMember(member.key()) || !member.value().is_object()) continue;
    json::object& component = member.value().get_object();
    if (!component.contains("$metadata")) continue;  // an Object-typed property, not a component
    masked |= MaskMembers(component, model_id, member.key(), mask);
  }
  return masked;
}

bool MaskComponentDocument(json::object& component, std::string_view model_id,
                           std::string_view component_name, const FieldMask& mask) {
  if (!mask || (mask.hides_any && !mask.hides_any(model_id))) return false;
  return MaskMembers(component, model_id, component_name, mask);
}

bool MaskPatch(json::array& patch, std::string_view model_id, const FieldMask& mask) {
  if (!mask || (mask.hides_any && !mask.hides_any(model_id))) return false;
  const std::size_t before = patch.size();
  for (auto it = patch.begin(); it != patch.end();) {
    if (it->is_object() && DropsOperation(it->get_object(), model_id, mask)) {
      it = patch.erase(it);
    } else {
      ++it;
    }
  }
  return patch.size() != before;
}

}  // namespace doppel::twin
