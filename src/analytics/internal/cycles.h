// Readings → RUL cycles. A cycle is one value per column (a RUL model's signals, then its
// settings): either the readings of one distinct time ("cycle": "reading") or the mean of each
// column over a time bucket ("cycle": "10m"). The same assembler turns a unit's history into
// training cycles and then keeps going on its live readings, so a tracker replayed from history
// continues seamlessly.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace doppel::analytics::service_internal {

struct Cycle {
  int64_t time = 0;  // the reading time, or the start of the bucket
  std::vector<double> values = {};
};

class CycleAssembler {
 public:
  CycleAssembler(std::size_t columns, int64_t bucket_ns);

  // One column's value at `time`; cycles it completes are appended to `out`. A time older than
  // the cycle being assembled is late and ignored. Per-reading cycles complete as soon as every
  // column has a value, or when a later time starts; buckets when a later bucket starts.
  void Add(int64_t time, std::size_t column, double value, std::vector<Cycle>& out);
  // Completes the cycle being assembled, if any (end of a run-to-failure history).
  void Finish(std::vector<Cycle>& out);

 private:
  int64_t KeyOf(int64_t time) const;
  void Emit(std::vector<Cycle>& out);

  int64_t bucket_ns_;
  int64_t key_ = std::numeric_limits<int64_t>::min();  // the cycle being assembled
  int64_t done_ = std::numeric_limits<int64_t>::min();  // the last key emitted
  std::vector<double> sums_;
  std::vector<uint32_t> counts_;
  std::size_t present_ = 0;   // columns with a value in this cycle
  std::vector<double> last_;  // each column's last value: fills a column a cycle lacks
};

}  // namespace doppel::analytics::service_internal
