// The load generator behind `make bench-loop` (scripts/bench-loop.sh, bench/RESULTS.md):
//
//   loop_bench ingest [--twins N] [--rules R] [--readings M]     in process: ingest with and
//                                                                without rules (rule_ingest.h)
//   loop_bench commands --url URL --twin ID --command NAME [--payload JSON] [--count N]
//                                                                command round trips against a
//                                                                running server (command_rtt.h)
//
// Each prints its figures as one JSON object on stdout (progress on stderr).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "base/json.h"
#include "loop/command_rtt.h"
#include "loop/rule_ingest.h"

namespace {

using doppel::json::object;

int Ingest(const doppel::bench::RuleIngestOptions& options) {
  const auto f = doppel::bench::RunRuleIngest(options);
  std::printf("%s\n", doppel::ToJson(object{{"twins", options.twins},
                                            {"rules", options.rules},
                                            {"readings", options.readings},
                                            {"ingest_readings_per_s_without_rules", f.readings_per_s_without_rules},
                                            {"ingest_readings_per_s_with_rules", f.readings_per_s_with_rules},
                                            {"ingest_drop_with_rules_pct", f.drop_pct},
                                            {"rule_eval_ns_per_update", f.eval_ns_per_update},
                                            {"rule_evaluations", f.evaluations},
                                            {"rule_activations", f.activations},
                                            {"rule_updates_dropped", f.updates_dropped},
                                            {"rules_put_s", f.setup_s}})
                          .c_str());
  return 0;
}

int Commands(const doppel::bench::CommandRttOptions& options) {
  auto f = doppel::bench::RunCommandRtt(options);
  if (!f.ok()) {
    std::fprintf(stderr, "bench-loop: %s\n", f.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", doppel::ToJson(object{{"command_count", f->measured},
                                            {"command_failed", f->failed},
                                            {"command_rtt_p50_ms", f->server_p50_ms},
                                            {"command_rtt_p99_ms", f->server_p99_ms},
                                            {"command_rtt_max_ms", f->server_max_ms},
                                            {"command_http_p50_ms", f->http_p50_ms},
                                            {"command_http_p99_ms", f->http_p99_ms},
                                            {"command_http_max_ms", f->http_max_ms}})
                          .c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Closing the loop: the rule engine on the ingest path and the command round trip"};
  app.require_subcommand(1);
  doppel::bench::RuleIngestOptions ingest;
  auto* ingest_cmd = app.add_subcommand("ingest", "Ingest throughput without and with rules, in process");
  ingest_cmd->add_option("--twins", ingest.twins, "Sensor twins")->capture_default_str();
  ingest_cmd->add_option("--rules", ingest.rules, "Rules (one per group of twins/rules sensors)")->capture_default_str();
  ingest_cmd->add_option("--readings", ingest.readings, "Readings written")->capture_default_str();
  ingest_cmd->add_option("--batch", ingest.batch, "Readings per Ingestor::Write")->capture_default_str();
  doppel::bench::CommandRttOptions commands;
  auto* commands_cmd = app.add_subcommand("commands", "Sequential command invocations against a running server");
  commands_cmd->add_option("--url", commands.url, "Server URL")->required();
  commands_cmd->add_option("--twin", commands.twin, "Twin")->required();
  commands_cmd->add_option("--command", commands.command, "Command")->required();
  commands_cmd->add_option("--payload", commands.payload, "Request body (JSON)");
  commands_cmd->add_option("--count", commands.count, "Measured invocations")->capture_default_str();
  commands_cmd->add_option("--warmup", commands.warmup, "Invocations before measuring")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (ingest_cmd->parsed()) return Ingest(ingest);
  return Commands(commands);
}
