// pgdr drill: inject one fault into a live cluster while probes write and read through HAProxy,
// restore it, and report what a client saw (man/pgdr-drill.1). Options and wiring only; the
// steps are drills::DrillEngine's.
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <mutex>

#include "cmd/context.hpp"
#include "cmd/drill_region.hpp"
#include "cmd/drill_restore.hpp"
#include "cmd/guard_cmd.hpp"
#include "cmd/wiring.hpp"
#include "core/duration.hpp"
#include "core/interrupt.hpp"
#include "core/local_transport.hpp"
#include "core/state.hpp"
#include "drills/alert_watch.hpp"
#include "drills/engine.hpp"
#include "drills/live_probes.hpp"
#include "drills/report_file.hpp"
#include "drills/report_json.hpp"
#include "drills/report_text.hpp"
#include "lab/lab.hpp"
#include "monitoring/alerts.hpp"
#include "monitoring/config.hpp"
#include "net/curl_http_client.hpp"
#include "ovh/host_control.hpp"
#include "pg/secrets.hpp"

namespace pgdr::cmd {

namespace {

// The drill's way into the cluster (DESIGN.md §11), chosen anew when a run's fault targets
// another host, so that the probes never connect from the host the fault hits.
class RunReach final : public ClusterReach {
  public:
    RunReach(Context& ctx, const Inventory& inv) : m_ctx(ctx), m_inv(inv) {}

    void avoid(const std::string& host) {
        std::lock_guard lock(m_mutex);
        if (!m_current || m_avoided != host) {
            // A network found closed stays closed: no second 1 s probe per run.
            std::optional<PortAccess> access;
            if (m_current && m_current->vantage() != "this machine") {
                access = PortAccess::ssh;
            }
            m_current.reset();
            m_current = cluster_reach(m_ctx, m_inv, {host}, access);
            m_avoided = host;
        }
    }
    Endpoint endpoint(const std::string& address, int port) override {
        std::lock_guard lock(m_mutex);
        if (!m_current) {
            m_current = cluster_reach(m_ctx, m_inv);
        }
        return m_current->endpoint(address, port);
    }
    Endpoint inside(const std::string& address, int port) override {
        std::lock_guard lock(m_mutex);
        if (!m_current) {
            m_current = cluster_reach(m_ctx, m_inv);
        }
        return m_current->inside(address, port);
    }
    std::string vantage() const override {
        std::lock_guard lock(m_mutex);
        return m_current ? m_current->vantage() : "this machine";
    }

  private:
    Context& m_ctx;
    const Inventory& m_inv;
    mutable std::mutex m_mutex;
    std::unique_ptr<ClusterReach> m_current;
    std::string m_avoided;
};

struct DrillCmdOptions {
    std::map<std::string, bool> faults;  // by flag
    bool list = false;
    std::string candidate;
    double max_rto_s = -1;
    std::int64_t max_lost = 0;
    std::string max_time_to_alert;  // DURATION; "" = none
    int repeat = 1;
    std::vector<std::string> reports;
    std::string yes_really;
    double baseline_s = 5;
    bool baseline_set = false;
    double timeout_s = 180;
    std::string break_lock;
    bool restore = false;           // --heal: only restore a fault an interrupted drill left
    bool restore_drill = false;     // --restore: the restore drill (cmd/drill_restore.cpp)
    std::optional<std::string> to;  // --to TIME, with --restore
    std::string lose_region;        // --lose-region: the region drill (cmd/drill_region.cpp)
    bool promote = false;           // --promote, with --lose-region
};

// --lose-region: a pair of clusters loses a region; no fault flag; its own wiring.
int region_drill_of(Context& ctx, const DrillCmdOptions& o) {
    for (const auto& [flag, on] : o.faults) {
        if (on) {
            throw usage_error("--lose-region is a drill of its own: it takes no fault (" + flag +
                              ")");
        }
    }
    RegionDrillCmdOptions r;
    r.region = o.lose_region;
    r.promote = o.promote;
    r.max_rto_s = o.max_rto_s;
    r.timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout_s * 1000));
    r.reports = o.reports;
    return region_drill(ctx, r);
}

