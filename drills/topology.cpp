#include "drills/topology.hpp"

#include "core/error.hpp"
#include "pg/debian_paths.hpp"

namespace pgdr::drills {

const DrillNode* DrillTopology::find(const std::string& name) const {
    for (const auto* list : {&postgres, &etcd, &haproxy}) {
        for (const auto& n : *list) {
            if (n.name == name) {
                return &n;
            }
        }
    }
    return nullptr;
}

std::string DrillTopology::node_for_address(const std::string& address) const {
    for (const auto& n : postgres) {
        if (n.address == address) {
            return n.name;
        }
    }
    return "";
}

const DrillNode& DrillTopology::probe_haproxy() const {
    if (haproxy.empty()) {
        throw config_error("the inventory has no haproxy host: the drill probes write through it");
    }
    return haproxy.front();
}

pg::ClusterTargets cluster_targets(const DrillTopology& t) {
    pg::ClusterTargets out;
    out.postgres = t.postgres;
    out.etcd = t.etcd;
    out.haproxy = t.haproxy;
    out.pg_port = t.pg_port;
    out.rest_port = t.rest_port;
    out.etcd_client_port = t.etcd_client_port;
    out.stats_port = t.stats_port;
    return out;
}

DrillTopology drill_topology(const Inventory& inv) {
    DrillTopology t;
    t.cluster = inv.cluster;
    t.production = inv.production;
    const auto targets = pg::cluster_targets(inv);
    t.postgres = targets.postgres;
    t.etcd = targets.etcd;
    t.haproxy = targets.haproxy;
    if (t.postgres.size() < 2) {
        throw config_error("a drill needs at least two postgres hosts; the inventory has " +
                           std::to_string(t.postgres.size()));
    }
    if (t.haproxy.empty()) {
        throw config_error("the inventory has no haproxy host: the drill probes write through it");
    }
    t.pg_port = pg::k_postgres_port;
    t.rest_port = inv.patroni.rest_port;
    t.etcd_client_port = inv.etcd.client_port;
    t.write_port = inv.haproxy.write_port;
    t.read_port = inv.haproxy.read_port;
    t.stats_port = inv.haproxy.stats_port;
    if (!inv.hosts.empty()) {
        t.ssh_port = inv.hosts.front().ssh.port;
    }
    auto paths = pg::debian_paths(inv);
    t.patroni_unit = paths.patroni_unit;
    t.data_dir = paths.data_dir;
    t.postgres_log = paths.log_file;
    t.maximum_lag_on_failover = inv.patroni.maximum_lag_on_failover;
    return t;
}

}  // namespace pgdr::drills
