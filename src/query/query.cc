#include "query/query.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "query/internal/ast.h"
#include "query/internal/binder.h"
#include "query/internal/continuation.h"
#include "query/internal/executor.h"
#include "query/internal/parser.h"

namespace doppel::query {

Result<std::shared_ptr<const ParsedQuery>> Parse(std::string_view text) {
  DOPPEL_ASSIGN_OR_RETURN(ParsedQuery query, ParseSyntax(text));
  DOPPEL_RETURN_IF_ERROR(Bind(query));
  return std::shared_ptr<const ParsedQuery>(std::make_shared<ParsedQuery>(std::move(query)));
}

Result<QueryPage> Execute(const twin::TwinGraph& graph, std::string_view text,
                          const QueryOptions& requested) {
  if (requested.page_size < 1) {
    return Status::InvalidArgument("the page size must be at least 1", "BadRequest");
  }
  // ADT's max-items-per-page is a wish ("the server may return fewer"), so clamp, not reject.
  QueryOptions options = requested;
  options.page_size = std::min(options.page_size, kMaxPageSize);
  std::optional<Continuation> resume;
  if (!options.continuation_token.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(resume, DecodeContinuation(options.continuation_token));
    if (!text.empty() && text != resume->query) {
      return Status::InvalidArgument("the continuation token belongs to a different query",
                                     "BadRequest");
    }
    text = resume->query;
  }
  DOPPEL_ASSIGN_OR_RETURN(std::shared_ptr<const ParsedQuery> query, Parse(text));
  return graph.Read([&](const twin::GraphState& state) {
    return RunQuery(*query, state, options, resume ? &*resume : nullptr);
  });
}

}  // namespace doppel::query
