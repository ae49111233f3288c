#include "automation/safety_envelope.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <utility>

namespace doppel::automation {
namespace {

constexpr std::string_view kModeNames[] = {"auto", "recommend"};
constexpr std::string_view kOutcomeNames[] = {"allowed", "clamped", "blocked"};

// The largest rate limit accepted: far beyond anything useful, small enough to stay a count.
constexpr int64_t kMaxCommandsPerHourLimit = 1'000'000;

// ---- reading the JSON ------------------------------------------------------------------------

Status Invalid(std::string_view where, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", where, what));
}

// Refuses members outside `allowed`: a misspelt "mxa" would otherwise leave a property unbounded.
Status CheckMembers(const json::object& o, std::string_view where,
                    std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : o) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Invalid(where, fmt::format("unknown member '{}' (expected one of: {})",
                                        std::string_view(key), fmt::join(allowed, ", ")));
    }
  }
  return Status::Ok();
}

Result<std::string> RequiredString(const json::object& o, std::string_view where,
                                   std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return Invalid(fmt::format("{}.{}", where, name), "is required");
  if (!v->is_string() || v->as_string().empty()) {
    return Invalid(fmt::format("{}.{}", where, name), "must be a non-empty string");
  }
  return std::string(v->as_string());
}

Result<std::optional<double>> OptionalNumber(const json::object& o, std::string_view where,
                                             std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return std::optional<double>();
  if (!v->is_number()) {
    return Invalid(fmt::format("{}.{}", where, name),
                   fmt::format("must be a number, got {}", JsonTypeName(*v)));
  }
  const double d = v->to_number<double>();
  if (!std::isfinite(d))
    return Invalid(fmt::format("{}.{}", where, name), "must be a finite number");
  return std::optional<double>(d);
}

Status CheckMinMax(std::string_view where, const std::optional<double>& min,
                   const std::optional<double>& max) {
  if (min && max && *min > *max) {
    return Invalid(fmt::format("{}.min", where),
                   fmt::format("must be ≤ max ({} > {})", *min, *max));
  }
  return Status::Ok();
}

const json::array* OptionalArray(const json::object& o, std::string_view name, Status& error) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return nullptr;
  if (!v->is_array())
    error = Invalid(name, fmt::format("must be an array, got {}", JsonTypeName(*v)));
  return v->if_array();
}

// ---- what the models say ---------------------------------------------------------------------

bool IsNumeric(const model::SchemaPtr& schema) {
  if (schema == nullptr || schema->kind != model::Schema::Kind::kPrimitive) return false;
  using model::PrimitiveType;
  switch (schema->primitive) {
    case PrimitiveType::kDouble:
    case PrimitiveType::kFloat:
    case PrimitiveType::kInteger:
    case PrimitiveType::kLong:
    case PrimitiveType::kDecimal:
    case PrimitiveType::kByte:
    case PrimitiveType::kShort:
    case PrimitiveType::kUnsignedByte:
    case PrimitiveType::kUnsignedShort:
    case PrimitiveType::kUnsignedInteger:
    case PrimitiveType::kUnsignedLong:
      return true;
    default:
      return false;
  }
}

Result<model::InterfacePtr> KnownModel(const model::ModelRegistry& models, std::string_view where,
                                       const std::string& model_id) {
  model::InterfacePtr iface = models.Get(model_id);
  if (iface == nullptr)
    return Invalid(fmt::format("{}.model", where),
                   fmt::format("model '{}' is not known", model_id));
  return iface;
}

Status ValidateProperty(const model::ModelRegistry& models, std::string_view where,
                        const PropertyBound& bound) {
  DOPPEL_ASSIGN_OR_RETURN(model::InterfacePtr iface, KnownModel(models, where, bound.model));
  const std::string member = fmt::format("{}.property", where);
  const model::Content* content = models.FindValue(*iface, bound.property);
  if (content == nullptr || content->kind != model::ContentKind::kProperty) {
    return Invalid(member,
                   fmt::format("model '{}' has no property '{}'", bound.model, bound.property));
  }
  if (!content->writable) {
    return Invalid(
        member, fmt::format("property '{}' of model '{}' is not writable: automation cannot set it",
                            bound.property, bound.model));
  }
  if (!IsNumeric(content->schema)) {
    return Invalid(
        member,
        fmt::format("property '{}' of model '{}' is not a number: it cannot have numeric bounds",
                    bound.property, bound.model));
  }
  return Status::Ok();
}

// The schema a bounded argument refers to: the request's, or a field of an Object request.
model::SchemaPtr ArgumentSchema(const model::Content& command, const std::string& argument) {
  if (!command.request || command.request->schema == nullptr) return nullptr;
  const model::SchemaPtr& schema = command.request->schema;
  if (argument.empty()) return schema;
  if (schema->kind != model::Schema::Kind::kObject) return nullptr;
  for (const model::Field& field : schema->fields) {
    if (field.name == argument) return field.schema;
  }
  return nullptr;
}

