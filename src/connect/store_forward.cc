#include "connect/store_forward.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>

#include <fmt/format.h>

#include "base/json.h"

namespace doppel::connect {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kBufferFile = "buffer.jsonl";
constexpr std::string_view kHeadFile = "buffer.head";

Status IoError(std::string_view what, const std::string& path) {
  return Status::Internal(fmt::format("store-and-forward buffer: {} {}: {}", what, path, std::strerror(errno)));
}

json::value ValueJson(const tsdb::Value& value) {
  return std::visit([](const auto& v) -> json::value {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, double>) return FiniteOrNull(v);
    else return json::value(v);
  }, value);
}

Result<tsdb::Value> ValueFromJson(int64_t kind, const json::value& v) {
  if (kind == 0 && v.is_null()) return tsdb::Value(std::nan(""));
  if (kind == 0 && v.is_number()) return tsdb::Value(v.to_number<double>());
  if (kind == 1 && (v.is_int64() || v.is_uint64())) return tsdb::Value(v.to_number<int64_t>());
  if (kind == 2 && v.is_bool()) return tsdb::Value(v.get_bool());
  if (kind == 3 && v.is_string()) return tsdb::Value(std::string(v.get_string()));
  return Status::InvalidArgument(fmt::format("value of kind {} is {}", kind, JsonTypeName(v)));
}

}  // namespace

bool IsRetryableStoreError(const Status& status) {
  return status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kInternal;
}

std::string EncodeBatch(std::span<const ingest::Reading> batch) {
  json::array rows;
  rows.reserve(batch.size());
  for (const ingest::Reading& r : batch) {
    rows.push_back(json::array{json::value(r.twin_id), json::value(r.path), json::value(r.time),
                               json::value(static_cast<int64_t>(r.value.index())), ValueJson(r.value)});
  }
  return ToJson(rows);
}

Result<std::vector<ingest::Reading>> DecodeBatch(std::string_view line) {
  DOPPEL_ASSIGN_OR_RETURN(json::value parsed, ParseJson(line));
  if (!parsed.is_array()) return Status::InvalidArgument("a batch must be a JSON array");
  std::vector<ingest::Reading> batch;
  for (const json::value& row : parsed.get_array()) {
    const json::array* fields = row.if_array();
    if (fields == nullptr || fields->size() != 5 || !(*fields)[0].is_string() || !(*fields)[1].is_string() ||
        !(*fields)[2].is_int64() || !(*fields)[3].is_int64()) {
      return Status::InvalidArgument("a reading must be [twin, path, timeNs, kind, value]");
    }
    DOPPEL_ASSIGN_OR_RETURN(tsdb::Value value, ValueFromJson((*fields)[3].get_int64(), (*fields)[4]));
    batch.push_back({.twin_id = std::string((*fields)[0].get_string()),
                     .path = std::string((*fields)[1].get_string()),
                     .time = (*fields)[2].get_int64(),
                     .value = std::move(value)});
  }
  return batch;
}

Result<std::unique_ptr<StoreForward>> StoreForward::Open(StoreForwardOptions options) {
  std::error_code error;
  fs::create_directories(options.dir, error);
  if (error) return Status::Internal(fmt::format("cannot create {}: {}", options.dir, error.message()));
  std::unique_ptr<StoreForward> buffer(new StoreForward(std::move(options)));
  DOPPEL_RETURN_IF_ERROR(buffer->Load());
  return buffer;
}

StoreForward::StoreForward(StoreForwardOptions options) : options_(std::move(options)) {}

StoreForward::~StoreForward() {
  if (fd_ >= 0) close(fd_);
}

