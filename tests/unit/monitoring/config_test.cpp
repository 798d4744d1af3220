// Monitoring (issue 15): the inventory's monitor service and monitoring section, Prometheus's
// targets and labels (what the alert rules group by), Alertmanager's receivers, and the
// bootstrap stage that installs them. The rendered files themselves are goldens
// (render_golden_test.cpp: inventories/ovh.yaml and the bookworm inventory have a monitor).
#include "monitoring/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "core/inventory.hpp"
#include "core/plan.hpp"
#include "pg/etcd_config.hpp"
#include "pg/stage_monitoring.hpp"
#include "pg/tls.hpp"

using namespace pgdr;

namespace {

const std::string k_cluster = R"(cluster: shop
network:
  cidr: 198.18.0.0/24
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy, monitor]}
)";

std::vector<std::string> problems(const std::string& text) {
    try {
        parse_inventory(text, "inv.yaml");
    } catch (const InventoryError& e) {
        std::vector<std::string> out;
        for (const auto& d : e.diagnostics()) {
            out.push_back(d.format());
        }
        return out;
    }
    return {};
}

// job → {instance → target} as Prometheus reads them.
std::map<std::string, std::map<std::string, std::string>> targets(const std::string& yml) {
    std::map<std::string, std::map<std::string, std::string>> out;
    for (const auto& job : YAML::Load(yml)["scrape_configs"]) {
        for (const auto& sc : job["static_configs"]) {
            REQUIRE(sc["targets"].size() == 1);
            CHECK(sc["labels"]["cluster"].as<std::string>() == "shop");
            out[job["job_name"].as<std::string>()][sc["labels"]["instance"].as<std::string>()] =
                sc["targets"][0].as<std::string>();
        }
    }
    return out;
}

}  // namespace

TEST_CASE("inventory: the monitor service and the monitoring section", "[monitoring][inventory]") {
    auto inv = parse_inventory(k_cluster, "inv.yaml");
    REQUIRE(monitoring::monitor_hosts(inv).size() == 1);
    CHECK(monitoring::monitor_hosts(inv).front()->name == "pg3");
    CHECK(inv.monitoring.scrape_interval_s == 2);
    CHECK(inv.monitoring.retention == "7d");

    auto full = parse_inventory(k_cluster + R"(monitoring:
  scrape_interval_s: 5
  retention: 30d
  webhook_url: https://alerts.example.com/hook
  email: {to: [oncall@example.com], from: pgdr@example.com, smarthost: "smtp.example.com:25"}
)",
                                "inv.yaml");
    CHECK(full.monitoring.scrape_interval_s == 5);
    CHECK(full.monitoring.email_to == std::vector<std::string>{"oncall@example.com"});
    CHECK(full.monitoring.email_smarthost == "smtp.example.com:25");

    CHECK(problems(k_cluster + "monitoring: {scrape_interval_s: 0, retention: forever}\n") ==
          std::vector<std::string>{
              "inv.yaml:8:33: monitoring.scrape_interval_s: 0 is out of range (1 to 300)",
              "inv.yaml:8:47: monitoring.retention: 'forever' is not valid; expected a duration "
              "such as 7d, 36h or 2w"});
    CHECK(problems(k_cluster + "monitoring: {webhook_url: \"ftp://x\"}\n").size() == 1);
    CHECK(
        problems(k_cluster + "monitoring: {email: {to: [a@b.c]}}\n") ==
        std::vector<std::string>{"inv.yaml:8:21: monitoring.email: needs to, from and smarthost"});
    CHECK(problems(k_cluster + "monitoring: {scrape_every: 2}\n").size() == 1);
    std::string other = k_cluster;
    other.replace(other.find("haproxy, monitor"), 16, "haproxy, prometheus");
    auto bad_service = problems(other);
    REQUIRE(bad_service.size() == 1);
    CHECK(bad_service[0].find("expected postgres, etcd, haproxy or monitor") != std::string::npos);
}

TEST_CASE("prometheus.yml: every exporter of every host, labelled by host name", "[monitoring]") {
    auto inv = parse_inventory(k_cluster, "inv.yaml");
    const auto yml = monitoring::render_prometheus_config(inv);
    auto t = targets(yml);
    using Map = std::map<std::string, std::string>;
    CHECK(t["node"] == Map{{"pg1", "198.18.0.11:9100"},
                           {"pg2", "198.18.0.12:9100"},
                           {"pg3", "198.18.0.13:9100"}});
    CHECK(t["postgres"].at("pg2") == "198.18.0.12:9187");
    CHECK(t["patroni"].at("pg1") == "198.18.0.11:8008");
    CHECK(t["etcd"].at("pg3") == "198.18.0.13:2381");
    CHECK(t["haproxy"] == Map{{"pg3", "198.18.0.13:8405"}});
    CHECK(t.size() == 5);
    auto doc = YAML::Load(yml);
    CHECK(doc["global"]["scrape_interval"].as<std::string>() == "2s");
    CHECK(doc["global"]["evaluation_interval"].as<std::string>() == "2s");
    CHECK(doc["rule_files"][0].as<std::string>() == monitoring::k_alert_rules_path);
    CHECK(
        doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0].as<std::string>() ==
        "198.18.0.13:9093");
}

