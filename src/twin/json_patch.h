// JSON Patch (RFC 6902) and JSON Pointer (RFC 6901) over json::value.
//
// The twin graph applies client patches to twins, components and relationships with these;
// the server uses ParseJsonPatch to reject a malformed body before it reaches the graph.
//
//   DOPPEL_ASSIGN_OR_RETURN(auto ops, ParseJsonPatch(body));
//   DOPPEL_RETURN_IF_ERROR(ApplyJsonPatch(ops, doc));  // all-or-nothing
//
// Every error is InvalidArgument with the Azure code "JsonPatchInvalid" and a message naming
// the operation's index and path: "JSON Patch operation 1 (remove /a/b): no member 'b'".
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace doppel::twin {

inline constexpr std::string_view kJsonPatchInvalid = "JsonPatchInvalid";

// Splits "/a/b~1c" into {"a", "b/c"} ("" is the whole document, {}). Tokens are unescaped
// (~1 → '/', ~0 → '~'). Errors: the pointer is neither "" nor starts with '/', or holds a '~'
// not followed by 0 or 1.
Result<std::vector<std::string>> ParseJsonPointer(std::string_view pointer);

// Escapes one reference token ('~' → "~0", '/' → "~1"), for building pointers.
std::string EscapeJsonPointerToken(std::string_view token);

// Joins tokens into a pointer: {"a", "b/c"} → "/a/b~1c".
std::string FormatJsonPointer(const std::vector<std::string>& tokens);

// The value `pointer` refers to inside `document`, or nullptr if there is none.
const json::value* FindByPointer(const json::value& document,
                                 const std::vector<std::string>& tokens);

enum class PatchOp { kAdd, kRemove, kReplace, kMove, kCopy, kTest };

std::string_view PatchOpName(PatchOp op);  // "add", "remove", ...

// One operation of a patch, checked for shape (op known, pointers valid, "value"/"from" present
// where the op needs them).
struct PatchOperation {
  PatchOp op = PatchOp::kAdd;
  std::string path;                      // as received
  std::vector<std::string> path_tokens;  // parsed
  std::string from;                      // kMove, kCopy
  std::vector<std::string> from_tokens;
  json::value value;  // kAdd, kReplace, kTest
};

// Checks the shape of a patch document: a JSON array of operation objects. Unknown members of
// an operation are ignored, as RFC 6902 §4 requires.
Result<std::vector<PatchOperation>> ParseJsonPatch(const json::value& patch);

// Bounds on "copy", the one operation that can grow a document faster than the patch itself
// (copying a member into itself doubles it): over one patch at most kMaxJsonPatchCopiedValues
// JSON values (scalars, arrays and objects, nested ones included) may be copied, and a copy may
// not place a value deeper than kMaxJsonPatchDepth levels. Over either → JsonPatchInvalid.
inline constexpr std::size_t kMaxJsonPatchCopiedValues = 100'000;
inline constexpr std::size_t kMaxJsonPatchDepth = 64;

// Applies `ops` in order. All-or-nothing: on error `document` is unchanged (the patch is
// applied to a copy that replaces `document` on success).
Status ApplyJsonPatch(const std::vector<PatchOperation>& ops, json::value& document);
Status ApplyJsonPatch(const json::value& patch, json::value& document);

// As ApplyJsonPatch but without the copy: on error `document` may hold the operations before
// the failing one. For callers that patch a scratch copy anyway.
Status ApplyJsonPatchInPlace(const std::vector<PatchOperation>& ops, json::value& document);

// Equality as the "test" operation defines it: numbers compare by value (1 equals 1.0),
// objects compare member sets regardless of order, arrays element-wise.
bool JsonEqual(const json::value& a, const json::value& b);

}  // namespace doppel::twin
