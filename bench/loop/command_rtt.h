// The command round trip (issue #7, bench/RESULTS.md): `count` sequential invocations of one
// command on one twin through a running server's API (POST /digitaltwins/{id}/commands/{name},
// waiting for the outcome), which the server delivers over MQTT through the broker to the device
// (the device simulator, in scripts/bench-loop.sh) and completes with its response.
//
// Two latencies per invocation: the server's, createdTime → completedTime of the invocation it
// answers (request published, response received and persisted), and the client's HTTP round
// trip (that plus the HTTP exchange).
#pragma once

#include <cstddef>
#include <string>

#include "base/status.h"

namespace doppel::bench {

struct CommandRttOptions {
  std::string url;          // the server
  std::string twin;         // a twin the device answers for
  std::string command;      // its command
  std::string payload;      // the request body ("" = none)
  std::size_t count = 500;  // sequential invocations
  std::size_t warmup = 20;  // first invocations not measured (connections, caches)
};

struct CommandRttFigures {
  std::size_t measured = 0;
  std::size_t failed = 0;  // invocations whose status was not "succeeded"
  double server_p50_ms = 0, server_p99_ms = 0, server_max_ms = 0;
  double http_p50_ms = 0, http_p99_ms = 0, http_max_ms = 0;
};

// Unavailable when the server cannot be reached; a non-200 answer is an error naming it.
Result<CommandRttFigures> RunCommandRtt(const CommandRttOptions& options);

}  // namespace doppel::bench
