#include "auth/classification.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <set>

#include "model/dtdl_parser.h"

namespace doppel::auth {
namespace {

constexpr std::string_view kClassificationKeys = "classes, fields";
constexpr std::string_view kClassKeys = "retention";
constexpr std::string_view kFieldKeys = "model, path, class";

Status Bad(std::string_view where, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", where, what));
}

bool IsClassName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// A DTDL name: a letter, then letters, digits and '_', not ending in '_'; at most 512 chars.
bool IsDtdlName(std::string_view name) {
  if (name.empty() || name.size() > 512 || !std::isalpha(static_cast<unsigned char>(name.front())))
    return false;
  if (name.back() == '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsFieldPath(std::string_view path) {
  std::size_t slash = path.find('/');
  if (slash == std::string_view::npos) return IsDtdlName(path);
  return IsDtdlName(path.substr(0, slash)) && IsDtdlName(path.substr(slash + 1));
}

std::string KnownClasses(const std::vector<DataClass>& classes) {
  std::vector<std::string_view> names;
  for (const DataClass& c : classes) names.push_back(c.name);
  std::sort(names.begin(), names.end());
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

Result<DataClass> ParseClass(std::string_view name, const json::value& value,
                             const DurationParser& parse_duration) {
  const std::string where = fmt::format("classification.classes.{}", name);
  if (!IsClassName(name)) {
    return Bad(where, "a class name is 1 to 64 letters, digits, '-', '_' or '.'");
  }
  if (!value.is_object())
    return Bad(where, "must be an object like {\"retention\": \"30d\"} or {}");
  DataClass out{.name = std::string(name)};
  for (const auto& [key, v] : value.get_object()) {
    const std::string member = fmt::format("{}.{}", where, std::string_view(key));
    if (key != "retention") return Bad(member, fmt::format("unknown key (known: {})", kClassKeys));
    if (!v.is_string()) return Bad(member, "must be a duration like \"30d\"");
    DOPPEL_ASSIGN_OR_RETURN(out.retention, parse_duration(v.get_string(), member));
    if (out.retention.count() <= 0) return Bad(member, "must be positive");
  }
  return out;
}

Result<std::string> FieldString(const json::object& field, std::string_view key,
                                std::string_view where) {
  const json::value* v = field.if_contains(key);
  if (v == nullptr) return Bad(where, fmt::format("needs \"{}\"", key));
  if (!v->is_string() || v->get_string().empty()) {
    return Bad(fmt::format("{}.{}", where, key), "must be a non-empty string");
  }
  return std::string(v->get_string());
}

Result<ClassifiedField> ParseField(const json::value& value, std::size_t index,
                                   const std::vector<DataClass>& classes) {
  const std::string where = fmt::format("classification.fields[{}]", index);
  if (!value.is_object()) return Bad(where, "must be an object {\"model\", \"path\", \"class\"}");
  const json::object& field = value.get_object();
  for (const auto& member : field) {
    if (member.key() != "model" && member.key() != "path" && member.key() != "class") {
      return Bad(fmt::format("{}.{}", where, std::string_view(member.key())),
                 fmt::format("unknown key (known: {})", kFieldKeys));
    }
  }
  ClassifiedField out;
  DOPPEL_ASSIGN_OR_RETURN(out.model_id, FieldString(field, "model", where));
  DOPPEL_ASSIGN_OR_RETURN(out.path, FieldString(field, "path", where));
  DOPPEL_ASSIGN_OR_RETURN(out.classification, FieldString(field, "class", where));
  if (!model::IsValidDtmi(out.model_id)) {
    return Bad(where + ".model", fmt::format("'{}' is not a valid DTMI", out.model_id));
  }
  if (!IsFieldPath(out.path)) {
    return Bad(
        where + ".path",
        fmt::format("'{}' is not a property or telemetry name, or \"component/name\"", out.path));
  }
  if (std::none_of(classes.begin(), classes.end(),
                   [&](const DataClass& c) { return c.name == out.classification; })) {
    return Bad(where + ".class", fmt::format("unknown class '{}' (known: {})", out.classification,
                                             KnownClasses(classes)));
  }
  return out;
}

Status ParseClasses(const json::value& value, const DurationParser& parse_duration,
                    ClassificationConfig& out) {
  if (!value.is_object())
    return Bad("classification.classes", "must be an object of classes by name");
  if (value.get_object().size() > kMaxDataClasses) {
    return Bad("classification.classes", fmt::format("at most {} classes", kMaxDataClasses));
  }
  for (const auto& [name, spec] : value.get_object()) {
    DOPPEL_ASSIGN_OR_RETURN(DataClass parsed, ParseClass(name, spec, parse_duration));
    out.classes.push_back(std::move(parsed));
  }
  return Status::Ok();
}

Status ParseFields(const json::value& value, ClassificationConfig& out) {
  if (!value.is_array())
    return Bad("classification.fields", "must be a list of {\"model\", \"path\", \"class\"}");
  std::set<std::pair<std::string, std::string>> seen;
  for (std::size_t i = 0; i < value.get_array().size(); ++i) {
    DOPPEL_ASSIGN_OR_RETURN(ClassifiedField field,
                            ParseField(value.get_array()[i], i, out.classes));
    if (!seen.emplace(field.model_id, field.path).second) {
      return Bad(fmt::format("classification.fields[{}]", i),
                 fmt::format("'{}' of '{}' is classified twice", field.path, field.model_id));
    }
    out.fields.push_back(std::move(field));
  }
  return Status::Ok();
}

}  // namespace

Result<ClassificationConfig> ParseClassificationConfig(const json::value& config,
                                                       const DurationParser& parse_duration) {
  if (!config.is_object())
    return Bad("classification", "must be an object {\"classes\", \"fields\"}");
  const json::object& object = config.get_object();
  for (const auto& member : object) {
    if (member.key() != "classes" && member.key() != "fields") {
      return Bad(fmt::format("classification.{}", std::string_view(member.key())),
                 fmt::format("unknown key (known: {})", kClassificationKeys));
    }
  }
  ClassificationConfig out;
  // Classes first, whatever the key order: fields refer to them.
  if (const json::value* classes = object.if_contains("classes")) {
    DOPPEL_RETURN_IF_ERROR(ParseClasses(*classes, parse_duration, out));
  }
  if (const json::value* fields = object.if_contains("fields"))
    DOPPEL_RETURN_IF_ERROR(ParseFields(*fields, out));
  return out;
}

// The fields resolved against the models known at one moment: for each model that is or
// extends a classified one, its classified paths. Immutable once built.
struct DataClassification::Resolution {
  struct Model {
    std::map<std::string, int, std::less<>> classes;  // path → index into config.classes
    uint64_t class_bits = 0;                          // the classes used, for hides_any
  };
  std::map<std::string, Model, std::less<>> models;

  int ClassIndex(std::string_view model_id, std::string_view path) const {
    auto model = models.find(model_id);
    if (model == models.end()) return -1;
    auto entry = model->second.classes.find(path);
    return entry == model->second.classes.end() ? -1 : entry->second;
  }
};

struct DataClassification::State {
  std::atomic<uint64_t> model_changes{0};  // bumped by model events
  std::atomic<uint64_t> resolved_changes{0};
  std::mutex refresh_mu;  // one Resolve at a time
  std::atomic<std::shared_ptr<const Resolution>> current;
};

DataClassification::DataClassification(ClassificationConfig config, const twin::TwinGraph& graph,
                                       twin::EventBus& events)
    : config_(std::move(config)),
      graph_(graph),
      events_(events),
      state_(std::make_unique<State>()) {
  state_->current.store(Resolve());
  // Handlers run under the graph's exclusive lock: only note the change; Refresh re-reads.
  subscription_ = events_.Subscribe([state = state_.get()](const twin::GraphEvent& e) {
    if (e.type == twin::EventType::kModelsCreated || e.type == twin::EventType::kModelDeleted) {
      state->model_changes.fetch_add(1, std::memory_order_release);
    }
  });
}

DataClassification::~DataClassification() { events_.Unsubscribe(subscription_); }

std::shared_ptr<const DataClassification::Resolution> DataClassification::Current() const {
  return state_->current.load(std::memory_order_acquire);
}

std::shared_ptr<const DataClassification::Resolution> DataClassification::Resolve() const {
  auto out = std::make_shared<Resolution>();
  auto assign = [&](const std::string& model_id, const ClassifiedField& field, int cls, bool own) {
    Resolution::Model& model = out->models[model_id];
    auto [it, fresh] = model.classes.emplace(field.path, cls);
    if (!fresh && own) it->second = cls;  // the model's own field beats an inherited one
  };
  std::vector<int> class_of_field;
  for (const ClassifiedField& field : config_.fields) {
    auto cls = std::find_if(config_.classes.begin(), config_.classes.end(),
                            [&](const DataClass& c) { return c.name == field.classification; });
    class_of_field.push_back(static_cast<int>(cls - config_.classes.begin()));
  }
  graph_.Read([&](const twin::GraphState& state) {
    for (const auto& [id, entry] : state.models().entries()) {
      for (std::size_t f = 0; f < config_.fields.size(); ++f) {
        const ClassifiedField& field = config_.fields[f];
        if (id == field.model_id || state.models().IsOfModel(id, field.model_id)) {
          assign(id, field, class_of_field[f], id == field.model_id);
        }
      }
    }
    return 0;
  });
  // A configured model not uploaded (yet, or any more) still classifies its own series.
  for (std::size_t f = 0; f < config_.fields.size(); ++f) {
    assign(config_.fields[f].model_id, config_.fields[f], class_of_field[f], true);
  }
  for (auto& [id, model] : out->models) {
    for (const auto& [path, cls] : model.classes) model.class_bits |= uint64_t{1} << cls;
  }
  return out;
}

void DataClassification::Refresh() const {
  const uint64_t changes = state_->model_changes.load(std::memory_order_acquire);
  if (changes == state_->resolved_changes.load(std::memory_order_acquire)) return;
  std::lock_guard lock(state_->refresh_mu);
  // Read the counter before the graph: a change during Resolve leaves us behind, not ahead.
  const uint64_t now = state_->model_changes.load(std::memory_order_acquire);
  if (now == state_->resolved_changes.load(std::memory_order_acquire)) return;
  state_->current.store(Resolve(), std::memory_order_release);
  state_->resolved_changes.store(now, std::memory_order_release);
}

std::string_view DataClassification::ClassOf(std::string_view model_id,
                                             std::string_view path) const {
  int cls = Current()->ClassIndex(model_id, path);
  return cls < 0 ? std::string_view() : std::string_view(config_.classes[cls].name);
}

twin::FieldMask DataClassification::MaskFor(const Principal& principal) const {
  if (config_.fields.empty()) return {};
  uint64_t hidden_bits = 0;
  for (std::size_t i = 0; i < config_.classes.size(); ++i) hidden_bits |= uint64_t{1} << i;
  for (const std::string& clearance : principal.clearances) {
    if (clearance == "*") return {};
    for (std::size_t i = 0; i < config_.classes.size(); ++i) {
      if (config_.classes[i].name == clearance) hidden_bits &= ~(uint64_t{1} << i);
    }
  }
  if (hidden_bits == 0) return {};
  twin::FieldMask mask;
  mask.hidden = [this, hidden_bits](std::string_view model_id,
                                    std::string_view path) -> std::string_view {
    int cls = Current()->ClassIndex(model_id, path);
    if (cls < 0 || !(hidden_bits & (uint64_t{1} << cls))) return {};
    return config_.classes[cls].name;
  };
  mask.hides_any = [this, hidden_bits](std::string_view model_id) {
    std::shared_ptr<const Resolution> current = Current();
    auto model = current->models.find(model_id);
    return model != current->models.end() && (model->second.class_bits & hidden_bits) != 0;
  };
  return mask;
}

std::vector<ClassRetention> DataClassification::RetentionRules() const {
  Refresh();
  std::vector<ClassRetention> rules;
  std::shared_ptr<const Resolution> current = Current();
  for (const auto& [model_id, model] : current->models) {
    for (const auto& [path, cls] : model.classes) {
      const DataClass& data_class = config_.classes[cls];
      if (data_class.retention.count() > 0) rules.push_back({model_id, path, data_class.retention});
    }
  }
  return rules;
}

}  // namespace doppel::auth
