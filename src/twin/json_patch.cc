#include "twin/json_patch.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace doppel::twin {
namespace {

Status PatchError(std::string message) {
  return Status::InvalidArgument(std::move(message), std::string(kJsonPatchInvalid));
}

// Errors raised while applying carry the reason only; the caller prefixes the operation.
struct StepError {
  std::string reason;
};

// RFC 6901 §4: an array index is "0" or digits without a leading zero.
std::optional<std::size_t> ParseArrayIndex(std::string_view token) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return std::nullopt;
  std::size_t index = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return index;
}

std::string Describe(const json::value& v) {
  std::string text = ToJson(v);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

// The container holding the last token of `tokens` (the whole path but its last step).
std::optional<StepError> WalkToParent(json::value& document, const std::vector<std::string>& tokens,
                                      json::value*& parent) {
  json::value* node = &document;
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (auto* obj = node->if_object()) {
      auto it = obj->find(token);
      if (it == obj->end()) return StepError{fmt::format("no member '{}'", token)};
      node = &it->value();
    } else if (auto* arr = node->if_array()) {
      auto index = ParseArrayIndex(token);
      if (!index || *index >= arr->size()) {
        return StepError{fmt::format("no array element '{}'", token)};
      }
      node = &(*arr)[*index];
    } else {
      return StepError{fmt::format("cannot step into a {} with '{}'", JsonTypeName(*node), token)};
    }
  }
  parent = node;
  return std::nullopt;
}

std::optional<StepError> AddAt(json::value& document, const std::vector<std::string>& tokens,
                               json::value value) {
  if (tokens.empty()) {
    document = std::move(value);
    return std::nullopt;
  }
  json::value* parent = nullptr;
  if (auto err = WalkToParent(document, tokens, parent)) return err;
  const std::string& last = tokens.back();
  if (auto* obj = parent->if_object()) {
    (*obj)[last] = std::move(value);
    return std::nullopt;
  }
  if (auto* arr = parent->if_array()) {
    if (last == "-") {
      arr->push_back(std::move(value));
      return std::nullopt;
    }
    auto index = ParseArrayIndex(last);
    if (!index || *index > arr->size()) {
      return StepError{
          fmt::format("array index '{}' is out of range (size {})", last, arr->size())};
    }
    arr->insert(arr->begin() + static_cast<std::ptrdiff_t>(*index), std::move(value));
    return std::nullopt;
  }
  return StepError{fmt::format("cannot add '{}' to a {}", last, JsonTypeName(*parent))};
}

// Finds the existing value at `tokens` (non-empty) for replace/remove/move/copy.
std::optional<StepError> Locate(json::value& document, const std::vector<std::string>& tokens,
                                json::value*& parent, json::value*& target) {
  if (auto err = WalkToParent(document, tokens, parent)) return err;
  const std::string& last = tokens.back();
  if (auto* obj = parent->if_object()) {
    auto it = obj->find(last);
    if (it == obj->end()) return StepError{fmt::format("no member '{}'", last)};
    target = &it->value();
    return std::nullopt;
  }
  if (auto* arr = parent->if_array()) {
    auto index = ParseArrayIndex(last);
    if (!index || *index >= arr->size()) {
      return StepError{fmt::format("no array element '{}' (size {})", last, arr->size())};
    }
    target = &(*arr)[*index];
    return std::nullopt;
  }
  return StepError{fmt::format("a {} has no member '{}'", JsonTypeName(*parent), last)};
}

std::optional<StepError> RemoveAt(json::value& document, const std::vector<std::string>& tokens,
                                  json::value* removed) {
  if (tokens.empty()) return StepError{"cannot remove the whole document"};
  json::value* parent = nullptr;
  json::value* target = nullptr;
  if (auto err = Locate(document, tokens, parent, target)) return err;
  if (removed) *removed = std::move(*target);
  if (auto* obj = parent->if_object()) {
    obj->erase(tokens.back());
  } else {
    auto& arr = parent->as_array();
    arr.erase(arr.begin() + (target - arr.data()));
  }
  return std::nullopt;
}

