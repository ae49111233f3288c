#include "app/serve_command.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "app/serve.h"

namespace doppel::app {
namespace {

// Flags as given; unset ones leave the config file's (or the built-in) value alone, so a
// flag always wins over the file and the file over the defaults.
struct ServeFlags {
  std::string config;
  std::optional<std::string> listen;
  std::optional<std::string> data_dir;
  std::optional<std::size_t> max_body_bytes;
  std::optional<int> threads;
  std::optional<std::string> log_level;
  bool no_sync = false;
};

int RunServe(const ServeFlags& flags) {
  ServeOptions options;
  if (!flags.config.empty()) {
    auto loaded = LoadServeConfig(flags.config);
    if (!loaded.ok()) {
      std::cerr << "error: " << loaded.status().error_code() << ": " << loaded.status().message()
                << "\n";
      return 1;
    }
    options = std::move(loaded).value();
  }
  if (flags.listen) options.listen = *flags.listen;
  if (flags.data_dir) options.data_dir = *flags.data_dir;
  if (flags.max_body_bytes) options.max_body_bytes = *flags.max_body_bytes;
  if (flags.threads) options.threads = *flags.threads;
  if (flags.log_level) options.log_level = *flags.log_level;
  if (flags.no_sync) options.sync = false;
  return Serve(options);
}

}  // namespace

void AddServeCommand(CLI::App& app, const std::function<void(std::function<int()>)>& set_action) {
  auto flags = std::make_shared<ServeFlags>();
  auto* serve = app.add_subcommand("serve", "Run the server (until SIGINT/SIGTERM)");
  serve->add_option("--listen", flags->listen,
                    "host:port to listen on; port 0 picks a free one (default 127.0.0.1:8080)");
  serve->add_option("--data-dir", flags->data_dir,
                    "Store directory, created if missing (empty: in memory only)");
  serve->add_option("--config", flags->config, "JSON config file; flags given here override it")
      ->check(CLI::ExistingFile);
  serve
      ->add_option("--max-body-bytes", flags->max_body_bytes,
                   "Largest request body (default 32 MiB)")
      ->check(CLI::PositiveNumber);
  serve->add_option("--threads", flags->threads, "HTTP worker threads (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  serve->add_option("--log-level", flags->log_level,
                    "trace|debug|info|warn|error|critical|off (default info)");
  serve->add_flag(
      "--no-sync", flags->no_sync,
      "Do not fsync before acknowledging writes: faster, but a crash may lose acknowledged writes");
  serve->callback([flags, set_action] { set_action([flags] { return RunServe(*flags); }); });
}

}  // namespace doppel::app
