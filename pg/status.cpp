#include "pg/status.hpp"

#include "core/strings.hpp"

namespace pgdr::pg {

ClusterStatus collect_status(const Inventory& inv, const ClusterAccess& access) {
    ClusterStatus s;
    const auto targets = cluster_targets(inv);
    SnapshotOptions o;
    o.archiver = true;
    s.snapshot = take_snapshot(targets, access, o);
    s.findings = assess(targets, s.snapshot, criteria_for(inv));
    return s;
}

std::string leader_text(const ClusterSnapshot& s) {
    return s.leaders.empty() ? "NONE" : join(s.leaders);
}

nlohmann::json status_to_json(const ClusterStatus& st) {
    const auto& s = st.snapshot;
    nlohmann::json members = nlohmann::json::array();
    for (const auto& m : s.members) {
        const auto* r = s.replication_of(m.name);
        members.push_back({{"name", m.name},
                           {"host", m.host},
                           {"role", m.role_text},
                           {"state", m.state},
                           {"timeline", m.timeline.value_or(-1)},
                           {"lag_bytes", m.lag_bytes.value_or(-1)},
                           {"replay_lsn", r != nullptr ? r->replay_lsn : ""},
                           {"replication_state", r != nullptr ? r->state : ""},
                           {"sync_state", r != nullptr ? r->sync_state : ""}});
    }
    nlohmann::json etcd = nlohmann::json::array();
    for (const auto& e : s.etcd) {
        etcd.push_back({{"endpoint", e.endpoint}, {"healthy", e.healthy}, {"detail", e.detail}});
    }
    nlohmann::json lb = nlohmann::json::array();
    for (const auto& h : s.haproxy) {
        for (const auto& row : h.servers) {
            lb.push_back({{"haproxy", h.name},
                          {"backend", row.backend},
                          {"server", row.server},
                          {"status", row.status}});
        }
    }
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : st.findings) {
        findings.push_back({{"code", f.code},
                            {"severity", to_string(f.severity)},
                            {"member", f.member},
                            {"message", f.message}});
    }
    nlohmann::json out = {{"healthy", st.healthy()}, {"leader", s.leader},
                          {"members", members},      {"etcd", etcd},
                          {"haproxy", lb},           {"problems", st.problems()},
                          {"findings", findings}};
    if (s.archiver_read) {
        const auto& a = s.archiver;
        out["archiver"] = {{"archived_count", a.archived_count},
                           {"last_archived_wal", a.last_archived_wal},
                           {"last_archived_time", a.last_archived_time.value_or(0)},
                           {"failed_count", a.failed_count},
                           {"last_failed_wal", a.last_failed_wal},
                           {"last_failed_time", a.last_failed_time.value_or(0)},
                           {"failing", a.failing()}};
    }
    return out;
}

}  // namespace pgdr::pg
