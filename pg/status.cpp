#include "pg/status.hpp"

#include <algorithm>
#include <sstream>

#include "pg/etcd_config.hpp"
#include "pg/patroni_api.hpp"
#include "pg/postgres_conf.hpp"

namespace pgdr::pg {

namespace {

const std::string k_fetch = R"PY(
import sys, urllib.request, urllib.error
try:
    sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())
except urllib.error.HTTPError as e:
    sys.stdout.write(e.read().decode())
)PY";

RunOptions quick() {
    RunOptions o;
    o.sudo = true;
    o.timeout = std::chrono::seconds(20);
    return o;
}

}  // namespace

void parse_cluster_json(const std::string& text, ClusterStatus& out) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.contains("members")) {
        out.problems.push_back("Patroni's /cluster answer is not readable");
        return;
    }
    for (const auto& m : j["members"]) {
        MemberStatus ms;
        ms.name = m.value("name", "");
        ms.host = m.value("host", "");
        ms.role = m.value("role", "");
        ms.state = m.value("state", "");
        ms.timeline = m.value("timeline", -1LL);
        if (m.contains("lag") && m["lag"].is_number()) {
            ms.lag_bytes = m["lag"].get<long long>();
        }
        if (ms.role == "leader" || ms.role == "standby_leader") {
            out.leader = ms.name;
        }
        out.members.push_back(ms);
    }
}

void parse_replication_rows(const std::string& text, ClusterStatus& out) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string app, state, sync, lsn;
        std::getline(f, app, '|');
        std::getline(f, state, '|');
        std::getline(f, sync, '|');
        std::getline(f, lsn, '|');
        for (auto& m : out.members) {
            if (slot_name(m.name) == app || m.name == app) {
                m.replication_state = state;
                m.sync_state = sync;
                m.lsn = lsn;
            }
        }
    }
}

void parse_etcd_health(const std::string& text, ClusterStatus& out) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) {
        out.problems.push_back("etcd health is not readable");
        return;
    }
    for (const auto& e : j) {
        EtcdMemberStatus s;
        s.endpoint = e.value("endpoint", "");
        s.healthy = e.value("health", false);
        s.detail = e.value("took", "");
        if (e.contains("error") && e["error"].is_string()) {
            s.detail = e["error"].get<std::string>();
        }
        out.etcd.push_back(s);
    }
}

void parse_haproxy_csv(const std::string& haproxy_host, const std::string& csv,
                       ClusterStatus& out) {
    std::istringstream in(csv);
    std::string header;
    std::getline(in, header);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> f;
        std::istringstream ls(line);
        for (std::string cell; std::getline(ls, cell, ',');) {
            f.push_back(cell);
        }
        // Columns: pxname, svname, ..., status is the 18th (index 17).
        if (f.size() < 18 || (f[0] != "primary" && f[0] != "replicas") || f[1] == "FRONTEND" ||
            f[1] == "BACKEND") {
            continue;
        }
        out.haproxy.push_back({haproxy_host, f[0], f[1], f[17]});
    }
}

void assess(const Inventory& inv, ClusterStatus& s) {
    int leaders = 0;
    for (const auto& m : s.members) {
        leaders += (m.role == "leader" || m.role == "standby_leader") ? 1 : 0;
    }
    if (leaders != 1) {
        s.problems.push_back("expected exactly one leader, found " + std::to_string(leaders));
    }
    for (const auto& m : s.members) {
        if (m.name == s.leader) {
            continue;
        }
        if (m.replication_state != "streaming") {
            s.problems.push_back(m.name + " is not streaming from the leader (" +
                                 (m.replication_state.empty() ? "absent from pg_stat_replication"
                                                              : m.replication_state) +
                                 ")");
        } else if (m.lag_bytes > inv.patroni.maximum_lag_on_failover) {
            s.problems.push_back(m.name + " lags " + std::to_string(m.lag_bytes) + " bytes");
        }
    }
    // Patroni names a synchronous standby one HA loop after a replica streams; until then (or
    // when none is left) commits are acknowledged without a replica having them, and a
    // switchover is refused.
    const bool sync_standby = std::any_of(s.members.begin(), s.members.end(), [](const auto& m) {
        return is_sync_standby_role(m.role);
    });
    if (inv.patroni.synchronous_mode && leaders == 1 && s.members.size() > 1 && !sync_standby) {
        s.problems.push_back(
            "synchronous_mode is on but no member is a synchronous standby yet: commits are "
            "not protected by a replica");
    }
    if (s.members.size() < inv.hosts_with(Service::postgres).size()) {
        s.problems.push_back("only " + std::to_string(s.members.size()) + " of " +
                             std::to_string(inv.hosts_with(Service::postgres).size()) +
                             " members are registered with Patroni");
    }
    for (const auto& e : s.etcd) {
        if (!e.healthy) {
            s.problems.push_back("etcd " + e.endpoint + " unhealthy: " + e.detail);
        }
    }
    std::map<std::string, std::vector<std::string>> up;
    for (const auto& h : s.haproxy) {
        if (h.backend == "primary" && h.status.rfind("UP", 0) == 0) {
            up[h.haproxy_host].push_back(h.server);
        }
    }
    for (const auto* lb : inv.hosts_with(Service::haproxy)) {
        const auto& servers = up[lb->name];
        if (servers.size() != 1 || servers.front() != s.leader) {
            std::string list;
            for (const auto& x : servers) {
                list += (list.empty() ? "" : ",") + x;
            }
            s.problems.push_back("HAProxy on " + lb->name + " routes writes to [" + list +
                                 "], not to the leader alone");
        }
    }
}

