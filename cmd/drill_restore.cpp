// pgdr drill --restore [--to TIME] (issue 14, man/pgdr-drill.1): the restore drill's wiring. The
// steps are drills::run_restore_drill's; here the real seams are built: the write port over
// libpq (markers, the primary's clock), the leader's SQL (pg_stat_archiver, pg_switch_wal), its
// pgBackRest `info`, a scratch host from the provider through the ScratchHosts seam (the lab: a
// temporary lab host; OVH: a temporary instance on the cluster's network), reached over SSH as
// the members are, pg::prepare_scratch_host and pg::run_restore onto it.
#include "cmd/drill_restore.hpp"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cmd/wiring.hpp"
#include "core/interrupt.hpp"
#include "core/local_transport.hpp"
#include "core/state.hpp"
#include "drills/restore_markers.hpp"
#include "drills/restore_report.hpp"
#include "drills/topology.hpp"
#include "lab/lab.hpp"
#include "net/ssh_transport.hpp"
#include "ovh/scratch_instance.hpp"
#include "pg/backup.hpp"
#include "pg/restore_scratch.hpp"
#include "pg/secrets.hpp"

namespace pgdr::cmd {

namespace {

void check_options(const RestoreDrillCmdOptions& o) {
    if (o.to && !drills::parse_target_time(*o.to)) {
        throw usage_error("--to " + *o.to + ": not a time with a zone",
                          "e.g. --to 2026-12-05T16:20:00Z or --to '2026-12-05 17:20:00+01:00'");
    }
    for (const auto& path : o.reports) {
        const auto f = drills::report_format_for_path(path);
        if (!f || *f == drills::ReportFormat::svg) {
            throw usage_error("--report " + path + ": not a restore drill report type",
                              "use .md, .json, .xml (JUnit) or .txt");
        }
    }
}

void check_provider(const Inventory& inv) {
    if (inv.provider == ProviderKind::ovh) {
        return;  // a temporary instance through the OVH API (credentials checked when wired)
    }
    if (inv.provider != ProviderKind::lab || inv.lab.dir.empty()) {
        throw usage_error(
            "pgdr drill --restore needs a scratch host from the provider: the lab (provider "
            "type lab with lab.dir) or OVH (provider type ovh)",
            "restore onto a host of your own instead: pgdr restore --to TIME --target HOST");
    }
    if (::geteuid() != 0) {
        throw usage_error(
            "pgdr drill --restore on the lab makes a temporary lab host: it needs root",
            "run it as root, e.g. with sudo");
    }
}

// Removes a file when made and when destroyed.
struct ForgetFile {
    explicit ForgetFile(std::string p) : path(std::move(p)) { forget(); }
    ~ForgetFile() { forget(); }
    ForgetFile(const ForgetFile&) = delete;
    ForgetFile& operator=(const ForgetFile&) = delete;
    void forget() const {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }
    std::string path;
};

// The scratch host's owned parts: the machine (removed by its guard) and the SSH session to it
// (closed first).
struct OwnedScratch {
    std::unique_ptr<ScratchMachineGuard> guard;
    std::unique_ptr<Transport> transport;
};

// The inventory with the scratch host added (no services), so that pg::run_restore finds it;
// its SSH settings are the cluster's first host's (user, key, bastion) with the machine's
// address and known_hosts file; a lab host is reached directly on the lab bridge.
Inventory with_scratch(const Inventory& inv, const ScratchMachine& m,
                       const std::string& known_hosts) {
    Inventory out = inv;
    HostSpec h;
    h.name = m.name;
    h.address = m.address;
    h.ssh = inv.hosts.front().ssh;
    h.ssh.known_hosts = known_hosts;
    h.ssh.address = m.public_address == m.address ? std::string() : m.public_address;
    if (!m.reach_like_members) {
        h.ssh.jump_host.clear();
    }
    out.hosts.push_back(h);
    return out;
}

struct Wiring {
    Wiring(Context& c, const Inventory& i) : ctx(c), inv(i) {}
    Context& ctx;
    const Inventory& inv;
    pg::Secrets secrets;
    drills::ProbeCredentials probe;
    std::unique_ptr<ClusterWiring> cluster;
    HostTransports hosts;
    std::string leader;
    SystemClock clock;
    LocalTransport local;
    std::unique_ptr<lab::Lab> lab;
    std::unique_ptr<OvhWiring> ovh;
    std::unique_ptr<ScratchHosts> scratch_hosts;
    // A fresh instance's host key is recorded here on first use (its own file, removed after
    // the drill, so the user's known_hosts keeps no key of an address OVH hands out again).
    std::string scratch_known_hosts;
    std::shared_ptr<Inventory> scratch_inv;
};

// Progress on a terminal, else the log.
void say(Wiring& w, const std::string& m) {
    if (::isatty(STDERR_FILENO) != 0) {
        std::cerr << "pgdr drill: " << w.ctx.log->redact(m) << "\n";
    } else {
        w.ctx.log->info("drill: " + m);
    }
}

pg::ConnParams write_port_params(Wiring& w) {
    const auto topology = drills::drill_topology(w.inv);
    const auto& haproxy = topology.probe_haproxy();
    const Endpoint at = w.cluster->reach->endpoint(haproxy.address, topology.write_port);
    pg::ConnParams p;
    p.host = at.host;
    p.port = at.port;
    p.dbname = w.probe.database;
    p.user = w.probe.user;
    p.password = w.probe.password;
    return p;
}

pg::QueryResult leader_sql(Wiring& w, const std::string& sql) {
    const auto* node = pg::cluster_targets(w.inv).postgres_node(w.leader);
    if (node == nullptr) {
        throw Error(ExitCode::internal, "the leader " + w.leader + " is not in the inventory");
    }
    auto r =
        w.cluster->sql(w.cluster->reach->inside(node->address, pg::cluster_targets(w.inv).pg_port),
                       sql, std::chrono::seconds(10));
    if (!r.ok) {
        throw Error(ExitCode::postgres, "on the leader " + w.leader + ": " + r.error.describe());
    }
    return r;
}

// An SSH session to the machine the way pgdr reaches the members (ssh_target: public address,
// the inventory's bastion); a key not known yet is accepted on first use, into its own file.
std::unique_ptr<Transport> scratch_transport(Wiring& w, const ScratchMachine& m,
                                             const HostSpec& host) {
    if (!w.inv.hosts.front().ssh.jump_host.empty()) {
        // The bastion's session is shared and checks the bastion's key in the members' file:
        // open it with a member's settings, not with the scratch host's own known_hosts.
        ssh_target(w.ctx, w.inv.hosts.front());
    }
    auto target = ssh_target(w.ctx, host);
    target.accept_new_host_keys = target.accept_new_host_keys || m.known_hosts.empty();
    return std::make_unique<net::SshTransport>(target, *w.ctx.log);
}

std::string scratch_known_hosts_of(const Wiring& w, const ScratchMachine& m) {
    return m.known_hosts.empty() ? w.scratch_known_hosts : m.known_hosts;
}

// True when the machine answers SSH and its first boot is over (cloud-init, which may hold
// apt's lock, has finished where there is one).
bool scratch_answers(Wiring& w, const ScratchMachine& m) {
    const auto inv = with_scratch(w.inv, m, scratch_known_hosts_of(w, m));
    RunOptions o;
    o.timeout = std::chrono::minutes(5);
    try {
        auto t = scratch_transport(w, m, inv.hosts.back());
        return t
            ->run({"sh", "-c",
                   "command -v cloud-init >/dev/null 2>&1 || exit 0; "
                   "cloud-init status --wait >/dev/null 2>&1; exit 0"},
                  o)
            .ok();
    } catch (const std::exception&) {
        return false;  // not reachable yet
    }
}

// The provider's implementation of the seam: the only place that tells the lab from OVH.
std::unique_ptr<ScratchHosts> scratch_hosts_of(Wiring& w) {
    if (w.inv.provider == ProviderKind::lab) {
        w.lab = std::make_unique<lab::Lab>(
            lab::LabPaths(w.inv.lab.dir), w.local, *w.ctx.log,
            [&w](const std::string& m) { w.ctx.log->info("drill: lab: " + m); });
        return std::make_unique<lab::LabScratchHosts>(*w.lab);
    }
    w.ovh = std::make_unique<OvhWiring>(w.ctx, w.inv.ovh.endpoint, w.inv.ovh.project_id);
    ovh::ScratchInstanceOptions o;
    o.ssh_ready = [&w](const ScratchMachine& m) { return scratch_answers(w, m); };
    o.interrupted = &InterruptGuard::flag();
    o.progress = [&w](const std::string& m) { say(w, m); };
    return std::make_unique<ovh::OvhScratchInstances>(
        *w.ovh->api,
        ovh::scratch_instance_spec(w.inv, load_state(w.inv.paths.state_dir), w.clock.wall_now()),
        o);
}

std::unique_ptr<drills::ScratchHost> make_scratch(Wiring& w) {
    auto owned = std::make_shared<OwnedScratch>();
    const auto machine = w.scratch_hosts->create();
    owned->guard = std::make_unique<ScratchMachineGuard>(*w.scratch_hosts, machine, *w.ctx.log);
    w.scratch_inv = std::make_shared<Inventory>(
        with_scratch(w.inv, machine, scratch_known_hosts_of(w, machine)));
    owned->transport = scratch_transport(w, machine, w.scratch_inv->hosts.back());
    auto& transport = *owned->transport;
    return std::make_unique<drills::ScratchHost>(machine, transport, [owned] {
        owned->transport.reset();
        owned->guard->remove();
    });
}

drills::RestoreDrillSeams seams_of(Wiring& w, drills::WritePortSession& main_session,
                                   std::shared_ptr<drills::WritePortSession> writer_session) {
    drills::RestoreDrillSeams s{w.clock, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, nullptr};
    s.prepare_markers = [&main_session] { main_session.prepare_markers(); };
    s.insert_marker = [writer_session](const std::string& run, std::int64_t id) {
        return writer_session->insert_marker(run, id);
    };
    s.server_now_us = [&main_session] { return main_session.server_now_us(); };
    s.archiver = [&w] {
        pg::ArchiverState a;
        if (!pg::parse_archiver(leader_sql(w, pg::k_archiver_sql), a)) {
            throw Error(ExitCode::postgres,
                        "pg_stat_archiver on " + w.leader + ": unexpected answer");
        }
        return a;
    };
    s.switch_wal = [&w] {
        return leader_sql(w, "SELECT pg_walfile_name(pg_switch_wal())").value(0, 0).value_or("");
    };
    s.backup_info = [&w] { return pg::read_backup_info(w.inv, *w.hosts.by_name.at(w.leader)); };
    s.create_scratch = [&w] { return make_scratch(w); };
    s.prepare_scratch = [&w](drills::ScratchHost& scratch) {
        pg::prepare_scratch_host(*w.scratch_inv, scratch.transport(), w.secrets,
                                 [&w](const std::string& m) { w.ctx.log->info("drill: " + m); });
    };
    s.restore = [&w](Transport& t, const pg::RestoreRequest& req) {
        return pg::run_restore(*w.scratch_inv, t, req, w.clock,
                               [&w](const std::string& m) { w.ctx.log->info("drill: " + m); });
    };
    s.progress = [&w](const std::string& m) { say(w, m); };
    s.interrupted = &InterruptGuard::flag();
    return s;
}

int report(Context& ctx, const RestoreDrillCmdOptions& o, const drills::RestoreDrillReport& r,
           bool interrupted) {
    for (const auto& path : o.reports) {
        drills::write_restore_report(path, r);
    }
    std::cout << (ctx.json() ? drills::render_restore_json(r) : drills::render_restore_text(r));
    if (interrupted) {
        std::cerr << "pgdr: restore drill interrupted; the scratch host was "
                  << (r.restored ? "removed" : "NOT removed (the report's errors say how to)")
                  << "\n";
        return static_cast<int>(ExitCode::interrupted);
    }
    return static_cast<int>(drills::exit_code(r));
}

}  // namespace

int restore_drill(Context& ctx, const RestoreDrillCmdOptions& o) {
    check_options(o);
    check_provider(ctx.inventory());  // before anything, also before provisioning
    const Inventory inv = resolved_inventory(ctx);
    pg::require_backup(inv);
    Wiring w(ctx, inv);
    w.secrets.backup = pg::load_backup_secrets(inv);
    pg::load_restore_client(inv, w.secrets);
    pg::register_secrets(w.secrets, *ctx.log);
    auto probe_password = read_secret(inv.paths.state_dir, pg::k_probe_secret);
    if (!probe_password || probe_password->empty()) {
        throw config_error("no secret " + std::string(pg::k_probe_secret) + " in " +
                               inv.paths.state_dir + "/secrets",
                           "run `pgdr bootstrap` first: it creates the cluster's secrets");
    }
    ctx.log->add_secret(*probe_password);
    w.probe = {pg::k_probe_user, *probe_password, pg::k_probe_database};
    w.cluster = std::make_unique<ClusterWiring>(ctx, inv);
    w.hosts = connect_hosts(ctx, inv);
    InterruptGuard guard;
    auto cluster_lock = take_cluster_lock(ctx, inv, o.break_lock);
    w.leader = pg::take_snapshot(pg::cluster_targets(inv), w.cluster->access()).leader;
    if (w.leader.empty()) {
        throw Error(ExitCode::verification_failed, "the cluster has no single leader",
                    "`pgdr status` says why; a restore drill needs a writable primary");
    }
    w.scratch_hosts = scratch_hosts_of(w);
    w.scratch_known_hosts = inv.paths.state_dir + "/restore-drill-known_hosts";
    const ForgetFile forget_key{w.scratch_known_hosts};  // now (a previous drill's) and after
    drills::WritePortSession main_session(write_port_params(w));
    auto writer_session = std::make_shared<drills::WritePortSession>(write_port_params(w));
    drills::RestoreDrillOptions ro;
    ro.cluster = inv.cluster;
    ro.provider = inv.provider == ProviderKind::ovh ? "ovh" : "lab";
    ro.to = o.to;
    if (o.max_rto_s >= 0) {
        ro.objectives.max_rto_ms = static_cast<drills::Millis>(o.max_rto_s * 1000);
    }
    ro.baseline = std::chrono::milliseconds(static_cast<long long>(o.baseline_s * 1000));
    bool interrupted = false;
    const auto r =
        drills::run_restore_drill(seams_of(w, main_session, writer_session), ro, &interrupted);
    return report(ctx, o, r, interrupted);
}

}  // namespace pgdr::cmd