TEST_CASE(
    "prometheus.yml: Patroni over https checked with the cluster CA, etcd on its metrics "
    "listener without a client certificate",
    "[monitoring]") {
    auto inv = parse_inventory(k_cluster, "inv.yaml");
    auto doc = YAML::Load(monitoring::render_prometheus_config(inv));
    std::map<std::string, YAML::Node> jobs;
    for (std::size_t i = 0; i < doc["scrape_configs"].size(); ++i) {
        const YAML::Node job = doc["scrape_configs"][i];
        jobs[job["job_name"].as<std::string>()] = job;
    }
    REQUIRE(jobs.count("patroni") == 1);
    CHECK(jobs["patroni"]["scheme"].as<std::string>() == "https");
    CHECK(jobs["patroni"]["tls_config"]["ca_file"].as<std::string>() == pg::tls_paths().ca);
    // No client certificate anywhere: Prometheus holds no key of the cluster CA.
    CHECK_FALSE(jobs["patroni"]["tls_config"]["cert_file"]);
    CHECK_FALSE(jobs["patroni"]["tls_config"]["key_file"]);
    for (const char* plain : {"node", "postgres", "etcd", "haproxy"}) {
        INFO(plain);
        CHECK_FALSE(jobs[plain]["scheme"]);
        CHECK_FALSE(jobs[plain]["tls_config"]);
    }
    // etcd serves that port on its metrics-only listener, over plain HTTP.
    const auto etcd = pg::render_etcd_defaults(inv, inv.hosts[2]);
    CHECK(etcd.find("ETCD_LISTEN_METRICS_URLS=\"http://198.18.0.13:" +
                    std::to_string(monitoring::k_etcd_metrics_port) + "\"\n") != std::string::npos);
    // Without a monitor host, etcd opens no metrics listener.
    std::string bare = k_cluster;
    bare.replace(bare.find(", monitor"), 9, "");
    CHECK(pg::render_etcd_defaults(parse_inventory(bare, "inv.yaml"), inv.hosts[2])
              .find("ETCD_LISTEN_METRICS_URLS") == std::string::npos);
}

TEST_CASE("alertmanager.yml: receivers from the inventory, alerts grouped per host",
          "[monitoring]") {
    auto none =
        YAML::Load(monitoring::render_alertmanager_config(parse_inventory(k_cluster, "inv.yaml")));
    CHECK(none["route"]["receiver"].as<std::string>() == "pgdr");
    CHECK(none["route"]["group_wait"].as<std::string>() == "1s");
    CHECK_FALSE(none["receivers"][0]["webhook_configs"]);
    CHECK_FALSE(none["receivers"][0]["email_configs"]);

    auto both = YAML::Load(monitoring::render_alertmanager_config(parse_inventory(
        k_cluster + "monitoring: {webhook_url: \"https://h.example.com/x?a=1\", email: {to: "
                    "[a@example.com, b@example.com], from: p@example.com, smarthost: "
                    "\"smtp.example.com:587\"}}\n",
        "inv.yaml")));
    const auto& r = both["receivers"][0];
    CHECK(r["webhook_configs"][0]["url"].as<std::string>() == "https://h.example.com/x?a=1");
    CHECK(r["webhook_configs"][0]["send_resolved"].as<bool>());
    REQUIRE(r["email_configs"].size() == 2);
    CHECK(r["email_configs"][1]["to"].as<std::string>() == "b@example.com");
    CHECK(r["email_configs"][1]["smarthost"].as<std::string>() == "smtp.example.com:587");
}

TEST_CASE("the monitoring daemons run with a smaller heap and fewer series", "[monitoring]") {
    auto inv = parse_inventory(k_cluster, "inv.yaml");
    const auto& pg3 = *inv.find_host("pg3");
    for (const auto& file :
         {monitoring::prometheus_defaults(inv, pg3), monitoring::alertmanager_defaults(inv, pg3),
          monitoring::node_exporter_defaults(pg3), monitoring::postgres_exporter_defaults(pg3)}) {
        CHECK(file.find("\nGOGC=50\n") != std::string::npos);
    }
    const auto node = monitoring::node_exporter_defaults(pg3);
    CHECK(node.find("--collector.disable-defaults") != std::string::npos);
    // The collector the DiskFilling rule reads.
    CHECK(node.find("--collector.filesystem") != std::string::npos);
    CHECK(monitoring::postgres_exporter_defaults(pg3).find("--disable-settings-metrics") !=
          std::string::npos);
}

