// What pgdr guard reads of Patroni's keys in etcd (namespace + scope, e.g.
// "/postgresql-common/17-main/"): the leader key and its lease, the members' keys (role, state,
// timeline, WAL position, tags), the synchronous standby key and the dynamic configuration
// (pause, synchronous_mode, maximum_lag_on_failover). Pure: the keys come in, a view goes out.
//
// The failover candidate comes from the one picker (pg::pick_candidate) on this view: with the
// leader silent no REST API answers, so the view is the DCS's: each member's lag is the
// leader's last published WAL position minus the member's (both as of their last Patroni
// loop), and the synchronous standby is the one the /sync key names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "guard/etcd_gateway.hpp"
#include "pg/candidate.hpp"
#include "pg/cluster_snapshot.hpp"

namespace pgdr::guard {

struct DcsView {
    std::string leader;             // the leader key's member; "" when none
    std::int64_t leader_lease = 0;  // its etcd lease (the member key shares it)
    bool paused = false;
    bool synchronous_mode = false;
    std::optional<std::int64_t> maximum_lag_on_failover;  // bytes; Patroni's default 1 MiB
    std::vector<std::string> sync_standbys;
    std::vector<pg::ClusterMember> members;  // from the member keys, lag against the leader
    std::string failover;                    // the /failover key's value, when present
};

// `prefix` is namespace + scope + "/" and every key of `kvs` starts with it.
DcsView parse_dcs(const std::vector<EtcdKv>& kvs, const std::string& prefix);

// The replica to promote in the leader's place, by pg::pick_candidate; nullopt with `why`.
std::optional<std::string> failover_candidate(const DcsView& view, std::string& why);

// Patroni's /failover value naming the candidate (Patroni's own manual failover writes it so).
std::string failover_value(const std::string& candidate);

}  // namespace pgdr::guard
