// pgdr dr promote (issue 16): the DR cluster of a pair becomes a normal cluster.
//
//   1. the DR cluster's snapshot: one standby leader (Patroni's role standby_leader);
//   2. the primary cluster, when it answers: its leader;
//   3. confirmation;
//   4. the fence: Patroni (and with it PostgreSQL) stopped and disabled on every member of the
//      primary cluster, its replicas first (none may take over), its leader last, whose
//      pg_controldata then names the end of its WAL (a clean shutdown writes a checkpoint
//      record last): what was acknowledged there at most. A member that cannot be reached (its
//      region is lost) is not fenced: promoting then needs `force`, and the old primary
//      cluster must be kept from serving writes when its region comes back (pgdr dr rebuild);
//   5. the DR cluster's standby leader replays what it received (and up to the fenced
//      leader's end of WAL when it got it: then no acknowledged write is lost);
//   6. PATCH /config {"standby_cluster": null, ...} on it (Patroni 3.0.2 and 4.0.7 have no
//      promote-cluster command before 4.1): Patroni promotes the standby leader; the same
//      PATCH gives it the pair's synchronous mode and a permanent slot for the old primary;
//   7. GET /primary answers 200 on it; a write through the DR cluster's HAProxy is
//      acknowledged.
// RPO: the fenced leader's end of WAL minus what the DR cluster had replayed (bytes; unknown
// when the primary cluster could not be read). RTO: from the start of the command to the first
// write acknowledged through the DR cluster's HAProxy.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/inventory.hpp"
#include "pg/cluster_snapshot.hpp"

namespace pgdr::pg {

struct DrPromoteRequest {
    // Promote although members of the primary cluster could not be fenced (unreachable).
    bool force = false;
    // The primary region is known to be lost (the region drill cut it): its cluster is neither
    // read nor fenced (each try would cost its timeouts); implies force.
    bool primary_lost = false;
    // A planned switchover (pgdr dr switchover): the primary cluster must answer, the DR link
    // stream, every member be fenced, and the DR cluster replay past the fenced leader's end of
    // WAL within `catch_up`; otherwise the fence is undone (Patroni enabled and started again,
    // the leader first) and nothing is promoted: no acknowledged write may be lost.
    bool planned = false;
    bool dry_run = false;                                          // snapshots and the plan only
    std::chrono::milliseconds timeout{std::chrono::seconds(120)};  // bound of each wait
    std::chrono::milliseconds catch_up{std::chrono::seconds(10)};  // replay of the last WAL
    std::chrono::milliseconds poll{std::chrono::milliseconds(250)};
};

struct DrPhase {
    std::string name;
    long long after_ms = 0;  // since the command started
    std::string detail;
};

// What fencing one member of the primary cluster did.
struct FenceOutcome {
    bool fenced = false;
    std::string detail;    // why not, when not fenced
    std::string last_lsn;  // pg_controldata's "Latest checkpoint location" after a clean stop
};

struct DrPromoteResult {
    bool ok = false;
    bool dry_run = false;
    bool declined = false;
    std::string primary_cluster;
    std::string dr_cluster;
    std::string old_leader;      // the primary cluster's leader, when it answered
    std::string standby_leader;  // the DR cluster's
    std::vector<std::string> fenced;
    std::vector<std::string> not_fenced;  // "host: why"
    std::string primary_last_lsn;         // the fenced leader's end of WAL ("" unknown)
    std::string dr_replay_lsn;            // replayed on the standby leader before promotion
    std::optional<long long> lost_bytes;  // RPO in bytes
    std::optional<long long> rto_ms;
    // From the fence of the primary cluster (writes stop) to the first write acknowledged on
    // the DR cluster; empty when nothing was fenced.
    std::optional<long long> write_outage_ms;
    bool rolled_back = false;  // a planned switchover undid its fence
    std::vector<DrPhase> phases;
    std::string error;
};

struct DrSeams {
    const Inventory& primary;
    const Inventory& dr;
    ClusterAccess primary_access;
    ClusterAccess dr_access;
    Clock& clock;
    std::string rest_user;
    std::string rest_password;
    // Stops and disables Patroni on one member of the primary cluster (over SSH); `clean`: a
    // clean stop whose end of WAL is read (fence_argv).
    std::function<FenceOutcome(const HostSpec& member, bool clean)> fence;
    // One write through a HAProxy host of the DR cluster: "" when acknowledged, else why not.
    std::function<std::string(const HostSpec& lb)> write_through;
    std::function<bool(const DrPromoteResult& plan)> confirm;
    std::function<void(const std::string&)> progress;
    // Enables and starts Patroni again on a fenced member (a planned switchover's way back).
    std::function<bool(const HostSpec& member)> unfence = nullptr;
};

DrPromoteResult run_dr_promote(const DrSeams& seams, const DrPromoteRequest& request);

// A snapshot of Patroni's view alone (members, roles, the leader): no etcd, HAProxy or
// replication reads.
SnapshotOptions patroni_only();

// After a dr command read both clusters: false when it stops there — a dry run (ok) or an
// answer other than yes (declined).
template <class Result>
bool dr_go_ahead(Result& r, bool dry_run, const std::function<bool(const Result&)>& confirm) {
    if (dry_run) {
        r.ok = true;
        return false;
    }
    if (confirm && !confirm(r)) {
        r.declined = true;
        r.error = "not confirmed";
        return false;
    }
    return true;
}

// The phases of a dr command as JSON (name, after_ms, detail) and as text lines
// ("    +1.25 s  name: detail").
nlohmann::json dr_phases_json(const std::vector<DrPhase>& phases);
std::string dr_phases_text(const std::vector<DrPhase>& phases);

nlohmann::json dr_promote_to_json(const DrPromoteResult& r);
std::string render_dr_promote_text(const DrPromoteResult& r);

// The shell command that fences one member. clean: stop and disable Patroni's unit, then print
// the data directory's end of WAL when PostgreSQL shut down cleanly (the leader; every member
// when the leader is unknown). Otherwise (a replica of a known leader) disable the unit and
// SIGKILL every process in it: a clean stop of a synchronous standby waits for the leader to
// release it (up to a loop_wait, seen on the lab: 4.2 s of the fence), and a replica's data is
// cloned anew when its cluster is rebuilt; what it must not do is take over, which a killed
// member cannot.
std::vector<std::string> fence_argv(const Inventory& inv, bool clean = true);

}  // namespace pgdr::pg
