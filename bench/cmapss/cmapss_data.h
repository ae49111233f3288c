// NASA C-MAPSS files for the RUL evaluation (bench/cmapss, ../shared/data/README.md "cmapss"):
// train_<subset>.txt (units run to failure), test_<subset>.txt (units cut short) and
// RUL_<subset>.txt (each test unit's true remaining cycles), whitespace-separated rows of
// unit, cycle, 3 operational settings, 21 sensors.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace doppel::bench::cmapss {

inline constexpr int kSettings = 3;
inline constexpr int kSensors = 21;
// The 14 sensors that move with wear (the others are constant or nearly so in C-MAPSS).
inline const std::vector<int> kInformativeSensors = {2,  3,  4,  7,  8,  9,  11,
                                                     12, 13, 14, 15, 17, 20, 21};

struct Cycle {
  int cycle = 0;
  double settings[kSettings] = {};
  double sensors[kSensors] = {};  // sensors[i] is s(i+1)
};
struct Unit {
  int id = 0;
  std::vector<Cycle> cycles;
};
struct Subset {
  std::string name;
  std::vector<Unit> train, test;
  std::vector<double> test_rul;  // per test unit, in file order
};

Result<Subset> LoadSubset(const std::string& dir, const std::string& name);

// Signal names as the bench's DTDL model calls them: "s2", ..., "setting1".
std::vector<std::string> SignalNames();
std::vector<std::string> SettingNames();
// One unit's cycles as RulModel input rows: the informative sensors, then the 3 settings.
std::vector<std::vector<double>> ModelRows(const Unit& unit);

// The PHM08 score: Σ e^{−d/13} − 1 (early, d < 0) or e^{d/10} − 1 (late), d = predicted − true.
double Phm08Score(const std::vector<double>& predicted, const std::vector<double>& truth);
double Rmse(const std::vector<double>& predicted, const std::vector<double>& truth);

}  // namespace doppel::bench::cmapss
