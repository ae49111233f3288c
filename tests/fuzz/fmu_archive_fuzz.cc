// Fuzzes FMU unpacking (sim::fmi::UnpackFmu) on arbitrary bytes, into a scratch directory
// /tmp/doppel-fmu-archive-fuzz-<pid>/out that is emptied after every input.
//
// Raw zip bytes rarely get past the archive's checksums, so an input starting with 'Z' is
// instead a list of entries, one per line, `<name>\t<content>` (a name ending in '/' is a
// directory), that the harness packs into a zip with libzip first: mutations then reach the
// entry-name checks.
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
#include <vector>

#include <fmt/format.h>
#include <zip.h>

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

// Packs `Z<name>\t<content>\n...` into a zip archive (names libzip refuses are skipped).
std::string PackEntries(std::string_view lines) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_t* archive = buffer ? zip_open_from_source(buffer, ZIP_TRUNCATE, &error) : nullptr;
  zip_error_fini(&error);
  FUZZ_CHECK(archive != nullptr, "cannot create an in-memory zip");
  zip_source_keep(buffer);
  std::vector<std::string> contents;  // libzip reads them at zip_close
  contents.reserve(static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n')) + 1);
  while (!lines.empty()) {
    std::string_view line = lines.substr(0, lines.find('\n'));
    lines.remove_prefix(std::min(lines.size(), line.size() + 1));
    std::size_t tab = line.find('\t');
    std::string name(line.substr(0, tab));
    if (name.empty() || name.find('\0') != std::string::npos) continue;
    if (name.back() == '/') {
      zip_dir_add(archive, name.c_str(), ZIP_FL_ENC_UTF_8);
      continue;
    }
    contents.emplace_back(tab == std::string_view::npos ? std::string_view() : line.substr(tab + 1));
    zip_source_t* data = zip_source_buffer(archive, contents.back().data(), contents.back().size(), 0);
    if (data && zip_file_add(archive, name.c_str(), data, ZIP_FL_ENC_UTF_8) < 0) zip_source_free(data);
  }
  std::string bytes;
  if (zip_close(archive) != 0) {  // e.g. nothing added
    zip_discard(archive);
    zip_source_free(buffer);
    return bytes;
  }
  zip_stat_t st;
  if (zip_source_stat(buffer, &st) == 0 && zip_source_open(buffer) == 0) {
    bytes.resize(st.size);
    zip_int64_t n = zip_source_read(buffer, bytes.data(), bytes.size());
    bytes.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    zip_source_close(buffer);
  }
  zip_source_free(buffer);
  return bytes;
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
  std::string packed;
  if (!bytes.empty() && bytes.front() == 'Z') {
    packed = PackEntries(bytes.substr(1));
    bytes = packed;
  }
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
