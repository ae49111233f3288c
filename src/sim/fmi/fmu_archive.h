// Unpacking an uploaded .fmu (a zip archive) safely. An FMU comes from a user, so the archive
// is treated as hostile: entries may not leave the target directory, and the number of entries
// and the unpacked sizes are bounded so a zip bomb cannot fill the disk.
//
//   ArchiveLimits limits;                       // the defaults below
//   DOPPEL_RETURN_IF_ERROR(UnpackFmu(bytes, dir, limits));
//   DOPPEL_ASSIGN_OR_RETURN(auto so, FmuBinaryPath(dir, md.model_identifier));
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "base/status.h"

namespace doppel::sim::fmi {

struct ArchiveLimits {
  // Entries (files and directories) in the archive. Real FMUs hold tens; default 4096.
  std::size_t max_entries = 4096;
  // Unpacked size of one entry. Default 256 MiB: a large compiled model fits, a bomb does not.
  uint64_t max_entry_bytes = 256ull << 20;
  // Unpacked size of all entries together. Default 512 MiB.
  uint64_t max_total_bytes = 512ull << 20;
};

// Unpacks the zip archive `zip_bytes` into `directory` (created if missing). Checks every
// entry name before writing anything. Errors (InvalidArgument unless noted):
//   "not a zip archive: ..."                                 — unreadable archive
//   "FMU archive entry '../x' escapes the archive"           — "..", absolute or drive paths
//   "FMU archive has N entries, over the limit of M"
//   "FMU archive entry 'x' unpacks to more than N bytes"     — PayloadTooLarge (declared or real)
//   "FMU archive unpacks to more than N bytes in total"      — PayloadTooLarge
//   "FMU archive has no modelDescription.xml at its root"
//   Internal for a failure to write the directory.
// On error the directory may hold part of the archive; the caller removes it.
Status UnpackFmu(std::string_view zip_bytes, const std::filesystem::path& directory,
                 const ArchiveLimits& limits = {});

// binaries/linux64/<model_identifier>.so inside an unpacked FMU, or InvalidArgument
// "FMU has no binaries/linux64/<id>.so (only linux64 binaries are supported)".
Result<std::filesystem::path> FmuBinaryPath(const std::filesystem::path& directory,
                                            std::string_view model_identifier);

}  // namespace doppel::sim::fmi
