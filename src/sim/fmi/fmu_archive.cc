#include "sim/fmi/fmu_archive.h"

#include <fmt/format.h>
#include <zip.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace doppel::sim::fmi {
namespace {

namespace fs = std::filesystem;

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipCloser>;

Result<ZipPtr> OpenArchive(std::string_view bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (!source) {
    std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    return Status::InvalidArgument(fmt::format("not a zip archive: {}", message));
  }
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (!archive) {
    zip_source_free(source);
    std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    return Status::InvalidArgument(fmt::format("not a zip archive: {}", message));
  }
  zip_error_fini(&error);
  return ZipPtr(archive);
}

// True when `name` stays inside the directory it is unpacked into: relative, no "..", no drive
// letter, no backslash tricks (a Windows-built zip may use either separator).
bool IsContained(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.front() == '\\') return false;
  if (name.size() >= 2 && name[1] == ':') return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

// The entry's path as it will be written: '\\' read as '/', "." and empty parts dropped.
fs::path NormalPath(std::string_view name) {
  std::string relative(name);
  for (char& c : relative) c = c == '\\' ? '/' : c;
  return fs::path(relative).lexically_normal();
}

// Longer names would pass PATH_MAX (4096) under the target directory; real FMUs use ~100.
constexpr std::size_t kMaxEntryNameBytes = 1024;

// Names the file system could not hold, refused before anything is written (a failure to
// write them later would look like a server fault): a file that is also a directory of
// another entry ("a" and "a/b"), a file named ".", names over kMaxEntryNameBytes and parts
// over NAME_MAX. O(n log n) in the entries: a file "a" clashes exactly when the sorted names
// hold one starting "a/".
Status CheckEntryNames(const std::vector<std::string>& names) {
  std::vector<std::string> sorted, files;  // normal forms; a directory's ends in '/'
  for (const std::string& name : names) {
    if (name.size() > kMaxEntryNameBytes)
      return Status::InvalidArgument(fmt::format("FMU archive entry '{}…' has a name over {} bytes",
                                                 name.substr(0, 64), kMaxEntryNameBytes));
    fs::path path = NormalPath(name);
    for (const auto& part : path) {
      if (part.native().size() > 255)
        return Status::InvalidArgument(
            fmt::format("FMU archive entry '{}' has a name part over 255 bytes", name));
    }
    bool directory = name.back() == '/' || name.back() == '\\';
    if (!directory && (!path.has_filename() || path.filename() == ".")) {
      return Status::InvalidArgument(fmt::format("FMU archive entry '{}' is not a file name", name));
    }
    std::string text = path.generic_string();
    if (directory && !text.ends_with('/')) text += '/';
    if (!directory) files.push_back(text);
    sorted.push_back(std::move(text));
  }
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& file : files) {
    std::string prefix = file + '/';
    auto it = std::lower_bound(sorted.begin(), sorted.end(), prefix);
    if (it != sorted.end() && it->starts_with(prefix))
      return Status::InvalidArgument(
          fmt::format("FMU archive entry '{}' is both a file and a directory", file));
  }
  return Status::Ok();
}

struct Entry {
  zip_uint64_t index = 0;
  std::string name;
  uint64_t size = 0;  // as declared; the real size is checked while unpacking
};

Result<std::vector<Entry>> ListEntries(zip_t* archive, const ArchiveLimits& limits) {
  zip_int64_t count = zip_get_num_entries(archive, 0);
  if (count < 0) return Status::InvalidArgument("not a zip archive: no central directory");
  if (static_cast<uint64_t>(count) > limits.max_entries)
    return Status::InvalidArgument(
        fmt::format("FMU archive has {} entries, over the limit of {}", count, limits.max_entries));
  std::vector<Entry> entries;
  bool has_description = false;
  uint64_t total = 0;
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t st;
    if (zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &st) != 0 || !st.name)
      return Status::InvalidArgument(fmt::format("FMU archive entry {} is unreadable", i));
    std::string name = st.name;
    if (!IsContained(name))
      return Status::InvalidArgument(
          fmt::format("FMU archive entry '{}' escapes the archive", name));
    uint64_t size = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
    if (size > limits.max_entry_bytes)
      return Status::PayloadTooLarge(fmt::format(
          "FMU archive entry '{}' unpacks to more than {} bytes", name, limits.max_entry_bytes));
    total += size;
    if (total > limits.max_total_bytes)
      return Status::PayloadTooLarge(fmt::format(
          "FMU archive unpacks to more than {} bytes in total", limits.max_total_bytes));
    has_description |= name == "modelDescription.xml";
    entries.push_back({static_cast<zip_uint64_t>(i), std::move(name), size});
  }
  if (!has_description)
    return Status::InvalidArgument("FMU archive has no modelDescription.xml at its root");
  std::vector<std::string> names;
  for (const Entry& entry : entries) names.push_back(entry.name);
  DOPPEL_RETURN_IF_ERROR(CheckEntryNames(names));
  return entries;
}

