// The API's handlers: thin translations from HTTP to TwinGraph and query calls. Each is a
// `Handler` (api_common.h) registered in the route table in api.cc.
#pragma once

#include "server/internal/api_common.h"

namespace doppel::server::internal {

// model_handlers.cc — /models
Result<HttpResponse> AddModels(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListModels(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetModel(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> PatchModel(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> DeleteModel(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

// twin_handlers.cc — /digitaltwins/{id}, components
Result<HttpResponse> PutTwin(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetTwin(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> PatchTwin(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> DeleteTwin(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetComponent(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> PatchComponent(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

// relationship_handlers.cc — relationships, incoming relationships, /query
Result<HttpResponse> PutRelationship(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetRelationship(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> PatchRelationship(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> DeleteRelationship(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListRelationships(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListIncomingRelationships(ApiContext& ctx, const HttpRequest& request,
                                               const RouteMatch& match);
Result<HttpResponse> Query(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

// ingest_handlers.cc — telemetry and line-protocol writes
Result<HttpResponse> SendTelemetry(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> SendComponentTelemetry(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetLiveTelemetry(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListConnectors(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetConnector(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> PutConnector(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> DeleteConnector(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> WriteLineProtocolV1(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> WriteLineProtocolV2(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

// backup_handlers.cc — POST /backup
Result<HttpResponse> Backup(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

// erasure_handlers.cc — POST /digitaltwins/{id}/erase (right to erasure, docs/security.md)
Result<HttpResponse> EraseTwin(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

// simulation_handlers.cc — /simulation (models, FMUs, bindings), a twin's shadow state,
// what-if scenarios and forecast (docs/simulation.md)
Result<HttpResponse> ListSimulationModels(ApiContext& ctx, const HttpRequest& request,
                                          const RouteMatch& match);
Result<HttpResponse> GetSimulationModel(ApiContext& ctx, const HttpRequest& request,
                                        const RouteMatch& match);
Result<HttpResponse> PutFmu(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> DeleteFmu(ApiContext& ctx, const HttpRequest& request,
                               const RouteMatch& match);
Result<HttpResponse> ListBindings(ApiContext& ctx, const HttpRequest& request,
                                  const RouteMatch& match);
Result<HttpResponse> GetBinding(ApiContext& ctx, const HttpRequest& request,
                                const RouteMatch& match);
Result<HttpResponse> PutBinding(ApiContext& ctx, const HttpRequest& request,
                                const RouteMatch& match);
Result<HttpResponse> DeleteBinding(ApiContext& ctx, const HttpRequest& request,
                                   const RouteMatch& match);
Result<HttpResponse> GetTwinSimulation(ApiContext& ctx, const HttpRequest& request,
                                       const RouteMatch& match);
Result<HttpResponse> StartScenarios(ApiContext& ctx, const HttpRequest& request,
                                    const RouteMatch& match);
Result<HttpResponse> ListScenarios(ApiContext& ctx, const HttpRequest& request,
                                   const RouteMatch& match);
Result<HttpResponse> GetScenarios(ApiContext& ctx, const HttpRequest& request,
                                  const RouteMatch& match);
Result<HttpResponse> CancelScenarios(ApiContext& ctx, const HttpRequest& request,
                                     const RouteMatch& match);
Result<HttpResponse> Forecast(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

// timeseries_handlers.cc — /timeseries (history queries, docs/history.md)
Result<HttpResponse> ListTimeSeries(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> QueryTimeSeries(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> QueryTimeSeriesGet(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

// security_handlers.cc — /auth (who am I, API keys) and /audit (docs/security.md)
Result<HttpResponse> WhoAmI(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListApiKeys(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> CreateApiKey(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetApiKey(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> RevokeApiKey(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> QueryAudit(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> VerifyAudit(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

}  // namespace doppel::server::internal