// --restore: no fault flag, no failover options; its own wiring.
int restore_drill_of(Context& ctx, const DrillCmdOptions& o) {
    for (const auto& [flag, on] : o.faults) {
        if (on) {
            throw usage_error("--restore is a drill of its own: it takes no fault (" + flag + ")");
        }
    }
    if (o.restore || o.repeat != 1 || !o.candidate.empty() || !o.max_time_to_alert.empty()) {
        throw usage_error(
            "--restore goes with --to, --max-rto, --baseline, --report and "
            "--break-lock only");
    }
    RestoreDrillCmdOptions ro;
    ro.to = o.to;
    ro.max_rto_s = o.max_rto_s;
    ro.baseline_s = o.baseline_set ? o.baseline_s : 3;
    ro.reports = o.reports;
    ro.break_lock = o.break_lock;
    return restore_drill(ctx, ro);
}

drills::FaultKind chosen_fault(const DrillCmdOptions& o) {
    std::vector<const drills::FaultInfo*> chosen;
    for (const auto& f : drills::fault_catalogue()) {
        auto it = o.faults.find(f.flag);
        if (it != o.faults.end() && it->second) {
            chosen.push_back(&f);
        }
    }
    if (chosen.size() != 1) {
        throw usage_error(chosen.empty() ? "no fault given" : "more than one fault given",
                          "give exactly one fault flag; `pgdr drill --list` shows them");
    }
    return chosen.front()->kind;
}

// With a monitor host, every run's probes also poll Alertmanager through the run's reach
// (drills/alert_watch.hpp); empty without one.
drills::AlertFetch alert_fetch(const Inventory& inv, ClusterReach& reach, HttpClient& http) {
    if (monitoring::monitor_hosts(inv).empty()) {
        return {};
    }
    return [&inv, &reach, &http] { return monitoring::fetch_alerts(inv, reach, http); };
}

std::optional<drills::Millis> max_time_to_alert(const DrillCmdOptions& o) {
    if (o.max_time_to_alert.empty()) {
        return std::nullopt;
    }
    const auto d = parse_duration(o.max_time_to_alert);
    if (!d) {
        throw usage_error("--max-time-to-alert " + o.max_time_to_alert + ": not a duration",
                          "give e.g. 15s, 1m or 15 (seconds)");
    }
    return d->count();
}

std::string secret(const std::string& state_dir, const char* name) {
    auto s = read_secret(state_dir, name);
    if (!s || s->empty()) {
        throw config_error("no secret " + std::string(name) + " in " + state_dir + "/secrets",
                           "run `pgdr bootstrap` first: it creates the cluster's secrets");
    }
    return *s;
}

// --- options --------------------------------------------------------------------------------

void check_drill_options(const DrillCmdOptions& o, drills::FaultKind fault) {
    if (o.to) {
        throw usage_error("--to goes with --restore");
    }
    if (!o.candidate.empty() && fault != drills::FaultKind::switchover) {
        throw usage_error("--candidate goes with --switchover only");
    }
    for (const auto& path : o.reports) {
        if (!drills::report_format_for_path(path)) {
            throw usage_error("--report " + path + ": unknown extension",
                              "use .md, .json, .xml (JUnit), .svg or .txt");
        }
    }
    if (o.baseline_s < 1 || o.timeout_s < 10 || o.baseline_s > 3600 || o.timeout_s > 3600) {
        throw usage_error("--baseline must be 1 to 3600 s and --timeout 10 to 3600 s",
                          "the fault stays in place up to 2 x --timeout; an hour is the most");
    }
}

drills::DrillOptions engine_options(const DrillCmdOptions& o, drills::FaultKind fault) {
    drills::DrillOptions opts;
    opts.fault = fault;
    opts.candidate = o.candidate;
    if (o.max_rto_s >= 0) {
        opts.objectives.max_rto_ms = static_cast<drills::Millis>(o.max_rto_s * 1000);
    }
    opts.objectives.max_lost = o.max_lost;
    opts.objectives.max_time_to_alert_ms = max_time_to_alert(o);
    opts.repeat = o.repeat;
    opts.baseline = std::chrono::milliseconds(static_cast<long long>(o.baseline_s * 1000));
    opts.timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout_s * 1000));
    opts.yes_really = o.yes_really;
    return opts;
}

// --- wiring ---------------------------------------------------------------------------------

// The REST API password (switchover, restore) and the probe role's credentials, both
// registered with the log's redaction.
struct DrillSecrets {
    std::string rest_password;
    drills::ProbeCredentials probe;
};

