// The @context of a DTDL element: which DTDL version and which extensions are in force.
#include <array>

#include <fmt/format.h>

#include "model/internal/dtmi.h"
#include "model/internal/element_reader.h"

namespace doppel::model::internal {
namespace {

constexpr std::string_view kDtdlContextPrefix = "dtmi:dtdl:context;";
constexpr std::string_view kIotCentralContext = "dtmi:iotcentral:context;2";
constexpr std::string_view kQuantitativeTypes = "dtmi:dtdl:extension:quantitativeTypes;1";

// DTDL v3 language extensions the parser knows (beyond quantitativeTypes), any version. The
// parser accepts their co-types and lets elements so co-typed carry the extension's members,
// without checking those members further.
constexpr std::array<std::string_view, 5> kKnownExtensions = {
    "historization", "annotation", "overriding", "mqtt", "requirement",
};

bool IsKnownExtension(std::string_view ctx) {
  constexpr std::string_view kPrefix = "dtmi:dtdl:extension:";
  if (!ctx.starts_with(kPrefix)) return false;
  std::string_view name = ctx.substr(kPrefix.size());
  name = name.substr(0, name.find(';'));
  for (auto e : kKnownExtensions) {
    if (e == name) return true;
  }
  return false;
}

// Applies one context string; returns false (after reporting) if it is not acceptable.
bool Apply(Batch& batch, std::string_view ctx, Scope& scope, const Where& where) {
  if (!IsDtmi(ctx, DtmiRules{3, false}) || ctx.find(';') == std::string_view::npos) {
    batch.Error(where, "contextNotDtmiWithVersion",
                fmt::format("@context value '{}' must be a DTMI with a version", ctx));
    return false;
  }
  if (ctx.starts_with(kDtdlContextPrefix)) {
    std::string_view v = ctx.substr(kDtdlContextPrefix.size());
    if (v != "2" && v != "3") {
      batch.Error(where, "unsupportedDtdlVersion",
                  fmt::format("'{}' is not supported (DTDL versions 2 and 3 are)", ctx));
      return false;
    }
    scope.version = v[0] - '0';
    return true;
  }
  if (ctx == kIotCentralContext) {
    scope.iotcentral = true;
    return true;
  }
  if (ctx == kQuantitativeTypes && scope.version >= 3) {
    scope.quantitative_types = true;
    return true;
  }
  if (IsKnownExtension(ctx) && scope.version >= 3) {
    scope.known_extension = true;
    return true;
  }
  if (!batch.options().allow_undefined_extensions) {
    batch.Error(where, "unresolvableContextSpecifier",
                fmt::format("@context names an extension the parser does not know: '{}'", ctx));
    return false;
  }
  scope.undefined_extension = true;
  return true;
}

// The values of a @context member, or an error message.
std::string Values(const json::value& context, std::vector<std::string_view>& out) {
  if (context.is_string()) {
    out.push_back(context.as_string());
    return {};
  }
  if (!context.is_array()) return "@context must be a string or an array of strings";
  for (const auto& c : context.as_array()) {
    if (!c.is_string()) return "@context must hold strings only";
    out.push_back(c.as_string());
  }
  return {};
}

// Only DTDL contexts (v3), or the IoT Central context (v2), may precede the DTDL context.
bool DtdlContextComesFirst(const std::vector<std::string_view>& values) {
  std::size_t last = values.size();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i].starts_with(kDtdlContextPrefix)) last = i;
  }
  if (last == values.size()) return true;
  bool v2 = values[last] == "dtmi:dtdl:context;2";
  for (std::size_t i = 0; i < last; ++i) {
    bool ok = values[i].starts_with(kDtdlContextPrefix) || (v2 && values[i] == kIotCentralContext);
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Scope ReadContext(Batch& batch, const json::value* context, const Scope& parent,
                  const Where& where, bool top_level) {
  Scope scope = parent;
  if (context == nullptr) {
    if (top_level) batch.Error(where, "missingContext", "a top-level element needs @context");
    return scope;
  }
  Where at{where.model_id, where.path + ".@context"};
  std::vector<std::string_view> values;
  std::string err = Values(*context, values);
  if (!err.empty()) {
    batch.Error(at, "contextNotStringOrArray", err);
    return scope;
  }
  bool has_dtdl = false;
  for (auto v : values) has_dtdl |= v.starts_with(kDtdlContextPrefix);
  if (top_level && !has_dtdl) {
    batch.Error(at, "missingDtdlContext", "a top-level @context must name a DTDL context");
    return scope;
  }
  if (!DtdlContextComesFirst(values)) {
    batch.Error(at, "dtdlContextNotFirst", "the DTDL context must come first in @context");
    return scope;
  }
  for (auto v : values) {
    if (!Apply(batch, v, scope, at)) return scope;
  }
  return scope;
}

}  // namespace doppel::model::internal
