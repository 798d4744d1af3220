#include "pg/bootstrap_plan.hpp"

#include <nlohmann/json.hpp>

#include "core/backup_repo.hpp"
#include "core/error.hpp"
#include "pg/debian_paths.hpp"
#include "pg/etcd_config.hpp"
#include "pg/foreign_guard.hpp"
#include "pg/haproxy_config.hpp"
#include "pg/patroni_config.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/pgpass.hpp"
#include "pg/plan_actions.hpp"
#include "pg/postgres_conf.hpp"
#include "pg/stage_backup.hpp"
#include "pg/stage_files.hpp"
#include "pg/stage_guard.hpp"
#include "pg/stage_monitoring.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

namespace {

using std::chrono::seconds;
using Argv = std::vector<std::string>;

// Patroni's REST API over HTTPS, trusting the cluster CA (pg/tls.hpp); with the host's client
// certificate for the unsafe calls.
std::string python_https(const std::string& body, bool client_cert = false) {
    return python_tls_preamble(client_cert) + body;
}

const std::string k_python_get = R"PY(
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=3, context=CTX)
)PY";

// Succeeds when the query returns exactly "t".
Argv sql_true(const std::string& sql) {
    return {"sh", "-c",
            "out=$(runuser -u postgres -- psql -XAtq -d postgres -c \"$1\" 2>/dev/null) && "
            "[ \"$out\" = t ]",
            "pgdr-sql", sql};
}
Argv https_ok(const std::string& url) {
    return {"python3", "-c", python_https(k_python_get), url};
}

std::string rest_url(const Inventory& inv, const HostSpec& h, const std::string& path) {
    return "https://" + h.address + ":" + std::to_string(inv.patroni.rest_port) + path;
}

std::string sql_literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        out += c;
        if (c == '\'') {
            out += '\'';
        }
    }
    return out + "'";
}

WaitFor wait(Argv probe, std::string description, seconds timeout) {
    return plan_wait(std::move(probe), std::move(description), timeout);
}

void add_files(std::vector<Action>& actions, std::vector<PutFile> files) {
    for (auto& f : files) {
        actions.emplace_back(std::move(f));
    }
}

std::string count_streaming_sql(size_t replicas) {
    return "select count(*) >= " + std::to_string(replicas) +
           " from pg_stat_replication where state = 'streaming'";
}

const HostSpec& host_of(const Inventory& inv, const std::string& name) {
    const auto* h = inv.find_host(name);
    if (h == nullptr) {
        throw Error(ExitCode::internal, "no host " + name);
    }
    return *h;
}

}  // namespace

// Removes Debian's auto-created etcd member, but only one that holds no key: a running member
// with keys (another cluster's DCS) makes it fail (exit 3) and leaves everything in place.
const char* const k_etcd_reset_script =
    "if systemctl is-active --quiet etcd; then "
    "keys=$(ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 --dial-timeout=2s "
    "--command-timeout=3s get '' --prefix --keys-only --limit=1) || keys=unknown; "
    "if [ -n \"$keys\" ]; then echo 'pgdr: refusing to reset the local etcd member: it holds "
    "keys or did not answer; it may be the DCS of another cluster' >&2; exit 3; fi; fi; "
    "systemctl stop etcd && rm -rf /var/lib/etcd/default";

std::string probe_passfile_path() {
    return "/var/lib/postgresql/pgdr-probe.pgpass";
}

std::string choose_primary(const Inventory& inv, const FactsMap& facts) {
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        auto it = facts.find(h->name);
        if (it != facts.end() && it->second.patroni_running() && it->second.patroni_leader()) {
            return h->name;
        }
    }
    // A standby cluster none of whose members runs: the member holding a standby's data (the
    // one `pgdr dr rebuild` kept: it streams without a copy), else the first.
    if (inv.standby_of) {
        for (const auto* h : inv.hosts_with(Service::postgres)) {
            auto it = facts.find(h->name);
            if (it != facts.end() && it->second.data == "cluster" && it->second.standby_signal &&
                !it->second.basebackup_marker) {
                return h->name;
            }
        }
    }
    return inv.hosts_with(Service::postgres).front()->name;
}

namespace {

// A DR cluster's first member is a copy of the primary cluster (its system identifier) or is
// replaced by one: only when it holds nothing (no data, pgdr's interrupted clone, Debian's empty
// auto-created cluster) or already is a standby of that cluster.
void check_standby_leader_data(const Inventory& inv, const HostFacts& f, const std::string& name,
                               const std::string& expected_sysid) {
    const bool copy = !f.sysid.empty() && f.standby_signal &&
                      (expected_sysid.empty() || f.sysid == expected_sysid);
    if (f.data == "absent" || f.basebackup_marker || copy ||
        (f.pristine() && !f.patroni_running())) {
        return;
    }
    throw Error(ExitCode::postgres,
                name + ": " + debian_paths(inv).data_dir + " holds cluster " +
                    (f.sysid.empty() ? "(unknown)" : f.sysid) + ", not a standby of " +
                    inv.standby_of->cluster +
                    (expected_sysid.empty() ? "" : " (system identifier " + expected_sysid + ")"),
                "pgdr never deletes data: back it up and empty the directory, then run "
                "bootstrap again");
}

}  // namespace

