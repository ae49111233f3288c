// Byte-oriented codecs for booleans and strings (layouts in docs/format/tsdb.md).
//
//  * BoolRunEncoder: first value (1 byte), then the run lengths as varints; values alternate.
//  * StringDictEncoder: a dictionary of distinct strings in first-seen order (varint count,
//    then varint length + bytes each), then runs of (varint dictionary index, varint length).
//    Enum-like telemetry ("Running", "Idle") costs a few bytes per state change.
//
// Encoders are streaming; Bytes() snapshots. Decoders validate everything (run lengths sum to
// the count, indexes in range) and return false on corrupt input.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace doppel::tsdb::internal {

class BoolRunEncoder {
 public:
  void Append(bool v);
  std::vector<uint8_t> Bytes() const;

 private:
  std::vector<uint8_t> runs_;  // varints of the closed runs
  bool first_ = false;
  bool current_ = false;
  uint64_t run_ = 0;  // length of the open run; 0 = nothing appended yet
};

bool DecodeBoolRuns(std::span<const uint8_t> data, size_t count, std::vector<bool>* out);

class StringDictEncoder {
 public:
  void Append(const std::string& v);
  std::vector<uint8_t> Bytes() const;

 private:
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<std::string> dictionary_;  // first-seen order
  std::vector<std::pair<uint32_t, uint64_t>> runs_;  // (dictionary index, run length)
};

bool DecodeStringDict(std::span<const uint8_t> data, size_t count, std::vector<std::string>* out);

}  // namespace doppel::tsdb::internal