std::optional<StepError> ReplaceAt(json::value& document, const std::vector<std::string>& tokens,
                                   json::value value) {
  if (tokens.empty()) {
    document = std::move(value);
    return std::nullopt;
  }
  json::value* parent = nullptr;
  json::value* target = nullptr;
  if (auto err = Locate(document, tokens, parent, target)) return err;
  *target = std::move(value);
  return std::nullopt;
}

bool IsProperPrefix(const std::vector<std::string>& prefix,
                    const std::vector<std::string>& tokens) {
  if (prefix.size() >= tokens.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != tokens[i]) return false;
  }
  return true;
}

std::optional<StepError> MoveValue(json::value& document, const PatchOperation& op) {
  if (IsProperPrefix(op.from_tokens, op.path_tokens)) {
    return StepError{fmt::format("cannot move '{}' into its own child", op.from)};
  }
  if (op.from_tokens == op.path_tokens) {
    if (!FindByPointer(document, op.from_tokens))
      return StepError{fmt::format("no value at '{}'", op.from)};
    return std::nullopt;
  }
  json::value moved;
  if (auto err = RemoveAt(document, op.from_tokens, &moved)) {
    return StepError{fmt::format("from '{}': {}", op.from, err->reason)};
  }
  return AddAt(document, op.path_tokens, std::move(moved));
}

// Counts the values in `v` (itself included) into `count`, stopping once it passes `limit`, and
// returns the depth of its deepest value below `depth`. Bounded by `limit`, so it never costs
// more than the copy it guards.
std::size_t MeasureValue(const json::value& v, std::size_t depth, std::size_t limit,
                         std::size_t& count) {
  if (++count > limit) return depth;
  std::size_t deepest = depth;
  if (const auto* a = v.if_array()) {
    for (const auto& e : *a) deepest = std::max(deepest, MeasureValue(e, depth + 1, limit, count));
  } else if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) {
      deepest = std::max(deepest, MeasureValue(kv.value(), depth + 1, limit, count));
    }
  }
  return deepest;
}

// "copy" is the one operation that makes a document grow faster than the patch: copying a
// member into itself doubles it, so 30 operations of 40 bytes would ask for 2^30 values (and
// nest 30 levels deeper). `copied` is what earlier copies of the same patch used.
std::optional<StepError> CopyValue(json::value& document, const PatchOperation& op,
                                   std::size_t& copied) {
  const json::value* source = FindByPointer(document, op.from_tokens);
  if (!source) return StepError{fmt::format("from '{}': no value there", op.from)};
  std::size_t depth = MeasureValue(*source, op.path_tokens.size(), kMaxJsonPatchCopiedValues, copied);
  if (copied > kMaxJsonPatchCopiedValues) {
    return StepError{fmt::format("the patch copies more than {} values in total",
                                 kMaxJsonPatchCopiedValues)};
  }
  if (depth > kMaxJsonPatchDepth) {
    return StepError{fmt::format("the copy would nest values deeper than {} levels",
                                 kMaxJsonPatchDepth)};
  }
  return AddAt(document, op.path_tokens, json::value(*source));
}

std::optional<StepError> TestValue(json::value& document, const PatchOperation& op) {
  const json::value* actual = FindByPointer(document, op.path_tokens);
  if (!actual) return StepError{"test failed: no value there"};
  if (!JsonEqual(*actual, op.value)) {
    return StepError{fmt::format("test failed: value is {}, expected {}", Describe(*actual),
                                 Describe(op.value))};
  }
  return std::nullopt;
}

std::optional<StepError> ApplyOne(json::value& document, const PatchOperation& op,
                                  std::size_t& copied) {
  switch (op.op) {
    case PatchOp::kAdd:
      return AddAt(document, op.path_tokens, op.value);
    case PatchOp::kRemove:
      return RemoveAt(document, op.path_tokens, nullptr);
    case PatchOp::kReplace:
      return ReplaceAt(document, op.path_tokens, op.value);
    case PatchOp::kMove:
      return MoveValue(document, op);
    case PatchOp::kCopy:
      return CopyValue(document, op, copied);
    case PatchOp::kTest:
      return TestValue(document, op);
  }
  return StepError{"unknown operation"};
}

