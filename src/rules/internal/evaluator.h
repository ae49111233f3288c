// What every ConditionState of one Expression shares: which windows to keep, how many 'for'
// timers, and which values make the evidence. Computed once per Expression.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rules/expression.h"
#include "rules/internal/ast.h"

namespace doppel::rules::internal {

struct StateLayout {
  struct EvidenceItem {
    std::string name;              // as ToString writes it
    const Node* window = nullptr;  // a window function, else the signal `signal`
    std::size_t signal = 0;
  };

  std::vector<int64_t> window_ns;                          // by window slot
  std::vector<std::vector<std::size_t>> windows_of_signal;  // the slots each signal feeds
  std::size_t for_timers = 0;
  std::vector<EvidenceItem> evidence;  // each signal and window function once, in text order
};

// The layout of `root` (which must outlive it: evidence items point into the tree).
StateLayout LayOut(const Node& root, std::span<const SignalRef> signals);

}  // namespace doppel::rules::internal
