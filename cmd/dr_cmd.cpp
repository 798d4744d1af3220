// pgdr dr promote: the DR cluster of a pair (the inventory's `dr` section) becomes the primary
// (man/pgdr-dr.1). Options, confirmation and wiring; the steps are pg::run_dr_promote's.
#include "cmd/dr_cmd.hpp"

#include <unistd.h>

#include <iostream>

#include "cmd/context.hpp"
#include "cmd/wiring.hpp"
#include "core/duration.hpp"
#include "core/state.hpp"
#include "core/strings.hpp"
#include "pg/dr_promote.hpp"
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

// Patroni stopped and disabled on one member of the primary cluster, over an SSH session of its
// own with a short connect timeout (a lost region's hosts do not answer).
pg::FenceOutcome fence_member(Context& ctx, const Inventory& inv, const HostSpec& member) {
    HostSpec h = member;
    h.ssh.connect_timeout_s = 3;
    pg::FenceOutcome out;
    try {
        auto t = ssh_transport(ctx, h);
        RunOptions ro;
        ro.sudo = true;
        ro.timeout = std::chrono::seconds(120);
        const auto r = t->run(pg::fence_argv(inv), ro);
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
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    pg::DrSeams seams{inv,
                      dr,
                      primary_wiring.access(),
                      dr_wiring.access(),
                      clock,
                      pg::k_rest_api_user,
                      rest_password,
                      [&](const HostSpec& h, bool) { return fence_member(ctx, inv, h); },
                      [&](const HostSpec& lb) {
                          const auto at =
                              dr_wiring.reach->inside(lb.address, dr.haproxy.write_port);
                          const auto q = probe(at, "insert into pgdr_verify default values",
                                               std::chrono::milliseconds(2000));
                          return q.ok ? std::string() : q.error.describe();
                      },
                      confirm,
                      [&](const std::string& m) {
                          if (tty) {
                              std::cerr << "pgdr dr promote: " << m << "\n";
                          } else {
                              ctx.log->info("dr promote: " + m);
                          }
                      }};
    const auto r = pg::run_dr_promote(seams, req);
    if (r.ok && !r.dry_run) {
        record_promotion(inv, r);
    }
    return r;
}

namespace {

int promote(Context& ctx, const DrOptions& o) {
    auto timeout = parse_duration(o.timeout);
    if (!timeout) {
        throw usage_error("--timeout " + o.timeout + ": not a duration", "e.g. 90s, 5m");
    }
    if (!o.dry_run && !o.yes && ::isatty(STDIN_FILENO) == 0) {
        throw usage_error(
            "pgdr dr promote changes both clusters and asks for confirmation, but "
            "stdin is not a terminal",
            "pass --yes to confirm in advance (or --dry-run to see the plan)");
    }
    const Inventory inv = resolved_inventory(ctx);
    pg::DrPromoteRequest req;
    req.force = o.force;
    req.dry_run = o.dry_run;
    req.timeout = *timeout;
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
        "dr", "A pair of clusters in two regions (the inventory's dr section): promote the DR one");
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
}

}  // namespace pgdr::cmd
