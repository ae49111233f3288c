// Small files written so that a crash leaves either the old or the new version, never a torn
// one (API keys, API-defined connectors).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace doppel {

// Replaces `path` with `contents`: writes `path`.tmp with mode 0600 (these files hold secrets'
// hashes or broker passwords), fsyncs it, renames it over `path`, fsyncs the directory (the
// rename is durable only once the directory is). Internal naming the file and errno on failure;
// the temporary is removed then.
Status WriteFileAtomically(const std::string& path, std::string_view contents);

// The whole of `path`: NotFound naming it when it does not exist, Unavailable with errno when it
// cannot be read.
Result<std::string> ReadFile(const std::string& path);

}  // namespace doppel