Status ValidateArgument(const model::ModelRegistry& models, std::string_view where,
                        const CommandArgumentBound& bound) {
  DOPPEL_ASSIGN_OR_RETURN(model::InterfacePtr iface, KnownModel(models, where, bound.model));
  const model::Content* command = models.FindCommand(*iface, bound.command);
  if (command == nullptr) {
    return Invalid(fmt::format("{}.command", where),
                   fmt::format("model '{}' has no command '{}'", bound.model, bound.command));
  }
  if (!IsNumeric(ArgumentSchema(*command, bound.argument))) {
    const std::string what =
        bound.argument.empty()
            ? "its request payload is not a number"
            : fmt::format("its request has no numeric field '{}'", bound.argument);
    return Invalid(fmt::format("{}.argument", where),
                   fmt::format("command '{}': {}", bound.command, what));
  }
  return Status::Ok();
}

// ---- parsing the entries ---------------------------------------------------------------------

Result<PropertyBound> ParsePropertyBound(const json::value& value, std::string_view where) {
  if (!value.is_object())
    return Invalid(where, fmt::format("must be an object, got {}", JsonTypeName(value)));
  const json::object& o = value.as_object();
  DOPPEL_RETURN_IF_ERROR(
      CheckMembers(o, where, {"model", "property", "min", "max", "maxRatePerMinute"}));
  PropertyBound bound;
  DOPPEL_ASSIGN_OR_RETURN(bound.model, RequiredString(o, where, "model"));
  DOPPEL_ASSIGN_OR_RETURN(bound.property, RequiredString(o, where, "property"));
  DOPPEL_ASSIGN_OR_RETURN(bound.min, OptionalNumber(o, where, "min"));
  DOPPEL_ASSIGN_OR_RETURN(bound.max, OptionalNumber(o, where, "max"));
  DOPPEL_ASSIGN_OR_RETURN(bound.max_rate_per_minute, OptionalNumber(o, where, "maxRatePerMinute"));
  DOPPEL_RETURN_IF_ERROR(CheckMinMax(where, bound.min, bound.max));
  if (bound.max_rate_per_minute && *bound.max_rate_per_minute <= 0) {
    return Invalid(fmt::format("{}.maxRatePerMinute", where),
                   fmt::format("must be > 0, got {}", *bound.max_rate_per_minute));
  }
  if (!bound.min && !bound.max && !bound.max_rate_per_minute) {
    return Invalid(where, "bounds nothing: give min, max or maxRatePerMinute");
  }
  return bound;
}

Result<CommandArgumentBound> ParseArgumentBound(const json::value& value, std::string_view where) {
  if (!value.is_object())
    return Invalid(where, fmt::format("must be an object, got {}", JsonTypeName(value)));
  const json::object& o = value.as_object();
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, where, {"model", "command", "argument", "min", "max"}));
  CommandArgumentBound bound;
  DOPPEL_ASSIGN_OR_RETURN(bound.model, RequiredString(o, where, "model"));
  DOPPEL_ASSIGN_OR_RETURN(bound.command, RequiredString(o, where, "command"));
  if (const json::value* argument = o.if_contains("argument"); argument != nullptr) {
    if (!argument->is_string()) {
      return Invalid(fmt::format("{}.argument", where),
                     fmt::format("must be a string (\"\" for the payload itself), got {}",
                                 JsonTypeName(*argument)));
    }
    bound.argument = std::string(argument->as_string());
  }
  DOPPEL_ASSIGN_OR_RETURN(bound.min, OptionalNumber(o, where, "min"));
  DOPPEL_ASSIGN_OR_RETURN(bound.max, OptionalNumber(o, where, "max"));
  DOPPEL_RETURN_IF_ERROR(CheckMinMax(where, bound.min, bound.max));
  if (!bound.min && !bound.max) return Invalid(where, "bounds nothing: give min or max");
  return bound;
}

Result<std::size_t> ParseRateLimit(const json::object& o) {
  const json::value* v = o.if_contains("maxCommandsPerTwinPerHour");
  if (v == nullptr) return std::size_t{12};
  const bool integral = v->is_int64() || v->is_uint64() ||
                        (v->is_double() && v->as_double() == std::floor(v->as_double()));
  const double d = v->is_number() ? v->to_number<double>() : -1.0;
  if (!integral || d < 0 || d > kMaxCommandsPerHourLimit) {
    return Invalid("maxCommandsPerTwinPerHour",
                   fmt::format("must be an integer from 0 to {}, got {}", kMaxCommandsPerHourLimit,
                               ToJson(*v)));
  }
  return static_cast<std::size_t>(d);
}

