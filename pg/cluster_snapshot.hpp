// The one snapshot of a running cluster (DESIGN.md §11): what Patroni says of each member
// (GET /cluster), replication as the leader sees it (pg_stat_replication over libpq), the DCS
// view that /cluster carries (who holds the leader key, who is the synchronous standby), etcd
// health per member (GET /health on its client port) and what each HAProxy routes (its
// statistics CSV). `pgdr status`, the drills, switchover/failover/reinit, runbooks and
// bootstrap's verification all read the cluster through take_snapshot() and judge it with
// pg::assess() (pg/assessment.hpp); the candidate for a handover comes from
// pg::pick_candidate() (pg/candidate.hpp).
//
// Every connection asks the ClusterReach where to connect (core/reach.hpp), so the same code
// works from a machine inside the cluster's network and, through SSH forwarding, from one
// outside it. Nothing is thrown for an unhealthy or unreachable cluster: each part records
// whether it answered and why not, and the assessment names what that means.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/http.hpp"
#include "core/inventory.hpp"
#include "core/reach.hpp"
#include "pg/haproxy_csv.hpp"
#include "pg/libpq.hpp"
#include "pg/patroni_api.hpp"

namespace pgdr::pg {

// What the snapshot reads: the inventory's cluster hosts and ports (the drills build one from
// their topology).
struct ClusterNode {
    std::string name;     // inventory host name = Patroni member name = HAProxy server name
    std::string address;  // its address inside the cluster's network
};

struct ClusterTargets {
    std::vector<ClusterNode> postgres;  // Patroni members, in inventory order
    std::vector<ClusterNode> etcd;
    std::vector<ClusterNode> haproxy;
    int pg_port = 5432;
    int rest_port = 8008;
    int etcd_client_port = 2379;
    int stats_port = 7000;

    const ClusterNode* postgres_node(const std::string& name) const;  // nullptr when unknown
};
ClusterTargets cluster_targets(const Inventory& inv);

// One row of the leader's pg_stat_replication.
struct ReplicationRow {
    std::string application_name;
    std::string member;      // the Patroni member it names (by name or slot name); else as above
    std::string state;       // "streaming", "catchup", ...
    std::string sync_state;  // "async", "sync", "quorum", "potential"
    std::string flush_lsn;   // what the replica has received and flushed
    std::string replay_lsn;
    std::optional<std::int64_t> lag_bytes;  // pg_current_wal_lsn() - replay_lsn
};

struct EtcdMemberHealth {
    std::string name;      // the inventory host
    std::string endpoint;  // "http://ADDR:2379" (the cluster address, not the reach's)
    bool healthy = false;
    std::string detail;  // etcd's reason, or why it did not answer
};

struct HaproxyRouting {
    std::string name;  // the inventory host
    bool answered = false;
    std::string error;  // why the statistics page did not answer
    std::vector<HaproxyServerRow> servers;

    std::vector<std::string> up_servers(const std::string& backend) const;
};

// The leader's pg_stat_archiver: whether archive_command keeps failing (issue 14).
struct ArchiverState {
    std::int64_t archived_count = 0;
    std::string last_archived_wal;
    std::optional<double> last_archived_time;  // epoch seconds; none when nothing archived
    std::int64_t failed_count = 0;
    std::string last_failed_wal;
    std::optional<double> last_failed_time;

    // A failure newer than the last success: archive_command fails now.
    bool failing() const {
        return failed_count > 0 && last_failed_time &&
               (!last_archived_time || *last_failed_time > *last_archived_time);
    }
};

struct ClusterSnapshot {
    // Patroni: GET /cluster of the first member that answers.
    bool patroni_answered = false;
    std::string patroni_source;  // the member that answered
    std::string patroni_error;   // every member's failure, when none answered
    std::vector<ClusterMember> members;
    std::vector<std::string> leaders;  // members holding a leader role (one when healthy)
    std::string leader;                // the leader when exactly one; "" otherwise

    // The leader's pg_stat_replication (read only when there is one leader).
    bool replication_read = false;
    std::string replication_error;
    std::vector<ReplicationRow> replication;

    // The leader's pg_stat_archiver (read only with SnapshotOptions::archiver and one leader).
    bool archiver_read = false;
    std::string archiver_error;
    ArchiverState archiver;

    std::vector<EtcdMemberHealth> etcd;   // one per etcd host, when read
    std::vector<HaproxyRouting> haproxy;  // one per HAProxy host, when read

    const ClusterMember* member(const std::string& name) const;
    const ReplicationRow* replication_of(const std::string& member) const;
    std::vector<std::string> sync_standbys() const;  // DCS sync key, as /cluster's roles
};

// Runs one read-only statement on a PostgreSQL endpoint (already mapped through the reach)
// and waits at most `timeout`. libpq_sql() is the real one; tests give a function.
using SqlRunner = std::function<QueryResult(const Endpoint& at, const std::string& sql,
                                            std::chrono::milliseconds timeout)>;
// As `user` with `password` on `database` (the superuser: pg_stat_replication's LSN columns
// need it or pg_read_all_stats).
SqlRunner libpq_sql(std::string user, std::string password, std::string database = "postgres");

// How pgdr reaches the cluster's ports: built once by cmd/ (cmd::cluster_access).
struct ClusterAccess {
    ClusterReach& reach;
    HttpClient& http;
    SqlRunner sql;
    // "Basic ..." for HAProxy's statistics page (pg/secrets.hpp); "" sends none.
    std::string haproxy_authorization = {};
};

// How long one read of one part may take (connect and answer).
inline constexpr std::chrono::milliseconds k_snapshot_read_timeout{2000};

struct SnapshotOptions {
    std::string ask_last;  // a member whose view may be stale (a partitioned one): asked last
    bool replication = true;
    bool etcd = true;
    bool haproxy = true;
    bool archiver = false;  // the leader's pg_stat_archiver (pgdr status)
    std::chrono::milliseconds timeout = k_snapshot_read_timeout;
};

ClusterSnapshot take_snapshot(const ClusterTargets& targets, const ClusterAccess& access,
                              const SnapshotOptions& options = {});

// The pg_stat_replication of one member (the snapshot reads the leader's; a switchover's
// waits read the new leader's). Rows are matched to `members` (Patroni's names).
struct ReplicationRead {
    bool ok = false;
    std::string error;  // why it could not be read, naming the member
    std::vector<ReplicationRow> rows;
};
ReplicationRead read_replication(const ClusterTargets& targets, const ClusterAccess& access,
                                 const std::string& member,
                                 const std::vector<ClusterMember>& members,
                                 std::chrono::milliseconds timeout = k_snapshot_read_timeout);

// The statement and the parsers, exposed for tests. The parsers throw nothing.
extern const char* const k_replication_sql;
// Rows of k_replication_sql (application_name, state, sync_state, flush_lsn, replay_lsn, lag)
// matched to `members`.
std::vector<ReplicationRow> replication_rows(const QueryResult& result,
                                             const std::vector<ClusterMember>& members);
extern const char* const k_archiver_sql;
// The one row of k_archiver_sql; false when it is not that row.
bool parse_archiver(const QueryResult& result, ArchiverState& out);
// etcd's GET /health body: {"health":"true","reason":""}; detail gets the reason.
bool parse_etcd_health(const std::string& body, std::string& detail);

}  // namespace pgdr::pg
