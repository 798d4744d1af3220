#include "pg/assessment.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "core/strings.hpp"

namespace pgdr::pg {

namespace {

class Judge {
  public:
    Judge(const ClusterTargets& t, const ClusterSnapshot& s, const AssessCriteria& c)
        : m_t(t), m_s(s), m_c(c) {}

    std::vector<Finding> run() {
        if (!m_s.patroni_answered) {
            add("patroni_unreachable", Severity::critical, "",
                "no member's Patroni REST API answered (" + m_s.patroni_error + ")");
        } else {
            membership();
            leadership();
            members();
            sync_standby();
            replication();
            archiver();
        }
        if (m_c.etcd) {
            etcd();
        }
        if (m_c.haproxy) {
            haproxy();
        }
        return std::move(m_out);
    }

  private:
    void add(const char* code, Severity severity, const std::string& member, std::string message) {
        m_out.push_back({code, severity, member, std::move(message)});
    }

    void membership() {
        for (const auto& n : m_t.postgres) {
            if (m_s.member(n.name) == nullptr) {
                add("member_missing", Severity::critical, n.name,
                    n.name + " is not a member of the Patroni cluster");
            }
        }
    }

    void leadership() {
        if (m_s.leaders.empty()) {
            add("no_leader", Severity::critical, "", "no member holds the leader key");
        } else if (m_s.leaders.size() > 1) {
            add("several_leaders", Severity::critical, "",
                "Patroni reports " + std::to_string(m_s.leaders.size()) + " leaders (" +
                    join(m_s.leaders) + "); exactly one is needed");
        }
    }

    void members() {
        const auto* leader = m_s.member(m_s.leader);
        for (const auto& m : m_s.members) {
            if (m.is_leader()) {
                // A standby cluster's leader streams from the primary cluster (Patroni 4 says
                // "streaming", 3.0.2 "running").
                const bool ok = m.state == "running" ||
                                (m.role == MemberRole::standby_leader && m.state == "streaming");
                if (!ok) {
                    add("member_not_running", Severity::critical, m.name,
                        "leader " + m.name + " is " + or_none(m.state));
                }
                continue;
            }
            if (!m.running()) {
                add("member_not_running", Severity::critical, m.name,
                    m.name + " is " + or_none(m.state));
            }
            if (leader != nullptr && leader->timeline && m.timeline &&
                *m.timeline != *leader->timeline) {
                add("timeline_mismatch", Severity::critical, m.name,
                    m.name + " is on timeline " + std::to_string(*m.timeline) + ", the leader " +
                        leader->name + " on " + std::to_string(*leader->timeline));
            }
        }
    }

    // Patroni names a synchronous standby one HA loop after a replica streams; until then (or
    // when none is left) commits are acknowledged without a replica having them, and a
    // switchover is refused (HTTP 412).
    void sync_standby() {
        if (m_c.synchronous_mode && m_s.leaders.size() == 1 && m_s.members.size() > 1 &&
            m_s.sync_standbys().empty()) {
            add("no_sync_standby", Severity::critical, "",
                "synchronous_mode is on but no member is a synchronous standby: commits are not "
                "protected by a replica");
        }
    }

    // Patroni can call a replica "running" while it does not stream: the leader's
    // pg_stat_replication is the proof.
    void replication() {
        if (m_s.leader.empty() || (!m_s.replication_read && m_s.replication_error.empty())) {
            return;  // no leader to ask, or not asked
        }
        if (!m_s.replication_read) {
            add("replication_unreadable", Severity::critical, m_s.leader, m_s.replication_error);
            return;
        }
        for (const auto& n : m_t.postgres) {
            if (n.name == m_s.leader) {
                continue;
            }
            const auto* row = m_s.replication_of(n.name);
            if (row == nullptr) {
                add("replica_not_streaming", Severity::critical, n.name,
                    n.name + " is not streaming from the leader " + m_s.leader +
                        " (absent from pg_stat_replication)");
            } else if (row->state != "streaming") {
                add("replica_not_streaming", Severity::critical, n.name,
                    n.name + " is not streaming from the leader " + m_s.leader + " (" +
                        or_none(row->state) + ")");
            } else if (m_c.max_lag_bytes && !row->lag_bytes) {
                add("lag_unknown", Severity::critical, n.name, n.name + " lag is unknown");
            } else if (m_c.max_lag_bytes && *row->lag_bytes > *m_c.max_lag_bytes) {
                add("lag_over_limit", Severity::critical, n.name,
                    n.name + " lags " + std::to_string(*row->lag_bytes) +
                        " bytes, over the bound of " + std::to_string(*m_c.max_lag_bytes));
            }
        }
    }

    // The leader's archive_command fails now (its last failure is newer than its last success):
    // WAL piles up in pg_wal and the backups' recovery window stops growing.
    void archiver() {
        if (!m_s.archiver_read || !m_s.archiver.failing()) {
            return;
        }
        const auto& a = m_s.archiver;
        add("archive_failing", Severity::warning, m_s.leader,
            "archiving WAL fails on the leader " + m_s.leader + ": " +
                std::to_string(a.failed_count) + " failures, last on " +
                or_none_wal(a.last_failed_wal) +
                (a.last_archived_wal.empty()
                     ? std::string(", nothing archived since the server started")
                     : ", last success " + a.last_archived_wal) +
                " (the PostgreSQL log on " + m_s.leader + " says why; `pgdr backup check`)");
    }
    static std::string or_none_wal(const std::string& wal) { return wal.empty() ? "?" : wal; }

