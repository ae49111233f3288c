#include "base/status.h"

#include <cstdio>
#include <cstdlib>

namespace doppel {
namespace {

struct CodeInfo {
  int http_status;
  const char* error_code;  // Azure Digital Twins style
};

// The one table: canonical code → HTTP status and default Azure error code.
CodeInfo Info(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return {200, ""};
    case StatusCode::kInvalidArgument: return {400, "BadRequest"};
    case StatusCode::kNotFound: return {404, "NotFound"};
    case StatusCode::kAlreadyExists: return {409, "Conflict"};
    case StatusCode::kConflict: return {409, "Conflict"};
    case StatusCode::kPreconditionFailed: return {412, "PreconditionFailed"};
    case StatusCode::kPayloadTooLarge: return {413, "PayloadTooLarge"};
    case StatusCode::kMethodNotAllowed: return {405, "MethodNotAllowed"};
    case StatusCode::kUnauthenticated: return {401, "Unauthorized"};
    case StatusCode::kPermissionDenied: return {403, "Forbidden"};
    case StatusCode::kResourceExhausted: return {429, "TooManyRequests"};
    case StatusCode::kUnavailable: return {503, "ServiceUnavailable"};
    case StatusCode::kInternal: return {500, "InternalServerError"};
  }
  return {500, "InternalServerError"};
}

}  // namespace

std::string Status::error_code() const {
  return error_code_.empty() ? Info(code_).error_code : error_code_;
}

int Status::http_status() const { return Info(code_).http_status; }

std::string Status::ToString() const {
  if (ok()) return "OK";
  return error_code() + ": " + message_;
}

namespace internal_check {
void Fail(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "CHECK failed: %s at %s:%d\n", cond, file, line);
  std::abort();
}
}  // namespace internal_check

}  // namespace doppel
