// The cluster's state as an operator sees it (pgdr status, runbook status/verify/healthy):
// the one snapshot (pg/cluster_snapshot.hpp) and the one assessment (pg/assessment.hpp), and
// their JSON form. The JSON keeps the fields `pgdr status --output json` always had (healthy,
// leader, members, etcd, haproxy, problems) and adds `findings` (code, severity, member,
// message).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "core/transport.hpp"
#include "pg/assessment.hpp"
#include "pg/cluster_snapshot.hpp"

namespace pgdr::pg {

// Transports by host name (switchover's REST calls, runbook commands).
using TransportLookup = std::map<std::string, Transport*>;

struct ClusterStatus {
    ClusterSnapshot snapshot;
    std::vector<Finding> findings;

    bool healthy() const { return pg::healthy(findings); }
    std::vector<std::string> problems() const { return pg::problems(findings); }
    const std::string& leader() const { return snapshot.leader; }
};

// Takes the snapshot (every part) and judges it with the inventory's bounds.
ClusterStatus collect_status(const Inventory& inv, const ClusterAccess& access);
nlohmann::json status_to_json(const ClusterStatus& s);

// "pg1" for one leader, "NONE" for none, "pg1, pg2" for several.
std::string leader_text(const ClusterSnapshot& s);

}  // namespace pgdr::pg
