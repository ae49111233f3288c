// Data classification: which twin properties and telemetry are personal, confidential, ...;
// who may see them (the caller's clearances); and how long their history is kept.
//
// Configuration (the "classification" object of the server config, docs/security.md):
//   "classification": {
//     "classes": {"personal": {"retention": "30d"}, "confidential": {}},
//     "fields": [
//       {"model": "dtmi:example:Operator;1", "path": "badgeId", "class": "personal"},
//       {"model": "dtmi:example:Press;1", "path": "recipe/formula", "class": "confidential"}
//     ]
//   }
// A field applies to its model and to every model extending it (resolved through the graph's
// model registry, models uploaded later included); `path` is a property or telemetry name or
// "<component>/<name>". When several fields name the same path of one model (a base's and a
// derived model's), the model's own field wins, else the first in the list. DTDL has no
// standard place for a classification, so it lives in the config only; changing it takes a
// restart.
//
// A caller may see a classified value when its clearances (Principal::clearances: API key
// or JWT claim) name the value's class or "*" (everything; the dev-mode anonymous admin).
// Otherwise the value is masked wherever it would be read (twin/field_mask.h).
//
// Thread-safety: ClassOf, MaskFor, Refresh and RetentionRules may be called from any thread;
// the masks it hands out may be called under the graph's shared lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/principal.h"
#include "base/json.h"
#include "base/status.h"
#include "twin/events.h"
#include "twin/field_mask.h"
#include "twin/twin_graph.h"

namespace doppel::auth {

struct DataClass {
  std::string name;
  // History of the class's fields is dropped after this long; 0 = the server's retention
  // rules apply as to any series.
  std::chrono::nanoseconds retention{0};
};

struct ClassifiedField {
  std::string model_id;  // a DTMI: the model and every model extending it
  std::string path;      // "name" or "component/name"
  std::string classification;
};

struct ClassificationConfig {
  std::vector<DataClass> classes;  // in configuration order; at most kMaxDataClasses
  std::vector<ClassifiedField> fields;
};

inline constexpr std::size_t kMaxDataClasses = 64;

// Parses a duration ("30d") or returns InvalidArgument naming `what`. The server passes
// history::ParseDurationText, the syntax of its retention rules (auth does not link history).
using DurationParser =
    std::function<Result<std::chrono::nanoseconds>(std::string_view text, std::string_view what)>;

// Parses {"classes": {...}, "fields": [...]} as above. Strict (InvalidArgument naming the key,
// e.g. "classification.fields[2].class: unknown class 'secret' (known: confidential,
// personal)"): unknown keys, a class name that is empty, "*" or holds characters other than
// letters, digits, '-', '_' and '.', more than kMaxDataClasses classes, a bad duration, a field
// without model, path or class, a model that is not a DTMI, a path that is not "name" or
// "component/name" of DTDL names, an unknown class, the same (model, path) twice.
Result<ClassificationConfig> ParseClassificationConfig(const json::value& config,
                                                       const DurationParser& parse_duration);

// A classified series' retention: the series at `path` of twins of exactly `model_id`.
struct ClassRetention {
  std::string model_id;
  std::string path;
  std::chrono::nanoseconds keep{0};
};

class DataClassification {
 public:
  // Resolves the fields against `graph`'s models now and follows model changes through
  // `events` (the graph's bus). Both must outlive this object.
  DataClassification(ClassificationConfig config, const twin::TwinGraph& graph,
                     twin::EventBus& events);
  ~DataClassification();
  DataClassification(const DataClassification&) = delete;
  DataClassification& operator=(const DataClassification&) = delete;

  const ClassificationConfig& config() const { return config_; }

  // Re-reads model inheritance if models were added or removed since the last time; a few
  // atomic loads otherwise. Takes the graph's shared lock: never call it under that lock. The
  // server calls it as each request starts, so a model uploaded by one request is classified
  // before the next can create a twin of it.
  void Refresh() const;

  // The class of `path` of a twin of `model_id`, or "" when it is not classified.
  std::string_view ClassOf(std::string_view model_id, std::string_view path) const;

  // What `principal` may not see: a null mask when it may see everything (clearance "*" or
  // every class, or nothing is classified). The mask reads the current resolution on each
  // call, so a long-lived one (a stream session's) follows model uploads.
  twin::FieldMask MaskFor(const Principal& principal) const;

  // One rule per classified (model, path) whose class has a retention, for every model known
  // now (after Refresh).
  std::vector<ClassRetention> RetentionRules() const;

 private:
  struct Resolution;
  std::shared_ptr<const Resolution> Current() const;
  std::shared_ptr<const Resolution> Resolve() const;

  const ClassificationConfig config_;
  const twin::TwinGraph& graph_;
  twin::EventBus& events_;
  twin::EventBus::SubscriptionId subscription_ = 0;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace doppel::auth
