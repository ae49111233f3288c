// FMU call overhead per doStep: the thermal-mass FMU (tests/sim/fmi/testdata/thermal_mass.c,
// compiled at start-up with $CC or cc) stepped
//   - out of process, the way the server runs every FMU: FmuRegistry + ModelCatalog::Create,
//     one Set of the input and one Step per iteration (one request and one reply on a socket);
//   - in process, the same shared library dlopen'ed here and called directly (fmi2SetReal,
//     fmi2DoStep, fmi2GetReal) — the cost of the model itself.
// BM_FmuStepOutOfProcess reports fmu_step_overhead_ns: its time per step minus the in-process
// time per step (measured just before it), i.e. what isolation costs per doStep.
//
// The host is the doppel binary: $DOPPEL_BINARY, else the `doppel` beside this benchmark.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "sim/fmi/fmi2.h"
#include "sim/fmi/fmu_registry.h"
#include "sim/fmi/testing/fmu_builder.h"

namespace doppel::sim::fmi {
namespace {

namespace fs = std::filesystem;

constexpr double kStepSeconds = 1.0;

// The FMU built once: its work directory, archive bytes and shared library path.
struct BuiltFmu {
  fs::path dir;
  std::string archive;
  fs::path library;
  std::string error;  // set when the build failed
};

const BuiltFmu& Fmu() {
  static const BuiltFmu built = [] {
    BuiltFmu b;
    std::string pattern = (fs::temp_directory_path() / "fmu-bench-XXXXXX").string();
    b.dir = ::mkdtemp(pattern.data());
    const char* cc = std::getenv("CC");
    testing::FmuBuildEnv env{
        .source_dir = DOPPEL_SOURCE_DIR, .compiler = cc ? cc : "cc", .work_dir = b.dir};
    auto archive = testing::BuildThermalMassFmu(env);
    if (!archive.ok()) {
      b.error = archive.status().ToString();
      return b;
    }
    b.archive = *archive;
    b.library = b.dir / "thermal_mass.so";
    return b;
  }();
  // Removes the build directory at exit.
  static const struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{built.dir};
  return built;
}

std::string HostBinary() {
  if (const char* binary = std::getenv("DOPPEL_BINARY")) return binary;
  return (fs::read_symlink("/proc/self/exe").parent_path() / "doppel").string();
}

void Log(fmi2ComponentEnvironment, fmi2String, fmi2Status, fmi2String, fmi2String, ...) {}

// The thermal mass called directly through its FMI functions.
class InProcessFmu {
 public:
  bool Open(const fs::path& library) {
    handle_ = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) return false;
    auto instantiate = reinterpret_cast<fmi2InstantiateFn>(::dlsym(handle_, "fmi2Instantiate"));
    auto setup = reinterpret_cast<fmi2SetupExperimentFn>(::dlsym(handle_, "fmi2SetupExperiment"));
    auto enter = reinterpret_cast<fmi2EnterInitializationModeFn>(
        ::dlsym(handle_, "fmi2EnterInitializationMode"));
    auto exit = reinterpret_cast<fmi2ExitInitializationModeFn>(
        ::dlsym(handle_, "fmi2ExitInitializationMode"));
    set_real_ = reinterpret_cast<fmi2SetRealFn>(::dlsym(handle_, "fmi2SetReal"));
    get_real_ = reinterpret_cast<fmi2GetRealFn>(::dlsym(handle_, "fmi2GetReal"));
    do_step_ = reinterpret_cast<fmi2DoStepFn>(::dlsym(handle_, "fmi2DoStep"));
    free_ = reinterpret_cast<fmi2FreeInstanceFn>(::dlsym(handle_, "fmi2FreeInstance"));
    if (!instantiate || !setup || !enter || !exit || !set_real_ || !get_real_ || !do_step_)
      return false;
    component_ = instantiate("bench", fmi2CoSimulation, "{8c4e810f-3df3-4a00-8276-176fa3c9f000}",
                             "", &callbacks_, fmi2False, fmi2False);
    return component_ && setup(component_, fmi2False, 0, 0, fmi2False, 0) == fmi2OK &&
           enter(component_) == fmi2OK && exit(component_) == fmi2OK;
  }
  ~InProcessFmu() {
    if (component_) free_(component_);
    if (handle_) ::dlclose(handle_);
  }
  // What FmuSimulation::Step does per step, minus the process boundary: set the input, step,
  // read every variable back.
  double Step(double power) {
    const fmi2ValueReference input = 3, outputs[] = {0, 1, 2, 3, 4, 5};
    double values[6];
    set_real_(component_, &input, 1, &power);
    do_step_(component_, time_, kStepSeconds, fmi2True);
    time_ += kStepSeconds;
    get_real_(component_, outputs, 6, values);
    return values[5];
  }