// Streams one entry to disk, counting the real bytes: a forged size in the directory does not
// get past the limits.
Status ExtractEntry(zip_t* archive, const Entry& entry, const fs::path& target,
                    const ArchiveLimits& limits, uint64_t& total) {
  std::unique_ptr<zip_file_t, ZipFileCloser> file(zip_fopen_index(archive, entry.index, 0));
  if (!file)
    return Status::InvalidArgument(fmt::format("FMU archive entry '{}' cannot be read: {}",
                                               entry.name, zip_strerror(archive)));
  std::ofstream out(target, std::ios::binary | std::ios::trunc);
  if (!out) return Status::Internal(fmt::format("cannot write {}", target.string()));
  std::vector<char> buffer(64 * 1024);
  uint64_t written = 0;
  for (;;) {
    zip_int64_t n = zip_fread(file.get(), buffer.data(), buffer.size());
    if (n < 0)
      return Status::InvalidArgument(fmt::format("FMU archive entry '{}' is corrupt: {}",
                                                 entry.name, zip_file_strerror(file.get())));
    if (n == 0) break;
    written += static_cast<uint64_t>(n);
    total += static_cast<uint64_t>(n);
    if (written > limits.max_entry_bytes)
      return Status::PayloadTooLarge(
          fmt::format("FMU archive entry '{}' unpacks to more than {} bytes", entry.name,
                      limits.max_entry_bytes));
    if (total > limits.max_total_bytes)
      return Status::PayloadTooLarge(fmt::format(
          "FMU archive unpacks to more than {} bytes in total", limits.max_total_bytes));
    out.write(buffer.data(), n);
  }
  out.close();
  if (!out) return Status::Internal(fmt::format("cannot write {}", target.string()));
  return Status::Ok();
}

Status CreateDirectories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  return Status::Ok();
}

}  // namespace

Status UnpackFmu(std::string_view zip_bytes, const fs::path& directory,
                 const ArchiveLimits& limits) {
  DOPPEL_ASSIGN_OR_RETURN(ZipPtr archive, OpenArchive(zip_bytes));
  DOPPEL_ASSIGN_OR_RETURN(std::vector<Entry> entries, ListEntries(archive.get(), limits));
  DOPPEL_RETURN_IF_ERROR(CreateDirectories(directory));
  uint64_t total = 0;
  for (const auto& entry : entries) {
    std::string relative = entry.name;
    for (char& c : relative) c = c == '\\' ? '/' : c;
    fs::path target = directory / relative;
    if (relative.ends_with('/')) {
      DOPPEL_RETURN_IF_ERROR(CreateDirectories(target));
      continue;
    }
    DOPPEL_RETURN_IF_ERROR(CreateDirectories(target.parent_path()));
    DOPPEL_RETURN_IF_ERROR(ExtractEntry(archive.get(), entry, target, limits, total));
  }
  return Status::Ok();
}

Result<fs::path> FmuBinaryPath(const fs::path& directory, std::string_view model_identifier) {
  std::string relative = fmt::format("binaries/linux64/{}.so", model_identifier);
  fs::path path = directory / relative;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return Status::InvalidArgument(
        fmt::format("FMU has no {} (only linux64 binaries are supported)", relative));
  return path;
}

}  // namespace doppel::sim::fmi
