// `pgdr backup run|list|check` (issue 14): the pure and seam-tested half. cmd/backup_cmd.cpp
// picks the leader and wires the SSH transport; everything here takes a Transport to the member
// (a RecordingTransport in tests) or parses what pgBackRest printed.
//
//   run    /usr/local/sbin/pgdr-backup TYPE --manual as postgres on the leader (the timers'
//          script: a standby's files when one streams), or as pgbackrest on the repository
//          host (pgBackRest requires backup and expire there), then the new backup from `info`;
//   list   `pgbackrest info --output=json`: label, type, start/stop, duration, size, repository
//          size, WAL range; a text table or JSON;
//   check  `pgbackrest check` (a WAL segment reaches the repository) and the leader's
//          pg_stat_archiver.
// pgBackRest's failures become pgdr::Error with an exit code and a hint: a wrong cipher
// passphrase or refused credentials 3, an unreachable repository 5, anything else 6
// (classify_pgbackrest_failure, tested on recorded outputs).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/inventory.hpp"
#include "core/transport.hpp"
#include "pg/cluster_snapshot.hpp"

namespace pgdr::pg {

struct BackupRecord {
    std::string label;       // 20261205-010000F
    std::string type;        // full | diff | incr
    std::int64_t start = 0;  // epoch seconds
    std::int64_t stop = 0;
    std::int64_t size = 0;        // the database's size
    std::int64_t delta = 0;       // what this backup copied
    std::int64_t repo_size = 0;   // in the repository (compressed)
    std::int64_t repo_delta = 0;  // this backup's share of it
    std::string wal_start;        // archive start/stop segments
    std::string wal_stop;
    std::string lsn_start;
    std::string lsn_stop;
    std::string prior;   // the backup a diff/incr depends on
    bool error = false;  // pgBackRest found page checksum errors

    std::int64_t duration_s() const { return stop - start; }
};

struct StanzaInfo {
    std::string name;
    int status_code = -1;  // 0 ok, 1 missing stanza path, 2 no valid backups, 3 missing stanza
                           // data, ..., 99 other (the repository said why in repo_message)
    std::string status_message;
    std::string repo_message;  // the first repository's status message when not ok
    std::string cipher;
    std::string archive_min;  // the oldest and newest WAL segment in the archive
    std::string archive_max;
    bool backup_running = false;
    std::optional<double> progress;   // 0..1 of a running backup, when pgBackRest says
    std::int64_t progress_bytes = 0;  // copied so far, of progress_total (pgBackRest 2.48+)
    std::int64_t progress_total = 0;
    std::vector<BackupRecord> backups;  // oldest first
};

// `pgbackrest info --output=json`; throws pgdr::Error (postgres) when it is not that.
std::vector<StanzaInfo> parse_pgbackrest_info(const std::string& json);
// The stanza named `cluster` among them; throws pgdr::Error (postgres) when absent.
const StanzaInfo& stanza_of(const std::vector<StanzaInfo>& stanzas, const std::string& cluster);

nlohmann::json backups_to_json(const StanzaInfo& stanza);
// LABEL TYPE START STOP DURATION SIZE REPO SIZE WAL START WAL STOP, then the archive's range.
std::string render_backup_table(const StanzaInfo& stanza);

// 1536 -> "1.5 KiB".
std::string format_bytes(std::int64_t bytes);
// Epoch seconds as 2026-12-05T01:00:00Z.
std::string format_utc(std::int64_t epoch_s);

// What a failed pgBackRest command means for the operator.
struct PgbackrestFailure {
    int code = 0;      // pgBackRest's error code ([095] -> 95); 0 when none printed
    std::string kind;  // wrong_passphrase, repository_unreachable, tls_untrusted,
                       // access_denied, bucket_missing, stanza_missing, archive_timeout, other
    ExitCode exit = ExitCode::postgres;
    std::string message;  // pgBackRest's first ERROR line, or the last output line
    std::string hint;
};
PgbackrestFailure classify_pgbackrest_failure(int exit_status, const std::string& output);
// Throws the failure as pgdr::Error: "<what> on <host>: <message>" with its hint; with `inv`
// naming a repository host, the hint of an unreachable or untrusted repository is about it.
[[noreturn]] void throw_pgbackrest_failure(const std::string& what, const std::string& host,
                                           const CommandResult& result,
                                           const Inventory* inv = nullptr);

// The argvs: as postgres on a member, as pgbackrest on the repository host (`host`: where it
// runs; "" a member).
std::vector<std::string> backup_info_argv(const Inventory& inv, const std::string& host = "");
std::vector<std::string> backup_check_argv(const Inventory& inv);
std::vector<std::string> backup_run_argv(const std::string& type,
                                         const std::string& user = "postgres");

// Where pgBackRest's backup, expire and stanza-create run: the repository host (backup.repo.type
// posix), or "" for the leader (an S3 repository).
std::string backup_host(const Inventory& inv);

// Throws a usage error unless the inventory has a backup section.
void require_backup(const Inventory& inv);

// `info` on the member (or the repository host, as pgbackrest); throws as
// throw_pgbackrest_failure, or for a stanza that cannot be read (status 99: the repository's own
// message classified). `bound`: how long pgdr waits; reached, it is repository_unreachable
// (pgBackRest retries a refused or silent endpoint for longer).
StanzaInfo read_backup_info(const Inventory& inv, Transport& member,
                            std::chrono::seconds bound = std::chrono::seconds(120));

// Runs the backup on the leader, or on the repository host (backup_host(); blocks until
// pgBackRest ends). `progress` (may be empty) is
// called with pgBackRest's `info` of the stanza every `interval` from another transport to the
// same member (`watch`, may be null: no progress). Returns the newest backup afterwards.
struct BackupRunOptions {
    std::string type = "full";
    std::chrono::milliseconds timeout{std::chrono::hours(12)};
    std::chrono::milliseconds interval{std::chrono::seconds(2)};
    Transport* watch = nullptr;
    std::function<void(const StanzaInfo&)> progress;
};
BackupRecord run_backup(const Inventory& inv, Transport& leader, const BackupRunOptions& o);

// `pgbackrest check` on the leader, and what its archiver says.
struct BackupCheck {
    bool ok = false;
    std::string output;  // pgBackRest's
    bool archiver_read = false;
    ArchiverState archiver;
    std::string archiver_error;
};
BackupCheck check_backup(const Inventory& inv, Transport& leader);

}  // namespace pgdr::pg
