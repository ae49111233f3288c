// Fuzzes simulation bindings (sim::ParseBinding) against the thermal test model's ModelInfo,
// and twin paths (sim::ParseTwinPath). Input: `<binding name>\n<JSON body>`.
//
// ParseBinding: a refusal is InvalidArgument with a message. An accepted binding keeps the
// header's promises — a valid name, the model it was checked against, exactly one of
// twins.model (a DTMI) / twins.ids (1..10000 distinct non-empty ids), every variable of the
// model with an allowed causality, finite positive noises and stddevs, a non-negative drift,
// derived paths distinct and not read — and round-trips: ParseBinding(name, ToJson(b)) is
// accepted with the same ToJson, and ToJson is stable over JSON text.
// ParseTwinPath (on the name line and on every path the binding holds): an accepted path
// formats back to its text with ToString and parses back equal; a refusal is InvalidArgument.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "sim/binding.h"
#include "../sim/thermal_test_model.h"

namespace {

using doppel::StatusCode;
using doppel::sim::Binding;
using doppel::sim::Causality;
using doppel::sim::ModelInfo;
using doppel::sim::TwinPath;

void CheckTwinPathText(std::string_view text) {
  auto path = doppel::sim::ParseTwinPath(text);
  if (!path.ok()) {
    FUZZ_CHECK(path.status().code() == StatusCode::kInvalidArgument, path.status().message());
    FUZZ_CHECK(!path.status().message().empty(), "ParseTwinPath error without a message");
    return;
  }
  FUZZ_CHECK(!path->path.empty(), std::string(text));
  FUZZ_CHECK(path->ToString() == text, std::string(text) + " formats as " + path->ToString());
}

void CheckTwinPath(const TwinPath& path) {
  auto back = doppel::sim::ParseTwinPath(path.ToString());
  FUZZ_CHECK(back.ok(), path.ToString());
  FUZZ_CHECK(*back == path, path.ToString());
}

bool HasCausality(const ModelInfo& model, const std::string& name, std::initializer_list<Causality> allowed) {
  auto index = model.Find(name);
  if (!index) return false;
  for (Causality c : allowed) {
    if (model.variables[*index].causality == c) return true;
  }
  return false;
}

void CheckBinding(const Binding& b, std::string_view name, const ModelInfo& model) {
  FUZZ_CHECK(doppel::sim::IsValidName(b.name) && b.name == name, b.name);
  FUZZ_CHECK(b.model == model.name, b.model);
  FUZZ_CHECK(b.twin_model.empty() != b.twin_ids.empty(), "exactly one of twins.model / twins.ids");
  FUZZ_CHECK(b.twin_model.empty() || b.twin_model.starts_with("dtmi:"), b.twin_model);
  FUZZ_CHECK(b.twin_ids.size() <= 10000, "too many twin ids");
  std::set<std::string> ids;
  for (const auto& id : b.twin_ids) FUZZ_CHECK(!id.empty() && ids.insert(id).second, id);
  for (const auto& [var, path] : b.parameters) {
    FUZZ_CHECK(HasCausality(model, var, {Causality::kParameter}), var);
    CheckTwinPath(path);
  }
  for (const auto& [var, path] : b.inputs) {
    FUZZ_CHECK(HasCausality(model, var, {Causality::kInput}), var);
    CheckTwinPath(path);
  }
  for (const auto& [var, m] : b.measurements) {
    FUZZ_CHECK(HasCausality(model, var, {Causality::kOutput, Causality::kState}), var);
    FUZZ_CHECK(std::isfinite(m.noise) && m.noise > 0, var);
    CheckTwinPath(m.source);
  }
  for (const auto& [var, e] : b.estimate) {
    FUZZ_CHECK(HasCausality(model, var, {Causality::kState, Causality::kParameter}), var);
    FUZZ_CHECK(std::isfinite(e.stddev) && e.stddev > 0, var);
    FUZZ_CHECK(std::isfinite(e.drift) && e.drift >= 0, var);
  }
  for (const auto& [var, v] : b.virtual_sensors) {
    FUZZ_CHECK(model.Find(var).has_value(), var);
    FUZZ_CHECK(!v.path.empty(), var);
  }
  FUZZ_CHECK(!b.shadow || !b.inputs.empty(), "shadow binding without inputs");
  std::set<std::string> read, written;
  for (const auto* paths : {&b.parameters, &b.inputs}) {
    for (const auto& [var, path] : *paths) {
      if (path.relationship.empty()) read.insert(path.path);
    }
  }
  for (const auto& [var, m] : b.measurements) {
    if (m.source.relationship.empty()) read.insert(m.source.path);
  }
  for (const std::string& path : b.DerivedPaths()) {
    FUZZ_CHECK(!path.empty() && !read.contains(path) && written.insert(path).second, path);
    CheckTwinPathText(path);  // a derived path is a plain name: it parses as a twin path too
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t newline = input.find('\n');
  std::string_view name = input.substr(0, newline);
  std::string_view body_text = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  CheckTwinPathText(name);

  auto body = doppel::ParseJson(body_text);
  if (!body.ok()) return 0;
  const ModelInfo& model = doppel::sim::testing::ThermalTestModel::Info();
  auto binding = doppel::sim::ParseBinding(name, *body, model);
  if (!binding.ok()) {
    FUZZ_CHECK(binding.status().code() == StatusCode::kInvalidArgument, binding.status().message());
    FUZZ_CHECK(!binding.status().message().empty(), "ParseBinding error without a message");
    return 0;
  }
  CheckBinding(*binding, name, model);

  // Round trip, through a json::value and through JSON text.
  std::string json_text = doppel::ToJson(binding->ToJson());
  auto again = doppel::sim::ParseBinding(name, doppel::json::value(binding->ToJson()), model);
  FUZZ_CHECK(again.ok(), again.status().message() + " for " + json_text);
  FUZZ_CHECK(doppel::ToJson(again->ToJson()) == json_text, json_text);
  auto reparsed = doppel::ParseJson(json_text);
  FUZZ_CHECK(reparsed.ok(), json_text);
  auto from_text = doppel::sim::ParseBinding(name, *reparsed, model);
  FUZZ_CHECK(from_text.ok(), from_text.status().message() + " for " + json_text);
  FUZZ_CHECK(doppel::ToJson(from_text->ToJson()) == json_text, json_text);
  return 0;
}
