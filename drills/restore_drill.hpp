// The restore drill (`pgdr drill --restore [--to TIME]`, issue 14): the pure half. Marker rows
// written through the write port while the cluster runs, a point-in-time restore of the
// repository onto a scratch host, and the comparison of what the restored server holds with
// what the writer was told was committed. drills/restore_drill_run.hpp runs it behind seams;
// drills/restore_report.hpp renders the report.
//
// Times of the markers and of the target are the primary's clock (epoch microseconds), so the
// comparison needs no clock offset. A marker's row has committed_at = clock_timestamp() of its
// INSERT; its commit record follows within the statement's round trip. So the commit lies in
// [committed_at, committed_at + round trip]: a marker is expected on the restored server when
// that whole interval is at or before the target, must be absent when committed_at is after it,
// and is "uncertain" (counted, not judged) when the interval straddles the target.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "drills/report.hpp"
#include "pg/backup.hpp"

namespace pgdr::drills {

// One marker the server acknowledged.
struct MarkerAck {
    std::int64_t id = 0;
    std::int64_t committed_at_us = 0;  // the row's committed_at, epoch microseconds
    std::int64_t round_trip_us = 0;    // send -> acknowledgement, measured by the writer
};

// One marker row on the restored server.
struct MarkerRow {
    std::int64_t id = 0;
    std::int64_t committed_at_us = 0;
};

struct MarkerComparison {
    std::int64_t acknowledged = 0;  // markers the server acknowledged
    std::int64_t expected = 0;      // acknowledged, committed at or before the target for sure
    std::int64_t found = 0;         // expected ones present on the restored server
    std::int64_t after_target = 0;  // rows on the restored server with committed_at > target
    std::int64_t uncertain = 0;     // acknowledged, commit possibly on either side of the target
    std::int64_t rows = 0;          // this run's rows on the restored server
    std::vector<std::int64_t> missing;           // expected, not found (at most k_max_listed)
    std::vector<std::int64_t> after_target_ids;  // at most k_max_listed
};

inline constexpr std::size_t k_max_listed_markers = 100;

MarkerComparison compare_markers(const std::vector<MarkerAck>& acks,
                                 const std::vector<MarkerRow>& rows, std::int64_t target_us);

// The rows of `SELECT id, committed_at_us` as psql -XAt prints them ("12|1733400000123456"
// per line). Throws pgdr::Error (postgres) on a line that is not that.
std::vector<MarkerRow> parse_marker_rows(const std::string& psql_output);

// Epoch microseconds <-> the restore target's text. format: "2026-12-05 16:20:00.123456+00"
// (what pgBackRest's --target takes). parse: what pg::parse_restore_target accepts as a time
// (ISO 8601 with a zone, 'T' or ' ', up to 6 fraction digits); std::nullopt otherwise.
std::string format_target_time(std::int64_t epoch_us);
std::optional<std::int64_t> parse_target_time(const std::string& text);
// Epoch microseconds as 2026-12-05T16:20:00.123Z (the reports' spelling).
std::string format_iso_us(std::int64_t epoch_us);

// The backup pgBackRest restores for a time target: the newest one that ended at or before it
// (and has no page checksum errors). nullptr when none.
const pg::BackupRecord* backup_for_target(const pg::StanzaInfo& stanza, std::int64_t target_us);

// WAL file names (24 hex digits: timeline, log, segment) compare as their order within a
// timeline history: true when `archived` is at or past `needed`.
bool wal_archived_past(const std::string& archived, const std::string& needed);

struct RestoreDrillObjectives {
    std::optional<Millis> max_rto_ms;  // --max-rto: the restore's RTO
};

// The report of one restore drill. Times in milliseconds unless named otherwise.
struct RestoreDrillReport {
    std::string drill = "restore";
    std::string cluster;
    std::string started_at;                   // ISO 8601 UTC
    std::string provider;                     // lab | ovh
    std::string target;                       // ISO 8601 UTC of the recovery target
    std::string target_source;                // "--to" | "now - margin"
    std::string scratch_host;                 // its name (lab: scr100; OVH: the instance's name)
    std::string scratch_address;              // on the cluster's network
    std::string scratch_provider;             // lab | ovh: what made it
    std::string scratch_id;                   // OVH: the instance id; lab: the host name
    std::string scratch_flavor;               // OVH only
    std::string scratch_region;               // OVH only
    std::optional<Millis> scratch_create_ms;  // creating it until it answers SSH
    std::optional<Millis> scratch_ready_ms;   // creating it, packages, files

    std::string backup_label;
    std::string backup_stop;  // ISO 8601 UTC
    std::string backup_lsn_stop;
    std::optional<Millis> backup_age_ms;  // target - the backup's stop

    std::optional<Millis> restore_rto_ms;            // start of the restore -> accepting queries
    std::optional<Millis> restore_copy_ms;           // pgbackrest restore (files)
    std::optional<Millis> recovery_ms;               // PostgreSQL start -> promoted at the target
    std::string replay_lsn;                          // the restored server's last replayed LSN
    std::optional<std::int64_t> wal_replayed_bytes;  // backup stop LSN -> replay LSN
    std::optional<double> wal_replay_rate_bytes_per_s;

    std::optional<Millis> rpo_ms;  // target - the last archived WAL's time, when the target was set
    std::string last_archived_wal;  // at the target's choice
    std::string last_archived_at;   // ISO 8601 UTC
    std::string switched_wal;       // the segment the drill closed and waited for
    bool target_covered = false;    // that segment reached the repository

    std::optional<std::int64_t> markers_expected;
    std::optional<std::int64_t> markers_found;
    std::optional<std::int64_t> markers_after_target;
    std::int64_t markers_acknowledged = 0;
    std::int64_t markers_uncertain = 0;
    std::int64_t markers_failed = 0;  // inserts the server did not acknowledge
    std::vector<std::int64_t> missing_markers;
    std::vector<std::int64_t> markers_after_target_ids;

    RestoreDrillObjectives objectives;
    std::vector<Check> checks;
    Verdict verdict = Verdict::fail;
    bool restored = false;  // the scratch host was removed again
    std::vector<std::string> warnings;
    std::vector<std::string> errors;

    const Check* find_check(const std::string& name) const;
};

// Puts the comparison's figures into the report.
void apply_comparison(RestoreDrillReport& report, const MarkerComparison& comparison);

// Fills checks and verdict. Checks (stable names): target_covered, restore_completed,
// markers_verified (at least one marker expected), all_markers_found, none_after_target,
// max_rto (with the objective), scratch_removed. Any error also fails the verdict.
void judge_restore_drill(RestoreDrillReport& report);

// ExitCode::ok when the verdict passes, ExitCode::objectives_missed otherwise.
ExitCode exit_code(const RestoreDrillReport& report);

}  // namespace pgdr::drills