ClusterStatus collect_status(const Inventory& inv, const TransportLookup& transports) {
    ClusterStatus s;
    const std::string rest = std::to_string(inv.patroni.rest_port);
    // Patroni's view, from the first member that answers.
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        try {
            auto r = transports.at(h->name)->run(
                {"python3", "-c", k_fetch, "http://" + h->address + ":" + rest + "/cluster"},
                quick());
            if (r.ok() && !r.out.empty()) {
                parse_cluster_json(r.out, s);
                break;
            }
        } catch (const std::exception&) {
            continue;  // try the next member
        }
    }
    if (!s.leader.empty()) {
        try {
            auto r = transports.at(s.leader)->run(
                {"runuser", "-u", "postgres", "--", "psql", "-XAtq", "-d", "postgres", "-c",
                 "select application_name, state, sync_state, replay_lsn from "
                 "pg_stat_replication"},
                quick());
            parse_replication_rows(r.out, s);
        } catch (const std::exception& e) {
            s.problems.push_back("cannot read pg_stat_replication on " + s.leader + ": " +
                                 e.what());
        }
    }
    auto etcd_hosts = inv.hosts_with(Service::etcd);
    const std::string endpoints = etcd_client_endpoints(inv);
    for (const auto* h : etcd_hosts) {
        try {
            auto r = transports.at(h->name)->run(
                {"etcdctl", "--endpoints=" + endpoints, "--dial-timeout=1s", "--command-timeout=2s",
                 "endpoint", "health", "-w", "json"},
                quick());
            if (!r.out.empty()) {
                parse_etcd_health(r.out, s);
                break;
            }
        } catch (const std::exception&) {
            continue;
        }
    }
    for (const auto* lb : inv.hosts_with(Service::haproxy)) {
        try {
            auto r = transports.at(lb->name)->run(
                {"python3", "-c", k_fetch,
                 "http://127.0.0.1:" + std::to_string(inv.haproxy.stats_port) + "/;csv"},
                quick());
            std::string csv = r.out;
            if (csv.rfind("# ", 0) == 0) {
                csv = csv.substr(2);
            }
            parse_haproxy_csv(lb->name, csv, s);
        } catch (const std::exception& e) {
            s.problems.push_back("HAProxy on " + lb->name + " unreachable: " + e.what());
        }
    }
    assess(inv, s);
    return s;
}

nlohmann::json status_to_json(const ClusterStatus& s) {
    nlohmann::json members = nlohmann::json::array();
    for (const auto& m : s.members) {
        members.push_back({{"name", m.name},
                           {"host", m.host},
                           {"role", m.role},
                           {"state", m.state},
                           {"timeline", m.timeline},
                           {"lag_bytes", m.lag_bytes},
                           {"replay_lsn", m.lsn},
                           {"replication_state", m.replication_state},
                           {"sync_state", m.sync_state}});
    }
    nlohmann::json etcd = nlohmann::json::array();
    for (const auto& e : s.etcd) {
        etcd.push_back({{"endpoint", e.endpoint}, {"healthy", e.healthy}, {"detail", e.detail}});
    }
    nlohmann::json lb = nlohmann::json::array();
    for (const auto& h : s.haproxy) {
        lb.push_back({{"haproxy", h.haproxy_host},
                      {"backend", h.backend},
                      {"server", h.server},
                      {"status", h.status}});
    }
    return {{"healthy", s.healthy()}, {"leader", s.leader}, {"members", members},
            {"etcd", etcd},           {"haproxy", lb},      {"problems", s.problems}};
}

}  // namespace pgdr::pg
