// Errors are values: Status and Result<T>.
//
// One canonical code set for the whole server. base/status.cc holds the one table that maps
// each code to an HTTP status and a default Azure Digital Twins error code; a Status may carry
// a more specific Azure code (e.g. "DigitalTwinNotFound") when the API contract names one.
//
//   Result<Twin> TwinGraph::Get(std::string_view id) const {
//     auto it = twins_.find(id);
//     if (it == twins_.end()) return Status::NotFound("DigitalTwinNotFound", "no twin " + id);
//     return it->second;
//   }
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace doppel {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // malformed or invalid input (400)
  kNotFound,            // the addressed resource does not exist (404)
  kAlreadyExists,       // create of something that exists (409)
  kConflict,            // the state forbids it, e.g. deleting a referenced model (409)
  kPreconditionFailed,  // If-Match / If-None-Match did not hold (412)
  kPayloadTooLarge,     // body or result over a documented limit (413)
  kMethodNotAllowed,    // route exists, method does not (405)
  kUnauthenticated,     // (401)
  kPermissionDenied,    // (403)
  kResourceExhausted,   // a quota or capacity limit (429)
  kUnavailable,         // try again later (503)
  kInternal,            // a bug or an I/O failure (500)
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  Status(StatusCode code, std::string error_code, std::string message)
      : code_(code), error_code_(std::move(error_code)), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  // Each factory takes the Azure-style error code first ("" = the default for the status code).
  static Status InvalidArgument(std::string message, std::string error_code = "") {
    return {StatusCode::kInvalidArgument, std::move(error_code), std::move(message)};
  }
  static Status NotFound(std::string message, std::string error_code = "") {
    return {StatusCode::kNotFound, std::move(error_code), std::move(message)};
  }
  static Status AlreadyExists(std::string message, std::string error_code = "") {
    return {StatusCode::kAlreadyExists, std::move(error_code), std::move(message)};
  }
  static Status Conflict(std::string message, std::string error_code = "") {
    return {StatusCode::kConflict, std::move(error_code), std::move(message)};
  }
  static Status PreconditionFailed(std::string message, std::string error_code = "") {
    return {StatusCode::kPreconditionFailed, std::move(error_code), std::move(message)};
  }
  static Status PayloadTooLarge(std::string message, std::string error_code = "") {
    return {StatusCode::kPayloadTooLarge, std::move(error_code), std::move(message)};
  }
  static Status MethodNotAllowed(std::string message) {
    return {StatusCode::kMethodNotAllowed, "", std::move(message)};
  }
  static Status Unauthenticated(std::string message, std::string error_code = "") {
    return {StatusCode::kUnauthenticated, std::move(error_code), std::move(message)};
  }
  static Status PermissionDenied(std::string message, std::string error_code = "") {
    return {StatusCode::kPermissionDenied, std::move(error_code), std::move(message)};
  }
  static Status ResourceExhausted(std::string message, std::string error_code = "") {
    return {StatusCode::kResourceExhausted, std::move(error_code), std::move(message)};
  }
  static Status Unavailable(std::string message) {
    return {StatusCode::kUnavailable, "", std::move(message)};
  }
  static Status Internal(std::string message) {
    return {StatusCode::kInternal, "", std::move(message)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The Azure-style error code: the specific one if set, else the default for code().
  std::string error_code() const;
  // The HTTP status this error is answered with.
  int http_status() const;
  // "NotFound: no twin pump-1" — for logs and the CLI.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string error_code_;
  std::string message_;
};

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result needs a value or an error");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace doppel

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define DOPPEL_RETURN_IF_ERROR(expr)       \
  do {                                     \
    ::doppel::Status _st = (expr);         \
    if (!_st.ok()) return _st;             \
  } while (0)

#define DOPPEL_CONCAT_INNER(a, b) a##b
#define DOPPEL_CONCAT(a, b) DOPPEL_CONCAT_INNER(a, b)
// `DOPPEL_ASSIGN_OR_RETURN(auto x, MakeX());` — binds the value or returns the error.
#define DOPPEL_ASSIGN_OR_RETURN(lhs, expr) \
  DOPPEL_ASSIGN_OR_RETURN_IMPL(DOPPEL_CONCAT(_res_, __LINE__), lhs, expr)
#define DOPPEL_ASSIGN_OR_RETURN_IMPL(res, lhs, expr) \
  auto res = (expr);                                 \
  if (!res.ok()) return res.status();                \
  lhs = std::move(res).value()

// Broken invariants are bugs, not Statuses.
#define DOPPEL_CHECK(cond)                                                   \
  do {                                                                       \
    if (!(cond)) ::doppel::internal_check::Fail(#cond, __FILE__, __LINE__);  \
  } while (0)

namespace doppel::internal_check {
[[noreturn]] void Fail(const char* cond, const char* file, int line);
}
