// The Grafana dashboard (monitoring/grafana/pgdr-cluster.json) and the drills' expected alerts
// against what exists: every metric a panel queries is one the exporters pgdr installs expose
// (checked against their sources for Debian 12 and 13: Patroni 3.0.2 and 4.0.7,
// postgres_exporter 0.11.1 and 0.17.1, etcd 3.4/3.5, HAProxy's promex) or one the alert rules
// use; every alert the fault catalogue names is a rule of monitoring/pgdr-alerts.yml.
// scripts/test-alert-rules.sh (ctest alert_rules) parses every panel's query with promtool.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "core/inventory.hpp"
#include "drills/fault_catalogue.hpp"
#include "monitoring/config.hpp"

using namespace pgdr;

namespace {

std::string read(const std::string& relative) {
    std::ifstream in(std::string(PGDR_SOURCE_DIR) + "/" + relative);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Identifiers that look like metric names (not functions, keywords or label names).
std::set<std::string> metrics_in(const std::string& expr) {
    static const std::regex name(R"(\b(up|ALERTS|(patroni|pg|node|etcd|haproxy)_[a-z_]+)\b)");
    std::set<std::string> out;
    for (auto it = std::sregex_iterator(expr.begin(), expr.end(), name);
         it != std::sregex_iterator(); ++it) {
        out.insert(it->str());
    }
    return out;
}

const std::set<std::string>& exporter_metrics() {
    static const std::set<std::string> known = {
        "up", "ALERTS",
        // Patroni /metrics, 3.0.2 and 4.0.7 (patroni/api.py)
        "patroni_primary", "patroni_master", "patroni_replica", "patroni_standby_leader",
        "patroni_postgres_timeline", "patroni_xlog_location", "patroni_xlog_replayed_location",
        "patroni_xlog_received_location", "patroni_sync_standby", "patroni_postgres_running",
        "patroni_postgres_streaming",
        // postgres_exporter 0.11.1 and 0.17.1
        "pg_up", "pg_stat_database_xact_commit", "pg_stat_archiver_failed_count",
        "pg_stat_replication_pg_wal_lsn_diff",
        // etcd 3.4 and 3.5
        "etcd_server_has_leader", "etcd_server_leader_changes_seen_total",
        // HAProxy's built-in exporter
        "haproxy_backend_active_servers",
        // node_exporter
        "node_filesystem_avail_bytes", "node_filesystem_size_bytes"};
    return known;
}

}  // namespace

TEST_CASE("grafana dashboard: valid JSON, every panel queries known metrics", "[monitoring]") {
    const auto doc =
        nlohmann::json::parse(read("monitoring/grafana/pgdr-cluster.json"), nullptr, false);
    REQUIRE_FALSE(doc.is_discarded());
    CHECK(doc["uid"] == "pgdr-cluster");
    REQUIRE(doc["panels"].is_array());
    std::set<std::string> titles;
    std::size_t queries = 0;
    for (const auto& p : doc["panels"]) {
        INFO(p.value("title", "?"));
        titles.insert(p["title"].get<std::string>());
        REQUIRE(p["targets"].is_array());
        REQUIRE_FALSE(p["targets"].empty());
        for (const auto& t : p["targets"]) {
            const auto expr = t["expr"].get<std::string>();
            INFO(expr);
            const auto names = metrics_in(expr);
            CHECK_FALSE(names.empty());
            for (const auto& n : names) {
                INFO(n);
                CHECK(exporter_metrics().count(n) == 1);
            }
            // Every query is about the chosen cluster.
            CHECK(expr.find("cluster=\"$cluster\"") != std::string::npos);
            ++queries;
        }
    }
    CHECK(queries == 11);
    for (const char* wanted :
         {"Leader (1 = leader)", "Replication lag (bytes replayed behind the leader)",
          "Write TPS on the leader", "HAProxy: servers UP per backend", "etcd health",
          "Firing alerts"}) {
        CHECK(titles.count(wanted) == 1);
    }
}

TEST_CASE("prometheus: the scrape filters keep every metric the rules and the dashboard use",
          "[monitoring]") {
    const auto config =
        YAML::Load(monitoring::render_prometheus_config(parse_inventory(R"(cluster: c
network:
  cidr: 198.18.0.0/24
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy, monitor]}
)",
                                                                        "inv.yaml")));
    // The job each metric family comes from.
    const std::map<std::string, std::string> job_of = {{"patroni_", "patroni"},
                                                       {"pg_", "postgres"},
                                                       {"etcd_", "etcd"},
                                                       {"haproxy_", "haproxy"},
                                                       {"node_", "node"}};
    auto kept = [&](const std::string& job, const std::string& metric) {
        for (const auto& j : config["scrape_configs"]) {
            if (j["job_name"].as<std::string>() != job) {
                continue;
            }
            bool keep = true;
            for (const auto& r : j["metric_relabel_configs"]) {
                const std::regex re(r["regex"].as<std::string>());
                const bool match = std::regex_match(metric, re);
                const auto action = r["action"].as<std::string>();
                keep = keep && (action == "keep" ? match : !match);
            }
            return keep;
        }
        FAIL("no job " << job);
        return false;
    };
    for (const auto& m : exporter_metrics()) {
        for (const auto& [prefix, job] : job_of) {
            if (m.rfind(prefix, 0) == 0) {
                INFO(job << " " << m);
                CHECK(kept(job, m));
            }
        }
    }
    // What the filters are for.
    CHECK_FALSE(kept("etcd", "grpc_server_handled_total"));
    CHECK_FALSE(kept("etcd", "etcd_debugging_mvcc_keys_total"));
    CHECK(kept("etcd", "etcd_disk_wal_fsync_duration_seconds_bucket"));
    CHECK_FALSE(kept("node", "go_goroutines"));
    CHECK(kept("node", "node_cpu_seconds_total"));
}

TEST_CASE(
    "alert rules: every metric is one an exporter exposes, every alert a drill expects "
    "is a rule",
    "[monitoring]") {
    const auto rules = YAML::Load(monitoring::alert_rules());
    std::set<std::string> alerts;
    for (const auto& g : rules["groups"]) {
        for (const auto& r : g["rules"]) {
            const auto name = r["alert"].as<std::string>();
            alerts.insert(name);
            for (const auto& m : metrics_in(r["expr"].as<std::string>())) {
                INFO(name << ": " << m);
                CHECK(exporter_metrics().count(m) == 1);
            }
        }
    }
    for (const auto& f : drills::fault_catalogue()) {
        for (const auto& a : f.alerts) {
            INFO(f.name << " expects " << a);
            CHECK(alerts.count(a) == 1);
        }
    }
    CHECK(drills::fault_info(drills::FaultKind::kill_primary).alerts ==
          std::vector<std::string>{"PatroniMemberDown", "PatroniLeaderChanged"});
    CHECK(drills::fault_info(drills::FaultKind::kill_etcd_member).alerts ==
          std::vector<std::string>{"EtcdMemberDown"});
    CHECK(drills::fault_info(drills::FaultKind::kill_haproxy).alerts ==
          std::vector<std::string>{"HAProxyDown"});
}