 private:
  void* handle_ = nullptr;
  fmi2Component component_ = nullptr;
  fmi2SetRealFn set_real_ = nullptr;
  fmi2GetRealFn get_real_ = nullptr;
  fmi2DoStepFn do_step_ = nullptr;
  fmi2FreeInstanceFn free_ = nullptr;
  fmi2CallbackFunctions callbacks_{Log, std::calloc, std::free, nullptr, nullptr};
  double time_ = 0;
};

// Nanoseconds per in-process step, over `steps` steps.
double InProcessNsPerStep(int steps) {
  InProcessFmu fmu;
  if (!fmu.Open(Fmu().library)) return 0;
  auto start = std::chrono::steady_clock::now();
  double sink = 0;
  for (int i = 0; i < steps; ++i) sink += fmu.Step(100.0 + (i & 1));
  benchmark::DoNotOptimize(sink);
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
             .count() /
         steps;
}

void BM_FmuStepInProcess(benchmark::State& state) {
  if (!Fmu().error.empty()) return state.SkipWithError(Fmu().error.c_str());
  InProcessFmu fmu;
  if (!fmu.Open(Fmu().library)) return state.SkipWithError("cannot dlopen the FMU");
  int i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(fmu.Step(100.0 + (++i & 1)));
}
BENCHMARK(BM_FmuStepInProcess);

void BM_FmuStepOutOfProcess(benchmark::State& state) {
  if (!Fmu().error.empty()) return state.SkipWithError(Fmu().error.c_str());
  ModelCatalog catalog;
  FmuRegistryOptions options;
  options.directory = Fmu().dir / "registry";
  options.host.executable = HostBinary();
  auto registry = FmuRegistry::Open(options, catalog);
  if (!registry.ok()) return state.SkipWithError(registry.status().ToString().c_str());
  auto added = (*registry)->Add("thermalMass", Fmu().archive);
  if (!added.ok()) return state.SkipWithError(added.status().ToString().c_str());
  auto sim = catalog.Create("fmu:thermalMass");
  if (!sim.ok()) return state.SkipWithError(sim.status().ToString().c_str());
  std::size_t power = *(*sim)->info().Find("P_in"), temperature = *(*sim)->info().Find("T");
  double in_process_ns = InProcessNsPerStep(200'000);

  int i = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    (void)(*sim)->Set(power, 100.0 + (++i & 1));
    if (!(*sim)->Step(kStepSeconds).ok()) return state.SkipWithError("Step failed");
    benchmark::DoNotOptimize((*sim)->Get(temperature));
  }
  double out_of_process_ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
      static_cast<double>(state.iterations());
  state.counters["in_process_ns"] = in_process_ns;
  state.counters["fmu_step_overhead_ns"] = out_of_process_ns - in_process_ns;
}
BENCHMARK(BM_FmuStepOutOfProcess)->UseRealTime();

}  // namespace
}  // namespace doppel::sim::fmi

BENCHMARK_MAIN();
