// The etcd pre-check of a drill (issue 13 item 3): Patroni's leader key lives in etcd, and
// without failsafe_mode every member demotes when etcd loses quorum. A fault that takes an etcd
// member away (kill-etcd-member, and partition-primary / reboot-primary when the leader's host
// runs etcd) must leave a majority of the members healthy, counting the ones already down.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/transport.hpp"
#include "drills/fault_catalogue.hpp"
#include "drills/topology.hpp"

namespace pgdr::drills {

struct EtcdMemberHealth {
    std::string name;
    bool healthy = false;
    std::string detail;  // why not, for the message
};

// Asks every etcd host for its own member's health (`etcdctl endpoint health` on
// 127.0.0.1:<client port>, through its Transport); an unreachable host counts as unhealthy.
std::vector<EtcdMemberHealth> etcd_member_health(
    const DrillTopology& topology, const std::function<Transport&(const std::string&)>& transport);

// The etcd member the fault takes away: the target itself when it runs etcd, for the faults
// that stop a host or its etcd; "" when the fault leaves etcd alone.
std::string etcd_member_lost(FaultKind kind, const DrillTopology& topology,
                             const std::string& target);

// Throws pgdr::Error (verification_failed) when etcd has already lost quorum, or when losing
// `lost` ("" = none) would leave fewer healthy members than a majority. The message names the
// unhealthy members and what the fault would leave.
void check_etcd_quorum(const std::vector<EtcdMemberHealth>& health, const std::string& lost,
                       const std::string& fault_flag);

}  // namespace pgdr::drills
