// Samples of offending input for log lines (internal to connect/mqtt): hostile topics and
// payloads must not be able to forge log lines or flood them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace doppel::connect::mqtt::internal {

// `bytes` made safe for a log line: printable ASCII and well-formed UTF-8 kept, everything else
// (control characters, invalid UTF-8, backslash) written as \xNN / "\\"; cut after about
// `max_bytes` of input with "...(N bytes)" appended.
std::string LogSample(std::string_view bytes, std::size_t max_bytes = 200);

}  // namespace doppel::connect::mqtt::internal
