// Which twins a reader may see: the predicate that queries, history and streams apply so that
// nothing about an invisible twin leaks — not its document, not a JOIN through it, not a count
// that includes it. Built by the server from the caller's policy (auth/policy.h); the domain
// modules only call it.
//
//   TwinFilter visible = [&](std::string_view id, std::string_view model) { return ...; };
//   query::Execute(graph, text, {.visible = visible});
//
// A null TwinFilter means "everything is visible" (dev mode, admins). The filter must be cheap
// (a few hash lookups) and callable from any thread, possibly under the graph's shared lock:
// it must not call back into the TwinGraph.
#pragma once

#include <functional>
#include <string_view>

namespace doppel::twin {

using TwinFilter = std::function<bool(std::string_view twin_id, std::string_view model_id)>;

}  // namespace doppel::twin