DrillSecrets drill_secrets(Context& ctx, const Inventory& inv) {
    DrillSecrets s{
        secret(inv.paths.state_dir, pg::k_rest_api_secret),
        {pg::k_probe_user, secret(inv.paths.state_dir, pg::k_probe_secret), pg::k_probe_database}};
    ctx.log->add_secret(s.rest_password);
    ctx.log->add_secret(s.probe.password);
    return s;
}

drills::TransportFor transport_lookup(HostTransports& hosts) {
    return [&hosts](const std::string& name) -> Transport& {
        auto it = hosts.by_name.find(name);
        if (it == hosts.by_name.end()) {
            throw Error(ExitCode::internal, "no transport for host " + name);
        }
        return *it->second;
    };
}

// --restore: the fault an interrupted drill's journal records (it decides the wiring: the lab or
// OVH for a whole host); std::nullopt, after saying so, when there is none.
std::optional<drills::FaultKind> fault_to_restore(const Inventory& inv,
                                                  const drills::DrillTopology& topology,
                                                  const drills::TransportFor& transport_for) {
    auto found = drills::find_fault_journal(inv.paths.state_dir, topology, transport_for);
    if (!found) {
        std::cout << "no fault journal (" << drills::fault_journal_path(inv.paths.state_dir) << ", "
                  << drills::k_host_journal_path << " on the members): nothing to restore\n";
        return std::nullopt;
    }
    return found->journal.plan.kind;
}

std::function<void(const std::string&)> drill_progress(Context& ctx) {
    return [&ctx](const std::string& m) {
        if (::isatty(STDERR_FILENO) != 0) {
            std::cerr << "pgdr drill: " << ctx.log->redact(m) << "\n";
        } else {
            ctx.log->info("drill: " + m);
        }
    };
}

// Whole-host faults go through the provider, from outside the host, as a hypervisor or a cloud
// API would: the lab cuts a host's link (its network namespace) and resets its container; OVH
// resets the instance through its API. A partition on OVH is nftables on the host, without the
// provider. get() is null when the fault needs no provider.
class FaultHostControl {
  public:
    FaultHostControl(Context& ctx, const Inventory& inv, drills::FaultKind fault,
                     const drills::DrillTopology& topology,
                     const drills::TransportFor& transport_for) {
        const bool whole_host = fault == drills::FaultKind::reboot_primary ||
                                fault == drills::FaultKind::lose_primary_host;
        if (inv.provider == ProviderKind::lab &&
            (fault == drills::FaultKind::partition_primary || whole_host)) {
            wire_lab(ctx, inv, drills::fault_info(fault));
        } else if (inv.provider == ProviderKind::ovh && whole_host) {
            wire_ovh(ctx, inv, topology, transport_for);
        }
    }
    HostControl* get() const { return m_control; }

  private:
    void wire_lab(Context& ctx, const Inventory& inv, const drills::FaultInfo& info) {
        if (inv.lab.dir.empty()) {
            throw config_error("the inventory's lab provider names no lab directory (lab.dir)");
        }
        if (::geteuid() != 0) {
            throw usage_error(info.flag +
                                  " on the lab acts on the host's container from outside: "
                                  "it needs root",
                              "run pgdr drill as root, e.g. with sudo");
        }
        m_lab = std::make_unique<lab::Lab>(
            lab::LabPaths(inv.lab.dir), m_local, *ctx.log,
            [&ctx](const std::string& m) { ctx.log->info("lab: " + m); });
        m_control = m_lab.get();
    }
    void wire_ovh(Context& ctx, const Inventory& inv, const drills::DrillTopology& topology,
                  const drills::TransportFor& transport_for) {
        m_ovh_api = std::make_unique<OvhWiring>(ctx, inv.ovh.endpoint, inv.ovh.project_id);
        ovh::OvhHostControlOptions oo;
        oo.expected = ovh::expected_machines(inv);  // name + private address before the POST
        oo.ssh_ready = [transport_for](const std::string& host) {
            RunOptions ro;
            ro.timeout = std::chrono::seconds(10);
            try {
                return transport_for(host).run({"true"}, ro).ok();
            } catch (const Error&) {
                return false;
            }
        };
        m_ovh = std::make_unique<ovh::OvhHostControl>(
            *m_ovh_api->api, m_ovh_api->clock, ovh::instance_ids(load_state(inv.paths.state_dir)),
            oo);
        for (const auto& n : topology.postgres) {
            m_ovh->instance_id(n.name);  // every member must have one: fail before the drill
        }
        m_control = m_ovh.get();
    }

