// ModelCatalog::WithBuiltins: the physics models compiled into Doppel (docs/simulation-models.md).
#include "sim/models/centrifugal_pump.h"
#include "sim/models/production_line.h"
#include "sim/models/wind_turbine.h"
#include "sim/simulation.h"

namespace doppel::sim {
namespace {

template <auto kNew>
ModelCatalog::Factory FactoryOf() {
  return []() -> Result<std::unique_ptr<Simulation>> { return std::unique_ptr<Simulation>(kNew()); };
}

}  // namespace

ModelCatalog ModelCatalog::WithBuiltins() {
  ModelCatalog catalog;
  catalog.Register(WindTurbineInfo(), FactoryOf<&NewWindTurbine>());
  catalog.Register(ProductionLineInfo(), FactoryOf<&NewProductionLine>());
  catalog.Register(CentrifugalPumpInfo(), FactoryOf<&NewCentrifugalPump>());
  return catalog;
}

}  // namespace doppel::sim
