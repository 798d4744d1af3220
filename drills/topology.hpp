// What a drill needs to know about the cluster, taken once from the resolved inventory: the
// members and their addresses, the ports, the Patroni unit and data directory, and the probe
// role's credentials. Pure data; built by drill_topology().
#pragma once

#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "pg/cluster_snapshot.hpp"

namespace pgdr::drills {

// A host of the cluster: its inventory name (= Patroni member name = HAProxy server name) and
// its address inside the cluster's network.
using DrillNode = pg::ClusterNode;

// Where the probes log in: role pgdr_probe on database pgdr (pg/secrets.hpp).
struct ProbeCredentials {
    std::string user;
    std::string password;
    std::string database;
};

struct DrillTopology {
    std::string cluster;
    bool production = false;
    std::vector<DrillNode> postgres;  // Patroni members, in inventory order
    std::vector<DrillNode> etcd;
    std::vector<DrillNode> haproxy;  // the probes go through the first one
    int pg_port = 5432;
    int rest_port = 8008;
    int etcd_client_port = 2379;
    int write_port = 5000;
    int read_port = 5001;
    int stats_port = 7000;
    int ssh_port = 22;
    std::string patroni_unit;  // patroni@17-main
    std::string data_dir;      // /var/lib/postgresql/17/main
    std::string postgres_log;  // /var/log/postgresql/postgresql-17-main.log
    long long maximum_lag_on_failover = 1048576;

    const DrillNode* find(const std::string& name) const;  // any service; nullptr if unknown
    // The member whose address is `address`; "" when none (e.g. an address not in the cluster).
    std::string node_for_address(const std::string& address) const;
    const DrillNode& probe_haproxy() const;  // throws config_error when none
};

// What the cluster snapshot reads (pg/cluster_snapshot.hpp), from the drill's topology.
pg::ClusterTargets cluster_targets(const DrillTopology& topology);

// Throws pgdr::Error (invalid_config) when the inventory has no postgres or haproxy host.
DrillTopology drill_topology(const Inventory& inventory);

}  // namespace pgdr::drills
