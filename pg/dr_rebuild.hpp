// pgdr dr rebuild (issue 16): after a promotion, the old primary cluster becomes the standby
// cluster of the promoted one, so the pair can fail back (pgdr dr switchover).
//
//   1. the primary cluster (the promoted one) has a leader: its system identifier, timeline,
//      WAL position and timeline history are read there;
//   2. the cluster to rebuild is not a standby already (a running standby leader: nothing to
//      do);
//   3. confirmation;
//   4. every member of it is fenced (Patroni stopped and disabled: it may still run as a
//      writable primary after its region came back);
//   5. each member's data is judged from pg_controldata (decide_rebuild): one member whose
//      data stops where the promoted cluster's history forked from it — a clean shutdown as a
//      primary whose last checkpoint lies before the switch point of its timeline, as after a
//      planned switchover or a fence the DR cluster replayed to the end — is kept and streams
//      from the new primary without a copy; every other member's data directory is set aside
//      (renamed to <data>.pgdr-rebuild-<UTC time>, never deleted: it may hold the writes the
//      old primary acknowledged after the DR cluster's last replay) and is cloned anew;
//   6. the cluster's keys are removed from its own etcd (its dynamic configuration had no
//      standby_cluster: a member starting from it would promote itself);
//   7. pgdr bootstrap converges the pair (the kept member becomes the standby leader, the
//      others are cloned from it or, when none was kept, from the primary cluster);
//   8. the DR link streams.
// pg_rewind is not used: it needs wal_log_hints or data checksums and leaves a member whose
// rewind failed half-changed; a clone is slower but starts from a known state.
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
#include "pg/dr_link.hpp"
#include "pg/dr_promote.hpp"
#include "pg/lsn.hpp"

namespace pgdr::pg {

// A line of a timeline history file: timeline `parent` ended at `switch_lsn`.
struct TimelineSwitch {
    int parent = 0;
    Lsn switch_lsn;
};
// "1\t0/3000160\tno recovery target specified" lines; comments and blank lines skipped;
// std::nullopt when a line is neither.
std::optional<std::vector<TimelineSwitch>> parse_timeline_history(const std::string& text);

// pg_controldata of one member of the cluster to rebuild, read after its fence.
struct MemberData {
    std::string host;
    bool read = false;       // the host answered
    std::string error;       // why not
    bool data = false;       // a PostgreSQL data directory (global/pg_control)
    std::string sysid;       // "Database system identifier"
    std::string state;       // "Database cluster state": "shut down", "shut down in recovery", ...
    int timeline = 0;        // "Latest checkpoint's TimeLineID"
    std::string checkpoint;  // "Latest checkpoint location"
    // Its own history file of `timeline` (empty for timeline 1): how its timeline came to be.
    // Timeline numbers are not unique across a split brain (each side may promote to 2), so a
    // member is judged against the primary's history only when its own is a prefix of it.
    std::optional<std::vector<TimelineSwitch>> history;
};
// pg_controldata's output (the lines above), then a line "--- history" and the history file
// of its timeline (controldata_argv); fields it lacks stay empty.
MemberData parse_controldata(const std::string& host, const std::string& text);

// The promoted cluster's side of the judgement.
struct PrimaryHistory {
    std::string sysid;
    int timeline = 0;
    std::vector<TimelineSwitch> history;  // of `timeline`
};

enum class MemberFate { keep, set_aside, empty };
const char* fate_name(MemberFate f);

struct MemberDecision {
    std::string host;
    MemberFate fate = MemberFate::empty;
    std::string why;
    std::string set_aside_to;  // filled when it was set aside
};

// One member at most is kept (the first, in `members` order, that qualifies); a member whose
// data is another system's is refused (throws pgdr::Error): the inventory names the wrong
// hosts, or the data belongs to something else.
std::vector<MemberDecision> decide_rebuild(const std::vector<MemberData>& members,
                                           const PrimaryHistory& primary);

struct DrRebuildRequest {
    bool dry_run = false;
    std::chrono::milliseconds timeout{std::chrono::seconds(180)};  // the DR link streaming
    std::chrono::milliseconds poll{std::chrono::milliseconds(500)};
};

struct DrRebuildResult {
    bool ok = false;
    bool dry_run = false;
    bool declined = false;
    bool nothing_to_do = false;  // already a standby cluster
    std::string primary_cluster;
    std::string standby_cluster;
    std::string primary_leader;
    PrimaryHistory primary;
    std::vector<std::string> fenced;
    std::vector<std::string> not_fenced;
    std::vector<MemberDecision> members;
    DrLink link;
    std::vector<DrPhase> phases;
    std::string error;
};

struct DrRebuildSeams {
    const Inventory& primary;  // the promoted cluster (the inventory after the roles' swap)
    const Inventory& standby;  // the cluster to rebuild (dr_inventory(primary))
    ClusterAccess primary_access;
    ClusterAccess standby_access;
    Clock& clock;
    std::function<FenceOutcome(const HostSpec& member)> fence;
    std::function<MemberData(const HostSpec& member)> read_member;
    // Renames the data directory; returns where it went.
    std::function<std::string(const HostSpec& member)> set_aside;
    // The kept member: standby.signal in, Patroni's cached dynamic configuration out.
    std::function<void(const HostSpec& member)> prepare_keep;
    // Removes the cluster's keys from its etcd.
    std::function<void()> clear_dcs;
    // pgdr bootstrap of the pair; "" when it succeeded, else why not.
    std::function<std::string()> bootstrap;
    std::function<bool(const DrRebuildResult& plan)> confirm;
    std::function<void(const std::string&)> progress;
};

DrRebuildResult run_dr_rebuild(const DrRebuildSeams& seams, const DrRebuildRequest& request);

nlohmann::json dr_rebuild_to_json(const DrRebuildResult& r);
std::string render_dr_rebuild_text(const DrRebuildResult& r);

// The SQL read on the promoted cluster's leader: system identifier, timeline, history file.
extern const char* const k_primary_history_sql;
// The shell commands on a member (positional parameters: version, data directory, ...).
std::vector<std::string> controldata_argv(const Inventory& inv);
std::vector<std::string> set_aside_argv(const Inventory& inv, const std::string& suffix);
std::vector<std::string> prepare_keep_argv(const Inventory& inv);

}  // namespace pgdr::pg