void check_data_safety(const Inventory& inv, const FactsMap& facts, const std::string& primary,
                       const std::string& expected_sysid, bool adopt,
                       const std::string& inventory_path) {
    check_foreign_cluster(inv, facts, expected_sysid, adopt, inventory_path);
    const auto& pf = facts.at(primary);
    const auto dd = debian_paths(inv).data_dir;
    if (pf.data == "other") {
        throw Error(ExitCode::postgres,
                    primary + ": " + dd + " is not empty and holds no PostgreSQL cluster",
                    "pgdr never deletes data: move its content away, then run bootstrap again");
    }
    if (inv.standby_of) {
        check_standby_leader_data(inv, pf, primary, expected_sysid);
    } else if (!expected_sysid.empty() && !pf.sysid.empty() && pf.sysid != expected_sysid) {
        throw Error(ExitCode::postgres,
                    primary + " holds cluster " + pf.sysid + ", not " + expected_sysid +
                        " that pgdr bootstrapped for " + inv.cluster,
                    "check that the inventory names the right hosts; pgdr never replaces a "
                    "cluster's data");
    }
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        if (h->name == primary) {
            continue;
        }
        const auto& f = facts.at(h->name);
        // Same system identifier and in recovery: a replica of it. Same identifier but not in
        // recovery: a copy that may have taken writes of its own (a cloned VM image, an old
        // primary); replaced only when it holds nothing.
        const bool same = !f.sysid.empty() && f.sysid == pf.sysid && f.standby_signal;
        const bool replaceable = f.data == "absent" || f.basebackup_marker || same ||
                                 (f.pristine() && !f.patroni_running());
        if (!replaceable) {
            std::string what = f.data == "other" ? "is not empty and holds no cluster"
                               : f.user_objects > 0
                                   ? "holds another cluster (system identifier " + f.sysid +
                                         ") with " + std::to_string(f.user_objects) +
                                         " user databases or tables"
                                   : "holds another cluster (system identifier " + f.sysid +
                                         ") that pgdr cannot inspect (is it stopped?)";
            throw Error(ExitCode::postgres, h->name + ": " + dd + " " + what,
                        "pgdr never deletes data: back it up and empty the directory, or remove "
                        "the host from the inventory, then run bootstrap again");
        }
    }
    for (const auto* h : inv.hosts_with(Service::etcd)) {
        const auto& f = facts.at(h->name);
        if (!f.etcd_marker.empty() && f.etcd_marker != etcd_marker_content(inv, *h)) {
            throw Error(ExitCode::invalid_config,
                        h->name + ": its etcd member was formed for another membership (" +
                            f.etcd_marker + ")",
                        "pgdr does not change a formed etcd cluster's membership; restore the "
                        "inventory's etcd hosts");
        }
    }
}

std::vector<std::string> plain_http_members(const Inventory& inv, const FactsMap& facts) {
    std::vector<std::string> out;
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        auto it = facts.find(h->name);
        if (it != facts.end() && it->second.patroni_running() &&
            it->second.patroni_scheme == "http") {
            out.push_back(h->name);
        }
    }
    return out;
}

namespace {

// What every stage of the plan is built from.
struct BootstrapInputs {
    const Inventory& inv;
    const FactsMap& facts;
    const Secrets& secrets;
    const HostSpec& primary;
    std::vector<const HostSpec*> replicas;  // the other postgres hosts, in inventory order
    DebianPaths paths;
    std::string v;                  // the PostgreSQL major version, as pg_ctlcluster takes it
    bool patroni_anywhere = false;  // Patroni already manages the cluster
};

BootstrapInputs bootstrap_inputs(const Inventory& inv, const FactsMap& facts,
                                 const Secrets& secrets, const std::string& primary_name) {
    BootstrapInputs b{inv,
                      facts,
                      secrets,
                      host_of(inv, primary_name),
                      {},
                      debian_paths(inv),
                      std::to_string(inv.postgres_version)};
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        if (h->name != primary_name) {
            b.replicas.push_back(h);
        }
    }
    for (const auto& [name, f] : facts) {
        b.patroni_anywhere = b.patroni_anywhere || f.patroni_running();
    }
    return b;
}

// The host's files of one stage (pg/stage_files.hpp), as its first actions.
HostActions stage_file_actions(const BootstrapInputs& b, const HostSpec& h, Stage stage) {
    HostActions ha{h.name, {}};
    add_files(ha.actions, stage_files(b.inv, h, b.primary, b.secrets, stage));
    return ha;
}

// --- packages ---------------------------------------------------------------------------

RunCommand install_packages(const std::vector<std::string>& pkgs) {
    // apt-get update only when the first try fails (a fresh VM has no package lists).
    Argv install{"sh", "-c",
                 "export DEBIAN_FRONTEND=noninteractive; "
                 "apt-get install -y -q --no-install-recommends \"$@\" || "
                 "{ apt-get update -q && apt-get install -y -q --no-install-recommends "
                 "\"$@\"; }",
                 "pgdr-install"};
    install.insert(install.end(), pkgs.begin(), pkgs.end());
    return plan_command(install, "install packages", packages_installed(pkgs), seconds(1200));
}