    LocalTransport m_local;
    std::unique_ptr<lab::Lab> m_lab;
    std::unique_ptr<OvhWiring> m_ovh_api;
    std::unique_ptr<ovh::OvhHostControl> m_ovh;
    HostControl* m_control = nullptr;
};

// --- report ---------------------------------------------------------------------------------

// Writes the --report files and prints the report (text or JSON); the exit code says whether
// every run met the objectives.
int report_outcome(Context& ctx, const DrillCmdOptions& o, const drills::DrillOutcome& outcome) {
    const bool repeated = o.repeat > 1;
    std::optional<drills::RepeatSummary> summary;
    if (repeated) {
        summary = drills::aggregate(outcome.reports);
    }
    for (const auto& path : o.reports) {
        if (repeated) {
            drills::write_report(path, outcome.reports, *summary);
        } else {
            drills::write_report(path, outcome.reports.front());
        }
    }
    if (ctx.json()) {
        std::cout << (repeated ? drills::render_json(outcome.reports, *summary)
                               : drills::render_json(outcome.reports.front()));
    } else {
        std::cout << (repeated ? drills::render_text(outcome.reports, *summary)
                               : drills::render_text(outcome.reports.front()));
    }
    if (outcome.interrupted) {
        std::cerr << "pgdr: drill interrupted; the fault was restored\n";
        return static_cast<int>(ExitCode::interrupted);
    }
    if (!outcome.stopped_early.empty()) {
        std::cerr << "pgdr: error: repeat stopped after " << outcome.reports.size()
                  << " run(s): " << ctx.log->redact(outcome.stopped_early) << "\n";
        return static_cast<int>(ExitCode::verification_failed);
    }
    bool passed = true;
    for (const auto& r : outcome.reports) {
        passed = passed && r.verdict == drills::Verdict::pass;
    }
    return static_cast<int>(passed ? ExitCode::ok : ExitCode::objectives_missed);
}

// --- the command ----------------------------------------------------------------------------

int drill(Context& ctx, const DrillCmdOptions& o) {
    if (o.list) {
        std::cout << drills::render_fault_list();
        return 0;
    }
    if (o.restore_drill) {
        return restore_drill_of(ctx, o);
    }
    if (!o.lose_region.empty()) {
        return region_drill_of(ctx, o);
    }
    if (o.promote) {
        throw usage_error("--promote goes with --lose-region");
    }
    auto fault = o.restore ? drills::FaultKind::kill_primary : chosen_fault(o);
    check_drill_options(o, fault);

    Inventory inv = resolved_inventory(ctx);
    const auto topology = drills::drill_topology(inv);
    const auto settings = drills::deployed_settings(inv);
    for (const auto& w : drills::settings_warnings(settings)) {
        ctx.log->warn("drill: " + w);
    }
    const DrillSecrets secrets = drill_secrets(ctx, inv);
    HostTransports hosts = connect_hosts(ctx, inv);
    const drills::TransportFor transport_for = transport_lookup(hosts);
    if (o.restore) {
        const auto journal_fault = fault_to_restore(inv, topology, transport_for);
        if (!journal_fault) {
            return 0;
        }
        fault = *journal_fault;
    }
    net::CurlHttpClient http;
    use_cluster_tls(http, inv);
    drills::LiveProbeSettings live_settings;
    live_settings.haproxy_authorization = haproxy_authorization(ctx, inv);
    SystemClock clock;
    const FaultHostControl host_control(ctx, inv, fault, topology, transport_for);

    // One reach for the checks and the probes, its vantage host chosen anew for each run's
    // target.
    ClusterWiring cluster(ctx, inv);
    auto owned_reach = std::make_unique<RunReach>(ctx, inv);
    RunReach* run_reach = owned_reach.get();
    cluster.reach = std::move(owned_reach);
    const drills::AlertFetch alerts = alert_fetch(inv, *run_reach, http);
    drills::DrillSeams seams{topology,
                             settings,
                             clock,
                             http,
                             cluster.access(),
                             transport_for,
                             host_control.get(),
                             [&](const std::string& run, const std::string& target) {
                                 run_reach->avoid(target);
                                 auto probes =
                                     drills::make_live_probes(topology, *run_reach, secrets.probe,
                                                              http, clock, run, live_settings);
                                 if (alerts) {
                                     probes.push_back(drills::make_alert_probe(alerts, clock));
                                 }
                                 return probes;
                             },
                             pg::k_rest_api_user,
                             secrets.rest_password,
                             inv.paths.state_dir,
                             &InterruptGuard::flag(),
                             drill_progress(ctx),
                             [run_reach] { return run_reach->vantage(); }};
    seams.cadence = drills::cadence_of(drills::LiveProbeSettings{});
    seams.watch_alerts = static_cast<bool>(alerts);
    if (inv.guard.enabled) {
        seams.guard_failovers = [&inv, &hosts] {
            return guard_failover_records(inv, hosts.by_name);
        };
    }

    InterruptGuard guard;
    // The cluster-wide lock first (any operator machine); the engine then takes the state
    // directory's drill lock and restores a fault an interrupted drill left.
    auto cluster_lock = take_cluster_lock(ctx, inv, o.break_lock);
    drills::DrillEngine engine(seams, engine_options(o, fault));
    if (o.restore) {
        const auto restored = engine.restore_only();
        std::cout << (restored.empty() ? std::string("nothing to restore") : restored) << "\n";
        return 0;
    }
    drills::DrillOutcome outcome = engine.run();
    if (outcome.reports.empty()) {
        std::cerr << "pgdr: drill interrupted before the first run\n";
        return static_cast<int>(ExitCode::interrupted);
    }
    return report_outcome(ctx, o, outcome);
}

}  // namespace

