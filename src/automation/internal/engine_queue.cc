#include "automation/internal/engine_queue.h"

#include <utility>

namespace doppel::automation::engine {

void UpdateRing::PushBack(Update&& update) {
  if (size_ == buf_.size()) Grow();
  buf_[(head_ + size_) & (buf_.size() - 1)] = std::move(update);
  ++size_;
}

void UpdateRing::PopFront() {
  // Reset the slot's value so a dropped string's memory goes now, not at the next wrap.
  buf_[head_].value = rules::Value();
  head_ = (head_ + 1) & (buf_.size() - 1);
  --size_;
}

void UpdateRing::Clear() {
  while (size_ > 0) PopFront();
  head_ = 0;
}

void UpdateRing::Swap(UpdateRing& other) noexcept {
  buf_.swap(other.buf_);
  std::swap(head_, other.head_);
  std::swap(size_, other.size_);
}

void UpdateRing::Grow() {
  std::vector<Update> bigger(buf_.empty() ? 64 : buf_.size() * 2);
  for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
  buf_.swap(bigger);
  head_ = 0;
}

UpdateQueue::Writer::~Writer() {
  if (!pushed_) return;
  lock_.unlock();
  queue_.work_.notify_one();
}

void UpdateQueue::Writer::Push(uint32_t slot, int64_t time_ns, rules::Value value) {
  UpdateQueue& q = queue_;
  if (q.updates_.size() >= q.max_updates_) {
    q.updates_.PopFront();
    ++q.dropped_;
  }
  q.updates_.PushBack(Update{.seq = q.next_seq_++, .slot = slot, .time_ns = time_ns, .value = std::move(value)});
  ++q.queued_;
  pushed_ = true;
}

void UpdateQueue::PushChange(GraphChange change) {
  {
    std::lock_guard lock(mu_);
    change.seq = next_seq_++;
    changes_.push_back(std::move(change));
  }
  work_.notify_one();
}

bool UpdateQueue::WaitForWork() {
  std::unique_lock lock(mu_);
  work_.wait(lock, [&] { return stopping_ || !updates_.empty() || !changes_.empty(); });
  return !updates_.empty() || !changes_.empty();
}

uint64_t UpdateQueue::Take(UpdateRing& updates, std::deque<GraphChange>& changes) {
  std::lock_guard lock(mu_);
  updates.Swap(updates_);
  changes.swap(changes_);
  return next_seq_ - 1;
}

void UpdateQueue::Done(uint64_t seq) {
  {
    std::lock_guard lock(mu_);
    if (seq > done_seq_) done_seq_ = seq;
  }
  done_cv_.notify_all();
}

uint64_t UpdateQueue::last_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1;
}

void UpdateQueue::WaitDone(uint64_t seq) {
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return done_seq_ >= seq; });
}

void UpdateQueue::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
}

void UpdateQueue::Restart() {
  std::lock_guard lock(mu_);
  stopping_ = false;
}

uint64_t UpdateQueue::queued() const {
  std::lock_guard lock(mu_);
  return queued_;
}

uint64_t UpdateQueue::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

std::size_t UpdateQueue::size() const {
  std::lock_guard lock(mu_);
  return updates_.size() + changes_.size();
}

}  // namespace doppel::automation::engine