void plan_packages(Plan& plan, const BootstrapInputs& b) {
    const auto& release = debian_release(b.inv.release);
    auto& step = plan.add_step(Stage::packages, "install packages");
    for (const auto& h : b.inv.hosts) {
        auto packages = packages_for(release, h);
        const auto guard = guard_packages(b.inv, h);
        packages.insert(packages.end(), guard.begin(), guard.end());
        HostActions ha{h.name, {}};
        if (is_backup_repo_host(b.inv, h.name)) {
            // The repository host: pgBackRest and its user before the certificates stage.
            packages.push_back("pgbackrest");
            ha.actions = {install_packages(packages), repo_user_action()};
        } else {
            ha.actions = {install_packages(packages)};
        }
        if (!guard.empty()) {
            ha.actions.emplace_back(guard_user_action());  // owns its etcd client key
        }
        step.hosts.push_back(std::move(ha));
    }
}

// --- certificates -----------------------------------------------------------------------

void plan_certificates(Plan& plan, const BootstrapInputs& b) {
    auto& step = plan.add_step(Stage::certificates, "the cluster CA and host certificates");
    for (const auto& h : b.inv.hosts) {
        step.hosts.push_back(stage_file_actions(b, h, Stage::certificates));
    }
}

// --- etcd -------------------------------------------------------------------------------

// The member Debian started on install (a one-node cluster) must go once, or the new initial
// cluster (ETCD_INITIAL_CLUSTER) is ignored. Never again once pgdr formed the cluster, never a
// member that is not Debian's pristine one (kept as it is under --adopt), and the host checks
// again, at the moment of deleting, that it holds no key.
bool etcd_needs_reset(const FactsMap& facts, const std::string& host) {
    const auto fit = facts.find(host);
    return fit == facts.end() || fit->second.etcd_pristine();
}

RunCommand etcd_reset() {
    return plan_command({"sh", "-c", k_etcd_reset_script, "pgdr-etcd-reset"},
                        "reset Debian's single-node etcd member",
                        Argv{"test", "-f", etcd_marker_path()});
}

// A Type=notify unit blocks until quorum: on a cluster being formed, start without waiting,
// all at once. On a running cluster a changed configuration restarts one member at a time:
// the restart returns once the member serves again, and the next waits until it answers
// healthy, so the others keep quorum and Patroni its leader key.
std::vector<Action> etcd_start(const Inventory& inv, const HostSpec& h, bool rolling) {
    const auto& tls = tls_paths();
    auto restart = rolling ? plan_command({"systemctl", "restart", "etcd"},
                                          "restart etcd with the new configuration (rolling)")
                           : plan_command({"systemctl", "restart", "--no-block", "etcd"},
                                          "restart etcd with the new configuration");
    restart.when_changed = {"/etc/default/etcd", tls.etcd_cert, tls.ca};
    std::vector<Action> actions;
    if (!rolling) {
        // Before the first start: a run cut off while the members wait for each other leaves
        // members that answer nothing, which the next run must know for pgdr's own.
        PutFile forming;
        forming.path = etcd_forming_marker_path();
        forming.content = etcd_marker_content(inv, h) + "\n";
        forming.description = "mark the etcd member as being formed by pgdr";
        actions.emplace_back(std::move(forming));
    }
    auto units = plan_command({"systemctl", "daemon-reload"}, "reload systemd's units");
    units.when_changed = {k_etcd_dropin};
    actions.emplace_back(units);
    actions.emplace_back(plan_command({"systemctl", "enable", "--quiet", "etcd"}, "enable etcd",
                                      Argv{"systemctl", "is-enabled", "--quiet", "etcd"}));
    actions.emplace_back(restart);
    actions.emplace_back(plan_command({"systemctl", "start", "--no-block", "etcd"}, "start etcd",
                                      Argv{"systemctl", "is-active", "--quiet", "etcd"}));
    if (rolling) {
        const std::string endpoint =
            "https://" + h.address + ":" + std::to_string(inv.etcd.client_port);
        actions.push_back(wait(etcdctl_argv(endpoint, {"endpoint", "health"}),
                               "etcd: " + h.name + " healthy", seconds(60)));
    }
    return actions;
}

// Every etcd host runs a member of a formed cluster (HostFacts::etcd_member_running): changes
// restart them one at a time.
bool etcd_cluster_running(const FactsMap& facts, const std::vector<const HostSpec*>& hosts) {
    return std::all_of(hosts.begin(), hosts.end(), [&](const HostSpec* h) {
        const auto it = facts.find(h->name);
        return it != facts.end() && it->second.etcd_member_running();
    });
}

PutFile etcd_formed_marker(const Inventory& inv, const HostSpec& h) {
    PutFile marker;
    marker.path = etcd_marker_path();
    marker.content = etcd_marker_content(inv, h) + "\n";
    marker.description = "mark the etcd member as formed by pgdr";
    return marker;
}

