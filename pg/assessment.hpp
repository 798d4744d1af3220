// Is the cluster healthy, and why not: the one judgement of a ClusterSnapshot
// (pg/cluster_snapshot.hpp). Every rule lives here, once, and yields a named Finding:
//
//   code                      severity  when
//   patroni_unreachable       critical  no member's REST API answered GET /cluster (why)
//   member_missing            critical  a postgres host of the inventory is not a Patroni member
//   no_leader                 critical  no member holds the leader key
//   several_leaders           critical  more than one member says it leads
//   member_not_running        critical  the leader is not "running", a replica neither
//                                       "running" (Patroni 3) nor "streaming" (Patroni 4)
//   timeline_mismatch         critical  a replica is on another timeline than the leader
//   no_sync_standby           critical  synchronous_mode, but no member is a synchronous
//                                       (or quorum) standby: commits are not protected
//   replication_unreadable    critical  the leader's pg_stat_replication could not be read
//   replica_not_streaming     critical  a replica is absent from pg_stat_replication, or not
//                                       "streaming" there (Patroni's state is not the proof)
//   lag_unknown               critical  a lag bound is set and the replica's lag is unknown
//   lag_over_limit            critical  the replica's replay lag exceeds the bound
//   archive_failing           warning   the leader's pg_stat_archiver: a failure newer than the
//                                       last success (archive_command fails now)
//   etcd_member_down          warning   an etcd member does not answer healthy
//   etcd_no_quorum            critical  fewer than a majority of etcd members are healthy
//   haproxy_unreachable       critical  a HAProxy's statistics page did not answer
//   haproxy_write_not_leader  critical  a HAProxy's write backend routes to anything but the
//                                       leader alone
//
// A cluster is healthy when no finding is a warning or critical. Pure; throws nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "pg/cluster_snapshot.hpp"

namespace pgdr::pg {

enum class Severity { info, warning, critical };
std::string to_string(Severity severity);

struct Finding {
    std::string code;  // stable snake_case name (the table above); used in JSON and tests
    Severity severity = Severity::critical;
    std::string member;   // the host it concerns; "" for the cluster as a whole
    std::string message;  // one sentence with the reason, naming the member
};

struct AssessCriteria {
    std::optional<std::int64_t> max_lag_bytes;  // empty: lag is not judged
    bool synchronous_mode = false;
    bool etcd = true;     // judge etcd health (when the snapshot read it)
    bool haproxy = true;  // judge HAProxy's routing (when the snapshot read it)
};

// The inventory's bounds: maximum_lag_on_failover and synchronous_mode.
AssessCriteria criteria_for(const Inventory& inv);

std::vector<Finding> assess(const ClusterTargets& targets, const ClusterSnapshot& snapshot,
                            const AssessCriteria& criteria);

bool healthy(const std::vector<Finding>& findings);
// The messages of the findings that make the cluster unhealthy, in order.
std::vector<std::string> problems(const std::vector<Finding>& findings);
bool has_finding(const std::vector<Finding>& findings, const std::string& code);

// The parts of the snapshot that the rules of `codes` judge (the table above), for a snapshot
// read for some findings only (bootstrap's waits): Patroni always (every rule needs the leader),
// the leader's replication, its archiver, etcd, HAProxy when a code needs them. Throws
// std::invalid_argument for a code that is not in the table.
SnapshotOptions snapshot_for(const std::vector<std::string>& codes);

}  // namespace pgdr::pg
