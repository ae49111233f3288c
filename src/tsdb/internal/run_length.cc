#include "tsdb/internal/run_length.h"

#include "tsdb/internal/byte_io.h"

namespace doppel::tsdb::internal {

void BoolRunEncoder::Append(bool v) {
  if (run_ == 0) {
    first_ = current_ = v;
  } else if (v != current_) {
    PutVarint(runs_, run_);
    current_ = v;
    run_ = 0;
  }
  ++run_;
}

std::vector<uint8_t> BoolRunEncoder::Bytes() const {
  std::vector<uint8_t> out;
  out.reserve(runs_.size() + 11);  // also keeps GCC 12's -Warray-bounds false positive quiet
  out.push_back(first_ ? 1 : 0);
  PutBytes(out, runs_);
  if (run_ > 0) PutVarint(out, run_);
  return out;
}

bool DecodeBoolRuns(std::span<const uint8_t> data, size_t count, std::vector<bool>* out) {
  ByteReader reader(data);
  uint8_t first = 0;
  if (count == 0) return true;
  if (!reader.Byte(&first) || first > 1) return false;
  bool value = first == 1;
  for (size_t done = 0; done < count; value = !value) {
    uint64_t run;
    if (!reader.Varint(&run) || run == 0 || run > count - done) return false;
    out->insert(out->end(), run, value);
    done += run;
  }
  return reader.remaining() == 0;
}

void StringDictEncoder::Append(const std::string& v) {
  auto [it, inserted] = index_.try_emplace(v, static_cast<uint32_t>(dictionary_.size()));
  if (inserted) dictionary_.push_back(v);
  if (!runs_.empty() && runs_.back().first == it->second) {
    ++runs_.back().second;
  } else {
    runs_.emplace_back(it->second, 1);
  }
}

std::vector<uint8_t> StringDictEncoder::Bytes() const {
  std::vector<uint8_t> out;
  PutVarint(out, dictionary_.size());
  for (const std::string& s : dictionary_) {
    PutVarint(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
  for (const auto& [index, length] : runs_) {
    PutVarint(out, index);
    PutVarint(out, length);
  }
  return out;
}

bool DecodeStringDict(std::span<const uint8_t> data, size_t count, std::vector<std::string>* out) {
  ByteReader reader(data);
  uint64_t dict_size;
  if (!reader.Varint(&dict_size) || dict_size > reader.remaining()) return false;
  std::vector<std::string> dictionary;
  dictionary.reserve(dict_size);
  for (uint64_t i = 0; i < dict_size; ++i) {
    uint64_t length;
    std::span<const uint8_t> bytes;
    if (!reader.Varint(&length) || !reader.Bytes(length, &bytes)) return false;
    dictionary.emplace_back(bytes.begin(), bytes.end());
  }
  for (size_t done = 0; done < count;) {
    uint64_t index, run;
    if (!reader.Varint(&index) || index >= dictionary.size()) return false;
    if (!reader.Varint(&run) || run == 0 || run > count - done) return false;
    out->insert(out->end(), run, dictionary[index]);
    done += run;
  }
  return reader.remaining() == 0;
}

}  // namespace doppel::tsdb::internal