void plan_etcd(Plan& plan, const BootstrapInputs& b) {
    const auto etcd_hosts = b.inv.hosts_with(Service::etcd);
    // Built locally, then appended: add_step() may move the steps added before.
    Step files{"configure members", HostOrder::parallel, {}};
    Step reset{"take over Debian's single-node member", HostOrder::parallel, {}};
    const bool rolling = etcd_cluster_running(b.facts, etcd_hosts);
    Step start = rolling ? Step{"restart changed members one at a time", HostOrder::sequential, {}}
                         : Step{"start members together", HostOrder::parallel, {}};
    for (const auto* h : etcd_hosts) {
        files.hosts.push_back(stage_file_actions(b, *h, Stage::etcd));
        if (etcd_needs_reset(b.facts, h->name)) {
            reset.hosts.push_back({h->name, {etcd_reset()}});
        }
        start.hosts.push_back({h->name, etcd_start(b.inv, *h, rolling)});
    }
    auto& steps = plan.stage(Stage::etcd).steps;
    steps.push_back(std::move(files));
    steps.push_back(std::move(reset));
    steps.push_back(std::move(start));
    const Argv etcd_health = etcdctl_argv(etcd_client_endpoints(b.inv), {"endpoint", "health"});
    auto& health = plan.add_step(Stage::etcd, "cluster health");
    health.hosts.push_back({etcd_hosts.front()->name,
                            {wait(etcd_health, "etcd: every member healthy", seconds(120))}});
    auto& mark = plan.add_step(Stage::etcd, "mark members formed");
    for (const auto* h : etcd_hosts) {
        mark.hosts.push_back({h->name, {etcd_formed_marker(b.inv, *h)}});
    }
}

// --- replication (until Patroni manages the cluster) -------------------------------------

RunCommand create_archive_dir(const Inventory& inv) {
    return plan_command(
        {"install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", inv.paths.archive_dir},
        "create the WAL archive directory", Argv{"test", "-d", inv.paths.archive_dir});
}

RunCommand start_postgres(const std::string& v) {
    return plan_command({"pg_ctlcluster", v, "main", "start"}, "start PostgreSQL",
                        Argv{"pg_ctlcluster", v, "main", "status"});
}

// Roles with generated passwords, through stdin: never in argv.
std::string roles_sql(const Secrets& secrets) {
    return "DO $$ BEGIN\n"
           "  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'replicator') THEN "
           "CREATE ROLE replicator WITH REPLICATION LOGIN; END IF;\n"
           "  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rewind') THEN "
           "CREATE ROLE rewind WITH LOGIN; END IF;\n"
           "  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgdr_probe') THEN "
           "CREATE ROLE pgdr_probe WITH LOGIN; END IF;\n"
           "END $$;\n"
           "SET password_encryption = 'scram-sha-256';\n"
           "ALTER ROLE replicator WITH PASSWORD " +
           sql_literal(secrets.replication_password) +
           ";\n"
           "ALTER ROLE rewind WITH PASSWORD " +
           sql_literal(secrets.rewind_password) +
           ";\n"
           "ALTER ROLE pgdr_probe WITH PASSWORD " +
           sql_literal(secrets.probe_password) +
           ";\n"
           "ALTER ROLE postgres WITH PASSWORD " +
           sql_literal(secrets.superuser_password) +
           ";\n"
           "GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text, boolean, boolean) TO rewind;\n"
           "GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean) TO rewind;\n"
           "GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) TO rewind;\n"
           "GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text, bigint, bigint, "
           "boolean) TO rewind;\n"
           "SELECT 'CREATE DATABASE pgdr OWNER pgdr_probe' WHERE NOT EXISTS "
           "(SELECT 1 FROM pg_database WHERE datname = 'pgdr')\\gexec\n";
}

RunCommand create_roles(const Secrets& secrets) {
    RunCommand roles =
        plan_command(local_psql_argv("postgres"), "create the replication, rewind and probe roles",
                     sql_true("select (select count(*) from pg_roles where rolname in "
                              "('replicator', 'rewind', 'pgdr_probe')) = 3 and exists "
                              "(select 1 from pg_database where datname = 'pgdr')"));
    roles.stdin_data = roles_sql(secrets);
    return roles;
}

RunCommand create_slot(const HostSpec& replica) {
    const std::string slot = slot_name(replica.name);
    return plan_command(
        local_psql_command("select pg_create_physical_replication_slot(" + sql_literal(slot) + ")"),
        "create the replication slot " + slot,
        sql_true("select exists (select 1 from pg_replication_slots where "
                 "slot_name = " +
                 sql_literal(slot) + ")"));
}

// The seed: replication settings, roles and one slot per replica on the first primary.
HostActions seed_primary(const BootstrapInputs& b) {
    const auto& tls = tls_paths();
    HostActions pa{b.primary.name, {}};
    if (!b.inv.backup) {
        pa.actions.emplace_back(create_archive_dir(b.inv));
    }
    add_files(pa.actions, stage_files(b.inv, b.primary, b.primary, b.secrets, Stage::replication));
    auto restart = plan_command({"pg_ctlcluster", b.v, "main", "restart"},
                                "restart PostgreSQL for the replication settings");
    restart.when_changed = {b.paths.include_file, tls.postgres_cert, tls.ca};
    auto reload = plan_command({"pg_ctlcluster", b.v, "main", "reload"}, "reload pg_hba.conf");
    reload.when_changed = {b.paths.pg_hba};
    pa.actions.emplace_back(restart);
    pa.actions.emplace_back(start_postgres(b.v));
    pa.actions.emplace_back(reload);
    pa.actions.emplace_back(create_roles(b.secrets));
    for (const auto* r : b.replicas) {
        pa.actions.emplace_back(create_slot(*r));
    }
    return pa;
}

