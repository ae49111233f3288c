#include "app/apikey_command.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <filesystem>
#include <iostream>
#include <memory>
#include <ostream>

#include "auth/api_keys.h"
#include "auth/policy.h"

namespace doppel::app {
namespace {

namespace fs = std::filesystem;

constexpr std::chrono::minutes kLongestExpiry = std::chrono::days(36'500);

// The key store of `data_dir`. When a running server holds it, say what to do instead.
Result<std::unique_ptr<auth::ApiKeyStore>> OpenStore(const std::string& data_dir) {
  auto store = auth::ApiKeyStore::Open(auth::ApiKeyFilePath(data_dir));
  if (!store.ok() && store.status().code() == StatusCode::kUnavailable) {
    return Status::Unavailable(
        store.status().message() +
        ": `doppel apikey` works offline; stop the server first, or manage keys "
        "through its API (/auth/apikeys)");
  }
  return store;
}

// list and revoke never create anything: a mistyped --data-dir is an error, not a new
// directory with an empty key file.
Status CheckDataDir(const std::string& data_dir) {
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec)) return Status::NotFound("no data directory " + data_dir);
  return Status::Ok();
}

bool HasKeyFile(const std::string& data_dir) {
  std::error_code ec;
  return fs::exists(auth::ApiKeyFilePath(data_dir), ec);
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

void PrintCreated(const auth::CreatedApiKey& created, const CommandIo& io) {
  const auth::ApiKeyInfo& info = created.info;
  io.out << created.token << "\n";
  io.err << "created API key " << info.id << " '" << info.name << "' (roles: " << Join(info.roles)
         << (info.expires ? "; expires " + FormatRfc3339(*info.expires) : "; never expires")
         << ")\n"
         << "store the token now: it is not shown again\n";
  for (const auto& role : info.roles) {
    if (!auth::IsBuiltInRole(role)) {
      io.err << "note: '" << role
             << "' is not a built-in role; the server's configuration must define it "
             << "under auth.roles\n";
    }
  }
}

}  // namespace

Result<std::chrono::minutes> ParseExpiresIn(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(
        "--expires-in '" + std::string(text) +
        "': expected a positive whole number of days, hours or minutes (90d, 12h, 30m)");
  };
  if (text.size() < 2) return bad();
  int64_t count = 0;
  std::string_view digits = text.substr(0, text.size() - 1);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (error != std::errc() || end != digits.data() + digits.size() || count <= 0 ||
      count > kLongestExpiry.count()) {
    return bad();
  }
  std::chrono::minutes ttl;
  switch (text.back()) {
    case 'd':
      ttl = std::chrono::days(count);
      break;
    case 'h':
      ttl = std::chrono::hours(count);
      break;
    case 'm':
      ttl = std::chrono::minutes(count);
      break;
    default:
      return bad();
  }
  if (ttl > kLongestExpiry) return bad();
  return ttl;
}

int CreateApiKey(const ApiKeyCreateOptions& options, TimePoint now, const CommandIo& io) {
  auth::ApiKeySpec spec;
  spec.name = options.name;
  spec.roles = options.roles;
  spec.clearances = options.clearances;
  if (!options.expires_in.empty()) {
    auto ttl = ParseExpiresIn(options.expires_in);
    if (!ttl.ok()) return ReportError(ttl.status(), io);
    spec.expires = now + *ttl;
  }
  auto store = OpenStore(options.data_dir);
  if (!store.ok()) return ReportError(store.status(), io);
  auto created = (*store)->Create(spec, now);
  if (!created.ok()) return ReportError(created.status(), io);
  PrintCreated(*created, io);
  return 0;
}

int ListApiKeys(const std::string& data_dir, const CommandIo& io) {
  if (Status dir = CheckDataDir(data_dir); !dir.ok()) return ReportError(dir, io);
  json::array keys;
  if (HasKeyFile(data_dir)) {
    auto store = OpenStore(data_dir);
    if (!store.ok()) return ReportError(store.status(), io);
    for (const auto& info : (*store)->List()) keys.emplace_back(auth::ApiKeyInfoToJson(info));
  }
  io.out << ToPrettyJson(keys) << "\n";
  return 0;
}

int RevokeApiKey(const std::string& data_dir, const std::string& id, TimePoint now,
                 const CommandIo& io) {
  if (Status dir = CheckDataDir(data_dir); !dir.ok()) return ReportError(dir, io);
  if (!HasKeyFile(data_dir)) {
    return ReportError(Status::NotFound("no API key '" + id + "' (" + data_dir + " has no keys)"),
                       io);
  }
  auto store = OpenStore(data_dir);
  if (!store.ok()) return ReportError(store.status(), io);
  if (Status revoked = (*store)->Revoke(id, now); !revoked.ok()) return ReportError(revoked, io);
  io.err << "revoked API key " << id << "\n";
  return 0;
}

void AddApiKeyCommand(CLI::App& app, const std::function<void(std::function<int()>)>& set_action) {
  auto* apikey = app.add_subcommand(
      "apikey",
      "Create, list or revoke API keys in a data directory (offline: the server must be stopped)");
  apikey->require_subcommand(1);
  auto io = [] { return CommandIo{std::cout, std::cerr}; };

  auto options = std::make_shared<ApiKeyCreateOptions>();
  auto* create = apikey->add_subcommand(
      "create", "Create a key; its token is printed once, on standard output");
  create->add_option("--data-dir", options->data_dir, "The server's data directory")->required();
  create->add_option("--name", options->name, "What the key is for (1-128 characters)")->required();
  create->add_option("--role", options->roles, "A role the key holds (repeat for several)")
      ->required();
  create->add_option("--expires-in", options->expires_in,
                     "Lifetime: 90d, 12h or 30m (default: never expires)");
  create->add_option("--clearance", options->clearances,
                     "A data classification it may read unmasked (repeatable)");
  create->callback([options, set_action, io] {
    set_action(
        [options, io] { return CreateApiKey(*options, SystemClock::Instance().Now(), io()); });
  });

  auto data_dir = std::make_shared<std::string>();
  auto* list = apikey->add_subcommand("list", "Print the keys as JSON (never their secrets)");
  list->add_option("--data-dir", *data_dir, "The server's data directory")->required();
  list->callback([data_dir, set_action, io] {
    set_action([data_dir, io] { return ListApiKeys(*data_dir, io()); });
  });

  auto id = std::make_shared<std::string>();
  auto* revoke = apikey->add_subcommand("revoke", "Revoke a key: its token stops working at once");
  revoke->add_option("id", *id, "The key's id (from list)")->required();
  revoke->add_option("--data-dir", *data_dir, "The server's data directory")->required();
  revoke->callback([data_dir, id, set_action, io] {
    set_action([data_dir, id, io] {
      return RevokeApiKey(*data_dir, *id, SystemClock::Instance().Now(), io());
    });
  });
}

}  // namespace doppel::app
