// Progress of a running `pgbackrest restore` (issue 14: bytes, rate and ETA on a terminal).
//
// pgBackRest logs one DETAIL line per file it restores, with the file's size and the share of
// the backup restored so far (by size, cumulative), e.g.
//   P01 DETAIL: restore file /var/lib/postgresql/17/main/base/1/2657 (8KB, 12.50%) checksum e5f2...
//   P01 DETAIL: restore file .../base/1/113 - exists and matches backup (bundle
//               20260720-005106F/1/58072, 8KB, 5.76%) checksum 1cd6...
// and the backup set it chose ("restore backup set 20261205-010000F", 2.55 prefixes "repo1: ").
// The members' pgbackrest.conf logs DETAIL to /var/log/pgbackrest/<stanza>-restore.log
// (pg/pgbackrest_conf.cpp), so a second session reads the file's new lines while the restore runs:
// the argvs and the parser are here, the polling in the command.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/inventory.hpp"

namespace pgdr::pg {

// /var/log/pgbackrest/<cluster>-restore.log (the stanza is the cluster's name).
std::string restore_log_path(const Inventory& inv);
// Prints the log's size in bytes ("0" when it does not exist yet): where this restore's lines
// start.
std::vector<std::string> restore_log_size_argv(const Inventory& inv);
// The last few relevant lines written after `offset` bytes (the backup set, restore file lines,
// the final "restore size" line).
std::vector<std::string> restore_log_tail_argv(const Inventory& inv, std::int64_t offset);

// "8KB" -> 8192, "1.5MB", "0B", "2GB" (pgBackRest's sizes are binary); -1 when not a size.
std::int64_t parse_pgbackrest_size(const std::string& text);

struct RestoreProgress {
    std::string backup_set;   // "" until the line naming it was read
    double fraction = 0;      // 0..1 of the backup's size restored
    std::string last_file;    // the file of the newest line
    bool files_done = false;  // the "restore size = ..." line: files restored, WAL next
};
// The newest progress in log lines (with or without the log file's timestamp prefix);
// std::nullopt when they hold neither a backup set nor a restore file line.
std::optional<RestoreProgress> parse_restore_progress(const std::string& log_lines);

// One terminal line: "restore: 45.2%  1.2 GiB of 2.6 GiB  80.0 MiB/s  ETA 18s" (bytes from the
// fraction of `total_bytes` when known, 0 = unknown: percent and elapsed only).
std::string render_restore_progress(const RestoreProgress& p, std::int64_t total_bytes,
                                    double elapsed_s);

}  // namespace pgdr::pg