TEST_CASE("daemons listen on the host's cluster address only", "[monitoring]") {
    auto inv = parse_inventory(k_cluster, "inv.yaml");
    const auto& pg3 = *inv.find_host("pg3");
    CHECK(monitoring::node_exporter_defaults(pg3).find(
              "ARGS=\"--web.listen-address=198.18.0.13:9100 ") != std::string::npos);
    CHECK(monitoring::postgres_exporter_defaults(pg3).find(
              "--web.listen-address=198.18.0.13:9187") != std::string::npos);
    CHECK(monitoring::postgres_exporter_defaults(pg3).find("host=/run/postgresql") !=
          std::string::npos);
    const auto prom = monitoring::prometheus_defaults(inv, pg3);
    CHECK(prom.find("--web.listen-address=198.18.0.13:9090") != std::string::npos);
    CHECK(prom.find("--storage.tsdb.retention.time=7d") != std::string::npos);
    // One Alertmanager: no gossip port open at all.
    CHECK(monitoring::alertmanager_defaults(inv, pg3).find("--cluster.listen-address=\"") !=
          std::string::npos);
}

TEST_CASE("the alert rules bootstrap installs are the repository's tested file", "[monitoring]") {
    std::ifstream in(std::string(PGDR_SOURCE_DIR) + "/monitoring/pgdr-alerts.yml");
    std::stringstream ss;
    ss << in.rdbuf();
    CHECK(monitoring::alert_rules() == ss.str());
    CHECK(YAML::Load(monitoring::alert_rules())["groups"].size() >= 4);
}

TEST_CASE("monitoring stage: nothing without a monitor host; else role, services, targets",
          "[monitoring][bootstrap]") {
    pg::Secrets secrets{"r", "s", "w", "a", "p", "h", {}, {}};
    std::string without = k_cluster;
    without.replace(without.find(", monitor"), 9, "");
    auto plain = parse_inventory(without, "inv.yaml");
    Plan none;
    pg::plan_monitoring(none, plain, plain.hosts[0], secrets);
    CHECK(none.stages.empty());

    auto inv = parse_inventory(k_cluster, "inv.yaml");
    Plan plan;
    pg::plan_monitoring(plan, inv, inv.hosts[0], secrets);
    REQUIRE(plan.stages.size() == 1);
    const auto& steps = plan.stages[0].steps;
    REQUIRE(steps.size() == 3);
    REQUIRE(steps[0].hosts.size() == 1);
    CHECK(steps[0].hosts[0].host == "pg1");  // the role is created on the leader
    CHECK(describe(steps[0].hosts[0].actions[0]).find("role prometheus") != std::string::npos);

    REQUIRE(steps[1].hosts.size() == 3);
    auto described = [](const HostActions& ha) {
        std::vector<std::string> out;
        for (const auto& a : ha.actions) {
            out.push_back(describe(a));
        }
        return out;
    };
    auto has = [](const std::vector<std::string>& lines, const std::string& needle) {
        for (const auto& l : lines) {
            if (l.find(needle) != std::string::npos) {
                return true;
            }
        }
        return false;
    };
    const auto pg1 = described(steps[1].hosts[0]);
    const auto pg3 = described(steps[1].hosts[2]);
    CHECK(has(pg1, "restart prometheus-postgres-exporter"));
    CHECK_FALSE(has(pg1, "reload prometheus"));
    CHECK(has(pg3, "promtool accepts"));
    // Never a reload (SIGHUP kills a Go daemon still starting): a restart when the defaults,
    // the configuration or the rules changed.
    CHECK_FALSE(has(pg3, "reload prometheus"));
    bool restart_on_config = false;
    for (const auto& a : steps[1].hosts[2].actions) {
        if (const auto* c = std::get_if<RunCommand>(&a);
            c != nullptr &&
            c->argv == std::vector<std::string>{"systemctl", "restart", "prometheus"}) {
            for (const auto& p : c->when_changed) {
                restart_on_config = restart_on_config || p == monitoring::k_prometheus_config;
            }
        }
    }
    CHECK(restart_on_config);
    // The packages come before the files: Debian 12's prometheus-postgres-exporter rewrites
    // its /etc/default file on install (a second bootstrap on the lab changed it again).
    const auto& acts = steps[1].hosts[2].actions;
    REQUIRE(std::holds_alternative<RunCommand>(acts.front()));
    CHECK_THAT(describe(acts.front()), Catch::Contains("install"));
    const auto put = std::find_if(acts.begin(), acts.end(), [](const Action& a) {
        return std::holds_alternative<PutFile>(a);
    });
    REQUIRE(put != acts.end());
    CHECK(put != acts.begin());
    bool confold = false;
    for (const auto& a : steps[1].hosts[2].actions) {
        if (const auto* c = std::get_if<RunCommand>(&a)) {
            for (const auto& arg : c->argv) {
                confold = confold || arg.find("--force-confold") != std::string::npos;
            }
        }
    }
    CHECK(confold);
    CHECK(pg::monitoring_packages(inv, inv.hosts[2]) ==
          std::vector<std::string>{"prometheus-node-exporter", "prometheus-postgres-exporter",
                                   "prometheus", "prometheus-alertmanager"});

    REQUIRE(steps[2].hosts.size() == 1);
    CHECK(steps[2].hosts[0].host == "pg3");
    const auto& wait = std::get<WaitFor>(steps[2].hosts[0].actions[0]);
    CHECK(wait.probe.back() == "http://198.18.0.13:9090/api/v1/targets?state=active");
}