// The clone replaces only what check_data_safety allowed: nothing, Debian's empty auto-created
// cluster, or pgdr's own interrupted clone (marker). It drops the source's patroni.dynamic.json:
// Patroni starts from that cached dynamic configuration when it finds one, so a DR cluster's
// first member cloned from the primary cluster took the primary's (no standby_cluster) and
// promoted itself on its first start (seen on the lab).
RunCommand clone_primary(const BootstrapInputs& b, const HostSpec& replica) {
    const auto& pf = b.facts.at(b.primary.name);
    const auto marker = basebackup_marker_path(b.inv.postgres_version);
    Argv same_cluster{"sh",
                      "-c",
                      "\"/usr/lib/postgresql/$1/bin/pg_controldata\" "
                      "\"/var/lib/postgresql/$1/main\" 2>/dev/null | "
                      "grep -q \"^Database system identifier: *$2\\$\" && "
                      "[ ! -e \"$3\" ] && [ -f \"/var/lib/postgresql/$1/main/standby.signal\" ]",
                      "pgdr-same-cluster",
                      b.v,
                      pf.sysid.empty() ? "unknown" : pf.sysid,
                      marker};
    // The DR cluster's first member clones the primary cluster's writable member through the
    // DR slot; every other member clones its own cluster's first member.
    const bool remote = b.inv.standby_of && replica.name == b.primary.name;
    const std::string slot = remote ? b.inv.standby_of->slot : slot_name(replica.name);
    const std::string conninfo =
        remote ? standby_leader_conninfo(b.inv, replica)
               : "host=" + b.primary.address +
                     " port=5432 user=replicator passfile=" + b.paths.replication_passfile +
                     " application_name=" + slot +
                     " sslmode=verify-full sslrootcert=" + tls_paths().ca;
    return plan_command(
        {"sh", "-c",
         "set -e; v=$1 d=/var/lib/postgresql/$1/main marker=$2; touch \"$marker\"; "
         "pg_ctlcluster \"$v\" main stop --force 2>/dev/null || true; "
         "rm -rf \"$d\"; install -d -o postgres -g postgres -m 0700 \"$d\"; "
         "runuser -u postgres -- \"/usr/lib/postgresql/$v/bin/pg_basebackup\" -d \"$3\" "
         "-D \"$d\" -S \"$4\" -X stream -c fast; "
         "rm -f \"$d/patroni.dynamic.json\"; "
         "runuser -u postgres -- touch \"$d/standby.signal\"; rm -f \"$marker\"",
         "pgdr-clone", b.v, marker, conninfo, slot},
        (remote ? "clone " + b.inv.standby_of->cluster : std::string("clone the primary")) +
            " with pg_basebackup (slot " + slot + ")",
        same_cluster, seconds(3600));
}

HostActions clone_replica(const BootstrapInputs& b, const HostSpec& replica) {
    HostActions ra{replica.name, {}};
    if (!b.inv.backup) {
        ra.actions.emplace_back(create_archive_dir(b.inv));
    }
    add_files(ra.actions, stage_files(b.inv, replica, b.primary, b.secrets, Stage::replication));
    ra.actions.emplace_back(clone_primary(b, replica));
    auto restart = plan_command({"pg_ctlcluster", b.v, "main", "restart"},
                                "restart PostgreSQL with the standby settings");
    restart.when_changed = {b.paths.include_file, b.paths.standby_file, b.paths.pg_hba};
    ra.actions.emplace_back(restart);
    ra.actions.emplace_back(start_postgres(b.v));
    return ra;
}

// A host added to a running cluster: Patroni clones it from the leader itself, but only into an
// empty data directory; it refuses Debian's auto-created cluster ("system ID mismatch"). That
// cluster holds nothing (check_data_safety made sure), so it goes.
RunCommand empty_new_member(const std::string& v, const HostFacts& f) {
    return plan_command(
        {"sh", "-c",
         "set -e; v=$1 d=/var/lib/postgresql/$1/main; "
         "systemctl stop \"postgresql@$v-main\" 2>/dev/null || true; "
         "pg_ctlcluster \"$v\" main stop --force 2>/dev/null || true; "
         "rm -rf \"$d\"; install -d -o postgres -g postgres -m 0700 \"$d\"",
         "pgdr-empty-new-member", v},
        "empty the auto-created cluster " + f.sysid + " so that Patroni clones the leader into it",
        Argv{"sh", "-c", "[ -z \"$(ls -A \"/var/lib/postgresql/$1/main\")\" ]", "pgdr-empty", v});
}

void plan_new_members(Plan& plan, const BootstrapInputs& b) {
    const auto& pf = b.facts.at(b.primary.name);
    std::vector<HostActions> joining;
    for (const auto* r : b.replicas) {
        const auto& f = b.facts.at(r->name);
        if (!f.patroni_running() && f.pristine() && f.sysid != pf.sysid) {
            joining.push_back({r->name, {empty_new_member(b.v, f)}});
        }
    }
    if (!joining.empty()) {
        plan.add_step(Stage::replication, "new members").hosts = std::move(joining);
    }
}