// ---- decisions -----------------------------------------------------------------------------

EnvelopeDecision Blocked(std::string reason) {
  return {.outcome = EnvelopeDecision::Outcome::kBlocked, .reason = std::move(reason)};
}

// Why `value` of `what` is outside [min, max], or "" when it is inside.
std::string OutOfBounds(std::string_view what, double value, const std::optional<double>& min,
                        const std::optional<double>& max) {
  if (min && value < *min)
    return fmt::format("{} {} below the envelope's min {}", what, value, *min);
  if (max && value > *max)
    return fmt::format("{} {} above the envelope's max {}", what, value, *max);
  return {};
}

template <typename T>
void Tighten(std::optional<T>& into, const std::optional<T>& other, bool lower_is_tighter) {
  if (!other) return;
  if (!into || (lower_is_tighter ? *other < *into : *other > *into)) into = other;
}

}  // namespace

std::string_view AutomationModeName(AutomationMode mode) {
  return kModeNames[static_cast<int>(mode)];
}

Result<AutomationMode> ParseAutomationMode(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kModeNames); ++i) {
    if (kModeNames[i] == name) return static_cast<AutomationMode>(i);
  }
  return Status::InvalidArgument(
      fmt::format("mode must be \"auto\" or \"recommend\", got \"{}\"", name));
}

std::string_view OutcomeName(EnvelopeDecision::Outcome outcome) {
  return kOutcomeNames[static_cast<int>(outcome)];
}

Result<SafetyEnvelope> SafetyEnvelope::FromJson(const json::value& value,
                                                const model::ModelRegistry* models) {
  if (!value.is_object()) {
    return Status::InvalidArgument(
        fmt::format("the safety envelope must be a JSON object, got {}", JsonTypeName(value)));
  }
  const json::object& o = value.as_object();
  DOPPEL_RETURN_IF_ERROR(CheckMembers(
      o, "envelope", {"mode", "maxCommandsPerTwinPerHour", "properties", "commandArguments"}));
  SafetyEnvelope envelope;
  if (const json::value* mode = o.if_contains("mode"); mode != nullptr) {
    if (!mode->is_string())
      return Invalid("mode", fmt::format("must be a string, got {}", JsonTypeName(*mode)));
    auto parsed = ParseAutomationMode(mode->as_string());
    if (!parsed.ok()) return Invalid("mode", parsed.status().message());
    envelope.mode_ = *parsed;
  }
  DOPPEL_ASSIGN_OR_RETURN(envelope.max_commands_per_twin_per_hour_, ParseRateLimit(o));
  Status error = Status::Ok();
  const json::array* properties = OptionalArray(o, "properties", error);
  const json::array* arguments = OptionalArray(o, "commandArguments", error);
  DOPPEL_RETURN_IF_ERROR(error);
  for (std::size_t i = 0; properties != nullptr && i < properties->size(); ++i) {
    const std::string where = fmt::format("properties[{}]", i);
    DOPPEL_ASSIGN_OR_RETURN(PropertyBound bound, ParsePropertyBound((*properties)[i], where));
    for (std::size_t j = 0; j < envelope.properties_.size(); ++j) {
      if (envelope.properties_[j].model == bound.model &&
          envelope.properties_[j].property == bound.property) {
        return Invalid(where, fmt::format("bounds {} of {} again (properties[{}]): merge the two",
                                          bound.property, bound.model, j));
      }
    }
    if (models != nullptr) DOPPEL_RETURN_IF_ERROR(ValidateProperty(*models, where, bound));
    envelope.properties_.push_back(std::move(bound));
  }
  for (std::size_t i = 0; arguments != nullptr && i < arguments->size(); ++i) {
    const std::string where = fmt::format("commandArguments[{}]", i);
    DOPPEL_ASSIGN_OR_RETURN(CommandArgumentBound bound, ParseArgumentBound((*arguments)[i], where));
    for (std::size_t j = 0; j < envelope.arguments_.size(); ++j) {
      const CommandArgumentBound& other = envelope.arguments_[j];
      if (other.model == bound.model && other.command == bound.command &&
          other.argument == bound.argument) {
        return Invalid(
            where,
            fmt::format("bounds the same argument as commandArguments[{}]: merge the two", j));
      }
    }
    if (models != nullptr) DOPPEL_RETURN_IF_ERROR(ValidateArgument(*models, where, bound));
    envelope.arguments_.push_back(std::move(bound));
  }
  return envelope;
}

