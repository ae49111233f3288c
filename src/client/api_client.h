// The Azure-Digital-Twins-style REST API seen from the client side: JSON documents in and
// out, server errors turned back into Status values, paging followed.
//
//   DOPPEL_ASSIGN_OR_RETURN(auto api, ApiClient::Create("http://127.0.0.1:8080"));
//   DOPPEL_ASSIGN_OR_RETURN(json::value twin, api->Call("GET", "/digitaltwins/pump-1"));
//   DOPPEL_ASSIGN_OR_RETURN(json::array rows, api->Query("SELECT * FROM digitaltwins"));
//
// Thread-safety: like HttpClient, one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/status.h"
#include "client/http_client.h"

namespace doppel::client {

// The API version sent with every call, as Azure SDK clients do.
inline constexpr std::string_view kApiVersion = "2023-10-31";

// A non-2xx response as a Status: the canonical code follows the HTTP status, the error
// code and message come from the {"error": {"code", "message"}} body (or, when the body is
// not that shape, the status line and the start of the body).
Status StatusFromResponse(const HttpResponse& response);

class ApiClient {
 public:
  static Result<std::unique_ptr<ApiClient>> Create(std::string_view base_url,
                                                   HttpClientOptions options = {});

  // Sends `body` (serialised; nullptr = no body) to `path` with ?api-version appended.
  // 2xx → the parsed response body (null when empty). Errors: StatusFromResponse for
  // non-2xx, Unavailable when the server cannot be reached, InvalidArgument when a 2xx body
  // is not JSON.
  Result<json::value> Call(std::string_view method, std::string_view path,
                           const json::value* body = nullptr, const HttpHeaders& headers = {});
  // As Call, with a body already serialised (or read from a file).
  Result<json::value> CallRaw(std::string_view method, std::string_view path, std::string_view body,
                              const HttpHeaders& headers = {});

  // GETs a paged list ({"value": [...], "nextLink": url}) and follows nextLink to the end.
  Result<json::array> ListAll(std::string_view path);

  // POSTs /query and follows continuation tokens; returns every row. `pages`, when given,
  // receives the number of pages fetched.
  Result<json::array> Query(std::string_view query, int* pages = nullptr);

  // Sends `Authorization: Bearer <token>` with every call from now on ("" = none).
  void set_token(std::string token) { token_ = std::move(token); }

  HttpClient& http() { return *http_; }
  std::string base_url() const { return http_->base_url().ToString(); }

 private:
  explicit ApiClient(std::unique_ptr<HttpClient> http) : http_(std::move(http)) {}
  std::string WithApiVersion(std::string_view path) const;

  std::unique_ptr<HttpClient> http_;
  std::string token_;
};

}  // namespace doppel::client
