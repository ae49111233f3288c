// The command line. Each command's work lives in a *_command.cc beside this file; here are
// only the words and flags, so `doppel --help` and the code that parses it stay in one place.
#include "app/cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "app/apikey_command.h"
#include "app/backup_command.h"
#include "app/devsim_command.h"
#include "app/fmu_host_command.h"
#include "app/load_command.h"
#include "app/models_command.h"
#include "app/opcua_command.h"
#include "app/query_command.h"
#include "app/serve_command.h"
#include "app/twins_command.h"

namespace doppel::app {
namespace {

constexpr const char* kDefaultUrl = "http://127.0.0.1:8080";

// What the parsed command line asks for: set by the chosen subcommand's callback, run after
// parsing succeeds (so a parse error never half-runs a command).
using Action = std::function<int()>;

struct Cli {
  CLI::App app{"Doppel: a digital twin engine. One binary: the server and its command line.",
               "doppel"};
  std::string url = kDefaultUrl;
  Action action;
  CommandIo io{std::cout, std::cerr};
};

void AddModelsCommands(Cli& cli) {
  auto* models =
      cli.app.add_subcommand("models", "Validate DTDL offline; upload, list, get, delete models");
  models->require_subcommand(1);

  auto* validate =
      models->add_subcommand("validate", "Check DTDL files as one batch, without a server");
  auto validate_options = std::make_shared<ValidateModelsOptions>();
  validate->add_flag("--allow-undefined-extensions", validate_options->allow_undefined_extensions,
                     "Accept @context extensions the parser does not know");
  validate
      ->add_option("paths", validate_options->paths,
                   "Model files or directories (*.json, recursive)")
      ->required();
  validate->callback([&cli, validate_options] {
    cli.action = [&cli, validate_options] { return ValidateModels(*validate_options, cli.io); };
  });

  auto paths = std::make_shared<std::vector<std::string>>();
  auto* upload = models->add_subcommand(
      "upload", "POST every model under the paths to /models in one request");
  upload->add_option("paths", *paths, "Model files or directories")->required();
  upload->callback([&cli, paths] {
    cli.action = [&cli, paths] { return UploadModels(cli.url, *paths, cli.io); };
  });

  models->add_subcommand("list", "List the models the server knows")->callback([&cli] {
    cli.action = [&cli] { return ListModels(cli.url, cli.io); };
  });

  auto id = std::make_shared<std::string>();
  using ModelCommand = int (*)(const std::string&, const std::string&, const CommandIo&);
  auto add_by_id = [&](const char* name, const char* help, ModelCommand run) {
    auto* command = models->add_subcommand(name, help);
    command->add_option("id", *id, "Model id (dtmi:...)")->required();
    command->callback(
        [&cli, id, run] { cli.action = [&cli, id, run] { return run(cli.url, *id, cli.io); }; });
  };
  add_by_id("get", "Show a model with its definition", GetModel);
  add_by_id("delete", "Delete a model", DeleteModel);
  add_by_id("decommission", "Mark a model decommissioned", DecommissionModel);
}

void AddTwinsCommands(Cli& cli) {
  auto* twins = cli.app.add_subcommand("twins", "Get, put, patch or delete one digital twin");
  twins->require_subcommand(1);
  auto id = std::make_shared<std::string>();
  auto arg = std::make_shared<std::string>();

  auto* get = twins->add_subcommand("get", "Show a twin");
  get->add_option("id", *id, "Twin id")->required();
  get->callback([&cli, id] { cli.action = [&cli, id] { return GetTwin(cli.url, *id, cli.io); }; });

  auto* put =
      twins->add_subcommand("put", "Create or replace a twin from a JSON file (- for stdin)");
  put->add_option("id", *id, "Twin id")->required();
  put->add_option("file", *arg, "Twin document file, or - for standard input")->required();
  put->callback([&cli, id, arg] {
    cli.action = [&cli, id, arg] { return PutTwin(cli.url, *id, *arg, cli.io); };
  });

  auto* patch = twins->add_subcommand("patch", "Apply a JSON Patch, given inline or as a file");
  patch->add_option("id", *id, "Twin id")->required();
  patch->add_option("patch", *arg, "JSON Patch ('[{\"op\":...}]') or a file holding one")
      ->required();
  patch->callback([&cli, id, arg] {
    cli.action = [&cli, id, arg] { return PatchTwin(cli.url, *id, *arg, cli.io); };
  });

  auto* remove = twins->add_subcommand("delete", "Delete a twin");
  remove->add_option("id", *id, "Twin id")->required();
  remove->callback(
      [&cli, id] { cli.action = [&cli, id] { return DeleteTwin(cli.url, *id, cli.io); }; });

  auto* relationships = cli.app.add_subcommand("relationships", "List a twin's relationships");
  relationships->require_subcommand(1);
  auto* list = relationships->add_subcommand("list", "List the relationships going out of a twin");
  auto as_json = std::make_shared<bool>(false);
  list->add_option("id", *id, "Source twin id")->required();
  list->add_flag("--json", *as_json, "Print the raw JSON documents");
  list->callback([&cli, id, as_json] {
    cli.action = [&cli, id, as_json] { return ListRelationships(cli.url, *id, *as_json, cli.io); };
  });
}

void AddQueryAndLoadCommands(Cli& cli) {
  auto text = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* query =
      cli.app.add_subcommand("query", "Run a query (all pages) and print the rows as a table");
  query->add_option("query", *text, "The query, e.g. \"SELECT * FROM digitaltwins\"")->required();
  query->add_flag("--json", *as_json, "Print the rows as JSON instead of a table");
  query->callback([&cli, text, as_json] {
    cli.action = [&cli, text, as_json] { return RunQuery(cli.url, *text, *as_json, cli.io); };
  });

  auto dir = std::make_shared<std::string>();
  auto* load = cli.app.add_subcommand(
      "load", "Upload DIR/models and PUT the twins and relationships of DIR/twins.json");
  load->add_option("dir", *dir, "Directory, e.g. examples/wind-farm")->required();
  load->callback(
      [&cli, dir] { cli.action = [&cli, dir] { return LoadDirectory(cli.url, *dir, cli.io); }; });
}

void AddBackupCommands(Cli& cli) {
  auto dir = std::make_shared<std::string>();
  auto* backup = cli.app.add_subcommand(
      "backup", "Have the server write a consistent copy of its data into DIR (while serving)");
  backup->add_option("dir", *dir, "A new directory on the server's machine (relative = to here)")->required();
  backup->callback([&cli, dir] { cli.action = [&cli, dir] { return RunBackup(cli.url, *dir, cli.io); }; });

  auto from = std::make_shared<std::string>();
  auto data_dir = std::make_shared<std::string>();
  auto* restore = cli.app.add_subcommand(
      "restore", "Copy a backup into a new data directory (offline: the server must be stopped)");
  restore->add_option("backup", *from, "The backup directory")->required();
  restore->add_option("--data-dir", *data_dir, "The data directory to restore into")->required();
  restore->callback([&cli, from, data_dir] {
    cli.action = [&cli, from, data_dir] { return RunRestore(*from, *data_dir, cli.io); };
  });
}

}  // namespace

int RunCli(int argc, char** argv) {
  Cli cli;
  // Options of `doppel` itself (--url) may also follow a subcommand: `doppel query --url ...`.
  cli.app.fallthrough();
  cli.app.require_subcommand(1);
  cli.app.add_option("--url", cli.url, "Server URL for client commands")
      ->envname("DOPPEL_URL")
      ->capture_default_str();
  AddServeCommand(cli.app, [&cli](Action action) { cli.action = std::move(action); });
  AddModelsCommands(cli);
  AddTwinsCommands(cli);
  AddQueryAndLoadCommands(cli);
  AddBackupCommands(cli);
  AddDevsimCommand(cli.app, [&cli](Action action) { cli.action = std::move(action); });
  AddApiKeyCommand(cli.app, [&cli](Action action) { cli.action = std::move(action); });
  AddFmuHostCommand(cli.app, [&cli](Action action) { cli.action = std::move(action); });
  AddOpcUaCommand(cli.app, [&cli](Action action) { cli.action = std::move(action); });
  try {
    cli.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that exit 0; a real usage error exits 2, the
    // conventional code, so scripts can tell it from a failed command (1).
    return cli.app.exit(e) == 0 ? 0 : 2;
  }
  return cli.action ? cli.action() : 0;
}

}  // namespace doppel::app