std::optional<PatchOp> OpFromName(std::string_view name) {
  if (name == "add") return PatchOp::kAdd;
  if (name == "remove") return PatchOp::kRemove;
  if (name == "replace") return PatchOp::kReplace;
  if (name == "move") return PatchOp::kMove;
  if (name == "copy") return PatchOp::kCopy;
  if (name == "test") return PatchOp::kTest;
  return std::nullopt;
}

Result<std::string> PointerMember(const json::object& op, std::string_view member,
                                  std::size_t index, std::string_view op_name) {
  auto it = op.find(member);
  if (it == op.end()) {
    return PatchError(
        fmt::format("JSON Patch operation {} ({}): missing '{}'", index, op_name, member));
  }
  if (!it->value().is_string()) {
    return PatchError(fmt::format("JSON Patch operation {} ({}): '{}' must be a string, not {}",
                                  index, op_name, member, JsonTypeName(it->value())));
  }
  return std::string(it->value().get_string());
}

Result<PatchOperation> ParseOperation(const json::value& element, std::size_t index) {
  const auto* obj = element.if_object();
  if (!obj) {
    return PatchError(fmt::format("JSON Patch operation {} must be an object, not {}", index,
                                  JsonTypeName(element)));
  }
  auto op_it = obj->find("op");
  if (op_it == obj->end() || !op_it->value().is_string()) {
    return PatchError(fmt::format("JSON Patch operation {}: missing string member 'op'", index));
  }
  std::string_view op_name = op_it->value().get_string();
  auto kind = OpFromName(op_name);
  if (!kind) {
    return PatchError(
        fmt::format("JSON Patch operation {}: unknown op '{}' (expected add, remove, "
                    "replace, move, copy or test)",
                    index, op_name));
  }
  PatchOperation op;
  op.op = *kind;
  DOPPEL_ASSIGN_OR_RETURN(op.path, PointerMember(*obj, "path", index, op_name));
  auto tokens = ParseJsonPointer(op.path);
  if (!tokens.ok()) {
    return PatchError(fmt::format("JSON Patch operation {} ({} {}): {}", index, op_name, op.path,
                                  tokens.status().message()));
  }
  op.path_tokens = std::move(tokens).value();
  if (op.op == PatchOp::kMove || op.op == PatchOp::kCopy) {
    DOPPEL_ASSIGN_OR_RETURN(op.from, PointerMember(*obj, "from", index, op_name));
    auto from_tokens = ParseJsonPointer(op.from);
    if (!from_tokens.ok()) {
      return PatchError(fmt::format("JSON Patch operation {} ({} {}): from: {}", index, op_name,
                                    op.path, from_tokens.status().message()));
    }
    op.from_tokens = std::move(from_tokens).value();
  }
  if (op.op == PatchOp::kAdd || op.op == PatchOp::kReplace || op.op == PatchOp::kTest) {
    auto value_it = obj->find("value");
    if (value_it == obj->end()) {
      return PatchError(
          fmt::format("JSON Patch operation {} ({} {}): missing 'value'", index, op_name, op.path));
    }
    op.value = value_it->value();
  }
  return op;
}

// Numbers by value: int64, uint64 and double may hold the same number.
bool NumbersEqual(const json::value& a, const json::value& b) {
  if (a.kind() == b.kind()) return a == b;
  if (a.is_double() || b.is_double()) {
    double x = a.is_double() ? a.get_double()
                             : (a.is_int64() ? static_cast<double>(a.get_int64())
                                             : static_cast<double>(a.get_uint64()));
    double y = b.is_double() ? b.get_double()
                             : (b.is_int64() ? static_cast<double>(b.get_int64())
                                             : static_cast<double>(b.get_uint64()));
    return x == y;
  }
  // int64 vs uint64
  const json::value& s = a.is_int64() ? a : b;
  const json::value& u = a.is_int64() ? b : a;
  return s.get_int64() >= 0 && static_cast<uint64_t>(s.get_int64()) == u.get_uint64();
}

}  // namespace

