#include "pg/cert_rotation.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/poll.hpp"
#include "pg/cluster_snapshot.hpp"
#include "pg/debian_paths.hpp"
#include "pg/etcd_config.hpp"
#include "pg/haproxy_config.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/plan_actions.hpp"
#include "pg/secrets.hpp"
#include "pg/stage_files.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

namespace {

using Argv = std::vector<std::string>;
using std::chrono::seconds;

// As root: etcd's key is 0600 etcd:etcd.
WaitFor wait_until(Argv probe, std::string description, seconds timeout) {
    return plan_wait(std::move(probe), std::move(description), timeout);
}

void add_install(Plan& plan, const Inventory& inv, const pki::ClusterPki& fresh) {
    auto& step = plan.add_step(Stage::certificates, "install the new certificates");
    Secrets secrets;
    secrets.tls = fresh;
    for (const auto& h : inv.hosts) {
        HostActions ha{h.name, {}};
        for (auto& f : stage_files(inv, h, h, secrets, Stage::certificates)) {
            ha.actions.emplace_back(std::move(f));
        }
        step.hosts.push_back(std::move(ha));
    }
}

void add_etcd(Plan& plan, const Inventory& inv) {
    const auto members = inv.hosts_with(Service::etcd);
    if (members.empty()) {
        return;
    }
    const Argv all_healthy = etcdctl_argv(etcd_client_endpoints(inv), {"endpoint", "health"});
    const Argv local_healthy =
        etcdctl_argv(local_etcd_endpoint(inv.etcd.client_port), {"endpoint", "health"});
    auto& before = plan.add_step(Stage::certificates, "etcd: quorum before the restarts");
    before.hosts.push_back({members.front()->name,
                            {wait_until(all_healthy, "etcd: every member healthy", seconds(60))}});
    auto& step =
        plan.add_step(Stage::certificates, "etcd: one member at a time", HostOrder::sequential);
    for (const auto* h : members) {
        step.hosts.push_back(
            {h->name,
             {plan_command({"systemctl", "restart", "etcd"},
                           "restart etcd with its new certificate", std::nullopt, seconds(180)),
              wait_until(local_healthy, "etcd: this member healthy (a quorum read)", seconds(120)),
              wait_until(all_healthy, "etcd: every member healthy before the next one",
                         seconds(120))}});
    }
}

// PostgreSQL hosts, replicas first (inventory order), the leader last.
std::vector<const HostSpec*> postgres_order(const Inventory& inv, const std::string& leader) {
    auto hosts = inv.hosts_with(Service::postgres);
    std::stable_partition(hosts.begin(), hosts.end(),
                          [&](const HostSpec* h) { return h->name != leader; });
    return hosts;
}

void add_postgres(Plan& plan, const Inventory& inv, const std::string& leader) {
    const auto hosts = postgres_order(inv, leader);
    if (hosts.empty()) {
        return;
    }
    const auto paths = debian_paths(inv);
    auto& step = plan.add_step(Stage::certificates,
                               "Patroni and PostgreSQL: replicas first, the leader last",
                               HostOrder::sequential);
    for (const auto* h : hosts) {
        step.hosts.push_back(
            {h->name,
             // SIGHUP to Patroni itself (the unit's main process), whether or not the unit
             // defines ExecReload; never a restart: stopping Patroni stops PostgreSQL.
             {plan_command(
                  {"systemctl", "kill", "--signal=HUP", "--kill-whom=main", paths.patroni_unit},
                  "Patroni re-reads its REST certificate (SIGHUP)"),
              plan_command(local_psql_command("SELECT pg_reload_conf()"),
                           "PostgreSQL re-reads ssl_cert_file (pg_reload_conf)")}});
    }
}

void add_haproxy(Plan& plan, const Inventory& inv) {
    const auto hosts = inv.hosts_with(Service::haproxy);
    if (hosts.empty()) {
        return;
    }
    const auto paths = debian_paths(inv);
    auto& step =
        plan.add_step(Stage::certificates, "HAProxy: one host at a time", HostOrder::sequential);
    for (const auto* h : hosts) {
        auto check =
            plan_command({"haproxy", "-c", "-q", "-f", paths.haproxy_config}, "check haproxy.cfg");
        check.check_only = true;
        // Through pgdr-haproxy-reload, which keeps the servers' check states: a plain reload
        // counts every server UP until its first checks fail, and a write may reach a replica
        // (a cluster bootstrapped by an older pgdr has no script yet: a plain reload there).
        step.hosts.push_back(
            {h->name,
             {check, plan_command({"sh", "-c",
                                   "if [ -x \"$1\" ]; then exec \"$1\"; fi; "
                                   "exec systemctl reload haproxy",
                                   "pgdr-haproxy-reload", k_haproxy_reload_script},
                                  "reload HAProxy (its checks trust the CA file)")}});
    }
}

// pgBackRest's TLS servers (the members' and the repository host's) load their pair when they
// start: restarted, one host at a time (an archive-push meanwhile is retried by PostgreSQL).
void add_pgbackrest(Plan& plan, const Inventory& inv) {
    if (!inv.backup) {
        return;
    }
    auto hosts = inv.hosts_with(Service::postgres);
    if (const auto* repo = backup_repo_host(inv)) {
        hosts.push_back(repo);
    }
    auto& step = plan.add_step(Stage::certificates, "pgBackRest's TLS servers: one host at a time",
                               HostOrder::sequential);
    const std::string unit = k_pgbackrest_server_unit;
    for (const auto* h : hosts) {
        step.hosts.push_back({h->name,
                              {plan_command({"systemctl", "try-restart", unit},
                                            "restart " + unit + " with the new certificate")}});
    }
}

}  // namespace

