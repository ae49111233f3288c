// The operator dashboard's built assets (web/, docs/dashboard.md), served beside the API.
//
// They are not routes of the API: they hold no data, need no token (the dashboard's login box
// must load before there is one) and are not part of the OpenAPI document. DigitalTwinsApi
// asks ServeStatic first and routes the request only when it answers nullopt.
//
//   GET /               → <web_root>/index.html   (also GET /index.html)
//   GET /assets/<name>  → <web_root>/assets/<name>
//
// <name> is one path segment of [A-Za-z0-9._-] not starting with '.', so no request can
// leave <web_root>/assets. Anything else (another method, another path) is left to the API.
#pragma once

#include <optional>
#include <string_view>

#include "server/http_message.h"

namespace doppel::server::internal {

// The response for a dashboard path, or nullopt when `request` is not for one or `web_root`
// is "" (the dashboard is not served). A missing index.html answers 503 ServiceUnavailable
// saying how to build it; a missing asset 404 NotFound naming it.
std::optional<HttpResponse> ServeStatic(std::string_view web_root, const HttpRequest& request);

}  // namespace doppel::server::internal
