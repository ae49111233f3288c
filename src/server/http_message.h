// Plain HTTP request and response values: what the transport (http_server.cc, the only file that
// sees Boost.Beast) hands to the API layer and gets back. Keeping Beast out of the API keeps the
// API cheap to compile and testable without sockets.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace doppel::server {

struct HttpRequest {
  std::string method;  // upper case, as received: "GET", "PUT", ...
  std::string target;  // the raw request-target: "/models?api-version=2023-10-31"
  // Header names are stored lower-cased; values as received. A repeated header appears twice.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The peer, "ip:port" ("[v6]:port"), filled by the transport; "" when unknown (tests).
  std::string remote_address = {};
  // Mutual TLS: the subject of the client certificate the handshake verified, RFC 2253
  // ("CN=alice,O=Plant 7"); "" on plain HTTP or when no client certificate was requested.
  std::string tls_client_subject = {};

  // The first value of header `name` (case-insensitive), or "" if absent.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  void AddHeader(std::string_view name, std::string value);
  // The target up to '?' (still percent-encoded), and what follows it ("" if none).
  std::string_view RawPath() const;
  std::string_view RawQuery() const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // names as they go on the wire
  std::string body;
  // Set when the connection must be closed after this response (e.g. an unread oversized body).
  bool close_connection = false;
  // Body producer for large answers, so they need not be held in memory whole. When set, `body`
  // is not sent: the transport sends the headers, then calls `stream` until it yields an empty
  // chunk, sending each chunk as it comes (HTTP/1.1 chunked transfer encoding; an HTTP/1.0
  // peer gets the collected body). Each call clears and fills `chunk` and returns OK, or an
  // error, which aborts the response: the connection is closed without the final chunk, so the
  // client sees a truncated transfer rather than a well-formed partial answer. The producer
  // runs on a transport thread after the handler returned: everything it uses must stay alive
  // until it has returned an empty chunk or an error (or the server stopped).
  using BodyProducer = std::function<Status(std::string& chunk)>;
  BodyProducer stream;

  // Replaces any header of the same (case-insensitive) name.
  void SetHeader(std::string_view name, std::string value);
  std::string_view Header(std::string_view name) const;

  // `value` serialised with doppel::ToJson, Content-Type application/json.
  static HttpResponse Json(int status, const json::value& value);
  static HttpResponse NoContent();
  static HttpResponse Text(int status, std::string body, std::string_view content_type);
  // The ADT error shape {"error": {"code", "message"}} with the x-ms-error-code header and the
  // status from Status::http_status(). `status` must not be OK. Bytes of the message that are
  // not UTF-8 (echoed client input) are replaced by U+FFFD.
  static HttpResponse Error(const Status& status);
  // A streamed answer (see `stream`) with the given Content-Type.
  static HttpResponse Stream(int status, std::string_view content_type, BodyProducer producer) {
    HttpResponse res;
    res.status = status;
    res.SetHeader("Content-Type", std::string(content_type));
    res.stream = std::move(producer);
    return res;
  }
  // Runs `stream` to its end, appending every chunk to `body`, and clears it: for peers that
  // cannot take chunked transfers, and for tests. Returns the producer's error, if any.
  Status CollectStream() {
    BodyProducer producer = std::move(stream);
    stream = nullptr;
    if (!producer) return Status::Ok();
    std::string chunk;
    while (true) {
      chunk.clear();
      Status s = producer(chunk);
      if (!s.ok()) return s;
      if (chunk.empty()) return Status::Ok();
      body += chunk;
    }
  }
};

// ASCII case-insensitive equality, for header names and tokens.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace doppel::server
