// The snapshot's lookups (pg/cluster_snapshot.hpp), apart from the code that reads a cluster:
// the candidate picker and pgdr-guard use the model without libpq, HTTP or the inventory.
#include "pg/cluster_snapshot.hpp"

namespace pgdr::pg {

const ClusterNode* ClusterTargets::postgres_node(const std::string& name) const {
    for (const auto& n : postgres) {
        if (n.name == name) {
            return &n;
        }
    }
    return nullptr;
}

std::vector<std::string> HaproxyRouting::up_servers(const std::string& backend) const {
    std::vector<std::string> out;
    for (const auto& s : servers) {
        if (s.backend == backend && s.up()) {
            out.push_back(s.server);
        }
    }
    return out;
}

const ClusterMember* ClusterSnapshot::member(const std::string& name) const {
    for (const auto& m : members) {
        if (m.name == name) {
            return &m;
        }
    }
    return nullptr;
}

const ReplicationRow* ClusterSnapshot::replication_of(const std::string& name) const {
    for (const auto& r : replication) {
        if (r.member == name) {
            return &r;
        }
    }
    return nullptr;
}

std::vector<std::string> ClusterSnapshot::sync_standbys() const {
    std::vector<std::string> out;
    for (const auto& m : members) {
        if (m.is_sync_standby()) {
            out.push_back(m.name);
        }
    }
    return out;
}

}  // namespace pgdr::pg
