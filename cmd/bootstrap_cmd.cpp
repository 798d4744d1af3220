// pgdr bootstrap: turn the inventory's hosts into the running cluster (DESIGN.md §4).
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cmd/context.hpp"
#include "cmd/dr_cmd.hpp"
#include "cmd/guard_cmd.hpp"
#include "cmd/table.hpp"
#include "cmd/wiring.hpp"
#include "core/apply.hpp"
#include "core/parallel.hpp"
#include "core/poll.hpp"
#include "core/state.hpp"
#include "core/strings.hpp"
#include "pg/bootstrap_plan.hpp"
#include "pg/cluster_conditions.hpp"
#include "pg/debian_paths.hpp"
#include "pg/facts.hpp"
#include "pg/foreign_guard.hpp"
#include "pg/secrets.hpp"
#include "pg/status.hpp"
#include "pg/tls_move.hpp"
#include "pki/cluster_certs.hpp"

namespace pgdr::cmd {

namespace {

constexpr const char* k_sysid_key = "postgres_system_identifier";

struct BootstrapOptions {
    std::string stage;
    bool dry_run = false;
    bool adopt = false;  // take over a Patroni/etcd cluster pgdr did not build (or lost track of)
    std::string break_lock;
};

// Whether the cluster's etcd already runs (a member that knows other members; Debian's
// package alone starts a one-member etcd on localhost): then the cluster lock can (and must)
// be taken before the plan; on a first bootstrap it is taken once the etcd stage brought the
// cluster's etcd up.
bool etcd_running(const pg::FactsMap& facts) {
    for (const auto& [name, f] : facts) {
        if (f.etcd_member_running()) {
            return true;
        }
    }
    return false;
}

// A move to TLS under way (pg/tls_move.hpp), in the state directory: written before the move
// starts, removed once it ended, so that a run cut off after every Patroni moved (none answers
// over plain HTTP any more) still ends maintenance mode and thaws HAProxy's checks when bootstrap
// runs again.
std::string tls_move_marker(const Inventory& inv) {
    return inv.paths.state_dir + "/tls-move-in-progress";
}

pg::FactsMap gather(const Inventory& inv, const TransportMap& transports) {
    std::vector<pg::HostFacts> facts(inv.hosts.size());
    std::vector<std::string> errors(inv.hosts.size());
    parallel_for(inv.hosts.size(), 16, [&](size_t i) {
        const auto& h = inv.hosts[i];
        try {
            RunOptions o;
            o.sudo = true;
            o.timeout = std::chrono::seconds(60);
            auto r = transports.at(h.name)->run(pg::facts_argv(inv, h), o);
            if (!r.ok()) {
                errors[i] = h.name + ": cannot read the host's state: " + r.err;
            }
            facts[i] = pg::parse_facts(h.name, r.out);
        } catch (const Error& e) {
            errors[i] = std::string(e.what()) + (e.hint().empty() ? "" : " (" + e.hint() + ")");
        }
    });
    pg::FactsMap out;
    std::string unreachable;
    for (size_t i = 0; i < inv.hosts.size(); ++i) {
        if (!errors[i].empty()) {
            unreachable += "\n  " + errors[i];
        }
        out[inv.hosts[i].name] = facts[i];
    }
    if (!unreachable.empty()) {
        throw Error(ExitCode::unreachable, "cannot inspect every host:" + unreachable,
                    "`pgdr check` diagnoses SSH, sudo and the network");
    }
    for (const auto& [name, f] : out) {
        if (f.os_codename != inv.release) {
            throw Error(
                ExitCode::invalid_config,
                name + " runs Debian '" + f.os_codename + "', the inventory says " + inv.release,
                "set `release:` in the inventory to the hosts' release");
        }
    }
    return out;
}

ExitCode failure_code(const ApplyReport& rep) {
    if (!rep.unreachable.empty()) {
        return ExitCode::unreachable;
    }
    if (rep.failed_stage == Stage::verify) {
        return ExitCode::verification_failed;
    }
    return ExitCode::postgres;
}

// The JSON report of one cluster's apply (--output json).
nlohmann::json report_json(const ApplyReport& rep, double seconds) {
    nlohmann::json results = nlohmann::json::array();
    for (const auto& r : rep.results) {
        nlohmann::json j = {{"stage", to_string(r.stage)},
                            {"step", r.step},
                            {"host", r.host},
                            {"action", r.description},
                            {"outcome", to_string(r.outcome)},
                            {"elapsed_ms", r.elapsed.count()}};
        if (!r.error.empty()) {
            j["error"] = r.error;
            j["output"] = r.output;
        }
        results.push_back(j);
    }
    return nlohmann::json{{"dry_run", rep.dry_run},
                          {"ok", rep.ok()},
                          {"changed", rep.count(Outcome::changed)},
                          {"unchanged", rep.count(Outcome::unchanged)},
                          {"failed", rep.count(Outcome::failed)},
                          {"seconds", seconds},
                          {"failed_stage", rep.failed_stage ? to_string(*rep.failed_stage) : ""},
                          {"results", results}};
}

// The text report of one cluster's apply; `title` names the cluster when there are two.
void print_report(const ApplyReport& rep, double seconds, const std::string& title) {
    if (!title.empty()) {
        std::cout << title << '\n';
    }
    Table t({"STAGE", "CHANGED", "UNCHANGED", "FAILED", "SKIPPED"});
    for (Stage s : all_stages()) {
        size_t n[4] = {0, 0, 0, 0};
        bool any = false;
        for (const auto& r : rep.results) {
            if (r.stage == s) {
                any = true;
                n[static_cast<int>(r.outcome)]++;
            }
        }
        if (any) {
            t.add({to_string(s), std::to_string(n[1]), std::to_string(n[0]), std::to_string(n[2]),
                   std::to_string(n[3])});
        }
    }
    if (!rep.dry_run) {
        for (const auto& r : rep.results) {
            if (r.outcome == Outcome::changed) {
                std::cout << "changed  " << r.host << "  " << r.description << '\n';
            }
        }
    }
    for (const auto& r : rep.results) {
        if (r.outcome == Outcome::failed) {
            std::cout << "FAILED   " << r.host << "  " << r.description << ": " << r.error << '\n';
            if (!r.output.empty()) {
                std::cout << r.output << (r.output.back() == '\n' ? "" : "\n");
            }
        }
    }
    std::cout << '\n';
    t.print(std::cout);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
    std::cout << '\n'
              << (rep.dry_run ? "dry run: " : "") << rep.count(Outcome::changed)
              << (rep.dry_run ? " changes would be made" : " changes") << ", "
              << rep.count(Outcome::unchanged) << " unchanged, " << rep.count(Outcome::failed)
              << " failed in " << buf << '\n';
}

// How long the cluster may take to pass the checks of `pgdr status` after apply: Patroni names
// the synchronous standby one HA loop (loop_wait) after the replicas stream, and HAProxy marks
// servers after `fall` failed checks.
constexpr std::chrono::seconds k_verify_timeout{60};
constexpr std::chrono::seconds k_verify_poll{2};

// The verify stage's health: the cluster snapshot judged like `pgdr status` judges it, polled
// until it has no finding or k_verify_timeout passes. Prints the outcome; true when healthy.
bool verify_cluster(Context& ctx, const Inventory& inv, ClusterWiring& cluster, Clock& clock) {
    pg::ClusterStatus st;
    poll_until(clock, k_verify_timeout, k_verify_poll, nullptr, [&] {
        st = pg::collect_status(inv, cluster.access());
        return st.healthy();
    });
    // stdout holds the apply report (one JSON document with --output json): the verdict is a log
    // line, and `pgdr status` shows the whole picture.
    if (st.healthy()) {
        ctx.log->info("bootstrap: verify: healthy, leader " + st.leader());
    } else {
        ctx.log->error("bootstrap: verify: the cluster is not healthy after " +
                       std::to_string(k_verify_timeout.count()) +
                       " s: " + join(st.problems(), "; ") + " (`pgdr status` shows it)");
    }
    return st.healthy();
}

std::optional<Stage> only_stage(const BootstrapOptions& o) {
    if (o.stage.empty()) {
        return std::nullopt;
    }
    const auto only = parse_stage(o.stage);
    if (!only) {
        throw usage_error("unknown stage '" + o.stage + "'",
                          "stages: packages, certificates, etcd, replication, backup, patroni, "
                          "haproxy, guard, monitoring, verify");
    }
    return only;
}

// The passwords about to be written must be the cluster's (a lost or regenerated state
// directory would lock the replicas out), also under --adopt.
void check_state_fingerprint(const Inventory& inv, const ClusterState& state,
                             const std::string& fingerprint) {
    if (state.secrets_fingerprint.empty() || state.secrets_fingerprint == fingerprint) {
        return;
    }
    throw Error(ExitCode::invalid_config,
                inv.paths.state_dir +
                    "/secrets/ no longer match the fingerprint state.json "
                    "recorded at the last bootstrap (" +
                    state.secrets_fingerprint + ", now " + fingerprint +
                    "): a secret file was deleted, regenerated or replaced",
                "restore the secrets/ files from your backup; to change the passwords on "
                "purpose, ALTER ROLE them on the cluster first, then remove "
                "\"secrets_fingerprint\" from state.json and " +
                    pg::secrets_fingerprint_path() + " on every PostgreSQL host");
}

// Remember which cluster this is: a later run refuses a primary holding another one.
void remember_cluster(const Inventory& inv, Transport& primary_host, const std::string& primary,
                      ClusterState& state, const std::string& fingerprint) {
    RunOptions ro;
    ro.sudo = true;
    auto f = primary_host.run(pg::facts_argv(inv, *inv.find_host(primary)), ro);
    auto pf = pg::parse_facts(primary, f.out);
    const bool known = state.cluster == inv.cluster && state.secrets_fingerprint == fingerprint;
    if (!known || (!pf.sysid.empty() && state.provider.value(k_sysid_key, "") != pf.sysid)) {
        if (!pf.sysid.empty()) {
            state.provider[k_sysid_key] = pf.sysid;
        }
        state.cluster = inv.cluster;
        state.secrets_fingerprint = fingerprint;
        save_state(inv.paths.state_dir, state);
    }
}

// The cluster CA and every certificate the inventory needs, made or renewed in the state
// directory (pki/cluster_certs.hpp); what was issued is logged.
pki::ClusterPki cluster_certificates(Context& ctx, const Inventory& inv) {
    auto certs =
        pki::ensure_cluster_pki(inv.paths.state_dir, inv, std::chrono::system_clock::now());
    if (!certs.issued.empty()) {
        ctx.log->info("bootstrap: issued certificates " + join(certs.issued, ", ") + " in " +
                      pki::pki_dir(inv.paths.state_dir));
    }
    return certs;
}

// --stage alone while a move to TLS is due (pg/tls_move.hpp): refused, naming why.
[[noreturn]] void refuse_stage_while_moving(const std::vector<std::string>& plain,
                                            const std::string& move_marker) {
    throw Error(
        ExitCode::invalid_config,
        "--stage cannot run alone while the cluster moves to TLS (" +
            (plain.empty() ? move_marker + " says a move was cut off"
                           : "Patroni on " + join(plain, ", ") + " answers over plain HTTP") +
            ")",
        "run the whole bootstrap: it moves the running cluster to TLS first");
}

// A cluster bootstrapped without TLS (pg/tls_move.hpp): packages, certificates and the etcd
// part of the move first, then pgdr's lock (its etcd cannot hold it before it serves TLS), then
// the backup stage and the rest of the move under it. False when a step failed.
struct MovePlan {
    const Plan& plan;
    const pg::Secrets& secrets;
    const std::string& primary;
};
bool move_to_tls(Context& ctx, const Inventory& inv, const BootstrapOptions& o,
                 const std::vector<std::string>& plain, const std::string& move_marker,
                 const MovePlan& m, const TransportMap& hosts,
                 const std::function<bool(const Plan&)>& run,
                 std::unique_ptr<ClusterLock>& cluster_lock) {
    ctx.log->info(plain.empty()
                      ? "bootstrap: finishing a move to TLS that was cut off (" + move_marker + ")"
                      : "bootstrap: moving the running cluster to TLS (" + join(plain, ", ") +
                            " answer over plain HTTP)");
    if (o.dry_run && !ctx.json()) {
        std::cout << pg::tls_move_summary(plain) << '\n';
    }
    if (!o.dry_run) {
        refuse_left_fault(ctx, inv, hosts);
        std::ofstream(move_marker) << "a move to TLS by pgdr bootstrap: remove only when it "
                                      "ended (bootstrap does)\n";
    }
    Plan before_lock = m.plan.only(Stage::packages);
    pg::append_plan(before_lock, m.plan.only(Stage::certificates));
    pg::append_plan(before_lock, pg::plan_tls_move_before_lock(inv, m.secrets, m.primary));
    bool ok = run(before_lock);
    if (ok && !o.dry_run) {
        cluster_lock = take_cluster_lock(ctx, inv, o.break_lock);
    }
    if (ok) {
        Plan under_lock = m.plan.only(Stage::backup);
        pg::append_plan(under_lock, pg::plan_tls_move_under_lock(inv, m.secrets, m.primary));
        ok = run(under_lock);
    }
    if (ok && !o.dry_run) {
        std::filesystem::remove(move_marker);
    }
    return ok;
}

// What the run of one cluster hands to the command: the JSON report (--output json prints one
// document: the primary cluster's report, the DR cluster's under "dr").
struct ClusterRun {
    nlohmann::json json;
};

// One cluster: the inventory's, or (inv.standby_of) its DR cluster, which takes the primary's
// recorded system identifier as its own (a physical copy) and records nothing.
int bootstrap_cluster(Context& ctx, const Inventory& inv, const BootstrapOptions& o,
                      ClusterRun& out) {
    const auto start = std::chrono::steady_clock::now();
    const std::optional<Stage> only = only_stage(o);
    auto secrets = pg::load_secrets(inv.paths.state_dir);
    secrets.backup = pg::load_backup_secrets(inv);
    pg::register_secrets(secrets, *ctx.log);
    auto conn = connect_hosts(ctx, inv);
    ctx.log->info("bootstrap: inspecting " + std::to_string(inv.hosts.size()) + " hosts");
    auto facts = gather(inv, conn.by_name);
    auto state = load_state(inv.paths.state_dir);
    if (inv.guard.enabled) {
        secrets.guard = load_guard_inputs(ctx, inv, state);
    }
    const std::string primary = pg::choose_primary(inv, facts);
    pg::check_data_safety(inv, facts, primary, state.provider.value(k_sysid_key, ""), o.adopt,
                          ctx.inventory_path);
    const std::string fingerprint = pg::secrets_fingerprint(secrets);
    check_state_fingerprint(inv, state, fingerprint);
    pg::check_secrets_match(inv, facts, fingerprint);
    secrets.tls = cluster_certificates(ctx, inv);
    const auto plain = pg::plain_http_members(inv, facts);
    const std::string move_marker = tls_move_marker(inv);
    const bool moving = !plain.empty() || std::filesystem::exists(move_marker);
    if (moving && only) {
        refuse_stage_while_moving(plain, move_marker);
    }
    ctx.log->info("bootstrap: " + primary + " leads");

    Plan plan = pg::plan_bootstrap(inv, facts, secrets, primary);
    if (only) {
        plan = plan.only(*only);
    }
    SystemClock clock;
    // The plan's waits on the cluster and the verification read it as `pgdr status` does.
    ClusterWiring cluster(ctx, inv);
    pg::AssessedConditions conditions(pg::cluster_targets(inv), cluster.access(),
                                      pg::criteria_for(inv));
    ApplyOptions ao;
    ao.dry_run = o.dry_run;
    ao.out = o.dry_run && !ctx.json() ? &std::cout : nullptr;
    ao.clock = &clock;
    ao.cluster = &conditions;
    std::unique_ptr<ClusterLock> cluster_lock;
    ApplyReport rep;
    rep.dry_run = o.dry_run;
    // One report for every apply of this run; false when the last one failed.
    auto run = [&](const Plan& p) {
        auto r = apply(p, conn.by_name, *ctx.log, ao);
        rep.results.insert(rep.results.end(), r.results.begin(), r.results.end());
        rep.unreachable.insert(rep.unreachable.end(), r.unreachable.begin(), r.unreachable.end());
        rep.failed_stage = r.failed_stage;
        return r.ok();
    };
    bool ok = true;
    if (moving) {
        ok = move_to_tls(ctx, inv, o, plain, move_marker, {plan, secrets, primary}, conn.by_name,
                         run, cluster_lock);
    } else if (!o.dry_run && etcd_running(facts)) {
        cluster_lock = take_cluster_lock(ctx, inv, o.break_lock);
        refuse_left_fault(ctx, inv, conn.by_name);
    }
    if (ok) {
        run(plan);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (ctx.json()) {
        out.json = report_json(rep, secs);
    } else {
        const bool pair = inv.dr || inv.standby_of;
        print_report(rep, secs,
                     !pair            ? ""
                     : inv.standby_of ? "\nDR cluster " + inv.cluster + " (standby of " +
                                            inv.standby_of->cluster + ")"
                                      : "primary cluster " + inv.cluster);
    }
    if (!rep.ok()) {
        return static_cast<int>(failure_code(rep));
    }
    if (!o.dry_run && !cluster_lock && (!only || *only >= Stage::etcd)) {
        cluster_lock = take_cluster_lock(ctx, inv, o.break_lock);
    }
    if (!o.dry_run && (!only || *only == Stage::verify) &&
        !verify_cluster(ctx, inv, cluster, clock)) {
        return static_cast<int>(ExitCode::verification_failed);
    }
    if (!o.dry_run && !inv.standby_of) {
        remember_cluster(inv, *conn.by_name.at(primary), primary, state, fingerprint);
    }
    return 0;
}

// The inventory's cluster, then its DR cluster (a `dr` section), which clones the primary; the
// JSON report (with --output json) in `report`.
int bootstrap_both(Context& ctx, const BootstrapOptions& o, nlohmann::json& report) {
    const Inventory inv = resolved_inventory(ctx);
    // --break-lock names the cluster whose lock goes: the primary's or the DR cluster's.
    BootstrapOptions po = o;
    if (inv.dr && o.break_lock == inv.dr->cluster) {
        po.break_lock.clear();
    }
    ClusterRun primary;
    int rc = bootstrap_cluster(ctx, inv, po, primary);
    if (rc == 0 && inv.dr) {
        const Inventory dr = dr_inventory(inv);
        BootstrapOptions dro = o;
        if (o.break_lock != dr.cluster) {
            dro.break_lock.clear();
        }
        ctx.log->info("bootstrap: the DR cluster " + dr.cluster + " (" +
                      std::to_string(dr.hosts.size()) + " hosts in " + inv.dr->region +
                      "), a standby of " + inv.cluster);
        ClusterRun standby;
        rc = bootstrap_cluster(ctx, dr, dro, standby);
        primary.json["dr"] = standby.json;
        if (ctx.json()) {
            primary.json["ok"] = primary.json.value("ok", false) && rc == 0;
        }
    }
    report = std::move(primary.json);
    return rc;
}

int bootstrap(Context& ctx, const BootstrapOptions& o) {
    nlohmann::json report;
    const int rc = bootstrap_both(ctx, o, report);
    if (ctx.json()) {
        std::cout << report.dump(2) << '\n';
    }
    return rc;
}

}  // namespace

int bootstrap_pair(Context& ctx, nlohmann::json& report) {
    return bootstrap_both(ctx, BootstrapOptions{}, report);
}

void register_bootstrap_commands(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<BootstrapOptions>();
    auto* b = app.add_subcommand("bootstrap",
                                 "Turn the inventory's hosts into a running HA cluster over SSH");
    b->add_option(
        "--stage", o->stage,
        "Run one stage only: packages, certificates, etcd, replication, backup, patroni, haproxy, "
        "guard, monitoring, verify");
    b->add_flag("--dry-run", o->dry_run,
                "Print every file diff and command of the plan; change nothing");
    b->add_flag("--adopt", o->adopt,
                "Take over a running Patroni/etcd cluster pgdr did not build or whose state "
                "directory was lost (its etcd data is kept, never reset)");
    add_break_lock_option(b, o->break_lock);
    b->callback([&ctx, o] { ctx.action = [&ctx, o] { return bootstrap(ctx, *o); }; });
}

}  // namespace pgdr::cmd
