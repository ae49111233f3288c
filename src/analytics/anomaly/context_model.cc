#include "analytics/anomaly/context_model.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace doppel::analytics::internal {
namespace {

constexpr std::size_t kBucket = 4;  // slots probed per context (one cache line of fingerprints)

// splitmix64's finaliser: a cheap, well-mixed hash step.
uint64_t Mix(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

uint32_t Fingerprint(uint64_t hash) { return std::max<uint32_t>(1, static_cast<uint32_t>(hash >> 32)); }

}  // namespace

ContextModel::ContextModel(int bins, int order, std::size_t capacity)
    : bins_(bins),
      order_(order),
      table_(std::max(capacity, kBucket)),
      history_(static_cast<std::size_t>(std::max(order - 1, 1))),
      hashes_(static_cast<std::size_t>(order)) {}

int ContextModel::Bin(double x) const {
  if (count_ == 0) return 0;
  if (x < lo_) return bins_;
  if (x > hi_) return bins_ + 1;
  if (hi_ <= lo_) return 0;
  const int bin = static_cast<int>((x - lo_) / (hi_ - lo_) * bins_);
  return std::min(bin, bins_ - 1);
}

void ContextModel::Contexts(int bin) const {
  // The newest bin first, then each earlier one: context k covers k + 1 bins.
  uint64_t h = Mix(static_cast<uint64_t>(bin) + 1);
  hashes_[0] = h;
  const std::size_t held = std::min<std::size_t>(history_.size(), static_cast<std::size_t>(order_ - 1));
  for (std::size_t k = 1; k <= held; ++k) {
    h = Mix(h ^ (static_cast<uint64_t>(history_.at(history_.size() - k)) + 0x9e3779b97f4a7c15ULL * k));
    hashes_[k] = h;
  }
  for (std::size_t k = held + 1; k < hashes_.size(); ++k) hashes_[k] = 0;  // not formed yet
}

bool ContextModel::Seen(uint64_t hash) const {
  const std::size_t base = static_cast<std::size_t>(hash) & (table_.size() - kBucket);
  const uint32_t tag = Fingerprint(hash);
  for (std::size_t i = 0; i < kBucket; ++i) {
    if (table_[base + i] == tag) return true;
  }
  return false;
}

void ContextModel::Insert(uint64_t hash) {
  if (Seen(hash)) return;
  const std::size_t base = static_cast<std::size_t>(hash) & (table_.size() - kBucket);
  for (std::size_t i = 0; i < kBucket; ++i) {
    if (table_[base + i] == 0) {
      table_[base + i] = Fingerprint(hash);
      return;
    }
  }
  // A full bucket forgets one entry, chosen by the hash (deterministic, so Save/Restore is exact).
  table_[base + ((hash >> 20) & (kBucket - 1))] = Fingerprint(hash);
}

double ContextModel::Novelty(double x) const {
  if (count_ == 0) return 0;
  Contexts(Bin(x));
  int formed = 0, unseen = 0;
  for (uint64_t h : hashes_) {
    if (h == 0) continue;
    ++formed;
    unseen += !Seen(h);
  }
  return formed > 0 ? static_cast<double>(unseen) / formed : 0;
}

void ContextModel::Push(double x) {
  const int bin = Bin(x);
  Contexts(bin);
  for (uint64_t h : hashes_) {
    if (h != 0) Insert(h);
  }
  history_.Push(bin);
  if (count_++ == 0) {
    lo_ = hi_ = x;
  } else {
    lo_ = std::min(lo_, x);
    hi_ = std::max(hi_, x);
  }
}

void ContextModel::Save(json::object& out) const {
  // Fingerprints are below 2^32, exact as JSON numbers. Only the used slots are written.
  json::array used;
  for (std::size_t i = 0; i < table_.size(); ++i) {
    if (table_[i] != 0) {
      used.emplace_back(i);
      used.emplace_back(table_[i]);
    }
  }
  out["table"] = std::move(used);
  history_.Save(out, "history");
  out["lo"] = lo_;
  out["hi"] = hi_;
  out["count"] = count_;
}

Status ContextModel::Restore(const json::object& in) {
  std::vector<double> used;
  DOPPEL_RETURN_IF_ERROR(GetNumbers(in, "table", used));
  if (used.size() % 2 != 0) return Status::InvalidArgument("detector state: 'table' must hold (slot, fingerprint) pairs");
  std::fill(table_.begin(), table_.end(), 0);
  for (std::size_t i = 0; i < used.size(); i += 2) {
    const double slot = used[i], tag = used[i + 1];
    if (!(slot >= 0 && slot < static_cast<double>(table_.size()) && tag >= 1 && tag <= 4294967295.0)) {
      return Status::InvalidArgument(fmt::format("detector state: 'table' entry {} out of range", i / 2));
    }
    table_[static_cast<std::size_t>(slot)] = static_cast<uint32_t>(tag);
  }
  DOPPEL_RETURN_IF_ERROR(history_.Restore(in, "history"));
  DOPPEL_RETURN_IF_ERROR(GetNumber(in, "lo", lo_));
  DOPPEL_RETURN_IF_ERROR(GetNumber(in, "hi", hi_));
  return GetCount(in, "count", count_);
}

uint64_t RestLength(const DetectorParams& p, uint64_t observed) {
  return static_cast<uint64_t>(std::max(static_cast<double>(p.rest), p.rest_fraction * static_cast<double>(observed)));
}

}  // namespace doppel::analytics::internal
