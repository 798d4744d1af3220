#include "drills/etcd_quorum.hpp"

#include "core/error.hpp"
#include "pg/tls.hpp"

namespace pgdr::drills {

std::vector<EtcdMemberHealth> etcd_member_health(
    const DrillTopology& topology, const std::function<Transport&(const std::string&)>& transport) {
    std::vector<EtcdMemberHealth> out;
    for (const auto& n : topology.etcd) {
        EtcdMemberHealth m{n.name, false, ""};
        RunOptions o;
        o.timeout = std::chrono::seconds(15);
        o.sudo = true;  // the client key is readable by root and etcd only
        try {
            auto r = transport(n.name).run(
                pg::etcdctl_argv(pg::local_etcd_endpoint(topology.etcd_client_port),
                                 {"endpoint", "health"}),
                o);
            m.healthy = r.ok();
            if (!m.healthy) {
                m.detail = r.timed_out ? "etcdctl timed out" : "unhealthy";
            }
        } catch (const Error& e) {
            m.detail = "unreachable";
        }
        out.push_back(m);
    }
    return out;
}

std::string etcd_member_lost(FaultKind kind, const DrillTopology& topology,
                             const std::string& target) {
    const bool removes_host_or_etcd = kind == FaultKind::kill_etcd_member ||
                                      kind == FaultKind::partition_primary ||
                                      kind == FaultKind::reboot_primary;
    if (!removes_host_or_etcd) {
        return {};
    }
    for (const auto& n : topology.etcd) {
        if (n.name == target) {
            return target;
        }
    }
    return {};
}

void check_etcd_quorum(const std::vector<EtcdMemberHealth>& health, const std::string& lost,
                       const std::string& fault_flag) {
    if (health.empty()) {
        return;
    }
    const std::size_t majority = health.size() / 2 + 1;
    std::size_t healthy = 0;
    bool lost_is_healthy = false;
    std::string down;
    for (const auto& m : health) {
        if (m.healthy) {
            ++healthy;
            lost_is_healthy = lost_is_healthy || m.name == lost;
        } else {
            down += (down.empty() ? "" : ", ") + m.name + " (" + m.detail + ")";
        }
    }
    const std::string members = std::to_string(health.size());
    if (healthy < majority) {
        throw Error(ExitCode::verification_failed,
                    "pre-checks: etcd has lost quorum: " + std::to_string(healthy) + " of " +
                        members + " members healthy; down: " + down,
                    "restore the etcd members first (systemctl start etcd on them), then retry");
    }
    const std::size_t after = healthy - (lost_is_healthy ? 1 : 0);
    if (after < majority) {
        throw Error(ExitCode::verification_failed,
                    "pre-checks: " + fault_flag + " would take etcd member " + lost +
                        " away and leave " + std::to_string(after) + " of " + members +
                        " healthy, below quorum (" + std::to_string(majority) +
                        "): Patroni would demote every member. Already down: " + down,
                    "restore the etcd members that are down first (systemctl start etcd), then "
                    "retry");
    }
}

}  // namespace pgdr::drills
