// The restore drill's steps (issue 14) behind seams, so that tests drive them with fakes and
// cmd/drill_cmd.cpp wires the real ones (libpq through the write port, the leader's SQL, the
// backup repository's `info`, a scratch host from the provider, pg::run_restore):
//
//   1. the marker table (pgdr_restore_markers) exists; a writer thread inserts one marker every
//      `marker_interval` through the write port and keeps the acknowledged ones;
//   2. after `baseline`, the target: --to TIME, or the primary's clock now - `margin`; the
//      leader's pg_stat_archiver then gives the RPO (target - last archived WAL's time);
//   3. markers go on for `after_target` (rows that must NOT come back), then stop;
//   4. pg_switch_wal() on the leader and a wait until that segment is archived (the target is
//      then covered by the repository);
//   5. the backup the target restores from (pgbackrest info);
//   6. a scratch host (created by the seam: a lab host or an OVH instance, then prepared;
//      removed whatever happens: scratch_removed); its creation is timed apart from the RTO;
//   7. pg::run_restore onto it to the target; restore RTO = start of the restore -> accepting
//      queries;
//   8. on the restored server: this run's marker rows and pg_last_wal_replay_lsn();
//   9. comparison, checks and verdict (drills/restore_drill.hpp).
// Ctrl-C (the interrupted flag) stops at the next step; the scratch host is removed then too.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/scratch_host.hpp"
#include "core/transport.hpp"
#include "drills/restore_drill.hpp"
#include "pg/cluster_snapshot.hpp"
#include "pg/restore.hpp"

namespace pgdr::drills {

// What the provider made (core/scratch_host.hpp) with an SSH session to it. Destroying it
// removes the machine; remove() does it earlier and throws when it cannot.
class ScratchHost {
  public:
    ScratchHost(ScratchMachine machine, Transport& transport, std::function<void()> remove);
    ~ScratchHost();
    ScratchHost(const ScratchHost&) = delete;
    ScratchHost& operator=(const ScratchHost&) = delete;

    const ScratchMachine& machine() const { return m_machine; }
    const std::string& name() const { return m_machine.name; }
    const std::string& address() const { return m_machine.address; }
    Transport& transport() { return m_transport; }
    void remove();

  private:
    ScratchMachine m_machine;
    Transport& m_transport;
    std::function<void()> m_remove;  // empty once done
};

struct MarkerInsert {
    bool ok = false;
    std::int64_t committed_at_us = 0;  // the row's committed_at (the primary's clock)
    std::string error;
};

struct RestoreDrillSeams {
    Clock& clock;
    // CREATE TABLE IF NOT EXISTS of the marker table, through the write port; throws on failure.
    std::function<void()> prepare_markers;
    // One marker through the write port (called from the writer thread only).
    std::function<MarkerInsert(const std::string& run, std::int64_t id)> insert_marker;
    // The primary's clock now, epoch microseconds; throws on failure.
    std::function<std::int64_t()> server_now_us;
    // The leader's pg_stat_archiver; throws on failure.
    std::function<pg::ArchiverState()> archiver;
    // pg_switch_wal() on the leader: the name of the WAL file it closed; throws on failure.
    std::function<std::string()> switch_wal;
    // `pgbackrest info` of the stanza; throws as pg::read_backup_info.
    std::function<pg::StanzaInfo()> backup_info;
    // A scratch host from the provider (lab host, OVH instance), up and answering SSH; throws
    // when it cannot (having removed what it made).
    std::function<std::unique_ptr<ScratchHost>()> create_scratch;
    // Makes it ready for pgBackRest (packages, configuration: pg::prepare_scratch_host);
    // throws when it cannot.
    std::function<void(ScratchHost&)> prepare_scratch;
    // pg::run_restore with the cluster's inventory (the scratch host added to it).
    std::function<pg::RestoreResult(Transport&, const pg::RestoreRequest&)> restore;
    std::function<void(const std::string&)> progress;  // may be empty
    const std::atomic<bool>* interrupted = nullptr;
};

struct RestoreDrillOptions {
    std::string cluster;
    std::string provider;           // lab | ovh
    std::optional<std::string> to;  // --to TIME
    RestoreDrillObjectives objectives;
    std::chrono::milliseconds marker_interval{100};
    std::chrono::milliseconds baseline{3000};
    std::chrono::milliseconds margin{500};
    std::chrono::milliseconds after_target{1500};
    std::chrono::milliseconds archive_timeout{std::chrono::minutes(2)};
    std::chrono::milliseconds restore_timeout{std::chrono::hours(2)};
};

// The marker table and the query of this run's rows on the restored server (as psql -XAt
// prints them: id|committed_at_us), exposed for tests.
extern const char* const k_create_marker_table;
extern const char* const k_insert_marker;  // $1 run, $2 id; returns committed_at_us
// psql on the probe database with the run id as the variable `run`; marker_rows_sql() on stdin.
std::vector<std::string> marker_rows_argv(const std::string& run);
std::string marker_rows_sql();
std::vector<std::string> replay_lsn_argv();

// Runs the drill; never throws for the cluster's or the restore's failures: they are the
// report's errors (and fail its verdict). `interrupted_out` (may be null) is set when Ctrl-C
// stopped it.
RestoreDrillReport run_restore_drill(const RestoreDrillSeams& seams,
                                     const RestoreDrillOptions& options,
                                     bool* interrupted_out = nullptr);

}  // namespace pgdr::drills