Result<std::vector<std::string>> ParseJsonPointer(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer[0] != '/') {
    return PatchError(fmt::format("JSON Pointer '{}' must be empty or start with '/'", pointer));
  }
  std::string token;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    char c = pointer[i];
    if (c == '~') {
      char next = i + 1 < pointer.size() ? pointer[i + 1] : '\0';
      if (next != '0' && next != '1') {
        return PatchError(fmt::format(
            "JSON Pointer '{}': '~' at offset {} must be followed by 0 or 1", pointer, i));
      }
      token += next == '0' ? '~' : '/';
      ++i;
    } else {
      token += c;
    }
  }
  return tokens;
}

std::string EscapeJsonPointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatJsonPointer(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) {
    out += '/';
    out += EscapeJsonPointerToken(t);
  }
  return out;
}

const json::value* FindByPointer(const json::value& document,
                                 const std::vector<std::string>& tokens) {
  const json::value* node = &document;
  for (const auto& token : tokens) {
    if (const auto* obj = node->if_object()) {
      node = obj->if_contains(token);
      if (!node) return nullptr;
    } else if (const auto* arr = node->if_array()) {
      auto index = ParseArrayIndex(token);
      if (!index || *index >= arr->size()) return nullptr;
      node = &(*arr)[*index];
    } else {
      return nullptr;
    }
  }
  return node;
}

std::string_view PatchOpName(PatchOp op) {
  switch (op) {
    case PatchOp::kAdd:
      return "add";
    case PatchOp::kRemove:
      return "remove";
    case PatchOp::kReplace:
      return "replace";
    case PatchOp::kMove:
      return "move";
    case PatchOp::kCopy:
      return "copy";
    case PatchOp::kTest:
      return "test";
  }
  return "unknown";
}

Result<std::vector<PatchOperation>> ParseJsonPatch(const json::value& patch) {
  const auto* arr = patch.if_array();
  if (!arr) {
    return PatchError(
        fmt::format("a JSON Patch must be an array of operations, not {}", JsonTypeName(patch)));
  }
  std::vector<PatchOperation> ops;
  ops.reserve(arr->size());
  for (std::size_t i = 0; i < arr->size(); ++i) {
    DOPPEL_ASSIGN_OR_RETURN(auto op, ParseOperation((*arr)[i], i));
    ops.push_back(std::move(op));
  }
  return ops;
}

Status ApplyJsonPatchInPlace(const std::vector<PatchOperation>& ops, json::value& document) {
  std::size_t copied = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (auto err = ApplyOne(document, ops[i], copied)) {
      return PatchError(fmt::format("JSON Patch operation {} ({} {}): {}", i,
                                    PatchOpName(ops[i].op),
                                    ops[i].path.empty() ? "\"\"" : ops[i].path, err->reason));
    }
  }
  return Status::Ok();
}

Status ApplyJsonPatch(const std::vector<PatchOperation>& ops, json::value& document) {
  json::value scratch = document;
  DOPPEL_RETURN_IF_ERROR(ApplyJsonPatchInPlace(ops, scratch));
  document = std::move(scratch);
  return Status::Ok();
}

Status ApplyJsonPatch(const json::value& patch, json::value& document) {
  DOPPEL_ASSIGN_OR_RETURN(auto ops, ParseJsonPatch(patch));
  return ApplyJsonPatch(ops, document);
}

bool JsonEqual(const json::value& a, const json::value& b) {
  bool a_number = a.is_number(), b_number = b.is_number();
  if (a_number || b_number) return a_number && b_number && NumbersEqual(a, b);
  if (a.kind() != b.kind()) return false;
  if (const auto* oa = a.if_object()) {
    const auto& ob = b.get_object();
    if (oa->size() != ob.size()) return false;
    for (const auto& kv : *oa) {
      const json::value* other = ob.if_contains(kv.key());
      if (!other || !JsonEqual(kv.value(), *other)) return false;
    }
    return true;
  }
  if (const auto* aa = a.if_array()) {
    const auto& ab = b.get_array();
    if (aa->size() != ab.size()) return false;
    for (std::size_t i = 0; i < aa->size(); ++i) {
      if (!JsonEqual((*aa)[i], ab[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace doppel::twin
