// The drill's questions to the cluster outside the probes: is it healthy (pre-checks, the wait
// for full health after the restore, between repeats), what do the post-checks find (timelines,
// histories, streaming replicas), and which of this drill's rows did the leader keep.
//
// Health is the one snapshot and assessment of pg/cluster_snapshot.hpp and pg/assessment.hpp,
// as `pgdr status` sees it. What needs the hosts themselves (the timeline of each member, its
// timeline history file, the drill's rows) runs as postgres over the local socket through the
// Transport, with pg::local_psql_argv (pg/debian_paths.hpp) and the statement on stdin, so psql
// quotes the variables (:'run'), never pgdr.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "drills/analysis.hpp"
#include "drills/faults.hpp"
#include "drills/topology.hpp"
#include "pg/assessment.hpp"
#include "pg/cluster_snapshot.hpp"

namespace pgdr::drills {

struct ClusterSeams {
    const DrillTopology& topology;
    pg::ClusterAccess cluster;  // the snapshot
    TransportFor transport;     // SQL and files on a member's own host
};

struct HealthCriteria {
    std::optional<std::int64_t> max_lag_bytes;  // empty: not checked
    std::string ask_last;       // a member whose view may be stale (the partitioned one)
    bool check_haproxy = true;  // only the leader UP on HAProxy's write port
    // With synchronous_mode, Patroni names a synchronous standby one HA loop after a leader
    // change; until then a switchover is refused (HTTP 412) and commits are unprotected.
    bool require_sync_standby = false;
};

struct Health {
    pg::ClusterSnapshot snapshot;
    std::vector<pg::Finding> findings;

    const std::string& leader() const { return snapshot.leader; }
    bool unreachable() const { return !snapshot.patroni_answered; }  // no REST API answered
    bool healthy() const { return pg::healthy(findings); }
    std::vector<std::string> problems() const { return pg::problems(findings); }
};

// The snapshot judged with the drill's criteria. Nothing is thrown for an unhealthy or
// unreachable cluster: the findings say what is wrong, each naming the member.
Health check_health(const ClusterSeams& seams, const HealthCriteria& criteria);

// Post-checks once the cluster settled: each member's timeline (as postgres over SSH: the
// current WAL file's on a primary, the WAL receiver's on a replica), the leader's timeline
// history compared with each member's, streaming replicas. Failures go to `errors`.
PostCheck post_check(const ClusterSeams& seams, const std::string& leader,
                     std::vector<std::string>& errors);

// Timeline history entries (tli, switch LSN) of a NNNNNNNN.history file.
std::vector<std::pair<int, std::string>> parse_history(const std::string& text);

// This run's sequence numbers in pgdr_drill on `leader`; std::nullopt (and `error`) when they
// cannot be read. `stamps_us`, when given, receives each row's `at` (now() of the server that
// committed it, microseconds since the epoch on that server's clock).
std::optional<std::vector<std::int64_t>> read_drill_seqs(
    const ClusterSeams& seams, const std::string& leader, const std::string& run,
    std::string& error, std::map<std::int64_t, std::int64_t>* stamps_us = nullptr);

}  // namespace pgdr::drills