Status StoreForward::Load() {
  const std::string path = (fs::path(options_.dir) / kBufferFile).string();
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return IoError("cannot open", path);
  std::ifstream head_in(fs::path(options_.dir) / kHeadFile);
  if (!(head_in >> head_)) head_ = 0;
  std::ifstream in(path, std::ios::binary);
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  if (head_ > size) head_ = 0;  // a head newer than a truncated file: start over from the top
  in.seekg(static_cast<std::streamoff>(head_));
  uint64_t offset = head_;
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: a torn append, dropped below
    records_.push_back({.offset = offset, .size = line.size() + 1, .readings = 0});
    offset += line.size() + 1;
  }
  // Cut a torn tail so the next append starts on a line of its own.
  if (offset < size && ftruncate(fd_, static_cast<off_t>(offset)) != 0) return IoError("cannot truncate", path);
  file_size_ = offset;
  for (Record& record : records_) {
    auto decoded = ReadRecord(record);
    record.readings = decoded.ok() ? decoded->size() : 0;
    live_bytes_ += record.size;
    live_readings_ += record.readings;
  }
  if (records_.empty()) head_ = file_size_;
  batches_ = records_.size();
  readings_ = live_readings_;
  bytes_ = live_bytes_;
  return Status::Ok();
}

Result<std::vector<ingest::Reading>> StoreForward::ReadRecord(const Record& record) const {
  std::string line(record.size, '\0');
  ssize_t n = pread(fd_, line.data(), line.size(), static_cast<off_t>(record.offset));
  if (n != static_cast<ssize_t>(line.size())) return IoError("cannot read", options_.dir);
  line.pop_back();  // the newline
  return DecodeBatch(line);
}

Status StoreForward::Append(std::span<const ingest::Reading> batch) {
  if (batch.empty()) return Status::Ok();
  std::string line = EncodeBatch(batch);
  line.push_back('\n');
  if (line.size() > options_.max_bytes) {
    ++dropped_batches_;
    dropped_readings_ += batch.size();
    return Status::Ok();
  }
  while (live_bytes_ + line.size() > options_.max_bytes) {
    ++dropped_batches_;
    dropped_readings_ += records_.front().readings;
    DOPPEL_RETURN_IF_ERROR(PopFront());
  }
  if (pwrite(fd_, line.data(), line.size(), static_cast<off_t>(file_size_)) != static_cast<ssize_t>(line.size())) {
    // Whatever part was written is cut at the next Open (or overwritten by the next append).
    return IoError("cannot append to", options_.dir);
  }
  if (options_.sync && fdatasync(fd_) != 0) return IoError("cannot sync", options_.dir);
  if (records_.empty()) head_ = file_size_;
  records_.push_back({.offset = file_size_, .size = line.size(), .readings = batch.size()});
  file_size_ += line.size();
  live_bytes_ += line.size();
  live_readings_ += batch.size();
  ++appended_;
  batches_ = records_.size();
  readings_ = live_readings_;
  bytes_ = live_bytes_;
  return Status::Ok();
}

Result<std::size_t> StoreForward::Replay(const Writer& write, std::size_t max_batches) {
  std::size_t done = 0;
  while (!records_.empty() && done < max_batches) {
    auto batch = ReadRecord(records_.front());
    if (batch.ok()) {
      Status written = write(*batch);
      if (!written.ok() && IsRetryableStoreError(written)) return written;
      if (written.ok()) {
        ++replayed_batches_;
        replayed_readings_ += batch->size();
      } else {
        ++rejected_;
      }
    } else if (batch.status().code() == StatusCode::kInternal) {
      return batch.status();
    } else {
      ++rejected_;  // a line that does not decode: nothing to retry
    }
    DOPPEL_RETURN_IF_ERROR(PopFront());
    ++done;
  }
  return done;
}

Status StoreForward::PopFront() {
  const Record front = records_.front();
  records_.pop_front();
  live_bytes_ -= front.size;
  live_readings_ -= front.readings;
  batches_ = records_.size();
  readings_ = live_readings_;
  bytes_ = live_bytes_;
  if (records_.empty()) {
    // The common end of an outage: everything replayed, so the file starts over.
    if (ftruncate(fd_, 0) != 0) return IoError("cannot truncate", options_.dir);
    file_size_ = 0;
    head_ = 0;
    return WriteHead();
  }
  head_ = records_.front().offset;
  if (head_ > options_.max_bytes) return Compact();
  return WriteHead();
}

