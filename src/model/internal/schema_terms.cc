#include "model/internal/schema_terms.h"

#include <array>
#include <string>

#include "model/internal/batch.h"
#include "model/internal/vocabulary.h"

namespace doppel::model::internal {
namespace {

struct PrimitiveName {
  std::string_view term;
  PrimitiveType type;
};

// DTDL v2 and v3 share these ten primitive schemas; the further numeric, bytes and uuid
// schemas of model.h arrived with DTDL v4, which this parser does not accept.
constexpr std::array<PrimitiveName, 10> kPrimitives = {{
    {"boolean", PrimitiveType::kBoolean},   {"date", PrimitiveType::kDate},
    {"dateTime", PrimitiveType::kDateTime}, {"double", PrimitiveType::kDouble},
    {"duration", PrimitiveType::kDuration}, {"float", PrimitiveType::kFloat},
    {"integer", PrimitiveType::kInteger},   {"long", PrimitiveType::kLong},
    {"string", PrimitiveType::kString},     {"time", PrimitiveType::kTime},
}};

constexpr std::array<std::string_view, 6> kGeospatial = {
    "point", "lineString", "polygon", "multiPoint", "multiLineString", "multiPolygon"};

// "<prefix><term>;<version>" → term, or "" if `s` has another shape.
std::string_view StripDtmi(std::string_view s, std::string_view prefix, int version) {
  if (!s.starts_with(prefix)) return {};
  std::string_view rest = s.substr(prefix.size());
  auto semi = rest.find(';');
  if (semi == std::string_view::npos || rest.substr(semi + 1) != std::to_string(version)) return {};
  return rest.substr(0, semi);
}

}  // namespace

bool IsGeospatialTerm(std::string_view s, int version) {
  std::string_view term = s;
  if (s.starts_with("dtmi:")) term = StripDtmi(s, "dtmi:standard:schema:geospatial:", version);
  for (auto g : kGeospatial) {
    if (g == term) return true;
  }
  return false;
}

std::optional<PrimitiveType> PrimitiveFromTerm(std::string_view s, int version) {
  if (IsGeospatialTerm(s, version)) return PrimitiveType::kGeospatial;
  std::string_view term = s;
  if (s.starts_with("dtmi:")) term = StripDtmi(s, "dtmi:dtdl:instance:Schema:", version);
  for (const auto& p : kPrimitives) {
    if (p.term == term) return p.type;
  }
  return std::nullopt;
}

bool IsExtensionSchema(std::string_view s, const Scope& scope) {
  if (scope.quantitative_types && !UnitsOfUnitType(s).empty()) return true;
  return scope.iotcentral && (s == "vector" || s == "geopoint");
}

SchemaPtr ExtensionSchema(std::string_view s) {
  if (auto units = UnitsOfUnitType(s); !units.empty()) {
    auto schema = std::make_shared<Schema>();
    schema->kind = Schema::Kind::kEnum;
    schema->primitive = PrimitiveType::kString;
    for (auto u : units) schema->enum_values.push_back({std::string(u), json::string(u)});
    return schema;
  }
  // IoT Central: vector = {x, y, z}, geopoint = {lat, lon, alt}, all doubles.
  auto schema = std::make_shared<Schema>();
  schema->kind = Schema::Kind::kObject;
  auto number = std::make_shared<Schema>();
  number->primitive = PrimitiveType::kDouble;
  for (std::string_view f : s == "vector" ? std::array<std::string_view, 3>{"x", "y", "z"}
                                          : std::array<std::string_view, 3>{"lat", "lon", "alt"}) {
    schema->fields.push_back(Field{std::string(f), number});
  }
  return schema;
}

bool IsCommandType(std::string_view s, int version) {
  std::string_view term = s;
  if (s.starts_with("dtmi:")) term = StripDtmi(s, "dtmi:dtdl:instance:CommandType:", version);
  return term == "synchronous" || term == "asynchronous";
}

}  // namespace doppel::model::internal
