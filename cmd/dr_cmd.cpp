// pgdr dr promote: the DR cluster of a pair (the inventory's `dr` section) becomes the primary
// (man/pgdr-dr.1). Options, confirmation and wiring; the steps are pg::run_dr_promote's.
#include "cmd/dr_cmd.hpp"

#include <unistd.h>

#include <ctime>
#include <iostream>

#include "cmd/context.hpp"
#include "cmd/wiring.hpp"
#include "core/duration.hpp"
#include "core/state.hpp"
#include "core/strings.hpp"
#include "pg/cluster_restore.hpp"
#include "pg/debian_paths.hpp"
#include "pg/dr_promote.hpp"
#include "pg/etcdctl.hpp"
#include "pg/libpq.hpp"
#include "pg/secrets.hpp"

namespace pgdr::cmd {

std::string required_secret(const Inventory& inv, const char* name, Context& ctx) {
    auto value = read_secret(inv.paths.state_dir, name);
    if (!value || value->empty()) {
        throw config_error(
            "no secret " + std::string(name) + " in " + inv.paths.state_dir + "/secrets",
            "run `pgdr bootstrap` first: it creates the cluster's secrets");
    }
    ctx.log->add_secret(*value);
    return *value;
}

namespace {

struct DrOptions {
    bool yes = false;
    bool dry_run = false;
    bool force = false;
    std::string timeout = "120s";
    std::string catch_up = "30s";
};

void record_promotion(const Inventory& pair, const pg::DrPromoteResult& r) {
    auto state = load_state(pair.paths.state_dir);
    state.provider[k_dr_state_key] = {{"primary", r.dr_cluster},
                                      {"promoted_at", format_utc(std::chrono::system_clock::now())},
                                      {"old_primary", r.primary_cluster},
                                      {"fenced", r.fenced},
                                      {"not_fenced", r.not_fenced}};
    save_state(pair.paths.state_dir, state);
}

}  // namespace

namespace {

// Progress on the terminal when there is one, else in the log.
std::function<void(const std::string&)> progress_to(Context& ctx, const std::string& what) {
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    return [&ctx, what, tty](const std::string& m) {
        if (tty) {
            std::cerr << "pgdr " << what << ": " << m << "\n";
        } else {
            ctx.log->info(what + ": " + m);
        }
    };
}

// An SSH session of its own to a member of a cluster that may be lost: 3 s to connect (a lost
// region's hosts do not answer).
std::unique_ptr<Transport> member_session(Context& ctx, const HostSpec& member) {
    HostSpec h = member;
    h.ssh.connect_timeout_s = 3;
    return ssh_transport(ctx, h);
}

// Runs argv as root (120 s at most) and returns its output; an Error when it fails.
CommandResult run_as_root(Transport& t, const std::vector<std::string>& argv) {
    RunOptions ro;
    ro.sudo = true;
    ro.timeout = std::chrono::seconds(120);
    return t.run(argv, ro);
}
std::string run_checked(Transport& t, const std::vector<std::string>& argv) {
    const auto r = run_as_root(t, argv);
    if (!r.ok()) {
        throw Error(ExitCode::unreachable, t.host_name() + ": " + argv.front() + " exited with " +
                                               std::to_string(r.exit_status) + ": " + trim(r.err));
    }
    return r.out;
}

// Patroni enabled and started again on a fenced member (a planned switchover's way back).
bool unfence_member(Context& ctx, const Inventory& inv, const HostSpec& member) {
    try {
        run_checked(*member_session(ctx, member), {"systemctl", "enable", "--now", "--quiet",
                                                   pg::debian_paths(inv).patroni_unit});
        return true;
    } catch (const Error& e) {
        ctx.log->warn(std::string("dr switchover: ") + e.what());
        return false;
    }
}

// "20261207T233000Z": the suffix of a data directory set aside.
std::string file_stamp() {
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char out[32];
    std::strftime(out, sizeof out, "%Y%m%dT%H%M%SZ", &tm);
    return out;
}

}  // namespace

// Patroni stopped and disabled on one member of the primary cluster, over an SSH session of its
// own with a short connect timeout (a lost region's hosts do not answer).
pg::FenceOutcome fence_member(Context& ctx, const Inventory& inv, const HostSpec& member,
                              bool clean) {
    pg::FenceOutcome out;
    try {
        const auto r = run_as_root(*member_session(ctx, member), pg::fence_argv(inv, clean));
        out.fenced = r.ok();
        out.detail = r.ok() ? "" : "exit " + std::to_string(r.exit_status) + ": " + trim(r.err);
        out.last_lsn = trim(r.out);
    } catch (const Error& e) {
        out.detail = e.what();
    }
    return out;
}

pg::DrPromoteResult run_promotion(Context& ctx, const Inventory& inv,
                                  const pg::DrPromoteRequest& req,
                                  const std::function<bool(const pg::DrPromoteResult&)>& confirm) {
    if (!inv.dr) {
        throw config_error("the inventory has no dr section: there is no DR cluster to promote",
                           "see pgdr-inventory(5), DR KEYS");
    }
    const Inventory dr = dr_inventory(inv);
    const std::string rest_password = required_secret(inv, pg::k_rest_api_secret, ctx);
    const std::string probe_password = required_secret(inv, pg::k_probe_secret, ctx);
    ClusterWiring primary_wiring(ctx, inv);
    ClusterWiring dr_wiring(ctx, dr);
    const pg::SqlRunner probe =
        pg::libpq_sql(pg::k_probe_user, probe_password, pg::k_probe_database);
    SystemClock clock;
    pg::DrSeams seams{
        inv,
        dr,
        primary_wiring.access(),
        dr_wiring.access(),
        clock,
        pg::k_rest_api_user,
        rest_password,
        [&](const HostSpec& h, bool clean) { return fence_member(ctx, inv, h, clean); },
        [&](const HostSpec& lb) {
            const auto at = dr_wiring.reach->inside(lb.address, dr.haproxy.write_port);
            const auto q = probe(at, "insert into pgdr_verify default values",
                                 std::chrono::milliseconds(2000));
            return q.ok ? std::string() : q.error.describe();
        },
        confirm,
        progress_to(ctx, "dr promote"),
        [&](const HostSpec& h) { return unfence_member(ctx, inv, h); }};
    const auto r = pg::run_dr_promote(seams, req);
    if (r.ok && !r.dry_run) {
        record_promotion(inv, r);
    }
    return r;
}

pg::DrRebuildResult run_rebuild(Context& ctx, const Inventory& inv, const pg::DrRebuildRequest& req,
                                const std::function<bool(const pg::DrRebuildResult&)>& confirm) {
    if (!inv.dr) {
        throw config_error("the inventory has no dr section: there is no DR cluster to rebuild",
                           "see pgdr-inventory(5), DR KEYS");
    }
    const Inventory standby = dr_inventory(inv);
    ClusterWiring primary_wiring(ctx, inv);
    ClusterWiring standby_wiring(ctx, standby);
    auto hosts = connect_hosts(ctx, standby);
    pg::EtcdCtl etcd(standby, hosts.by_name);
    SystemClock clock;
    const std::string stamp = file_stamp();
    pg::DrRebuildSeams seams{
        inv,
        standby,
        primary_wiring.access(),
        standby_wiring.access(),
        clock,
        [&](const HostSpec& h) { return fence_member(ctx, standby, h, true); },
        [&](const HostSpec& h) {
            try {
                const auto out =
                    run_checked(*hosts.by_name.at(h.name), pg::controldata_argv(standby));
                return pg::parse_controldata(h.name, out);
            } catch (const Error& e) {
                pg::MemberData d;
                d.host = h.name;
                d.error = e.what();
                return d;
            }
        },
        [&](const HostSpec& h) {
            return trim(run_checked(*hosts.by_name.at(h.name), pg::set_aside_argv(standby, stamp)));
        },
        [&](const HostSpec& h) {
            run_checked(*hosts.by_name.at(h.name), pg::prepare_keep_argv(standby));
        },
        [&] {
            const auto r = etcd.run({"del", "--prefix", pg::patroni_dcs_prefix(standby)});
            if (!r.ok()) {
                throw Error(ExitCode::unreachable, "etcdctl del: " + trim(r.err));
            }
        },
        [&]() -> std::string {
            nlohmann::json report;
            const int rc = bootstrap_pair(ctx, report);
            return rc == 0 ? "" : "exit " + std::to_string(rc) + " (its log above says why)";
        },
        confirm,
        progress_to(ctx, "dr rebuild")};
    return pg::run_dr_rebuild(seams, req);
}

namespace {

std::chrono::milliseconds timeout_option(const std::string& value, const char* flag) {
    auto d = parse_duration(value);
    if (!d) {
        throw usage_error(std::string(flag) + " " + value + ": not a duration", "e.g. 90s, 5m");
    }
    return *d;
}

void require_confirmation(const DrOptions& o, const std::string& what) {
    if (!o.dry_run && !o.yes && ::isatty(STDIN_FILENO) == 0) {
        throw usage_error("pgdr dr " + what +
                              " changes both clusters and asks for confirmation, but stdin is "
                              "not a terminal",
                          "pass --yes to confirm in advance (or --dry-run to see the plan)");
    }
}

int rebuild(Context& ctx, const DrOptions& o) {
    pg::DrRebuildRequest req;
    req.dry_run = o.dry_run;
    req.timeout = timeout_option(o.timeout, "--timeout");
    require_confirmation(o, "rebuild");
    const Inventory inv = resolved_inventory(ctx);
    const auto r = run_rebuild(ctx, inv, req, [&](const pg::DrRebuildResult& plan) {
        if (o.yes) {
            return true;
        }
        std::cerr << pg::render_dr_rebuild_text(plan);
        return ask_terminal("Stop " + plan.standby_cluster +
                            ", set aside the data that diverged, "
                            "and rebuild it as a standby of " +
                            plan.primary_cluster + "?");
    });
    if (ctx.json()) {
        std::cout << ctx.log->redact(pg::dr_rebuild_to_json(r).dump(2)) << std::endl;
    } else {
        std::cout << ctx.log->redact(pg::render_dr_rebuild_text(r)) << std::flush;
    }
    if (r.ok) {
        return 0;
    }
    return static_cast<int>(r.declined ? ExitCode::usage : ExitCode::verification_failed);
}

// A planned switchover: dr promote with the pair's guarantees (planned), then the old primary
// cluster rebuilt as the standby of the new one (its leader's data kept: it stops before the
// fork).
int switchover(Context& ctx, const DrOptions& o) {
    require_confirmation(o, "switchover");
    pg::DrPromoteRequest req;
    req.planned = true;
    req.dry_run = o.dry_run;
    req.timeout = timeout_option(o.timeout, "--timeout");
    req.catch_up = timeout_option(o.catch_up, "--catch-up");
    const Inventory inv = resolved_inventory(ctx);
    const auto p = run_promotion(ctx, inv, req, [&](const pg::DrPromoteResult& plan) {
        if (o.yes) {
            return true;
        }
        std::cerr << pg::render_dr_promote_text(plan);
        return ask_terminal("Stop writes on " + plan.primary_cluster + " and make " +
                            plan.dr_cluster + " the primary cluster?");
    });
    std::optional<pg::DrRebuildResult> rb;
    if (p.ok && !p.dry_run) {
        pg::DrRebuildRequest rreq;
        rreq.timeout = req.timeout;
        rb = run_rebuild(ctx, resolved_inventory(ctx), rreq, nullptr);
    }
    const bool ok = p.ok && (!rb || rb->ok);
    if (ctx.json()) {
        nlohmann::json j = {{"ok", ok},
                            {"switchover", pg::dr_promote_to_json(p)},
                            {"rebuild", rb ? pg::dr_rebuild_to_json(*rb) : nlohmann::json()}};
        std::cout << ctx.log->redact(j.dump(2)) << std::endl;
    } else {
        std::cout << ctx.log->redact(pg::render_dr_promote_text(p));
        if (rb) {
            std::cout << ctx.log->redact(pg::render_dr_rebuild_text(*rb));
        }
        if (ok && !p.dry_run) {
            std::cout << "\n"
                      << p.dr_cluster << " is the primary cluster now, " << p.primary_cluster
                      << " its standby (recorded in " << inv.paths.state_dir << "/state.json).\n";
        }
        std::cout << std::flush;
    }
    if (ok) {
        return 0;
    }
    return static_cast<int>(p.declined ? ExitCode::usage : ExitCode::verification_failed);
}

int promote(Context& ctx, const DrOptions& o) {
    pg::DrPromoteRequest req;
    req.force = o.force;
    req.dry_run = o.dry_run;
    req.timeout = timeout_option(o.timeout, "--timeout");
    require_confirmation(o, "promote");
    const Inventory inv = resolved_inventory(ctx);
    const auto r = run_promotion(ctx, inv, req, [&](const pg::DrPromoteResult& plan) {
        if (o.yes) {
            return true;
        }
        std::cerr << pg::render_dr_promote_text(plan);
        return ask_terminal("Fence " + plan.primary_cluster + " and promote " + plan.dr_cluster +
                            " (" + plan.standby_leader + ")?");
    });
    if (ctx.json()) {
        std::cout << ctx.log->redact(pg::dr_promote_to_json(r).dump(2)) << std::endl;
    } else {
        std::cout << ctx.log->redact(pg::render_dr_promote_text(r)) << std::flush;
        if (r.ok && !r.dry_run) {
            std::cout << "\n"
                      << r.dr_cluster << " is the primary cluster now (recorded in "
                      << inv.paths.state_dir << "/state.json): pgdr commands on this inventory "
                      << "work on it.\n";
        }
    }
    if (r.ok) {
        return 0;
    }
    return static_cast<int>(r.declined ? ExitCode::usage : ExitCode::verification_failed);
}

}  // namespace

void register_dr_commands(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<DrOptions>();
    auto* dr = app.add_subcommand(
        "dr",
        "A pair of clusters in two regions (the inventory's dr section): promote, rebuild, "
        "switchover");
    dr->require_subcommand(1);
    auto* p = dr->add_subcommand(
        "promote", "Fence the primary cluster and promote the DR cluster (region loss)");
    p->add_flag("--yes", o->yes, "Confirm in advance");
    p->add_flag("--dry-run", o->dry_run, "Read both clusters and show the plan; change nothing");
    p->add_flag("--force", o->force,
                "Promote although members of the primary cluster cannot be reached to be fenced "
                "(its region is lost)");
    p->add_option("--timeout", o->timeout, "Bound of each wait (default 120s)");
    p->callback([&ctx, o] { ctx.action = [&ctx, o] { return promote(ctx, *o); }; });

    auto* rb = dr->add_subcommand(
        "rebuild",
        "Make the old primary cluster the standby of the promoted one (after a promotion)");
    rb->add_flag("--yes", o->yes, "Confirm in advance");
    rb->add_flag("--dry-run", o->dry_run, "Read both clusters and show the plan; change nothing");
    rb->add_option("--timeout", o->timeout,
                   "Bound of the wait for the DR link to stream (default 120s)");
    rb->callback([&ctx, o] { ctx.action = [&ctx, o] { return rebuild(ctx, *o); }; });

    auto* sw = dr->add_subcommand(
        "switchover",
        "Planned: stop writes on the primary cluster, promote the DR cluster once it replayed "
        "everything, and make the old primary its standby (no acknowledged write lost)");
    sw->add_flag("--yes", o->yes, "Confirm in advance");
    sw->add_flag("--dry-run", o->dry_run, "Read both clusters and show the plan; change nothing");
    sw->add_option("--timeout", o->timeout, "Bound of each wait (default 120s)");
    sw->add_option("--catch-up", o->catch_up,
                   "How long the DR cluster may take to replay the primary's last WAL before the "
                   "switchover is undone (default 30s)");
    sw->callback([&ctx, o] { ctx.action = [&ctx, o] { return switchover(ctx, *o); }; });
}

}  // namespace pgdr::cmd
