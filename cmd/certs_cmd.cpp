// pgdr certs status, pgdr certs rotate: the cluster's certificates as the hosts hold them, and
// new ones installed and reloaded without an outage (man/pgdr-certs.1). Options, confirmation
// and wiring; the judgement is pg/cert_status's, the order pg/cert_rotation's.
#include <unistd.h>

#include <iostream>

#include "cmd/context.hpp"
#include "cmd/wiring.hpp"
#include "core/interrupt.hpp"
#include "core/poll.hpp"
#include "core/strings.hpp"
#include "pg/cert_rotation.hpp"
#include "pg/cert_status.hpp"
#include "pg/status.hpp"
#include "pki/served.hpp"

namespace pgdr::cmd {

namespace {

struct StatusOptions {
    int warn_days = pg::k_default_warn_days;
};

struct RotateOptions {
    bool yes = false;
    bool dry_run = false;
    std::string break_lock;
};

// How long each service has to serve its new certificate (Patroni applies SIGHUP on its next
// HA loop), and the cluster to be healthy again afterwards.
constexpr std::chrono::seconds k_served_timeout{90};
constexpr std::chrono::seconds k_healthy_timeout{90};
constexpr std::chrono::seconds k_healthy_poll{2};
constexpr std::chrono::seconds k_tls_timeout{5};

int certs_status(Context& ctx, const StatusOptions& o) {
    if (o.warn_days < 0) {
        throw usage_error("--warn-days must be 0 or more");
    }
    Inventory inv = resolved_inventory(ctx);
    const auto state = pki::read_cluster_pki(inv.paths.state_dir, inv);
    HostTransports hosts = connect_hosts(ctx, inv);
    const auto report = pg::collect_cert_status(inv, state, hosts.by_name,
                                                std::chrono::system_clock::now(), o.warn_days);
    if (ctx.json()) {
        std::cout << pg::certs_to_json(report).dump(2) << std::endl;
    } else {
        std::cout << pg::render_certs_text(report) << std::flush;
    }
    return report.exit_code();
}

nlohmann::json results_json(const ApplyReport& rep) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rep.results) {
        out.push_back({{"step", r.step},
                       {"host", r.host},
                       {"action", r.description},
                       {"outcome", to_string(r.outcome)},
                       {"error", r.error}});
    }
    return out;
}

nlohmann::json served_json(const std::vector<pg::ServedCheck>& checks) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : checks) {
        out.push_back({{"host", c.host},
                       {"service", c.service},
                       {"port", c.port},
                       {"expected_serial", c.expected_serial},
                       {"served_serial", c.served_serial},
                       {"ok", c.ok},
                       {"error", c.error}});
    }
    return out;
}

void print_apply(const ApplyReport& rep) {
    for (const auto& r : rep.results) {
        if (r.outcome == Outcome::changed || r.outcome == Outcome::failed) {
            std::cout << (r.outcome == Outcome::failed ? "FAILED   " : "done     ") << r.host
                      << "  " << r.step << ": " << r.description
                      << (r.error.empty() ? "" : ": " + r.error) << '\n';
            if (r.outcome == Outcome::failed && !r.output.empty()) {
                std::cout << r.output << (r.output.back() == '\n' ? "" : "\n");
            }
        }
    }
}

void print_served(const std::vector<pg::ServedCheck>& checks) {
    for (const auto& c : checks) {
        std::cout << (c.ok ? "serves   " : "WRONG    ") << c.host << "  " << c.service << " :"
                  << c.port << "  serial " << (c.served_serial.empty() ? "?" : c.served_serial)
                  << (c.ok ? "" : "  (" + c.error + ")") << '\n';
    }
}

// The leader's name for the order of the reloads; refuses an unhealthy cluster (a rotation
// restarts etcd members: a member already down would cost the quorum).
std::string precheck(Context& ctx, const Inventory& inv, ClusterWiring& cluster, bool dry_run) {
    const auto st = pg::collect_status(inv, cluster.access());
    if (!st.healthy()) {
        const std::string why = join(st.problems(), "; ");
        if (!dry_run) {
            throw Error(ExitCode::verification_failed,
                        "the cluster is not healthy, no certificate was changed: " + why,
                        "fix it first (`pgdr status` shows the problems), then rotate");
        }
        ctx.log->warn("certs rotate: the cluster is not healthy (the real run refuses): " + why);
    }
    return st.leader();
}

struct RotationOutcome {
    ApplyReport apply;
    std::vector<pg::ServedCheck> served;
    pg::ClusterStatus after;
    bool verified = false;
};

RotationOutcome run_rotation(Context& ctx, const Inventory& inv, ClusterWiring& cluster,
                             HostTransports& hosts, const pki::ClusterPki& fresh,
                             const Plan& plan) {
    SystemClock clock;
    RotationOutcome out;
    ApplyOptions ao;
    ao.clock = &clock;
    out.apply = apply(plan, hosts.by_name, *ctx.log, ao);
    if (!out.apply.ok()) {
        return out;
    }
    const pki::KeyPair& client = fresh.certs.at(pki::k_operator_name);
    pg::CertFetcher fetch = [&client](const Endpoint& at, pki::TlsStart start, std::string* err) {
        return pki::served_certificate(at.host, at.port, start, &client, k_tls_timeout, err);
    };
    out.served = pg::verify_served(pg::served_checks(inv, fresh), *cluster.reach, fetch, clock,
                                   k_served_timeout);
    poll_until(clock, k_healthy_timeout, k_healthy_poll, &InterruptGuard::flag(), [&] {
        out.after = pg::collect_status(inv, cluster.access());
        return out.after.healthy();
    });
    out.verified = out.after.healthy();
    for (const auto& c : out.served) {
        out.verified = out.verified && c.ok;
    }
    return out;
}

