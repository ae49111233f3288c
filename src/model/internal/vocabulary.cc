#include "model/internal/vocabulary.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

namespace doppel::model::internal {
namespace {

struct SemanticType {
  std::string_view term;
  std::string_view units;  // space-separated unit terms
};

// The "Semantic types" table of the DTDL v2 specification (also the core of the v3
// quantitativeTypes extension).
constexpr std::array<SemanticType, 42> kSemanticTypes = {{
    {"Acceleration", "centimetrePerSecondSquared gForce metrePerSecondSquared"},
    {"Angle", "degreeOfArc minuteOfArc radian secondOfArc turn"},
    {"AngularAcceleration", "radianPerSecondSquared"},
    {"AngularVelocity", "degreePerSecond radianPerSecond revolutionPerMinute revolutionPerSecond"},
    {"Area", "acre hectare squareCentimetre squareFoot squareInch squareKilometre squareMetre "
             "squareMillimetre"},
    {"Capacitance", "farad microfarad millifarad nanofarad picofarad"},
    {"Current", "ampere microampere milliampere"},
    {"DataRate", "bitPerSecond bytePerSecond exbibitPerSecond exbibytePerSecond gibibitPerSecond "
                 "gibibytePerSecond kibibitPerSecond kibibytePerSecond mebibitPerSecond "
                 "mebibytePerSecond tebibitPerSecond tebibytePerSecond yobibitPerSecond "
                 "yobibytePerSecond zebibitPerSecond zebibytePerSecond"},
    {"DataSize", "bit byte exbibit exbibyte gibibit gibibyte kibibit kibibyte mebibit mebibyte "
                 "tebibit tebibyte yobibit yobibyte zebibit zebibyte"},
    {"Density", "gramPerCubicMetre kilogramPerCubicMetre"},
    {"Distance", "astronomicalUnit centimetre foot inch kilometre metre micrometre mile "
                 "millimetre nanometre nauticalMile"},
    {"ElectricCharge", "coulomb"},
    {"Energy", "electronvolt gigajoule joule kilojoule kilowattHour megaelectronvolt megajoule"},
    {"Force", "newton ounce pound ton"},
    {"Frequency", "gigahertz hertz kilohertz megahertz"},
    {"Humidity", "gramPerCubicMetre kilogramPerCubicMetre"},
    {"Illuminance", "footcandle lux"},
    {"Inductance", "henry microhenry millihenry"},
    {"Latitude", "degreeOfArc minuteOfArc radian secondOfArc turn"},
    {"Length", "astronomicalUnit centimetre foot inch kilometre metre micrometre mile millimetre "
               "nanometre nauticalMile"},
    {"Longitude", "degreeOfArc minuteOfArc radian secondOfArc turn"},
    {"Luminance", "candelaPerSquareMetre"},
    {"Luminosity", "gigawatt horsepower kilowatt kilowattHourPerYear megawatt microwatt milliwatt "
                   "watt"},
    {"LuminousFlux", "lumen"},
    {"LuminousIntensity", "candela"},
    {"MagneticFlux", "maxwell weber"},
    {"MagneticInduction", "tesla"},
    {"Mass", "gram kilogram microgram milligram slug tonne"},
    {"MassFlowRate", "gramPerHour gramPerSecond kilogramPerHour kilogramPerSecond"},
    {"Power", "gigawatt horsepower kilowatt kilowattHourPerYear megawatt microwatt milliwatt "
              "watt"},
    {"Pressure", "bar inchesOfMercury inchesOfWater kilopascal millibar millimetresOfMercury "
                 "pascal poundPerSquareInch"},
    {"RelativeHumidity", "percent unity"},
    {"Resistance", "kiloohm megaohm milliohm ohm"},
    {"SoundPressure", "bel decibel"},
    {"Temperature", "degreeCelsius degreeFahrenheit kelvin"},
    {"Thrust", "newton ounce pound ton"},
    {"TimeSpan", "day hour microsecond millisecond minute nanosecond second year"},
    {"Torque", "newtonMetre"},
    {"Velocity", "centimetrePerSecond kilometrePerHour kilometrePerSecond knot metrePerHour "
                 "metrePerSecond milePerHour milePerSecond"},
    {"Voltage", "kilovolt megavolt microvolt millivolt volt"},
    {"Volume", "cubicCentimetre cubicFoot cubicInch cubicMetre fluidOunce gallon litre "
               "millilitre"},
    {"VolumeFlowRate", "litrePerHour litrePerSecond millilitrePerHour millilitrePerSecond"},
}};

// Reserved terms other than semantic types and units: DTDL classes (concrete and abstract),
// properties, schema and command-type instances, unit types and prefixes.
constexpr std::array<std::string_view, 97> kReservedTerms = {
    "AdjunctType", "Alias", "aliasFor", "Array", "asynchronous", "baseUnit", "BinaryPrefix",
    "BinaryUnit", "boolean", "Boolean", "bottomUnit", "Command", "CommandPayload",
    "CommandRequest", "CommandResponse", "commandType", "CommandType", "comment", "ComplexSchema",
    "Component", "Content", "contents", "date", "Date", "dateTime", "DateTime", "DecimalPrefix",
    "DecimalUnit", "description", "displayName", "double", "Double", "duration", "Duration",
    "elementSchema", "Entity", "Enum", "enumValue", "EnumValue", "enumValues", "exponent",
    "extends", "Field", "fields", "float", "Float", "integer", "Integer", "Interface", "lineString",
    "LineString", "long", "Long", "Map", "mapKey", "MapKey", "mapValue", "MapValue",
    "maxMultiplicity", "minMultiplicity", "multiLineString", "MultiLineString", "multiPoint",
    "MultiPoint", "multiPolygon", "MultiPolygon", "name", "NamedEntity", "nullable", "Object",
    "point", "Point", "polygon", "Polygon", "prefix", "PrimitiveSchema", "properties", "Property",
    "QuantitativeType", "RatioUnit", "Relationship", "request", "response", "schema", "Schema",
    "schemas", "SemanticType", "SemanticUnit", "string", "String", "synchronous", "target",
    "Telemetry", "time", "Time", "topUnit", "unit",
};

constexpr std::array<std::string_view, 26> kUnitPrefixes = {
    "atto", "centi", "deci", "deka", "exa", "exbi", "femto", "gibi", "giga", "hecto", "kibi",
    "kilo", "mebi", "mega", "micro", "milli", "nano", "peta", "pebi", "pico", "tebi", "tera",
    "yobi", "yotta", "zebi", "zetta",
};

// Co-types of the DTDL v3 extensions the parser knows (historization, annotation, overriding,
// mqtt, requirement).
constexpr std::array<std::string_view, 14> kExtensionCotypes = {
    "Historized", "ValueAnnotation", "Override", "Mqtt", "Idempotent", "Cacheable", "Indexed",
    "Transparent", "Result", "NormalResult", "ErrorResult", "Error", "ErrorMessage", "Required",
};

// Co-types of the IoT Central DTDL v2 extension.
constexpr std::array<std::string_view, 6> kIotCentralCotypes = {
    "AccelerationVector", "VelocityVector", "Location", "Event", "State", "EventValue",
};

// "dtmi:standard:<kind>:<term>;<version>" → term, else "".
std::string_view StandardTerm(std::string_view s, std::string_view kind, int version) {
  std::string prefix = "dtmi:standard:" + std::string(kind) + ":";
  if (!s.starts_with(prefix)) return {};
  std::string_view rest = s.substr(prefix.size());
  auto semi = rest.find(';');
  if (semi == std::string_view::npos || rest.substr(semi + 1) != std::to_string(version)) return {};
  return rest.substr(0, semi);
}

const SemanticType* FindSemanticType(std::string_view term) {
  for (const auto& t : kSemanticTypes) {
    if (t.term == term) return &t;
  }
  return nullptr;
}

bool ListHas(std::string_view list, std::string_view word) {
  while (!list.empty()) {
    auto sp = list.find(' ');
    if (list.substr(0, sp) == word) return true;
    if (sp == std::string_view::npos) break;
    list.remove_prefix(sp + 1);
  }
  return false;
}

bool IsAnyUnit(std::string_view term) {
  for (const auto& t : kSemanticTypes) {
    if (ListHas(t.units, term)) return true;
  }
  return false;
}

template <std::size_t N>
bool In(const std::array<std::string_view, N>& a, std::string_view s) {
  return std::find(a.begin(), a.end(), s) != a.end();
}

}  // namespace

std::string_view SemanticTypeTerm(std::string_view type, int version) {
  std::string_view term = type;
  if (type.starts_with("dtmi:")) term = StandardTerm(type, "class", version);
  const SemanticType* t = FindSemanticType(term);
  return t ? t->term : std::string_view();
}

bool IsUnitOf(std::string_view unit, std::string_view semantic_type, int version) {
  std::string_view term = unit;
  if (unit.starts_with("dtmi:")) term = StandardTerm(unit, "unit", version);
  const SemanticType* t = FindSemanticType(semantic_type);
  return t != nullptr && !term.empty() && ListHas(t->units, term);
}

bool IsReservedString(std::string_view s, int version) {
  std::string_view term = s;
  if (s.starts_with("dtmi:")) {
    for (std::string_view kind : {"class", "unit", "unitprefix", "schema:geospatial"}) {
      std::string_view t = StandardTerm(s, kind, version);
      if (!t.empty()) return true;
    }
    return s.starts_with("dtmi:dtdl:");
  }
  if (FindSemanticType(term) || IsAnyUnit(term) || In(kReservedTerms, term) ||
      In(kUnitPrefixes, term)) {
    return true;
  }
  return term.size() > 4 && term.ends_with("Unit") && term[0] >= 'A' && term[0] <= 'Z' &&
         FindSemanticType(term.substr(0, term.size() - 4)) != nullptr;
}

std::vector<std::string_view> UnitsOfUnitType(std::string_view unit_type) {
  // Most unit types are named after their semantic type; these are the exceptions.
  static constexpr std::pair<std::string_view, std::string_view> kRenamed[] = {
      {"TimeSpan", "TimeUnit"}, {"ElectricCharge", "ChargeUnit"},
      {"RelativeHumidity", "RatioUnit"}, {"Distance", "LengthUnit"}};
  std::vector<std::string_view> units;
  for (const auto& t : kSemanticTypes) {
    std::string name = std::string(t.term) + "Unit";
    for (const auto& [type, renamed] : kRenamed) {
      if (type == t.term) name = renamed;
    }
    if (name != unit_type) continue;
    std::string_view list = t.units;
    while (!list.empty()) {
      auto sp = list.find(' ');
      std::string_view u = list.substr(0, sp);
      if (std::find(units.begin(), units.end(), u) == units.end()) units.push_back(u);
      if (sp == std::string_view::npos) break;
      list.remove_prefix(sp + 1);
    }
  }
  return units;
}

bool IsExtensionCotype(std::string_view term) { return In(kExtensionCotypes, term); }

bool IsIotCentralCotype(std::string_view term) { return In(kIotCentralCotypes, term); }

}  // namespace doppel::model::internal