// A DR cluster's first member: a clone of the primary cluster, streaming from it through the
// DR slot, holding one slot per member of its own cluster (a standby can).
HostActions seed_standby_leader(const BootstrapInputs& b) {
    HostActions sa = clone_replica(b, b.primary);
    for (const auto* r : b.replicas) {
        sa.actions.emplace_back(create_slot(*r));
    }
    sa.actions.emplace_back(wait(sql_true("select status = 'streaming' from pg_stat_wal_receiver"),
                                 "streaming from " + b.inv.standby_of->cluster, seconds(120)));
    return sa;
}

void plan_replication(Plan& plan, const BootstrapInputs& b) {
    if (b.patroni_anywhere) {
        plan_new_members(plan, b);
        return;
    }
    plan.add_step(Stage::replication, b.inv.standby_of ? "standby leader" : "primary",
                  HostOrder::sequential)
        .hosts.push_back(b.inv.standby_of ? seed_standby_leader(b) : seed_primary(b));
    auto& reps = plan.add_step(Stage::replication, "replicas");
    for (const auto* r : b.replicas) {
        reps.hosts.push_back(clone_replica(b, *r));
    }
    auto& streaming = plan.add_step(Stage::replication, "replicas streaming");
    streaming.hosts.push_back(
        {b.primary.name,
         {wait(sql_true(count_streaming_sql(b.replicas.size())),
               "every replica streaming (pg_stat_replication)", seconds(120))}});
}

// --- patroni ----------------------------------------------------------------------------

const std::string k_dcs_matches = R"PY(
import json, sys, urllib.request
want = json.loads(sys.argv[2])
have = json.loads(urllib.request.urlopen(sys.argv[1], timeout=3, context=CTX).read())
def same(w, h):
    if isinstance(w, dict):
        return isinstance(h, dict) and all(same(v, h.get(k)) for k, v in w.items())
    return w == h
sys.exit(0 if same(want, have) else 1)
)PY";

const std::string k_dcs_patch = R"PY(
import base64, json, sys, time, urllib.error, urllib.request
# The REST API password arrives on stdin: never in argv.
password = sys.stdin.readline().rstrip("\n")
# 503: the cluster's configuration is not in the DCS yet (a standby leader answers GET
# /standby-leader before its first HA loop wrote it): wait for it, 60 s at most.
for attempt in range(60):
    req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="PATCH")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Basic " + base64.b64encode(("patroni:" + password).encode()).decode())
    try:
        urllib.request.urlopen(req, timeout=10, context=CTX)
        break
    except urllib.error.HTTPError as e:
        if e.code != 503 or attempt == 59:
            raise
        time.sleep(1)
)PY";

HostActions configure_patroni(const BootstrapInputs& b, const HostSpec& h) {
    auto ha = stage_file_actions(b, h, Stage::patroni);
    // Patroni writes primary_conninfo itself; pgdr's bootstrap-time file would fight it.
    ha.actions.emplace_back(plan_command({"rm", "-f", b.paths.standby_file},
                                         "remove pgdr's bootstrap-time standby settings",
                                         Argv{"test", "!", "-e", b.paths.standby_file}));
    return ha;
}

HostActions start_patroni(const BootstrapInputs& b, const HostSpec& h, const char* endpoint) {
    const auto& paths = b.paths;
    const auto& tls = tls_paths();
    const std::string unit = paths.patroni_unit;
    std::vector<Action> acts;
    // PostgreSQL's own unit hands the running cluster over: Patroni starts it itself, in its
    // own unit, so that stopping or killing patroni@ covers PostgreSQL too.
    acts.emplace_back(plan_command({"systemctl", "stop", paths.postgres_unit},
                                   "stop " + paths.postgres_unit + " (Patroni takes over)",
                                   Argv{"sh", "-c",
                                        "systemctl is-active --quiet \"$1\" || "
                                        "! systemctl is-active --quiet \"$2\"",
                                        "pgdr-handover", unit, paths.postgres_unit}));
    acts.emplace_back(plan_command({"systemctl", "enable", "--quiet", unit}, "enable " + unit,
                                   Argv{"systemctl", "is-enabled", "--quiet", unit}));
    auto reload = plan_command({"systemctl", "try-reload-or-restart", unit},
                               "reload Patroni's configuration (when it runs)");
    reload.when_changed = {paths.patroni_config, tls.postgres_cert, tls.ca};
    acts.emplace_back(reload);
    acts.emplace_back(plan_command({"systemctl", "start", unit}, "start " + unit,
                                   Argv{"systemctl", "is-active", "--quiet", unit}));
    acts.emplace_back(wait(https_ok(rest_url(b.inv, h, endpoint)),
                           std::string("Patroni answers GET ") + endpoint, seconds(180)));
    return {h.name, std::move(acts)};
}

// Patroni says "running" (and GET /replica answers 200) for a replica that does not stream,
// e.g. before the leader created its slot on its next HA loop: ask the leader.
HostActions patroni_streaming(const BootstrapInputs& b) {
    HostActions on_leader{
        b.primary.name,
        {wait(sql_true(count_streaming_sql(b.replicas.size())),
              "every replica streaming from the leader (pg_stat_replication)", seconds(180))}};
    // Patroni names the synchronous standby one HA loop after a replica streams; until then
    // commits are unprotected and a switchover is refused (HTTP 412). no_sync_standby is judged
    // on one leader among the inventory's members: the wait is for those too.
    if (b.inv.patroni.synchronous_mode && !b.replicas.empty()) {
        on_leader.actions.emplace_back(
            WaitForCluster{.absent = {"patroni_unreachable", "member_missing", "no_leader",
                                      "several_leaders", "no_sync_standby"},
                           .member = {},  // findings about any member
                           .description = "Patroni names a synchronous standby",
                           .timeout = seconds(120)});
    }
    return on_leader;
}

