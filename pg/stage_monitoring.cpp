#include "pg/stage_monitoring.hpp"

#include "monitoring/config.hpp"
#include "pg/debian_paths.hpp"
#include "pg/plan_actions.hpp"
#include "pg/stage_files.hpp"

namespace pgdr::pg {

namespace {

using std::chrono::seconds;
using Argv = std::vector<std::string>;

RunCommand when_changed(RunCommand c, std::vector<std::string> paths) {
    c.when_changed = std::move(paths);
    return c;
}

// Installs the packages keeping pgdr's /etc/default files (written before): Debian starts each
// daemon at installation, and it must start listening where pgdr says.
RunCommand install(const std::vector<std::string>& packages) {
    const Argv check = packages_installed(packages);
    Argv argv{"sh", "-c",
              "export DEBIAN_FRONTEND=noninteractive; "
              "o='-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold'; "
              "apt-get install -y -q --no-install-recommends $o \"$@\" || "
              "{ apt-get update -q && apt-get install -y -q --no-install-recommends $o \"$@\"; }",
              "pgdr-install"};
    argv.insert(argv.end(), packages.begin(), packages.end());
    return plan_command(argv, "install " + std::to_string(packages.size()) + " monitoring packages",
                        check, seconds(1200));
}

// enable + start, restart when one of `files` changed in this run. A restart, never a reload:
// `systemctl reload` sends SIGHUP, and a Go daemon that has not yet installed its handler (one
// apt or the restart just started) dies of it, cleanly in systemd's eyes, so it stays down.
void service(std::vector<Action>& actions, const std::string& unit,
             std::vector<std::string> files) {
    actions.emplace_back(plan_command({"systemctl", "enable", "--quiet", unit}, "enable " + unit,
                                      Argv{"systemctl", "is-enabled", "--quiet", unit}));
    // A daemon apt started with the package's own settings may have failed often enough to hit
    // systemd's start limit (5 starts in 10 s: Debian 12's PostgreSQL exporter did so on the
    // lab), and then `systemctl restart` is refused: the failed state is cleared first.
    actions.emplace_back(when_changed(
        plan_command({"systemctl", "reset-failed", unit}, "clear " + unit + "'s failed starts"),
        files));
    actions.emplace_back(when_changed(
        plan_command({"systemctl", "restart", unit}, "restart " + unit), std::move(files)));
    actions.emplace_back(plan_command({"systemctl", "start", unit}, "start " + unit,
                                      Argv{"systemctl", "is-active", "--quiet", unit}));
}

// Every active target of this Prometheus answered its last scrape.
const char* const k_targets_up = R"PY(
import json, sys, urllib.request
body = json.load(urllib.request.urlopen(sys.argv[1], timeout=3))
targets = body["data"]["activeTargets"]
down = [t["labels"].get("job", "") + "/" + t["labels"].get("instance", "")
        for t in targets if t["health"] != "up"]
if down or not targets:
    print("not up yet: " + (", ".join(down) or "no targets"))
    sys.exit(1)
)PY";

}  // namespace

std::vector<std::string> monitoring_packages(const Inventory& inv, const HostSpec& host) {
    if (monitoring::monitor_hosts(inv).empty()) {
        return {};
    }
    std::vector<std::string> out{"prometheus-node-exporter"};
    if (host.runs(Service::postgres)) {
        out.push_back("prometheus-postgres-exporter");
    }
    if (host.runs(Service::monitor)) {
        out.push_back("prometheus");
        out.push_back("prometheus-alertmanager");
    }
    return out;
}

void plan_monitoring(Plan& plan, const Inventory& inv, const HostSpec& primary,
                     const Secrets& secrets) {
    const auto monitors = monitoring::monitor_hosts(inv);
    if (monitors.empty()) {
        return;
    }
    // The exporter's role, created on the leader (replicas follow by replication).
    const std::string role_sql =
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'prometheus') THEN "
        "CREATE ROLE prometheus LOGIN; END IF; END $$; GRANT pg_monitor TO prometheus;";
    const std::string role_ok =
        "select count(*) = 1 from pg_roles where rolname = 'prometheus' and rolcanlogin and "
        "pg_has_role('prometheus', 'pg_monitor', 'member')";
    plan.add_step(Stage::monitoring, "the PostgreSQL exporter's role")
        .hosts.push_back(
            {primary.name,
             {plan_command(local_psql_command(role_sql),
                           "create role prometheus (pg_monitor, peer login only)",
                           Argv{"sh", "-c",
                                "out=$(runuser -u postgres -- psql -XAtq -d postgres -c \"$1\" "
                                "2>/dev/null) && [ \"$out\" = t ]",
                                "pgdr-sql", role_ok})}});

    auto& step = plan.add_step(Stage::monitoring, "exporters, Prometheus and Alertmanager");
    for (const auto& h : inv.hosts) {
        HostActions ha{h.name, {}};
        // The packages first, then pgdr's files: Debian 12's prometheus-postgres-exporter
        // rewrites /etc/default/prometheus-postgres-exporter when it is installed, so a file
        // put before it was lost until the next bootstrap (which then changed it again).
        ha.actions.emplace_back(install(monitoring_packages(inv, h)));
        for (auto& f : stage_files(inv, h, primary, secrets, Stage::monitoring)) {
            ha.actions.emplace_back(std::move(f));
        }
        service(ha.actions, "prometheus-node-exporter", {"/etc/default/prometheus-node-exporter"});
        if (h.runs(Service::postgres)) {
            service(ha.actions, "prometheus-postgres-exporter",
                    {"/etc/default/prometheus-postgres-exporter"});
        }
        if (h.runs(Service::monitor)) {
            auto check =
                plan_command({"promtool", "check", "config", monitoring::k_prometheus_config},
                             "promtool accepts the configuration and the rules");
            check.check_only = true;
            ha.actions.emplace_back(check);
            service(ha.actions, "prometheus",
                    {"/etc/default/prometheus", monitoring::k_prometheus_config,
                     monitoring::k_alert_rules_path});
            service(ha.actions, "prometheus-alertmanager",
                    {"/etc/default/prometheus-alertmanager", monitoring::k_alertmanager_config});
        }
        step.hosts.push_back(std::move(ha));
    }

    auto& targets = plan.add_step(Stage::monitoring, "every scrape target up");
    for (const auto* m : monitors) {
        WaitFor w;
        w.probe = {"python3", "-c", k_targets_up,
                   "http://" + m->address + ":" + std::to_string(monitoring::k_prometheus_port) +
                       "/api/v1/targets?state=active"};
        w.description = "Prometheus on " + m->name + " scrapes every target";
        w.timeout = seconds(90);
        targets.hosts.push_back({m->name, {w}});
    }
}

}  // namespace pgdr::pg
