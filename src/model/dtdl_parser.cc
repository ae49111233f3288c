#include "model/dtdl_parser.h"

#include <fmt/format.h>

#include "model/internal/batch.h"
#include "model/internal/dtmi.h"
#include "model/internal/element_reader.h"
#include "model/internal/metamodel.h"
#include "model/internal/interface_parser.h"
#include "model/internal/literals.h"
#include "model/internal/resolver.h"

namespace doppel::model {
namespace {

using internal::Batch;
using internal::Scope;
using internal::Where;

// The scope in force inside `o`, without reporting (the parse stage reports @context errors).
Scope QuietScope(const json::object& o, const Scope& parent, const ParseOptions& options) {
  const json::value* ctx = o.if_contains("@context");
  if (ctx == nullptr) return parent;
  ModelLookup none;
  Batch scratch(options, none);
  return internal::ReadContext(scratch, ctx, parent, Where{}, false);
}

bool NamesInterface(const json::value* type, int version) {
  auto is_interface = [&](const json::value& t) {
    return t.is_string() && internal::ClassFromType(t.as_string(), version) ==
                                internal::ElementClass::kInterface;
  };
  if (type == nullptr) return false;
  if (!type->is_array()) return is_interface(*type);
  for (const auto& t : type->as_array()) {
    if (is_interface(t)) return true;
  }
  return false;
}

// Stage 1: records every object with an @id, so dependent references resolve in any order.
class Indexer {
 public:
  Indexer(Batch& batch, const ParseOptions& options) : batch_(batch), options_(options) {}

  void Root(const json::object& o, const std::string& path) {
    Walk(o, QuietScope(o, Scope{}, options_), path, "", true);
  }

 private:
  void Walk(const json::object& o, const Scope& scope, const std::string& path,
            std::string_view partition, bool top_level) {
    const json::value* id = o.if_contains("@id");
    std::string own_partition(partition);
    if (id && id->is_string() && internal::LooksLikeDtmi(id->as_string())) {
      bool is_interface = NamesInterface(o.if_contains("@type"), scope.version);
      if (is_interface) own_partition = id->as_string();
      batch_.Define(std::string(id->as_string()),
                    {&o, scope, path, own_partition, top_level, is_interface});
    }
    for (const auto& kv : o) {
      if (kv.key().starts_with('@')) continue;
      WalkValue(kv.value(), scope, path + "." + std::string(kv.key()), own_partition);
    }
  }

  void WalkValue(const json::value& v, const Scope& scope, const std::string& path,
                 std::string_view partition) {
    if (v.is_object()) {
      Walk(v.as_object(), QuietScope(v.as_object(), scope, options_), path, partition, false);
    } else if (v.is_array()) {
      const auto& a = v.as_array();
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].is_object() || a[i].is_array()) {
          WalkValue(a[i], scope, fmt::format("{}[{}]", path, i), partition);
        }
      }
    }
  }

  Batch& batch_;
  const ParseOptions& options_;
};

// The top-level objects of the batch with their paths; reports documents of the wrong shape.
std::vector<std::pair<const json::object*, std::string>> Roots(
    Batch& batch, const std::vector<json::value>& documents) {
  std::vector<std::pair<const json::object*, std::string>> roots;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    std::string path = fmt::format("$[{}]", i);
    const json::value& doc = documents[i];
    if (doc.is_object()) {
      roots.emplace_back(&doc.as_object(), path);
    } else if (doc.is_array()) {
      const auto& a = doc.as_array();
      for (std::size_t j = 0; j < a.size(); ++j) {
        std::string p = fmt::format("{}[{}]", path, j);
        if (a[j].is_object()) {
          roots.emplace_back(&a[j].as_object(), p);
        } else {
          batch.Error("", p, "rootNotObject", "a model must be a JSON object");
        }
      }
    } else {
      batch.Error("", path, "rootNotObjectOrArray", "a document must be an object or an array");
    }
  }
  return roots;
}

void ParseRoot(Batch& batch, const json::object& o, const std::string& path) {
  const json::value* id = o.if_contains("@id");
  std::string_view model_id = id && id->is_string() ? std::string_view(id->as_string()) : "";
  Where where{model_id, path};
  Scope scope = QuietScope(o, Scope{}, batch.options());
  if (o.contains("@context") && !NamesInterface(o.if_contains("@type"), scope.version)) {
    batch.Error(where, "typeNotRootable", "a top-level element must be an Interface");
    return;
  }
  internal::ParseInterface(batch, o, Scope{}, where,
                           internal::Slot{internal::Bit(internal::ElementClass::kInterface),
                                          internal::ElementClass::kNone, true, 0, {}});
}

}  // namespace

std::string ModelError::ToString() const {
  return fmt::format("{} at {}: {} ({})", model_id.empty() ? "<model>" : model_id,
                     json_path.empty() ? "$" : json_path, message, rule);
}

ParseResult DtdlParser::Parse(const std::vector<json::value>& documents,
                              const ModelLookup& known) const {
  Batch batch(options_, known);
  auto roots = Roots(batch, documents);
  if (roots.size() > options_.max_interfaces) {
    batch.Error("", "$", "tooManyModels",
                fmt::format("{} models in one batch; the limit is {}", roots.size(),
                            options_.max_interfaces));
  }
  Indexer indexer(batch, options_);
  for (const auto& [object, path] : roots) indexer.Root(*object, path);
  for (const auto& [object, path] : roots) ParseRoot(batch, *object, path);
  // Resolution runs only on a batch that parsed cleanly: an interface that failed to parse would
  // otherwise surface again as unresolved references from everything that uses it.
  if (!batch.has_errors()) internal::ResolveInterfaces(batch);
  ParseResult result;
  if (batch.has_errors()) {
    result.errors = batch.TakeErrors();
    return result;
  }
  for (auto& d : batch.drafts()) {
    if (d->top_level) result.interfaces.push_back(d->iface);
  }
  return result;
}

bool IsValidDtdlName(std::string_view name) { return internal::IsDtdlName(name); }

bool IsValidDtmi(std::string_view id) {
  return internal::IsDtmi(id, internal::DtmiRules{3, false});
}

}  // namespace doppel::model
