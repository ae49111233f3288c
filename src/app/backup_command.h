// `doppel backup DIR` and `doppel restore BACKUP --data-dir DIR`: the operator's side of
// backups (docs/operations.md).
//
// backup asks a running server (POST /backup) to write a consistent copy of its stores into
// DIR, an absolute path on the server's machine that must not exist yet; the server keeps
// serving meanwhile. restore runs offline, with the server stopped: it copies a backup's
// graph/ and history/ into a data directory that holds neither yet.
#pragma once

#include <string>

#include "app/remote_command.h"

namespace doppel::app {

// Returns 0 and prints where the backup went, or 1 with the server's reason.
int RunBackup(const std::string& url, const std::string& dir, const CommandIo& io);

// Returns 0 after copying `backup_dir`/{graph,history} into `data_dir`, 1 with the reason
// (not a backup, a store already present in data_dir, I/O errors).
int RunRestore(const std::string& backup_dir, const std::string& data_dir, const CommandIo& io);

}  // namespace doppel::app
