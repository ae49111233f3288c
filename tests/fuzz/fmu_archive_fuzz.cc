// Fuzzes FMU unpacking (sim::fmi::UnpackFmu) on arbitrary bytes, into a scratch directory
// /tmp/doppel-fmu-archive-fuzz-<pid>/out that is emptied after every input.
//
// A refusal is InvalidArgument or PayloadTooLarge with a message — never Internal: hostile
// archive contents are bad input, not a server fault. Nothing is written outside `out` (the
// scratch root holds only `out` afterwards) and nothing inside is a symbolic link. An accepted
// archive unpacked a regular modelDescription.xml at the root, within the entry and total size
// limits. FmuBinaryPath finds only regular files inside `out`.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "fuzz_util.h"
#include "sim/fmi/fmu_archive.h"

namespace {

namespace fs = std::filesystem;
using doppel::StatusCode;
using doppel::sim::fmi::ArchiveLimits;

constexpr ArchiveLimits kLimits = {.max_entries = 64, .max_entry_bytes = 1u << 20, .max_total_bytes = 4u << 20};

const fs::path& ScratchRoot() {
  static const fs::path root = fs::temp_directory_path() / fmt::format("doppel-fmu-archive-fuzz-{}", getpid());
  return root;
}

// Walks `out`: no symbolic links, every path inside it; returns the bytes of regular files.
uint64_t CheckTree(const fs::path& out) {
  uint64_t total = 0;
  std::error_code ec;
  fs::path canonical_out = fs::canonical(out, ec);
  FUZZ_CHECK(!ec, out.string());
  for (auto it = fs::recursive_directory_iterator(out, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    FUZZ_CHECK(!it->is_symlink(), it->path().string());
    fs::path canonical = fs::weakly_canonical(it->path());
    auto [end, _] = std::mismatch(canonical_out.begin(), canonical_out.end(), canonical.begin(), canonical.end());
    FUZZ_CHECK(end == canonical_out.end(), canonical.string() + " is outside " + canonical_out.string());
    if (it->is_regular_file()) total += it->file_size();
  }
  FUZZ_CHECK(!ec, ec.message());
  return total;
}

// The scratch root holds nothing but `out` (or nothing at all).
void CheckNothingOutside(const fs::path& root, const fs::path& out) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    FUZZ_CHECK(entry.path() == out, entry.path().string() + " was written outside the target directory");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path& root = ScratchRoot();
  const fs::path out = root / "out";
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::create_directories(root, ec);
  FUZZ_CHECK(!ec, ec.message());

  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  doppel::Status status = doppel::sim::fmi::UnpackFmu(bytes, out, kLimits);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument || status.code() == StatusCode::kPayloadTooLarge,
               status.message());
    FUZZ_CHECK(!status.message().empty(), "UnpackFmu error without a message");
  }
  CheckNothingOutside(root, out);
  if (fs::exists(out)) {
    uint64_t total = CheckTree(out);
    FUZZ_CHECK(total <= kLimits.max_total_bytes, "unpacked past the total limit");
  }
  if (status.ok()) {
    FUZZ_CHECK(fs::is_regular_file(out / "modelDescription.xml"), "accepted without modelDescription.xml");
    for (std::string_view id : {"model", "../model", "a/b"}) {
      auto so = doppel::sim::fmi::FmuBinaryPath(out, id);
      if (so.ok()) FUZZ_CHECK(fs::is_regular_file(*so), so->string());
    }
  }
  fs::remove_all(root, ec);
  return 0;
}