Status StoreForward::WriteHead() {
  const fs::path path = fs::path(options_.dir) / kHeadFile;
  const fs::path temp = fs::path(options_.dir) / fmt::format("{}.tmp", kHeadFile);
  {
    std::ofstream out(temp, std::ios::trunc);
    out << head_ << '\n';
    if (!out.flush()) return IoError("cannot write", temp.string());
  }
  std::error_code error;
  fs::rename(temp, path, error);
  if (error) return Status::Internal(fmt::format("cannot replace {}: {}", path.string(), error.message()));
  return Status::Ok();
}

// Dead bytes outweigh the limit: copy the live records to a new file and swap it in. The head
// goes to 0 before the swap: a crash in between replays some batches twice rather than
// skipping any.
Status StoreForward::Compact() {
  const fs::path path = fs::path(options_.dir) / kBufferFile;
  const fs::path temp = fs::path(options_.dir) / fmt::format("{}.tmp", kBufferFile);
  std::string live(file_size_ - head_, '\0');
  if (pread(fd_, live.data(), live.size(), static_cast<off_t>(head_)) != static_cast<ssize_t>(live.size())) {
    return IoError("cannot read", path.string());
  }
  int out = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) return IoError("cannot create", temp.string());
  const bool written = write(out, live.data(), live.size()) == static_cast<ssize_t>(live.size()) && fdatasync(out) == 0;
  close(out);
  if (!written) return IoError("cannot write", temp.string());
  const uint64_t shift = head_;
  head_ = 0;
  DOPPEL_RETURN_IF_ERROR(WriteHead());
  if (rename(temp.c_str(), path.c_str()) != 0) return IoError("cannot replace", path.string());
  close(fd_);
  fd_ = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) return IoError("cannot open", path.string());
  for (Record& record : records_) record.offset -= shift;
  file_size_ = live.size();
  return Status::Ok();
}

StoreForwardStats StoreForward::stats() const {
  return {.batches = batches_,
          .readings = readings_,
          .bytes = bytes_,
          .appended_batches = appended_,
          .replayed_batches = replayed_batches_,
          .replayed_readings = replayed_readings_,
          .dropped_batches = dropped_batches_,
          .dropped_readings = dropped_readings_,
          .rejected_batches = rejected_};
}

Status ForwardingWriter::WriteOnce(std::span<const ingest::Reading> readings, Outcome& outcome, bool replaying) {
  std::vector<std::span<const ingest::Reading>> groups;
  groups.reserve(readings.size());
  for (const ingest::Reading& r : readings) groups.emplace_back(&r, 1);
  const std::vector<Status> results = sink_(groups);
  for (std::size_t i = 0; i < results.size(); ++i) {
    // A store failure fails every validated group alike: the write was one, and did not happen.
    if (IsRetryableStoreError(results[i])) return results[i];
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) {
      ++outcome.written;
    } else {
      outcome.refused.emplace_back(replaying ? SIZE_MAX : i, results[i]);
    }
  }
  return Status::Ok();
}

ForwardingWriter::Outcome ForwardingWriter::Write(std::span<const ingest::Reading> readings) {
  Outcome outcome;
  if (buffer_ == nullptr || buffer_->empty()) {
    Status failed = WriteOnce(readings, outcome, false);
    if (failed.ok()) return outcome;
    if (buffer_ == nullptr) {
      for (std::size_t i = 0; i < readings.size(); ++i) outcome.refused.emplace_back(i, failed);
      return outcome;
    }
    outcome.error = failed;
    if (Status appended = buffer_->Append(readings); !appended.ok()) {
      outcome.error = appended;
    } else {
      outcome.buffered = readings.size();
    }
    return outcome;
  }
  // Behind what is already waiting, then as much of the buffer as history takes now.
  if (Status appended = buffer_->Append(readings); !appended.ok()) {
    outcome.error = appended;
  } else {
    outcome.buffered = readings.size();
  }
  auto replayed = buffer_->Replay(
      [&](std::span<const ingest::Reading> batch) { return WriteOnce(batch, outcome, true); });
  if (!replayed.ok()) outcome.error = replayed.status();
  return outcome;
}

}  // namespace doppel::connect
