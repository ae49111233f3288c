// What the AnalyticsService is asked to run: a detector definition (a DetectorSpec plus which
// twins and where the score goes) and a RUL definition (a RulSpec plus which twins, what a cycle
// is, the failure marker and the outputs), parsed from the bodies of PUT /analytics/detectors
// and PUT /analytics/rul. Nothing outside src/analytics includes it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/anomaly/detector.h"
#include "analytics/rul/rul_model.h"
#include "base/json.h"
#include "base/status.h"
#include "twin/twin_graph.h"

namespace doppel::analytics::service_internal {

// Which twins a definition covers: every twin of a DTDL model (extensions included), or a list.
struct Coverage {
  std::string model = {};
  std::vector<std::string> twins = {};

  bool Covers(const twin::GraphState& graph, std::string_view twin_id) const;
  // The ids of the covered twins that exist, sorted.
  std::vector<std::string> Resolve(const twin::GraphState& graph) const;
};

struct DetectorDef {
  std::string name;
  json::object body = {};  // as given; echoed by GET and persisted
  DetectorSpec spec = {};
  Coverage coverage = {};
  std::string output = {};  // telemetry the score is written to; "" = none
  // ToJson(body): a saved detector state is restored only into the same definition.
  std::string fingerprint = {};
};

// {"model": dtmi | "twins": [...], "output": "...", <ParseDetectorSpec's fields>}.
// InvalidArgument naming the field.
Result<DetectorDef> ParseDetectorDef(std::string_view name, const json::value& body);

struct RulOutputs {
  std::string rul = {}, low = {}, high = {}, health = {};
  bool empty() const { return rul.empty() && low.empty() && high.empty() && health.empty(); }
};

struct RulDef {
  std::string name;
  json::object body = {};
  RulSpec spec = {};
  Coverage coverage = {};
  int64_t bucket_ns = 0;  // 0: one cycle per distinct reading time
  std::string failure = {};
  RulOutputs outputs = {};

  // The columns of a cycle: the signals, then the settings (RulSpec's order).
  std::vector<std::string> Columns() const;
};

// {"model", "cycle": "reading" | "<duration>", "failure", "outputs": {...}, <ParseRulSpec's
// fields>}. InvalidArgument naming the field.
Result<RulDef> ParseRulDef(std::string_view name, const json::value& body);

// A path a definition reads or writes, with the field that names it (for the error).
struct NamedPath {
  std::string field;  // "signals", "output", "outputs.rul", ...
  std::string path;
};
// Checks a definition's paths against its model when the definition names a model that is
// loaded (one uploaded later is checked as readings come, by the Ingestor): each read must be a
// property or telemetry of the model, each write a numeric telemetry. InvalidArgument naming
// the field: "detector 'output': model 'dtmi:x;1' has no numeric telemetry 'scroe'".
Status CheckModelPaths(const twin::GraphState& graph, const Coverage& coverage, std::string_view what,
                       const std::vector<NamedPath>& reads, const std::vector<NamedPath>& writes);

// A definition's name (it names files too): [A-Za-z0-9_-]{1,64}; InvalidArgument otherwise.
Status CheckName(std::string_view name, std::string_view what);

// The body without the service's own fields, for the libraries' parsers (which see only theirs).
json::object Without(const json::object& body, std::initializer_list<std::string_view> keys);

}  // namespace doppel::analytics::service_internal