    void etcd() {
        if (m_s.etcd.empty()) {
            return;  // not read
        }
        std::size_t healthy = 0;
        for (const auto& e : m_s.etcd) {
            if (e.healthy) {
                ++healthy;
            } else {
                add("etcd_member_down", Severity::warning, e.name,
                    "etcd " + e.name + " (" + e.endpoint + ") unhealthy: " + or_none(e.detail));
            }
        }
        if (healthy * 2 <= m_s.etcd.size()) {
            add("etcd_no_quorum", Severity::critical, "",
                "only " + std::to_string(healthy) + " of " + std::to_string(m_s.etcd.size()) +
                    " etcd members are healthy: no quorum, Patroni cannot keep a leader");
        }
    }

    void haproxy() {
        for (const auto& h : m_s.haproxy) {
            if (!h.answered) {
                add("haproxy_unreachable", Severity::critical, h.name,
                    "HAProxy statistics on " + h.name + ": " + h.error);
                continue;
            }
            const auto up = h.up_servers(k_write_backend);
            if (up.size() != 1 || up.front() != m_s.leader || m_s.leader.empty()) {
                add("haproxy_write_not_leader", Severity::critical, h.name,
                    "HAProxy on " + h.name + " routes writes to [" + join(up, ",") +
                        "], not to the leader alone" +
                        (m_s.leader.empty() ? std::string() : " (" + m_s.leader + ")"));
            }
        }
    }

    static std::string or_none(const std::string& state) {
        return state.empty() ? "in no state" : state;
    }

    const ClusterTargets& m_t;
    const ClusterSnapshot& m_s;
    const AssessCriteria& m_c;
    std::vector<Finding> m_out;
};

}  // namespace

std::string to_string(Severity severity) {
    switch (severity) {
        case Severity::info:
            return "info";
        case Severity::warning:
            return "warning";
        case Severity::critical:
            return "critical";
    }
    return "?";
}

AssessCriteria criteria_for(const Inventory& inv) {
    AssessCriteria c;
    c.max_lag_bytes = inv.patroni.maximum_lag_on_failover;
    c.synchronous_mode = inv.patroni.synchronous_mode;
    return c;
}

std::vector<Finding> assess(const ClusterTargets& targets, const ClusterSnapshot& snapshot,
                            const AssessCriteria& criteria) {
    return Judge(targets, snapshot, criteria).run();
}

bool healthy(const std::vector<Finding>& findings) {
    return std::none_of(findings.begin(), findings.end(),
                        [](const Finding& f) { return f.severity != Severity::info; });
}

std::vector<std::string> problems(const std::vector<Finding>& findings) {
    std::vector<std::string> out;
    for (const auto& f : findings) {
        if (f.severity != Severity::info) {
            out.push_back(f.message);
        }
    }
    return out;
}

namespace {

enum class Part { patroni, replication, archiver, etcd, haproxy };

struct Rule {
    const char* code;
    Part part;  // what the rule reads besides Patroni's view
};

constexpr Rule k_rules[] = {
    {"patroni_unreachable", Part::patroni},
    {"member_missing", Part::patroni},
    {"no_leader", Part::patroni},
    {"several_leaders", Part::patroni},
    {"member_not_running", Part::patroni},
    {"timeline_mismatch", Part::patroni},
    {"no_sync_standby", Part::patroni},
    {"replication_unreadable", Part::replication},
    {"replica_not_streaming", Part::replication},
    {"lag_unknown", Part::replication},
    {"lag_over_limit", Part::replication},
    {"archive_failing", Part::archiver},
    {"etcd_member_down", Part::etcd},
    {"etcd_no_quorum", Part::etcd},
    {"haproxy_unreachable", Part::haproxy},
    {"haproxy_write_not_leader", Part::haproxy},
};

}  // namespace

SnapshotOptions snapshot_for(const std::vector<std::string>& codes) {
    SnapshotOptions o;
    o.replication = o.archiver = o.etcd = o.haproxy = false;
    for (const auto& code : codes) {
        const auto* rule = std::find_if(std::begin(k_rules), std::end(k_rules),
                                        [&code](const Rule& r) { return code == r.code; });
        if (rule == std::end(k_rules)) {
            throw std::invalid_argument("no assessment rule yields the finding '" + code + "'");
        }
        o.replication = o.replication || rule->part == Part::replication;
        o.archiver = o.archiver || rule->part == Part::archiver;
        o.etcd = o.etcd || rule->part == Part::etcd;
        o.haproxy = o.haproxy || rule->part == Part::haproxy;
    }
    return o;
}

bool has_finding(const std::vector<Finding>& findings, const std::string& code) {
    return std::any_of(findings.begin(), findings.end(),
                       [&code](const Finding& f) { return f.code == code; });
}

}  // namespace pgdr::pg