// bootstrap.dcs applies only when the cluster is first registered; later changes to the
// inventory's DCS settings (another timing profile, say) reach Patroni through its REST API. The
// password goes on stdin; the desired values are no secret.
RunCommand apply_dcs_settings(const BootstrapInputs& b) {
    const auto& p = b.inv.patroni;
    nlohmann::json dcs = {
        {"ttl", p.ttl},
        {"loop_wait", p.loop_wait},
        {"retry_timeout", p.retry_timeout},
        {"maximum_lag_on_failover", p.maximum_lag_on_failover},
        {"synchronous_mode", p.synchronous_mode},
        {"synchronous_mode_strict", p.synchronous_mode_strict},
        {"failsafe_mode", true},
        {"postgresql", {{"use_pg_rewind", p.use_pg_rewind}, {"use_slots", p.use_slots}}}};
    if (b.inv.dr) {
        dcs["slots"] = {{b.inv.dr->slot, {{"type", "physical"}}}};
    }
    if (b.inv.standby_of) {
        dcs["standby_cluster"] = {{"host", standby_hosts(*b.inv.standby_of)},
                                  {"port", b.inv.standby_of->port},
                                  {"primary_slot_name", b.inv.standby_of->slot},
                                  {"create_replica_methods", {"basebackup"}}};
        if (b.inv.standby_of->archive) {
            dcs["standby_cluster"]["restore_command"] = pgbackrest_dr_restore_command(b.inv);
        }
    }
    const std::string config_url = rest_url(b.inv, b.primary, "/config");
    RunCommand patch =
        plan_command({"python3", "-c", python_https(k_dcs_patch, true), config_url, dcs.dump()},
                     "apply the inventory's DCS settings (PATCH /config)",
                     Argv{"python3", "-c", python_https(k_dcs_matches), config_url, dcs.dump()});
    patch.stdin_data = b.secrets.rest_api_password + "\n";
    return patch;
}

void plan_patroni(Plan& plan, const BootstrapInputs& b) {
    auto& files = plan.add_step(Stage::patroni, "configure Patroni");
    for (const auto* h : b.inv.hosts_with(Service::postgres)) {
        files.hosts.push_back(configure_patroni(b, *h));
    }
    plan.add_step(Stage::patroni, "leader", HostOrder::sequential)
        .hosts.push_back(
            start_patroni(b, b.primary, b.inv.standby_of ? "/standby-leader" : "/primary"));
    auto& reps = plan.add_step(Stage::patroni, "replicas", HostOrder::sequential);
    for (const auto* r : b.replicas) {
        reps.hosts.push_back(start_patroni(b, *r, "/replica"));
    }
    plan.add_step(Stage::patroni, "replicas streaming").hosts.push_back(patroni_streaming(b));
    HostActions dcs{b.primary.name, {apply_dcs_settings(b)}};
    if (b.inv.dr) {
        // The DR cluster clones through this slot: Patroni creates it on its next loop.
        dcs.actions.emplace_back(wait(sql_true("select exists (select 1 from pg_replication_slots "
                                               "where slot_name = " +
                                               sql_literal(b.inv.dr->slot) + ")"),
                                      "the DR slot " + b.inv.dr->slot + " on the leader",
                                      seconds(60)));
    }
    plan.add_step(Stage::patroni, "DCS settings").hosts.push_back(std::move(dcs));
}

// --- haproxy ----------------------------------------------------------------------------

void plan_haproxy(Plan& plan, const BootstrapInputs& b) {
    auto& step = plan.add_step(Stage::haproxy, "configure HAProxy");
    for (const auto* h : b.inv.hosts_with(Service::haproxy)) {
        step.hosts.push_back(haproxy_host_actions(b.inv, b.secrets, b.primary, *h));
    }
}

// --- verify -----------------------------------------------------------------------------

const std::string k_client = R"SH(
set -e
out=$(runuser -u postgres -- env PGPASSFILE="$1" PGCONNECT_TIMEOUT=5 PGSSLMODE=verify-full PGSSLROOTCERT=/etc/pgdr/tls/ca.crt psql -XAtq -h "$2" -p "$3" -U pgdr_probe -d pgdr -c "$4")
echo "$out"
[ "$out" = "$5" ]
)SH";

// Writes and reads through HAProxy, as a client: the probe role's passfile is 0600.
PutFile probe_passfile(const BootstrapInputs& b) {
    PutFile passfile;
    passfile.path = probe_passfile_path();
    passfile.spec = FileSpec{"0600", "postgres:postgres"};
    passfile.secrecy = Secrecy::whole_file;
    passfile.description = "the probe role's passfile";
    std::vector<PgpassEntry> entries;
    for (const auto* lb : b.inv.hosts_with(Service::haproxy)) {
        entries.push_back(
            {lb->address, "*", k_probe_database, k_probe_user, b.secrets.probe_password});
    }
    passfile.content = render_pgpass(entries);
    return passfile;
}

