// /simulation (models, FMUs, bindings) and a twin's simulation: shadow state, what-if
// scenarios, forecast (docs/simulation.md). Thin: sim::SimulationService does the work.
#include <fmt/format.h>

#include "server/internal/handlers.h"
#include "sim/simulation_service.h"

namespace doppel::server::internal {
namespace {

Result<sim::SimulationService*> SimulationOf(const ApiContext& ctx) {
  if (ctx.services.simulation == nullptr) return Status::Unavailable("simulation is not enabled on this server");
  return ctx.services.simulation;
}

// The twin's simulation is made from the values its bindings read: a caller who may not see
// one of them (data classification) may not see the simulation either.
Status CheckClearance(const sim::SimulationService& sim, const RouteMatch& match) {
  const std::string_view twin_id = match.params.Get("id");
  const std::string hidden = sim.HiddenInput(twin_id, match.auth.masked);
  if (hidden.empty()) return Status::Ok();
  return Status::PermissionDenied(fmt::format(
      "the simulation of twin '{}' reads {}, which the caller's clearances do not cover", twin_id, hidden));
}

HttpResponse Put(const std::pair<bool, json::object>& put) { return HttpResponse::Json(put.first ? 201 : 200, put.second); }

}  // namespace

Result<HttpResponse> ListSimulationModels(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  return HttpResponse::Json(200, json::object{{"value", sim->Models()}});
}

Result<HttpResponse> GetSimulationModel(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::object model, sim->DescribeModel(match.params.Get("name")));
  return HttpResponse::Json(200, model);
}

Result<HttpResponse> PutFmu(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  if (request.body.empty()) return Status::InvalidArgument("request body is empty; expected an .fmu archive");
  DOPPEL_ASSIGN_OR_RETURN(auto put, sim->PutFmu(match.params.Get("name"), request.body));
  return Put(put);
}

Result<HttpResponse> DeleteFmu(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  DOPPEL_RETURN_IF_ERROR(sim->DeleteFmu(match.params.Get("name")));
  return HttpResponse::NoContent();
}

Result<HttpResponse> ListBindings(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  return HttpResponse::Json(200, json::object{{"value", sim->Bindings()}});
}

Result<HttpResponse> GetBinding(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::object binding, sim->FindBinding(match.params.Get("name")));
  return HttpResponse::Json(200, binding);
}

Result<HttpResponse> PutBinding(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseBody(ctx, request, "a binding object"));
  DOPPEL_ASSIGN_OR_RETURN(auto put, sim->PutBinding(match.params.Get("name"), body));
  return Put(put);
}

Result<HttpResponse> DeleteBinding(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  DOPPEL_RETURN_IF_ERROR(sim->DeleteBinding(match.params.Get("name")));
  return HttpResponse::NoContent();
}

Result<HttpResponse> GetTwinSimulation(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  DOPPEL_RETURN_IF_ERROR(CheckClearance(*sim, match));
  DOPPEL_ASSIGN_OR_RETURN(json::object state, sim->TwinState(match.params.Get("id")));
  return HttpResponse::Json(200, state);
}

Result<HttpResponse> StartScenarios(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  DOPPEL_RETURN_IF_ERROR(CheckClearance(*sim, match));
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseBody(ctx, request, "a scenario request object"));
  DOPPEL_ASSIGN_OR_RETURN(json::object job, sim->StartScenarios(match.params.Get("id"), body));
  return HttpResponse::Json(202, job);
}

Result<HttpResponse> ListScenarios(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  DOPPEL_RETURN_IF_ERROR(CheckClearance(*sim, match));
  return HttpResponse::Json(200, json::object{{"value", sim->ScenarioJobs(match.params.Get("id"))}});
}

Result<HttpResponse> GetScenarios(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  DOPPEL_RETURN_IF_ERROR(CheckClearance(*sim, match));
  DOPPEL_ASSIGN_OR_RETURN(json::object job, sim->Scenarios(match.params.Get("id"), match.params.Get("jobId")));
  return HttpResponse::Json(200, job);
}

Result<HttpResponse> CancelScenarios(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  DOPPEL_RETURN_IF_ERROR(sim->CancelScenarios(match.params.Get("id"), match.params.Get("jobId")));
  return HttpResponse::NoContent();
}

Result<HttpResponse> Forecast(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(sim::SimulationService * sim, SimulationOf(ctx));
  DOPPEL_RETURN_IF_ERROR(CheckClearance(*sim, match));
  json::value body = json::object{};
  if (!request.body.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(body, ParseBody(ctx, request, "a forecast request object"));
  }
  DOPPEL_ASSIGN_OR_RETURN(json::object forecast, sim->Forecast(match.params.Get("id"), body));
  return HttpResponse::Json(200, forecast);
}

}  // namespace doppel::server::internal
