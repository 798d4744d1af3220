// pgdr switchover, pgdr failover, pgdr reinit: leader changes and replica rebuilds through
// Patroni's REST API, checked before and verified after (man/pgdr-switchover.1). Options,
// confirmation and wiring only; the steps are pg::run_ha's.
#include <unistd.h>

#include <iostream>

#include "cmd/context.hpp"
#include "cmd/wiring.hpp"
#include "core/duration.hpp"
#include "core/interrupt.hpp"
#include "core/state.hpp"
#include "pg/secrets.hpp"
#include "pg/switchover.hpp"
#include "runbook/parser.hpp"

namespace pgdr::cmd {

namespace {

struct HaOptions {
    std::string target;  // --to (switchover, failover) or NODE (reinit)
    std::string at;
    bool yes = false;
    bool dry_run = false;
    bool force = false;  // failover only
    std::string timeout = "180s";
    std::string break_lock;
};

std::string question(const Inventory& inv, const pg::HaResult& r) {
    switch (r.action) {
        case pg::HaAction::switchover:
            return "Switch cluster " + inv.cluster + " over from " + r.old_leader + " to " +
                   r.target + "?";
        case pg::HaAction::failover:
            return "Fail cluster " + inv.cluster + " over to " + r.target +
                   " (no leader; writes since the last replicated WAL may be lost)?";
        case pg::HaAction::reinit:
            return "Erase " + r.target + "'s data directory and rebuild it from " + r.old_leader +
                   "?";
    }
    return "Proceed?";
}

int run_action(Context& ctx, pg::HaAction action, const HaOptions& o) {
    const std::string name = pg::to_string(action);
    if (action != pg::HaAction::switchover && !o.at.empty()) {
        throw usage_error("--at goes with pgdr switchover only");
    }
    if (!o.at.empty() && !pg::valid_schedule_time(o.at)) {
        throw usage_error("--at " + o.at + ": not an ISO 8601 time with a zone",
                          "e.g. --at 2026-03-01T02:00:00+00:00 (Patroni needs the zone)");
    }
    auto timeout = parse_duration(o.timeout);
    if (!timeout) {
        throw usage_error("--timeout " + o.timeout + ": not a duration", "e.g. 90s, 5m");
    }
    const bool tty = ::isatty(STDIN_FILENO) != 0;
    if (!o.dry_run && !o.yes && !tty) {
        throw usage_error("pgdr " + name +
                              " changes the cluster and asks for confirmation, but "
                              "stdin is not a terminal",
                          "pass --yes to confirm in advance (or --dry-run to see the plan)");
    }
    Inventory inv = resolved_inventory(ctx);
    auto password = read_secret(inv.paths.state_dir, pg::k_rest_api_secret);
    if (!password || password->empty()) {
        throw config_error("no secret " + std::string(pg::k_rest_api_secret) + " in " +
                               inv.paths.state_dir + "/secrets",
                           "run `pgdr bootstrap` first: it creates the cluster's secrets");
    }
    ctx.log->add_secret(*password);
    ClusterWiring cluster(ctx, inv);
    SystemClock clock;
    InterruptGuard guard;
    std::unique_ptr<ClusterLock> cluster_lock;
    if (!o.dry_run) {
        cluster_lock = take_cluster_lock(ctx, inv, o.break_lock);
        refuse_left_fault(ctx, inv, cluster_lock->hosts.by_name);
    }

    pg::HaRequest req;
    req.action = action;
    req.target = o.target;
    req.scheduled_at = o.at;
    req.dry_run = o.dry_run;
    req.force = o.force;
    req.timeout = *timeout;
    const bool show_progress = ::isatty(STDERR_FILENO) != 0;
    pg::HaSeams seams{inv,
                      cluster.access(),
                      clock,
                      pg::k_rest_api_user,
                      *password,
                      [&](const pg::HaResult& r) {
                          if (o.yes) {
                              return true;
                          }
                          std::cerr << pg::render_ha_text(r);
                          return ask_terminal(question(inv, r));
                      },
                      [&](const std::string& m) {
                          if (show_progress) {
                              std::cerr << "pgdr " << name << ": " << ctx.log->redact(m) << "\n";
                          } else {
                              ctx.log->info(name + ": " + m);
                          }
                      },
                      &InterruptGuard::flag()};
    const auto result = pg::run_ha(seams, req);
    if (ctx.json()) {
        std::cout << ctx.log->redact(pg::ha_to_json(result).dump(2)) << std::endl;
    } else {
        std::cout << ctx.log->redact(pg::render_ha_text(result)) << std::flush;
    }
    if (result.ok()) {
        return 0;
    }
    if (result.interrupted) {
        return static_cast<int>(ExitCode::interrupted);
    }
    if (result.declined) {
        return static_cast<int>(ExitCode::usage);
    }
    return static_cast<int>(ExitCode::verification_failed);
}

}  // namespace

void register_ha_commands(CLI::App& app, Context& ctx) {
    auto so = std::make_shared<HaOptions>();
    auto* sw = app.add_subcommand(
        "switchover", "Planned leader change through Patroni, checked before and verified after");
    sw->add_option("--to", so->target,
                   "The replica to promote (default: the best streaming replica)");
    sw->add_option("--at", so->at,
                   "Schedule it at TIME (ISO 8601 with a zone); Patroni runs it then");
    sw->add_flag("--yes", so->yes,
                 "Do not ask for confirmation (needed when stdin is no terminal)");
    sw->add_flag("--dry-run", so->dry_run, "Run the pre-checks and show the call; change nothing");
    sw->add_option("--timeout", so->timeout, "Bound of each wait (default 180s)");
    add_break_lock_option(sw, so->break_lock);
    sw->callback([&ctx, so] {
        ctx.action = [&ctx, so] { return run_action(ctx, pg::HaAction::switchover, *so); };
    });

    auto fo = std::make_shared<HaOptions>();
    auto* fa = app.add_subcommand(
        "failover", "Manual failover when there is no healthy leader: promote a chosen replica");
    fa->add_option("--to", fo->target, "The replica to promote, or 'auto' for the best one")
        ->required();
    fa->add_flag("--yes", fo->yes,
                 "Do not ask for confirmation (needed when stdin is no terminal)");
    fa->add_flag("--dry-run", fo->dry_run, "Run the pre-checks and show the call; change nothing");
    fa->add_flag("--force", fo->force,
                 "Promote although the candidate's lag is unknown or it is not the synchronous "
                 "standby (acknowledged writes may be lost)");
    fa->add_option("--timeout", fo->timeout, "Bound of each wait (default 180s)");
    add_break_lock_option(fa, fo->break_lock);
    fa->callback([&ctx, fo] {
        ctx.action = [&ctx, fo] { return run_action(ctx, pg::HaAction::failover, *fo); };
    });

    auto ro = std::make_shared<HaOptions>();
    ro->timeout = "30m";
    auto* re = app.add_subcommand(
        "reinit", "Rebuild a replica from the leader (Patroni reinitialize), wait for streaming");
    re->add_option("node", ro->target, "The replica to rebuild")->required();
    re->add_flag("--yes", ro->yes,
                 "Do not ask for confirmation (needed when stdin is no terminal)");
    re->add_flag("--dry-run", ro->dry_run, "Run the pre-checks and show the call; change nothing");
    re->add_option("--timeout", ro->timeout, "Bound of each wait (default 30m)");
    add_break_lock_option(re, ro->break_lock);
    re->callback([&ctx, ro] {
        ctx.action = [&ctx, ro] { return run_action(ctx, pg::HaAction::reinit, *ro); };
    });
}

}  // namespace pgdr::cmd
