// The drill's questions to the cluster outside the probes: is it healthy (pre-checks, the wait
// for full health after the restore, between repeats), what do the post-checks find (timelines,
// histories, streaming replicas), and which of this drill's rows did the leader keep.
//
// Patroni's REST API answers who leads and each member's state; SQL that needs a superuser
// (pg_stat_replication's state and LSNs, pg_stat_wal_receiver) runs as postgres over the
// leader's local socket through the Transport:
//     runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 [-v name=value] -d DB
// with the statement on stdin, so psql quotes the variables (:'run'), never pgdr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/http.hpp"
#include "drills/analysis.hpp"
#include "drills/faults.hpp"
#include "drills/topology.hpp"
#include "pg/patroni_api.hpp"

namespace pgdr::drills {

struct ClusterSeams {
    const DrillTopology& topology;
    HttpClient& http;
    TransportFor transport;
};

std::vector<std::string> psql_argv(const std::string& database,
                                   const std::vector<std::pair<std::string, std::string>>& vars);

// One row of pg_stat_replication on the leader.
struct ReplicationRow {
    std::string name;                       // application_name = the Patroni member name
    std::string state;                      // "streaming", "catchup", ...
    std::optional<std::int64_t> lag_bytes;  // current WAL position - replay_lsn
};
extern const char* const k_replication_sql;
// psql -A -t output "pg2|streaming|0" per line; an empty lag is unknown.
std::vector<ReplicationRow> parse_replication_rows(const std::string& out);

struct HealthCriteria {
    std::optional<std::int64_t> max_lag_bytes;  // empty: not checked
    std::string ask_last;       // a member whose view may be stale (the partitioned one)
    bool check_haproxy = true;  // only the leader UP on HAProxy's write port (reference P11)
    // With synchronous_mode, Patroni names a synchronous standby one HA loop after a leader
    // change; until then a switchover is refused (HTTP 412) and commits are unprotected.
    bool require_sync_standby = false;
};

struct Health {
    std::optional<pg::ClusterView> view;
    std::string leader;
    std::vector<ReplicationRow> replication;
    std::vector<std::string> problems;  // empty: healthy
    bool unreachable = false;           // no member's REST API answered

    bool healthy() const { return problems.empty(); }
};

// Every question answered, nothing thrown for an unhealthy cluster: problems say what is
// wrong, each naming the member. Throws pgdr::Error only when SSH to the leader fails.
Health check_health(const ClusterSeams& seams, const HealthCriteria& criteria);

// The best switchover candidate: a sync standby when there is one, else the replica with the
// least lag, among members running or streaming on the leader's timeline; "" when none.
std::string best_candidate(const pg::ClusterView& view);

// Post-checks once the cluster settled: each member's timeline (as postgres over SSH: the
// current WAL file's on a primary, the WAL receiver's on a replica), the leader's timeline
// history compared with each member's, streaming replicas. Failures go to `errors`.
PostCheck post_check(const ClusterSeams& seams, const std::string& leader,
                     std::vector<std::string>& errors);

// Timeline history entries (tli, switch LSN) of a NNNNNNNN.history file.
std::vector<std::pair<int, std::string>> parse_history(const std::string& text);

// This run's sequence numbers in pgdr_drill on `leader`; std::nullopt (and `error`) when they
// cannot be read.
std::optional<std::vector<std::int64_t>> read_drill_seqs(const ClusterSeams& seams,
                                                         const std::string& leader,
                                                         const std::string& run,
                                                         std::string& error);

}  // namespace pgdr::drills