int report_rotation(Context& ctx, const pki::ClusterPki& fresh, const RotationOutcome& o) {
    const bool ok = o.apply.ok() && o.verified;
    if (ctx.json()) {
        std::cout << nlohmann::json{{"dry_run", false},
                                    {"ok", ok},
                                    {"issued", fresh.issued},
                                    {"results", results_json(o.apply)},
                                    {"served", served_json(o.served)},
                                    {"healthy", o.after.healthy()},
                                    {"problems", o.after.problems()}}
                         .dump(2)
                  << std::endl;
    } else {
        print_apply(o.apply);
        print_served(o.served);
        if (o.apply.ok()) {
            std::cout << (o.after.healthy()
                              ? "cluster healthy, leader " + o.after.leader()
                              : "cluster NOT healthy: " + join(o.after.problems(), "; "))
                      << '\n';
        }
        std::cout << (ok ? "rotated " + std::to_string(fresh.issued.size()) + " certificates\n"
                         : "rotation NOT verified: `pgdr certs status` shows what each host "
                           "holds; `pgdr certs rotate` again finishes it\n");
    }
    if (ok) {
        return 0;
    }
    return o.apply.unreachable.empty() ? static_cast<int>(ExitCode::verification_failed)
                                       : static_cast<int>(ExitCode::unreachable);
}

int certs_rotate(Context& ctx, const RotateOptions& o) {
    if (!o.dry_run && !o.yes && ::isatty(STDIN_FILENO) == 0) {
        throw usage_error(
            "pgdr certs rotate changes every host and asks for confirmation, but "
            "stdin is not a terminal",
            "pass --yes to confirm in advance (or --dry-run to see the plan)");
    }
    Inventory inv = resolved_inventory(ctx);
    const auto current = pki::read_cluster_pki(inv.paths.state_dir, inv);
    ClusterWiring cluster(ctx, inv);
    InterruptGuard guard;
    std::unique_ptr<ClusterLock> lock;
    HostTransports hosts = connect_hosts(ctx, inv);
    if (!o.dry_run) {
        lock = take_cluster_lock(ctx, inv, o.break_lock);
        refuse_left_fault(ctx, inv, hosts.by_name);
    }
    const std::string leader = precheck(ctx, inv, cluster, o.dry_run);
    const auto fresh = pki::issue_cluster_certs(current.ca, inv);
    const Plan plan = pg::plan_rotation(inv, fresh, leader);
    if (o.dry_run) {
        ApplyOptions ao;
        ao.dry_run = true;
        ao.out = ctx.json() ? nullptr : &std::cout;
        const auto rep = apply(plan, hosts.by_name, *ctx.log, ao);
        if (ctx.json()) {
            std::cout << nlohmann::json{{"dry_run", true},
                                        {"ok", rep.ok()},
                                        {"issued", fresh.issued},
                                        {"results", results_json(rep)}}
                             .dump(2)
                      << std::endl;
        }
        return rep.ok() ? 0 : static_cast<int>(ExitCode::verification_failed);
    }
    if (!o.yes && !ask_terminal("Rotate the " + std::to_string(fresh.issued.size()) +
                                " certificates of cluster " + inv.cluster +
                                " (new keys; etcd members restart one at a time)?")) {
        return static_cast<int>(ExitCode::usage);
    }
    // The state directory first: it is the truth `certs status` compares with, and a rotation
    // cut short is finished by running it again (or by `pgdr bootstrap`).
    pki::store_cluster_certs(inv.paths.state_dir, fresh);
    ctx.log->info("certs rotate: new certificates in " + pki::pki_dir(inv.paths.state_dir));
    return report_rotation(ctx, fresh, run_rotation(ctx, inv, cluster, hosts, fresh, plan));
}

}  // namespace

void register_certs_commands(CLI::App& app, Context& ctx) {
    auto* certs = app.add_subcommand(
        "certs", "The cluster's TLS certificates: expiry per host and service, rotation");
    certs->require_subcommand(1);

    auto so = std::make_shared<StatusOptions>();
    auto* st = certs->add_subcommand(
        "status", "Every host's certificates: subject, SANs, serial, expiry, CA, state copy");
    st->add_option("--warn-days", so->warn_days,
                   "Warn about certificates with fewer days left (default 30)");
    st->callback([&ctx, so] { ctx.action = [&ctx, so] { return certs_status(ctx, *so); }; });

    auto ro = std::make_shared<RotateOptions>();
    auto* rot = certs->add_subcommand(
        "rotate", "New host certificates from the cluster CA, reloaded without an outage");
    rot->add_flag("--yes", ro->yes,
                  "Do not ask for confirmation (needed when stdin is no terminal)");
    rot->add_flag("--dry-run", ro->dry_run,
                  "Show the plan (file diffs without keys, commands); change nothing");
    add_break_lock_option(rot, ro->break_lock);
    rot->callback([&ctx, ro] { ctx.action = [&ctx, ro] { return certs_rotate(ctx, *ro); }; });
}

}  // namespace pgdr::cmd