void register_drill_commands(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<DrillCmdOptions>();
    auto* cmd = app.add_subcommand(
        "drill", "Inject one fault into the live cluster, measure what clients saw, restore it");
    for (const auto& f : drills::fault_catalogue()) {
        cmd->add_flag(f.flag, o->faults[f.flag], f.summary);
    }
    cmd->add_flag("--list", o->list, "Print the fault catalogue and exit");
    cmd->add_flag(
        "--heal", o->restore,
        "Only restore the fault an interrupted drill left (its fault journal), then exit");
    cmd->add_flag("--restore", o->restore_drill,
                  "The restore drill: restore the repository to a point in time onto a scratch "
                  "host and check the marker rows written meanwhile");
    cmd->add_option("--to", o->to,
                    "With --restore: the recovery target TIME (default: now minus a margin)");
    cmd->add_option("--lose-region", o->lose_region,
                    "The region drill: every host of REGION of a pair of clusters (inventory dr "
                    "section) loses its network while two writers write");
    cmd->add_flag("--promote", o->promote,
                  "With --lose-region: promote the DR cluster once the primary region is lost");
    cmd->add_option("--candidate", o->candidate, "With --switchover: the replica to promote");
    cmd->add_option("--max-rto", o->max_rto_s, "Objective: RTO at most SECONDS")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--max-lost", o->max_lost,
                    "Objective: at most N acknowledged writes lost (default 0)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--max-time-to-alert", o->max_time_to_alert,
                    "Objective: every alert the fault must raise fires within DURATION (needs a "
                    "monitor host)");
    cmd->add_option("--repeat", o->repeat, "Run the drill N times and summarise")
        ->check(CLI::Range(1, 100));
    cmd->add_option("--report", o->reports,
                    "Also write the report to FILE (.md, .json, .xml, .svg, .txt); repeatable")
        ->allow_extra_args(false);
    cmd->add_option("--yes-really", o->yes_really, "Required for a production cluster: its name");
    cmd->add_option("--baseline", o->baseline_s,
                    "Seconds of probe writes before the fault (default 5; --restore: markers "
                    "before the target, default 3)")
        ->each([o](const std::string&) { o->baseline_set = true; });
    cmd->add_option("--timeout", o->timeout_s, "Bound of each wait, in seconds (default 180)");
    add_break_lock_option(cmd, o->break_lock);
    cmd->callback([&ctx, o] { ctx.action = [&ctx, o] { return drill(ctx, *o); }; });
}

}  // namespace pgdr::cmd