Plan plan_rotation(const Inventory& inv, const pki::ClusterPki& fresh, const std::string& leader) {
    Plan plan;
    add_install(plan, inv, fresh);
    add_etcd(plan, inv);
    add_postgres(plan, inv, leader);
    add_haproxy(plan, inv);
    add_pgbackrest(plan, inv);
    return plan;
}

std::vector<ServedCheck> served_checks(const Inventory& inv, const pki::ClusterPki& fresh) {
    const auto targets = cluster_targets(inv);
    std::vector<ServedCheck> out;
    auto serial = [&](const HostSpec& h, const char* service) {
        return pki::inspect(fresh.of(h.name, service).cert_pem).serial_hex;
    };
    for (const auto& h : inv.hosts) {
        if (h.runs(Service::etcd)) {
            out.push_back({h.name, "etcd", h.address, inv.etcd.client_port,
                           pki::TlsStart::immediate, serial(h, pki::k_etcd_service), "", false,
                           ""});
        }
        if (h.runs(Service::postgres)) {
            const std::string s = serial(h, pki::k_postgres_service);
            out.push_back({h.name, "patroni", h.address, inv.patroni.rest_port,
                           pki::TlsStart::immediate, s, "", false, ""});
            out.push_back({h.name, "postgresql", h.address, targets.pg_port,
                           pki::TlsStart::postgres, s, "", false, ""});
        }
    }
    return out;
}

namespace {

// One attempt: true when the endpoint serves the expected serial.
bool check_once(ServedCheck& c, ClusterReach& reach, const CertFetcher& fetch) {
    try {
        const Endpoint at = reach.endpoint(c.address, c.port);
        std::string err;
        auto pem = fetch(at, c.start, &err);
        if (!pem) {
            c.error = err;
            return false;
        }
        c.served_serial = pki::inspect(*pem).serial_hex;
    } catch (const Error& e) {
        c.error = e.what();
        return false;
    }
    if (c.served_serial != c.expected_serial) {
        c.error = "serves serial " + c.served_serial + ", not the new " + c.expected_serial;
        return false;
    }
    c.error.clear();
    return true;
}

}  // namespace

std::vector<ServedCheck> verify_served(std::vector<ServedCheck> checks, ClusterReach& reach,
                                       const CertFetcher& fetch, Clock& clock,
                                       std::chrono::milliseconds timeout,
                                       std::chrono::milliseconds poll) {
    poll_until(clock, timeout, poll, nullptr, [&] {
        bool all = true;
        for (auto& c : checks) {
            if (!c.ok) {
                c.ok = check_once(c, reach, fetch);
                all = all && c.ok;
            }
        }
        return all;
    });
    return checks;
}

}  // namespace pgdr::pg