json::object SafetyEnvelope::ToJson() const {
  json::array properties;
  for (const PropertyBound& b : properties_) {
    json::object entry{{"model", b.model}, {"property", b.property}};
    if (b.min) entry["min"] = *b.min;
    if (b.max) entry["max"] = *b.max;
    if (b.max_rate_per_minute) entry["maxRatePerMinute"] = *b.max_rate_per_minute;
    properties.push_back(std::move(entry));
  }
  json::array arguments;
  for (const CommandArgumentBound& b : arguments_) {
    json::object entry{{"model", b.model}, {"command", b.command}, {"argument", b.argument}};
    if (b.min) entry["min"] = *b.min;
    if (b.max) entry["max"] = *b.max;
    arguments.push_back(std::move(entry));
  }
  return {{"mode", AutomationModeName(mode_)},
          {"maxCommandsPerTwinPerHour", max_commands_per_twin_per_hour_},
          {"properties", std::move(properties)},
          {"commandArguments", std::move(arguments)}};
}

std::optional<PropertyBound> SafetyEnvelope::FindPropertyBound(const model::ModelRegistry& models,
                                                               std::string_view model_id,
                                                               std::string_view property) const {
  // Every entry for the twin's model or one it extends holds at once: a derived model's entry
  // narrows a base's, it cannot widen it (the base's bound was set for every turbine).
  std::optional<PropertyBound> found;
  for (const PropertyBound& b : properties_) {
    if (b.property != property || !models.IsOfModel(model_id, b.model)) continue;
    if (!found) {
      found = b;
      continue;
    }
    found->model = std::string(model_id);
    Tighten(found->min, b.min, /*lower_is_tighter=*/false);
    Tighten(found->max, b.max, /*lower_is_tighter=*/true);
    Tighten(found->max_rate_per_minute, b.max_rate_per_minute, /*lower_is_tighter=*/true);
  }
  return found;
}

EnvelopeDecision SafetyEnvelope::CheckSetpoint(const model::ModelRegistry& models,
                                               std::string_view model_id, std::string_view property,
                                               const json::value& requested) const {
  std::optional<PropertyBound> bound = FindPropertyBound(models, model_id, property);
  if (!bound) return {.value = requested};
  if (!requested.is_number()) {
    return Blocked(fmt::format("{} is bounded by the envelope, and {} is not a number", property,
                               doppel::ToJson(requested)));
  }
  if (bound->min && bound->max && *bound->min > *bound->max) {
    return Blocked(
        fmt::format("the envelope's bounds of {} for {} contradict each other (min {} > max {})",
                    property, model_id, *bound->min, *bound->max));
  }
  EnvelopeDecision decision{.value = requested, .max_rate_per_minute = bound->max_rate_per_minute};
  const double v = requested.to_number<double>();
  std::string why = OutOfBounds(property, v, bound->min, bound->max);
  if (!why.empty()) {
    decision.outcome = EnvelopeDecision::Outcome::kClamped;
    decision.value = std::clamp(v, bound->min.value_or(v), bound->max.value_or(v));
    decision.reason = fmt::format("{}: clamped to {}", why, decision.value.as_double());
  }
  return decision;
}

EnvelopeDecision SafetyEnvelope::CheckCommand(const model::ModelRegistry& models,
                                              std::string_view model_id, std::string_view command,
                                              const json::value& payload) const {
  for (const CommandArgumentBound& b : arguments_) {
    if (b.command != command || !models.IsOfModel(model_id, b.model)) continue;
    const json::value* arg = &payload;
    const std::string what =
        b.argument.empty() ? std::string(command) : fmt::format("{}.{}", command, b.argument);
    if (!b.argument.empty()) {
      arg = payload.is_object() ? payload.as_object().if_contains(b.argument) : nullptr;
      if (arg == nullptr)
        return Blocked(
            fmt::format("{} is bounded by the envelope and missing from the payload", what));
    }
    if (!arg->is_number()) {
      return Blocked(fmt::format("{} is bounded by the envelope, and {} is not a number", what,
                                 doppel::ToJson(*arg)));
    }
    std::string why = OutOfBounds(what, arg->to_number<double>(), b.min, b.max);
    if (!why.empty()) return Blocked(std::move(why));
  }
  return {.value = payload};
}

bool RateLimiter::TryAcquire(std::string_view twin_id, TimePoint now, std::size_t per_hour) {
  std::lock_guard lock(mu_);
  auto it = recent_.find(twin_id);
  if (it == recent_.end())
    it = recent_.emplace(std::string(twin_id), std::deque<TimePoint>()).first;
  std::deque<TimePoint>& times = it->second;
  while (!times.empty() && times.front() <= now - std::chrono::hours(1)) times.pop_front();
  if (times.size() >= per_hour) return false;
  times.push_back(now);
  return true;
}

}  // namespace doppel::automation