// Runs `sql` as the probe role through HAProxy on lb:port; succeeds when it prints `expected`.
RunCommand client_check(const HostSpec& lb, int port, const std::string& sql,
                        const std::string& expected, std::string description) {
    RunCommand c = plan_command({"sh", "-c", k_client, "pgdr-client", probe_passfile_path(),
                                 lb.address, std::to_string(port), sql, expected},
                                std::move(description));
    c.check_only = true;
    c.timeout = seconds(30);
    return c;
}

// The cluster's health (one leader, replicas streaming, etcd, HAProxy's routing) is judged after
// apply by pg::assess on the cluster snapshot (cmd/bootstrap_cmd.cpp); the plan checks what only
// a client sees.
void plan_verify(Plan& plan, const BootstrapInputs& b) {
    const auto& hp = b.inv.haproxy;
    std::vector<Action> on_leader{probe_passfile(b)};
    for (const auto* lb : b.inv.hosts_with(Service::haproxy)) {
        const std::string through = lb->name + ":" + std::to_string(hp.write_port);
        on_leader.emplace_back(
            b.inv.standby_of
                // A standby cluster takes no write: its write port leads to the standby leader.
                ? client_check(*lb, hp.write_port,
                               "select host(inet_server_addr()) || ' ' || pg_is_in_recovery()",
                               b.primary.address + " true",
                               "a read through " + through + " lands on the standby leader")
                : client_check(*lb, hp.write_port,
                               "create table if not exists pgdr_verify (at timestamptz primary key "
                               "default now()); insert into pgdr_verify default values; select "
                               "host(inet_server_addr()) || ' ' || pg_is_in_recovery()",
                               b.primary.address + " false",
                               "a write through " + through + " lands on the leader"));
        if (!b.replicas.empty()) {
            on_leader.emplace_back(
                client_check(*lb, hp.read_port, "select pg_is_in_recovery()", "t",
                             "a read through " + lb->name + ":" + std::to_string(hp.read_port) +
                                 " is served by a replica"));
        }
    }
    if (auto check = backup_check_action(b.inv)) {
        // Patroni applies a changed archive_command on its next loop after the reload above,
        // not at once: a cluster that archived with cp before (the move to pgBackRest) would
        // fail pgBackRest's check ("archive_command ... must contain pgbackrest") meanwhile.
        on_leader.emplace_back(
            wait(sql_true("select current_setting('archive_command') = " +
                          sql_literal(pgbackrest_archive_command(b.inv))),
                 "PostgreSQL archives through pgBackRest (Patroni applied its configuration)",
                 seconds(60)));
        on_leader.emplace_back(std::move(*check));
    }
    plan.add_step(Stage::verify, "cluster checks")
        .hosts.push_back({b.primary.name, std::move(on_leader)});
}

}  // namespace

HostActions haproxy_host_actions(const Inventory& inv, const Secrets& secrets,
                                 const HostSpec& primary, const HostSpec& lb) {
    const std::string config = debian_paths(inv).haproxy_config;
    HostActions ha{lb.name, {}};
    add_files(ha.actions, stage_files(inv, lb, primary, secrets, Stage::haproxy));
    auto check =
        plan_command({"haproxy", "-c", "-q", "-f", config}, "haproxy -c accepts the configuration");
    check.check_only = true;
    ha.actions.emplace_back(check);
    ha.actions.emplace_back(plan_command({"systemctl", "enable", "--quiet", "haproxy"},
                                         "enable haproxy",
                                         Argv{"systemctl", "is-enabled", "--quiet", "haproxy"}));
    auto units = plan_command({"systemctl", "daemon-reload"}, "reload systemd's units");
    units.when_changed = {k_haproxy_dropin};
    ha.actions.emplace_back(units);
    auto reload = plan_command({k_haproxy_reload_script},
                               "reload haproxy, keeping the servers' check states");
    reload.when_changed = {config};
    ha.actions.emplace_back(reload);
    ha.actions.emplace_back(plan_command({"systemctl", "start", "haproxy"}, "start haproxy",
                                         Argv{"systemctl", "is-active", "--quiet", "haproxy"}));
    // After a reload every server counts as UP until its checks fail: writes may reach a
    // replica for seconds. Judged on this HAProxy's statistics page against Patroni's leader.
    ha.actions.emplace_back(WaitForCluster{
        .absent = {"patroni_unreachable", "haproxy_unreachable", "haproxy_write_not_leader"},
        .member = lb.name,
        .description = "only the leader UP behind the write port",
        .timeout = seconds(60)});
    return ha;
}

Plan plan_bootstrap(const Inventory& inv, const FactsMap& facts, const Secrets& secrets,
                    const std::string& primary_name) {
    const BootstrapInputs b = bootstrap_inputs(inv, facts, secrets, primary_name);
    Plan plan;
    plan_packages(plan, b);
    plan_certificates(plan, b);
    plan_etcd(plan, b);
    plan_replication(plan, b);
    plan_backup(plan, inv, b.primary, secrets);
    plan_patroni(plan, b);
    plan_haproxy(plan, b);
    plan_guard(plan, inv, secrets);
    plan_monitoring(plan, inv, b.primary, secrets);
    plan_verify(plan, b);
    return plan;
}

}  // namespace pgdr::pg
