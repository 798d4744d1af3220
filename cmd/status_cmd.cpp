// pgdr status and pgdr psql: the operator's view of a running cluster and a prompt on it.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <iostream>
#include <optional>
#include <thread>

#include "cmd/context.hpp"
#include "cmd/guard_cmd.hpp"
#include "cmd/table.hpp"
#include "cmd/wiring.hpp"
#include "core/files.hpp"
#include "drills/fault_journal.hpp"
#include "guard/status.hpp"
#include "monitoring/alerts.hpp"
#include "pg/dr_link.hpp"
#include "pg/pgpass.hpp"
#include "pg/secrets.hpp"
#include "pg/status.hpp"

namespace pgdr::cmd {

namespace {

struct StatusOptions {
    int watch_s = 0;
};

void print_status(const Inventory& inv, const pg::ClusterStatus& st) {
    const auto& s = st.snapshot;
    std::cout << "cluster " << inv.cluster << ": leader " << pg::leader_text(s) << "\n\n";
    Table t({"MEMBER", "HOST", "ROLE", "STATE", "TL", "REPLAY LSN", "LAG", "REPLICATION"});
    for (const auto& m : s.members) {
        const bool leader = m.is_leader();
        const auto* r = s.replication_of(m.name);
        t.add({m.name, m.host, m.role_text, m.state, m.timeline ? std::to_string(*m.timeline) : "-",
               leader ? "-" : (r == nullptr || r->replay_lsn.empty() ? "?" : r->replay_lsn),
               leader ? "-" : (m.lag_bytes ? std::to_string(*m.lag_bytes) + " B" : "?"),
               leader ? "-"
                      : (r == nullptr ? "NOT STREAMING" : r->state + " (" + r->sync_state + ")")});
    }
    t.print(std::cout);
    std::cout << "\netcd:";
    for (const auto& e : s.etcd) {
        std::cout << "  " << e.endpoint << " " << (e.healthy ? "healthy" : "UNHEALTHY");
    }
    std::cout << "\n";
    for (const auto& h : s.haproxy) {
        std::map<std::string, std::string> backends;
        for (const auto& row : h.servers) {
            auto& cell = backends[row.backend];
            cell += (cell.empty() ? "" : ", ") + row.server + " " + row.status;
        }
        std::cout << "haproxy " << h.name << ":";
        for (const auto& [backend, servers] : backends) {
            std::cout << "  " << (backend == pg::k_write_backend ? "write" : "read") << " ["
                      << servers << "]";
        }
        std::cout << "\n";
    }
    if (st.healthy()) {
        std::cout << "\nhealthy\n";
    } else {
        const auto problems = st.problems();
        std::cout << "\n" << problems.size() << " problem(s):\n";
        for (const auto& p : problems) {
            std::cout << "  - " << p << "\n";
        }
    }
}

// The DR cluster of a pair (the inventory's `dr` section): its own snapshot and assessment, and
// the link between the two read on the primary's leader (pg/dr_link.hpp).
struct DrView {
    Inventory inv;
    ClusterWiring wiring;
    DrView(Context& ctx, const Inventory& primary) : inv(dr_inventory(primary)), wiring(ctx, inv) {}
};

struct DrState {
    pg::ClusterStatus status;
    pg::DrLink link;
    // Healthy: the DR cluster passes its own checks and streams through the slot.
    bool healthy() const { return status.healthy() && link.streaming(); }
};

DrState collect_dr(const Inventory& primary, const pg::ClusterStatus& ps, DrView& dr,
                   ClusterWiring& primary_wiring) {
    DrState out;
    out.status = pg::collect_status(dr.inv, dr.wiring.access());
    if (ps.leader().empty()) {
        out.link.slot = primary.dr->slot;
        out.link.error = "the primary cluster has no leader";
    } else {
        out.link = pg::read_dr_link(pg::cluster_targets(primary), primary_wiring.access(),
                                    ps.leader(), primary.dr->slot);
    }
    return out;
}

void print_dr(const DrView& dr, const DrState& st) {
    std::cout << "\n";
    print_status(dr.inv, st.status);
    std::cout << "DR link (" << dr.inv.standby_of->cluster << " -> " << dr.inv.cluster
              << "): " << pg::dr_link_text(st.link) << "\n";
}

int status(Context& ctx, const StatusOptions& o) {
    auto inv = resolved_inventory(ctx);
    ClusterWiring cluster(ctx, inv);
    std::unique_ptr<DrView> dr;
    if (inv.dr) {
        dr = std::make_unique<DrView>(ctx, inv);
    }
    // The fault journal's copies on the members (drills/fault_journal.hpp) are read over SSH.
    HostTransports hosts = connect_hosts(ctx, inv);
    for (;;) {
        auto s = pg::collect_status(inv, cluster.access());
        // pgdr-guard's readiness and decision log (informational: the exit status is the
        // cluster's; `pgdr guard status` exits 1 when an agent is missing).
        const auto guard = guard_summary(inv, hosts.by_name);
        std::optional<DrState> drs;
        if (dr) {
            drs = collect_dr(inv, s, *dr, cluster);
        }
        if (ctx.json()) {
            auto j = pg::status_to_json(s);
            j["guard"] = guard;
            if (drs) {
                j["dr"] = pg::status_to_json(drs->status);
                j["dr"]["cluster"] = dr->inv.cluster;
                j["dr"]["link"] = pg::dr_link_to_json(drs->link);
            }
            std::cout << j.dump(2) << std::endl;
        } else {
            if (o.watch_s > 0 && ::isatty(STDOUT_FILENO) != 0) {
                std::cout << "\033[H\033[2J";
            }
            print_status(inv, s);
            if (drs) {
                print_dr(*dr, *drs);
            }
            if (guard.is_object()) {
                std::cout << "\n"
                          << (guard.contains("error") ? "guard: cannot read its records: " +
                                                            guard["error"].get<std::string>() + "\n"
                                                      : guard::render_summary(guard));
            }
            std::cout.flush();
        }
        // A fault an interrupted drill left in place (drills/fault_journal.hpp): the cluster is
        // not as pgdr left it, whatever Patroni says.
        std::string fault;
        try {
            fault = left_fault_notice(ctx, inv, hosts.by_name);
        } catch (const Error& e) {
            fault = e.what();
        }
        if (!fault.empty()) {
            std::cerr << "pgdr: " << ctx.log->redact(fault) << "\n";
        }
        if (o.watch_s <= 0) {
            return s.healthy() && (!drs || drs->healthy()) && fault.empty()
                       ? 0
                       : static_cast<int>(ExitCode::verification_failed);
        }
        std::this_thread::sleep_for(std::chrono::seconds(o.watch_s));
    }
}

struct PsqlOptions {
    std::string target = "write";
    std::string user = "postgres";
    std::vector<std::string> args;
};

// The member the superuser lands on for `--target write|read`: pg_hba admits the superuser only
// from loopback and the members, so it never goes through a HAProxy host (which may be no
// member); the leader for write, a running replica (else the leader) for read, per Patroni.
const HostSpec& superuser_member(ClusterWiring& wiring, const Inventory& inv,
                                 const std::string& target) {
    pg::SnapshotOptions so;
    so.replication = false;
    so.etcd = false;
    so.haproxy = false;
    const auto snap = pg::take_snapshot(pg::cluster_targets(inv), wiring.access(), so);
    std::string name = snap.leader;
    if (target == "read") {
        for (const auto& m : snap.members) {
            if (!m.is_leader() && m.running()) {
                name = m.name;
                break;
            }
        }
    }
    const HostSpec* h = name.empty() ? nullptr : inv.find_host(name);
    if (h == nullptr) {
        throw Error(ExitCode::verification_failed,
                    "no member to connect to as " + std::string(pg::k_superuser) + " (" + target +
                        "): the cluster has no leader now" +
                        (snap.patroni_error.empty() ? "" : " (" + snap.patroni_error + ")"),
                    "`pgdr status` shows the members; `--target HOST` picks one");
    }
    return *h;
}

int psql(Context& ctx, const PsqlOptions& o) {
    auto inv = resolved_inventory(ctx);
    const bool superuser = o.user == pg::k_superuser;
    if (!superuser && o.user != pg::k_probe_user) {
        throw usage_error("pgdr knows the passwords of postgres and pgdr_probe only");
    }
    // One reach (its SSH sessions) for finding the member and for psql's connection.
    ClusterWiring wiring(ctx, inv);
    std::string host;
    int port = 0;
    bool member = false;  // a PostgreSQL member itself (not HAProxy)
    if ((o.target == "write" || o.target == "read") && !superuser) {
        host = inv.hosts_with(Service::haproxy).front()->address;
        port = o.target == "write" ? inv.haproxy.write_port : inv.haproxy.read_port;
    } else if (o.target == "write" || o.target == "read") {
        host = superuser_member(wiring, inv, o.target).address;
        member = true;
    } else if (const auto* h = inv.find_host(o.target);
               h != nullptr && h->runs(Service::postgres)) {
        host = h->address;
        member = true;
    } else {
        throw usage_error("unknown target '" + o.target + "'",
                          "use write, read or the name of a postgres host");
    }
    if (member) {
        port = 5432;
    }
    auto secrets = pg::load_secrets(inv.paths.state_dir);
    const std::string password = superuser ? secrets.superuser_password : secrets.probe_password;
    const std::string database = superuser ? "postgres" : pg::k_probe_database;
    // The port directly, or a local port forwarded over SSH from inside the network (from a
    // member for the superuser, whom pg_hba admits from the members only).
    auto& reach = *wiring.reach;
    const Endpoint via = superuser ? reach.inside(host, port) : reach.endpoint(host, port);
    const bool forwarded = via.host != host || via.port != port;
    // The password reaches psql through a 0600 passfile in the state directory, never argv.
    const std::string passfile = inv.paths.state_dir + "/psql.pgpass";
    write_file_atomic(passfile,
                      pg::render_pgpass({{host, std::to_string(via.port), "*", o.user, password}}),
                      0600);
    ::setenv("PGPASSFILE", passfile.c_str(), 1);
    // host names the server (for the passfile and certificate checks), hostaddr is where the
    // connection goes; only addresses and fixed names here, nothing to quote.
    std::string conninfo = "host=" + host + " port=" + std::to_string(via.port) +
                           " user=" + o.user + " dbname=" + database;
    if (forwarded) {
        conninfo += " hostaddr=" + via.host;
    }
    std::vector<std::string> argv{"psql", "-d", conninfo};
    argv.insert(argv.end(), o.args.begin(), o.args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) {
        cargv.push_back(a.data());
    }
    cargv.push_back(nullptr);
    std::cout.flush();
    if (!forwarded) {
        ::execvp("psql", cargv.data());
        throw Error(ExitCode::internal, "cannot run psql", "install postgresql-client");
    }
    // The forwarder lives in this process: psql runs as a child, and Ctrl-C is psql's.
    const pid_t child = ::fork();
    if (child < 0) {
        throw Error(ExitCode::internal, "cannot fork to run psql");
    }
    if (child == 0) {
        ::execvp("psql", cargv.data());
        std::cerr << "pgdr: cannot run psql: install postgresql-client\n";
        ::_exit(127);
    }
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGQUIT, SIG_IGN);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// Prometheus' scrape targets; exit 0 when every one is up.
int targets(Context& ctx, const Inventory& inv, ClusterReach& reach, HttpClient& http) {
    const auto list = monitoring::fetch_targets(inv, reach, http);
    int down = 0;
    Table t({"JOB", "INSTANCE", "HEALTH", "URL", "LAST ERROR"});
    for (const auto& target : list) {
        down += target.health == "up" ? 0 : 1;
        t.add({target.job, target.instance, target.health, target.url,
               target.last_error.empty() ? "-" : target.last_error});
    }
    if (ctx.json()) {
        std::cout << monitoring::targets_to_json(list).dump(2) << std::endl;
    } else {
        t.print(std::cout);
        std::cout << "\n"
                  << list.size() - down << " of " << list.size() << " targets up" << std::endl;
    }
    return down == 0 && !list.empty() ? 0 : static_cast<int>(ExitCode::verification_failed);
}

// What Alertmanager says is firing for this cluster; exit 0 when nothing is.
int alerts(Context& ctx, bool scrape_targets) {
    auto inv = resolved_inventory(ctx);
    auto reach = cluster_reach(ctx, inv);
    net::CurlHttpClient http;
    if (scrape_targets) {
        return targets(ctx, inv, *reach, http);
    }
    const auto list = monitoring::fetch_alerts(inv, *reach, http);
    if (ctx.json()) {
        std::cout << monitoring::alerts_to_json(list).dump(2) << std::endl;
    } else if (list.empty()) {
        std::cout << "cluster " << inv.cluster << ": no alert is firing\n";
    } else {
        Table t({"ALERT", "SEVERITY", "INSTANCE", "SINCE", "STATE", "SUMMARY"});
        for (const auto& a : list) {
            t.add({a.name, a.severity, a.instance.empty() ? "-" : a.instance, a.starts_at, a.state,
                   a.summary});
        }
        t.print(std::cout);
    }
    return list.empty() ? 0 : static_cast<int>(ExitCode::verification_failed);
}

}  // namespace

void register_status_commands(CLI::App& app, Context& ctx) {
    auto so = std::make_shared<StatusOptions>();
    auto* st = app.add_subcommand(
        "status", "Members, roles, timelines, lag, etcd health and HAProxy routing");
    st->add_option("--watch", so->watch_s, "Refresh every N seconds")->check(CLI::Range(1, 3600));
    st->callback([&ctx, so] { ctx.action = [&ctx, so] { return status(ctx, *so); }; });

    auto po = std::make_shared<PsqlOptions>();
    auto* ps = app.add_subcommand("psql", "psql on the cluster with pgdr's generated credentials");
    ps->add_option("--target", po->target,
                   "write (HAProxy write port), read (read port) or a member's name");
    ps->add_option("--user", po->user, "postgres (default) or pgdr_probe")
        ->check(CLI::IsMember({"postgres", "pgdr_probe"}));
    ps->add_option("args", po->args, "Arguments for psql (after --)");
    ps->callback([&ctx, po] { ctx.action = [&ctx, po] { return psql(ctx, *po); }; });

    auto* al = app.add_subcommand(
        "alerts", "What Alertmanager on the monitor hosts says is firing (exit 7 when any is)");
    auto scrape_targets = std::make_shared<bool>(false);
    al->add_flag("--targets", *scrape_targets,
                 "Prometheus' scrape targets instead, and whether each is up (exit 7 when one "
                 "is down)");
    al->callback([&ctx, scrape_targets] {
        ctx.action = [&ctx, scrape_targets] { return alerts(ctx, *scrape_targets); };
    });
}

}  // namespace pgdr::cmd
