#include "cmapss/cmapss_data.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace doppel::bench::cmapss {
namespace {

Result<std::vector<Unit>> ReadUnits(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot read {}", path));
  std::vector<Unit> units;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    std::istringstream fields(line);
    int unit = 0;
    Cycle c;
    if (!(fields >> unit)) continue;  // blank line
    bool ok = static_cast<bool>(fields >> c.cycle);
    for (double& s : c.settings) ok = ok && (fields >> s);
    for (double& s : c.sensors) ok = ok && (fields >> s);
    if (!ok)
      return Status::InvalidArgument(fmt::format("{}:{}: expected 26 numbers", path, line_no));
    if (units.empty() || units.back().id != unit) units.push_back(Unit{.id = unit, .cycles = {}});
    units.back().cycles.push_back(c);
  }
  return units;
}

Result<std::vector<double>> ReadTruth(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot read {}", path));
  std::vector<double> rul;
  for (double v; in >> v;) rul.push_back(v);
  return rul;
}

}  // namespace

Result<Subset> LoadSubset(const std::string& dir, const std::string& name) {
  Subset s{.name = name, .train = {}, .test = {}, .test_rul = {}};
  DOPPEL_ASSIGN_OR_RETURN(s.train, ReadUnits(fmt::format("{}/train_{}.txt", dir, name)));
  DOPPEL_ASSIGN_OR_RETURN(s.test, ReadUnits(fmt::format("{}/test_{}.txt", dir, name)));
  DOPPEL_ASSIGN_OR_RETURN(s.test_rul, ReadTruth(fmt::format("{}/RUL_{}.txt", dir, name)));
  if (s.test_rul.size() != s.test.size()) {
    return Status::InvalidArgument(
        fmt::format("{}: {} test units but {} true RULs", name, s.test.size(), s.test_rul.size()));
  }
  return s;
}

std::vector<std::string> SignalNames() {
  std::vector<std::string> names;
  for (int s : kInformativeSensors) names.push_back(fmt::format("s{}", s));
  return names;
}

std::vector<std::string> SettingNames() { return {"setting1", "setting2", "setting3"}; }

std::vector<std::vector<double>> ModelRows(const Unit& unit) {
  std::vector<std::vector<double>> rows;
  for (const auto& c : unit.cycles) {
    std::vector<double> row;
    for (int s : kInformativeSensors) row.push_back(c.sensors[s - 1]);
    row.insert(row.end(), std::begin(c.settings), std::end(c.settings));
    rows.push_back(std::move(row));
  }
  return rows;
}

double Phm08Score(const std::vector<double>& predicted, const std::vector<double>& truth) {
  double score = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    double d = predicted[i] - truth[i];
    score += d < 0 ? std::exp(-d / 13) - 1 : std::exp(d / 10) - 1;
  }
  return score;
}

double Rmse(const std::vector<double>& predicted, const std::vector<double>& truth) {
  double sse = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i)
    sse += (predicted[i] - truth[i]) * (predicted[i] - truth[i]);
  return predicted.empty() ? 0 : std::sqrt(sse / static_cast<double>(predicted.size()));
}

}  // namespace doppel::bench::cmapss
