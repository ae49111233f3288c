// `doppel apikey create|list|revoke --data-dir DIR`: managing API keys (auth/api_keys.h) offline,
// on a data directory, with the server stopped — for the first admin key of a new installation
// and for recovering access. The key file's lock refuses a directory a running server holds;
// with the server up, use its API (/auth/apikeys) instead.
//
//   doppel apikey create --data-dir /var/lib/doppel --name historian --role engineer --expires-in
//   90d dpk_k3x9...                          ← stdout: the token alone, shown only this once doppel
//   apikey list --data-dir /var/lib/doppel          ← JSON array, never secrets doppel apikey
//   revoke k3x9abcd2345 --data-dir /var/lib/doppel
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "app/remote_command.h"
#include "base/clock.h"
#include "base/status.h"

namespace CLI {
class App;
}

namespace doppel::app {

struct ApiKeyCreateOptions {
  std::string data_dir;
  std::string name;
  std::vector<std::string> roles;       // at least one
  std::vector<std::string> clearances;  // data classifications readable unmasked
  std::string expires_in;               // "90d", "12h", "30m"; "" = never expires
};

// Creates a key in ApiKeyFilePath(data_dir) (creating the directories if needed). Prints the
// token alone on io.out's first line and a note (id, roles, expiry, "not shown again") on
// io.err. Returns 0, or 1 with the reason (bad options, the server holds the directory, I/O).
int CreateApiKey(const ApiKeyCreateOptions& options, TimePoint now, const CommandIo& io);

// Prints the keys (ApiKeyInfoToJson, by creation time) as a JSON array; [] when the data
// directory has no key file yet (none is created). Returns 0, or 1 with the reason.
int ListApiKeys(const std::string& data_dir, const CommandIo& io);

// Revokes key `id` (revoking twice keeps the first time). Returns 0, or 1 with the reason
// (unknown id, the server holds the directory, I/O).
int RevokeApiKey(const std::string& data_dir, const std::string& id, TimePoint now,
                 const CommandIo& io);

// "90d", "12h", "30m": a positive whole number of days, hours or minutes, at most 100 years.
Result<std::chrono::minutes> ParseExpiresIn(std::string_view text);

// Adds the `apikey` subcommand to `app`; when one of its subcommands is chosen, `set_action`
// receives the function that runs it (returning the exit code), to be called after parsing.
void AddApiKeyCommand(CLI::App& app, const std::function<void(std::function<int()>)>& set_action);

}  // namespace doppel::app
