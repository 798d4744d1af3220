// The core of `pgdr restore --to TIME|LSN|latest --target HOST` (issue 14): a backup from the
// repository plus WAL up to a point, restored onto one host with pgBackRest, then PostgreSQL
// started and promoted at the target. Never over a running member without `force` and the
// cluster's name typed as confirmation. Seam-tested with the recording transport; the command
// (and the restore drill) wire a real SSH transport.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/inventory.hpp"
#include "core/transport.hpp"

namespace pgdr::pg {

struct RestoreTarget {
    enum class Kind { latest, time, lsn };
    Kind kind = Kind::latest;
    std::string value;  // the time as pgBackRest takes it ("2026-12-05 16:20:00+00"), or the LSN
};

// "latest"; an ISO 8601 time with a zone (2026-12-05T16:20:00Z, 2026-12-05 16:20:00.5+01:00);
// or an LSN (0/5000060). Throws a usage error naming the three forms.
RestoreTarget parse_restore_target(const std::string& text);

// pgbackrest --delta restore as postgres, to the target (promote there; `latest`: to the end of
// the archive).
std::vector<std::string> restore_argv(const Inventory& inv, const RestoreTarget& target);

// What runs on the host: "patroni=<active|...> postgres=<0|3|4>" (pg_ctlcluster status).
std::vector<std::string> restore_probe_argv(const Inventory& inv);
struct RestoreHostState {
    bool patroni_active = false;
    bool postgres_running = false;
};
RestoreHostState parse_restore_probe(const std::string& out);

struct RestoreRequest {
    std::string host;  // an inventory host
    RestoreTarget target;
    bool force = false;           // over a running member
    std::string confirm_cluster;  // the cluster's name, typed; required with force
    std::chrono::milliseconds timeout{std::chrono::hours(6)};
};

// Throws pgdr::Error: usage (2) for a running member without force and the typed cluster name,
// or a host that is not in the inventory.
void check_restore_allowed(const Inventory& inv, const RestoreRequest& req,
                           const RestoreHostState& state);

struct RestoreResult {
    std::string host;
    bool stopped_member = false;                   // Patroni/PostgreSQL were stopped first (force)
    std::chrono::milliseconds restore_elapsed{0};  // pgbackrest restore
    std::chrono::milliseconds ready_elapsed{0};    // start until it accepts writes (promoted)
};

// Probe, refuse or stop (force), restore, start PostgreSQL, wait until it is out of recovery.
// `progress` (may be empty) gets one line per step. Throws pgBackRest's failures as
// throw_pgbackrest_failure (pg/backup.hpp).
RestoreResult run_restore(const Inventory& inv, Transport& host, const RestoreRequest& req,
                          Clock& clock, const std::function<void(const std::string&)>& progress);

}  // namespace pgdr::pg
