// pgdr drill --restore [--to TIME] (issue 14, man/pgdr-drill.1): the restore drill's wiring. The
// steps are drills::run_restore_drill's; here the real seams are built: the write port over
// libpq (markers, the primary's clock), the leader's SQL (pg_stat_archiver, pg_switch_wal), its
// pgBackRest `info`, a scratch host from the provider (the lab: a temporary lab host; OVH: not
// yet), pg::prepare_scratch_host and pg::run_restore onto it.
#include "cmd/drill_restore.hpp"

#include <unistd.h>

#include <iostream>

#include "cmd/wiring.hpp"
#include "core/interrupt.hpp"
#include "core/local_transport.hpp"
#include "core/state.hpp"
#include "drills/restore_markers.hpp"
#include "drills/restore_report.hpp"
#include "drills/topology.hpp"
#include "lab/lab.hpp"
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
        throw usage_error(
            "pgdr drill --restore is not yet supported on OVH (it needs a temporary instance)",
            "restore onto a host of your own instead: pgdr restore --to TIME --target HOST");
    }
    if (inv.provider != ProviderKind::lab || inv.lab.dir.empty()) {
        throw usage_error(
            "pgdr drill --restore needs a scratch host from the provider: the lab "
            "(provider type lab with lab.dir) for now");
    }
    if (::geteuid() != 0) {
        throw usage_error(
            "pgdr drill --restore on the lab makes a temporary lab host: it needs root",
            "run it as root, e.g. with sudo");
    }
}

// The scratch host's owned parts: the lab host (removed by its guard) and the SSH session to it
// (closed first).
struct LabScratch {
    std::unique_ptr<lab::ScratchHostGuard> guard;
    std::unique_ptr<Transport> transport;
};

// The inventory with the scratch host added (no services), so that pg::run_restore finds it; its
// SSH settings are the cluster's first host's with the scratch host's own known_hosts.
Inventory with_scratch(const Inventory& inv, const lab::ScratchHostInfo& info) {
    Inventory out = inv;
    HostSpec h;
    h.name = info.name;
    h.address = info.address;
    h.ssh = inv.hosts.front().ssh;
    h.ssh.known_hosts = info.known_hosts;
    h.ssh.address.clear();
    h.ssh.jump_host.clear();
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
    std::shared_ptr<Inventory> scratch_inv;
};

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

std::unique_ptr<drills::ScratchHost> make_lab_scratch(Wiring& w) {
    auto owned = std::make_shared<LabScratch>();
    auto info = w.lab->create_scratch_host();
    owned->guard = std::make_unique<lab::ScratchHostGuard>(*w.lab, info, *w.ctx.log);
    w.scratch_inv = std::make_shared<Inventory>(with_scratch(w.inv, info));
    owned->transport = ssh_transport(w.ctx, w.scratch_inv->hosts.back());
    pg::prepare_scratch_host(*w.scratch_inv, *owned->transport, w.secrets,
                             [&w](const std::string& m) { w.ctx.log->info("drill: " + m); });
    auto& transport = *owned->transport;
    return std::make_unique<drills::ScratchHost>(info.name, info.address, transport, [owned] {
        owned->transport.reset();
        owned->guard->remove();
    });
}

drills::RestoreDrillSeams seams_of(Wiring& w, drills::WritePortSession& main_session,
                                   std::shared_ptr<drills::WritePortSession> writer_session) {
    drills::RestoreDrillSeams s{w.clock, {}, {}, {}, {}, {}, {}, {}, {}, {}, nullptr};
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
    s.create_scratch = [&w] { return make_lab_scratch(w); };
    s.restore = [&w](Transport& t, const pg::RestoreRequest& req) {
        return pg::run_restore(*w.scratch_inv, t, req, w.clock,
                               [&w](const std::string& m) { w.ctx.log->info("drill: " + m); });
    };
    s.progress = [&w](const std::string& m) {
        if (::isatty(STDERR_FILENO) != 0) {
            std::cerr << "pgdr drill: " << w.ctx.log->redact(m) << "\n";
        } else {
            w.ctx.log->info("drill: " + m);
        }
    };
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
                  << (r.restored ? "removed" : "NOT removed (`pgdr lab down` removes it)") << "\n";
        return static_cast<int>(ExitCode::interrupted);
    }
    return static_cast<int>(drills::exit_code(r));
}

}  // namespace

int restore_drill(Context& ctx, const RestoreDrillCmdOptions& o) {
    check_options(o);
    check_provider(ctx.inventory());  // OVH: exit 2 before anything, also before provisioning
    const Inventory inv = resolved_inventory(ctx);
    pg::require_backup(inv);
    Wiring w(ctx, inv);
    w.secrets.backup = pg::load_backup_secrets(inv);
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
    w.lab =
        std::make_unique<lab::Lab>(lab::LabPaths(inv.lab.dir), w.local, *ctx.log,
                                   [&ctx](const std::string& m) { ctx.log->info("lab: " + m); });
    drills::WritePortSession main_session(write_port_params(w));
    auto writer_session = std::make_shared<drills::WritePortSession>(write_port_params(w));
    drills::RestoreDrillOptions ro;
    ro.cluster = inv.cluster;
    ro.provider = "lab";
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
