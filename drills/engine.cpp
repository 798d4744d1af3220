#include "drills/engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "core/poll.hpp"
#include "core/strings.hpp"
#include "core/timeouts.hpp"
#include "drills/alert_watch.hpp"
#include "drills/cluster_checks.hpp"
#include "drills/drill_lock.hpp"
#include "drills/etcd_quorum.hpp"
#include "drills/evidence_collect.hpp"
#include "drills/fault_journal.hpp"
#include "pg/candidate.hpp"

namespace pgdr::drills {

namespace {

// The outcome of the latest write attempt: true acked, false failed, nullopt none yet.
std::optional<bool> last_write_ok(const std::vector<Event>& events) {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
        if (std::holds_alternative<WriteAcked>(it->data)) {
            return true;
        }
        if (std::holds_alternative<WriteFailed>(it->data)) {
            return false;
        }
    }
    return std::nullopt;
}

bool acked_since(const std::vector<Event>& events, Millis from) {
    for (const auto& e : events) {
        if (e.at_ms >= from && std::holds_alternative<WriteAcked>(e.data)) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::string make_run_id(const std::string& cluster, std::chrono::system_clock::time_point now,
                        int index) {
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    return cluster + "-" + stamp + "-" + std::to_string(index);
}

DrillEngine::DrillEngine(DrillSeams seams, DrillOptions options)
    : m_seams(std::move(seams)), m_options(std::move(options)) {}

bool DrillEngine::interrupted() const {
    return m_seams.interrupted != nullptr && m_seams.interrupted->load();
}

void DrillEngine::progress(const std::string& message) const {
    if (m_seams.progress) {
        m_seams.progress(message);
    }
}

bool DrillEngine::wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
    return poll_until(m_seams.clock, timeout, m_options.poll, m_seams.interrupted, done) ==
           PollOutcome::holds;
}

void DrillEngine::sleep_interruptible(std::chrono::milliseconds duration) {
    wait_until(duration, [] { return false; });
}

FaultSeams DrillEngine::fault_seams() const {
    return FaultSeams{m_seams.topology,
                      m_seams.clock,
                      m_seams.transport,
                      m_seams.host_control,
                      m_seams.http,
                      m_seams.cluster.reach,
                      m_seams.rest_user,
                      m_seams.rest_password,
                      std::chrono::duration_cast<std::chrono::seconds>(m_options.timeout * 2 +
                                                                       std::chrono::seconds(60)),
                      m_options.timeout,
                      std::chrono::seconds(1)};
}

FaultJournal DrillEngine::journal_for(const FaultPlan& plan) const {
    FaultJournal j;
    j.plan = plan;
    j.started = format_utc(m_seams.clock.wall_now());
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) {
        j.operator_host = host;
    }
    j.pid = static_cast<long>(::getpid());
    j.neighbour = journal_neighbour(m_seams.topology, plan.target);
    return j;
}

std::string DrillEngine::restore_journaled_fault() {
    // Called with the drill lock (and the cluster lock) held: the drill that wrote the journal
    // is gone.
    auto found = find_fault_journal(m_seams.lock_dir, m_seams.topology, m_seams.transport);
    if (!found) {
        return {};
    }
    const auto& journal = found->journal;
    const auto& info = fault_info(journal.plan.kind);
    progress("an interrupted drill left " + describe(journal) + " in place (" + found->where +
             "): " + info.restore);
    FaultInjector injector(fault_seams());
    FaultRestored restored = injector.restore(journal.plan);
    if (!restored.ok) {
        throw Error(ExitCode::verification_failed,
                    "an interrupted drill left " + describe(journal) +
                        " in place, and restoring it failed: " + restored.detail,
                    "restore it by hand (" + info.restore + "), check `pgdr status`, then delete " +
                        found->where);
    }
    FaultJournal everywhere = journal;
    everywhere.neighbour.clear();  // the copy found may be on another member than recorded
    clear_journals(everywhere);
    progress("restored: " + restored.detail);
    return describe(journal) + " restored: " + restored.detail;
}

void DrillEngine::clear_journals(const FaultJournal& journal) {
    if (!m_seams.lock_dir.empty()) {
        clear_fault_journal(m_seams.lock_dir);
    }
    // The recorded neighbour; every member when none is recorded.
    for (const auto& n : m_seams.topology.postgres) {
        if (n.name == journal.neighbour || journal.neighbour.empty()) {
            try {
                clear_host_fault_journal(m_seams.transport(n.name));
            } catch (const Error&) {
                // No transport for it.
            }
        }
    }
}

void DrillEngine::record_journal(const FaultJournal& journal) {
    if (!m_seams.lock_dir.empty()) {
        write_fault_journal(m_seams.lock_dir, journal);
    }
    if (journal.neighbour.empty()) {
        return;
    }
    const auto why = copy_fault_journal(m_seams.transport(journal.neighbour), journal);
    if (!why.empty()) {
        progress("warning: no copy of the fault journal on " + journal.neighbour + ": " + why);
    }
}

std::string DrillEngine::restore_only() {
    std::optional<DrillLock> lock;
    if (!m_seams.lock_dir.empty()) {
        lock.emplace(m_seams.lock_dir);
    }
    return restore_journaled_fault();
}

DrillEngine::PreCheck DrillEngine::pre_checks() {
    const auto& t = m_seams.topology;
    ClusterSeams cs{t, m_seams.cluster, m_seams.transport};
    HealthCriteria criteria;
    const auto max_lag = m_options.max_lag_bytes.value_or(t.maximum_lag_on_failover);
    criteria.max_lag_bytes = max_lag;
    criteria.require_sync_standby = m_seams.settings.synchronous_mode;
    Health h = check_health(cs, criteria);
    if (h.unreachable()) {
        throw Error(ExitCode::unreachable, "pre-checks: " + join(h.problems(), "; "),
                    "is the cluster up? `pgdr status` checks it");
    }
    if (!h.healthy()) {
        throw Error(ExitCode::verification_failed,
                    "pre-checks failed, the cluster is not healthy enough to drill: " +
                        join(h.problems(), "; "),
                    "wait until every replica streams from the leader (`pgdr status`), then "
                    "retry");
    }
    PreCheck pre{h.leader(), ""};
    const auto target = fault_target(m_options.fault, t, h.leader());  // refuses the impossible
    // etcd keeps the leader key: the fault must leave it a quorum, counting members already down.
    check_etcd_quorum(etcd_member_health(t, m_seams.transport),
                      etcd_member_lost(m_options.fault, t, target),
                      fault_info(m_options.fault).flag);
    if (m_options.fault == FaultKind::switchover) {
        pg::CandidatePolicy policy;
        policy.synchronous_mode = m_seams.settings.synchronous_mode;
        policy.max_lag_bytes = max_lag;
        if (m_options.candidate.empty()) {
            const auto choice = pg::pick_candidate(h.snapshot, policy);
            if (choice.name.empty()) {
                throw Error(ExitCode::verification_failed,
                            "pre-checks: no switchover candidate: " + choice.why);
            }
            pre.candidate = choice.name;
        } else {
            pre.candidate = m_options.candidate;
            if (h.snapshot.member(pre.candidate) == nullptr) {
                throw usage_error("--candidate " + pre.candidate + " is not a cluster member");
            }
            if (pre.candidate == h.leader()) {
                throw Error(ExitCode::verification_failed, "pre-checks: no switchover candidate: " +
                                                               pre.candidate + " is the leader");
            }
            // Patroni answers 412 "candidate name does not match with sync_standby" to a
            // replica that is not the synchronous standby.
            const auto why = pg::candidate_refusal(h.snapshot, policy, pre.candidate);
            if (!why.empty()) {
                throw Error(ExitCode::verification_failed, "pre-checks: --candidate " + why,
                            "omit --candidate to let pgdr pick (the synchronous standby under "
                            "synchronous_mode)");
            }
        }
    }
    // Partitioning or resetting a leader that also carries the probes' HAProxy cuts every
    // client off until the heal or the boot: the drill would measure that, not a failover
    // (seen on the lab, where pg3 runs both).
    const bool whole_host = m_options.fault == FaultKind::partition_primary ||
                            m_options.fault == FaultKind::reboot_primary ||
                            m_options.fault == FaultKind::lose_primary_host;
    if (whole_host && t.probe_haproxy().name == h.leader()) {
        throw Error(ExitCode::verification_failed,
                    "pre-checks: the leader " + h.leader() +
                        " also runs the HAProxy the probes use; a " +
                        (m_options.fault == FaultKind::partition_primary ? "partition"
                         : m_options.fault == FaultKind::reboot_primary  ? "hard reset"
                                                                         : "power-off") +
                        " would cut every client off, not test a failover",
                    "move the leader first: `pgdr switchover --to <another member> --yes`");
    }
    if (m_options.fault == FaultKind::partition_primary && m_seams.host_control == nullptr) {
        RunOptions o;
        o.sudo = true;
        o.timeout = k_quick_command_timeout;
        auto r = m_seams.transport(h.leader()).run({"nft", "--version"}, o);
        if (!r.ok()) {
            throw Error(ExitCode::verification_failed,
                        "pre-checks: nft is not available on " + h.leader(),
                        "install nftables on the postgres hosts (apt-get install nftables)");
        }
    }
    return pre;
}

bool DrillEngine::react(const Timeline& timeline, const FaultPlan& plan, Millis fault_at) {
    const auto& info = fault_info(plan.kind);
    if (info.leader == LeaderExpectation::new_leader) {
        progress("waiting for a new leader to acknowledge writes");
        return wait_until(m_options.timeout, [&] {
            for (const auto& e : timeline.events()) {
                const auto* a = std::get_if<WriteAcked>(&e.data);
                if (a != nullptr && e.at_ms >= fault_at && !a->backend.empty() &&
                    a->backend != plan.leader) {
                    return true;
                }
            }
            return false;
        });
    }
    if (info.leader == LeaderExpectation::any_leader) {
        progress("waiting for a leader to acknowledge writes again");
        return wait_until(m_options.timeout, [&] {
            bool failed = false;
            for (const auto& e : timeline.events()) {
                if (e.at_ms < fault_at) {
                    continue;
                }
                failed = failed || std::holds_alternative<WriteFailed>(e.data);
                const auto* a = std::get_if<WriteAcked>(&e.data);
                if (a != nullptr && !a->backend.empty() && (failed || a->backend != plan.leader)) {
                    return true;
                }
            }
            return false;
        });
    }
    switch (plan.kind) {
        case FaultKind::kill_postmaster: {
            progress("waiting for Patroni to restart PostgreSQL");
            const Millis settle = static_cast<Millis>(m_seams.settings.loop_wait_s) * 1000 + 10000;
            return wait_until(m_options.timeout, [&] {
                auto events = timeline.events();
                std::optional<Millis> last_failure;
                for (const auto& e : events) {
                    if (e.at_ms >= fault_at && std::holds_alternative<WriteFailed>(e.data)) {
                        last_failure = e.at_ms;
                    }
                }
                if (last_failure) {
                    return acked_since(events, *last_failure + 1);
                }
                return timeline.now_ms() - fault_at >= settle;
            });
        }
        case FaultKind::kill_etcd_member:
            progress("one ttl without the etcd member");
            sleep_interruptible(std::chrono::seconds(m_seams.settings.ttl_s));
            return true;
        case FaultKind::kill_haproxy:
            progress("writes without HAProxy");
            sleep_interruptible(std::chrono::seconds(3));
            return true;
        default:
            return true;
    }
}

void DrillEngine::wait_alerts_quiet(const Timeline& timeline) {
    const auto& expected = fault_info(m_options.fault).alerts;
    if (!m_seams.watch_alerts || expected.empty()) {
        return;
    }
    const auto active = expected_alerts_active(timeline.events(), expected);
    if (active.empty()) {
        return;
    }
    progress("waiting until alerts of an earlier fault resolve: " + join(active, ", "));
    wait_until(m_options.timeout,
               [&] { return expected_alerts_active(timeline.events(), expected).empty(); });
}

void DrillEngine::hold_for_alerts(const Timeline& timeline, Millis fault_at) {
    const auto& expected = fault_info(m_options.fault).alerts;
    if (!m_seams.watch_alerts || expected.empty() || interrupted()) {
        return;
    }
    // The objective, plus two polls: Alertmanager's startsAt is when Prometheus fired it, the
    // probe sees it up to a poll later.
    auto bound = m_options.objectives.max_time_to_alert_ms
                     ? std::chrono::milliseconds(*m_options.objectives.max_time_to_alert_ms) +
                           2 * k_alert_poll_interval
                     : k_default_alert_hold;
    bound = std::min(bound, m_options.timeout);
    const auto waited = std::chrono::milliseconds(timeline.now_ms() - fault_at);
    if (waited >= bound) {
        return;
    }
    auto all_fired = [&] {
        const auto found =
            find_alerts(timeline.events(), timeline.started_wall(), fault_at, expected);
        return std::all_of(
            found.timings.begin(), found.timings.end(),
            [](const monitoring::AlertTiming& t) { return !t.expected || t.fired_ms.has_value(); });
    };
    if (all_fired()) {
        return;
    }
    progress("fault held until its alerts fire: " + join(expected, ", "));
    wait_until(bound - waited, all_fired);
}

// Once the cluster is whole, the probes keep running until every expected alert that fired has
// resolved (a minute at most; not an alert that lasts a fixed window): Prometheus needs a scrape
// and an evaluation after the restore, longer than the tail, and the report times both edges of
// each alert.
void DrillEngine::watch_until_resolved(const Timeline& timeline, Millis fault_at) {
    const auto& expected = fault_info(m_options.fault).alerts;
    if (!m_seams.watch_alerts || expected.empty() || interrupted()) {
        return;
    }
    auto unresolved = [&] {
        std::vector<std::string> open;
        for (const auto& t :
             find_alerts(timeline.events(), timeline.started_wall(), fault_at, expected).timings) {
            if (t.expected && t.fired_ms && !t.resolved_ms && !alert_lasts_a_window(t.name)) {
                open.push_back(t.name);
            }
        }
        return open;
    };
    const auto open = unresolved();
    if (open.empty()) {
        return;
    }
    progress("watching until the alerts resolve: " + join(open, ", "));
    wait_until(std::min(k_default_alert_hold, m_options.timeout),
               [&] { return unresolved().empty(); });
}

bool DrillEngine::wait_health(const Timeline& timeline, const FaultPlan& plan, std::string& why) {
    progress("waiting for the cluster to be whole again");
    ClusterSeams cs{m_seams.topology, m_seams.cluster, m_seams.transport};
    HealthCriteria criteria;
    criteria.ask_last = plan.kind == FaultKind::partition_primary ? plan.target : "";
    criteria.require_sync_standby = m_seams.settings.synchronous_mode;
    return wait_until(m_options.timeout, [&] {
        try {
            Health h = check_health(cs, criteria);
            if (!h.healthy()) {
                why = join(h.problems(), "; ");
                return false;
            }
        } catch (const std::exception& e) {
            why = e.what();
            return false;
        }
        if (last_write_ok(timeline.events()) != true) {
            why = "writes through HAProxy still fail";
            return false;
        }
        return true;
    });
}

Report DrillEngine::run_once(const PreCheck& pre, int index) {
    const std::string run = make_run_id(m_seams.topology.cluster, m_seams.clock.wall_now(), index);
    Timeline timeline(m_seams.clock);
    const FaultPlan plan = plan_fault(pre);
    ProbeSet probes;
    for (auto& p : m_seams.probes(run, plan.target)) {
        probes.add(std::move(p));
    }
    AnalysisInput in = analysis_input(pre);
    if (!baseline(timeline, probes, run, in)) {
        return analyze(timeline, in);
    }
    const Millis fault_at = inject_and_restore(timeline, plan, in);
    if (interrupted()) {
        probes.stop();
        in.errors.push_back("interrupted: the fault was restored; post-checks skipped");
        return analyze(timeline, in);
    }
    std::string why;
    if (!wait_health(timeline, plan, why) && !interrupted()) {
        in.errors.push_back("the cluster was not whole again within " +
                            std::to_string(m_options.timeout.count() / 1000) + " s: " + why);
    }
    watch_until_resolved(timeline, fault_at);
    sleep_interruptible(m_options.tail);
    probes.stop();
    after_the_run(timeline, run, in);
    Report report = analyze(timeline, in);
    if (m_seams.guard_failovers) {
        try {
            report.guard_phases = guard_phases_of(m_seams.guard_failovers(),
                                                  timeline.wall_at(fault_at), report.clock_offsets);
        } catch (const std::exception& e) {
            report.warnings.push_back(std::string("the guard's records: ") + e.what());
        }
    }
    return report;
}

std::vector<GuardPhase> guard_phases_of(const std::vector<GuardFailoverRecord>& records,
                                        std::chrono::system_clock::time_point fault_wall,
                                        const std::vector<ClockOffset>& offsets) {
    std::vector<GuardPhase> out;
    for (const auto& r : records) {
        if (r.phases.empty() || r.phases.front().second < fault_wall - std::chrono::seconds(1)) {
            continue;
        }
        double offset = 0;
        for (const auto& o : offsets) {
            if (o.host == r.agent) {
                offset = o.offset_ms;  // host = operator + offset
            }
        }
        for (const auto& [name, at] : r.phases) {
            const double ms =
                std::chrono::duration<double, std::milli>(at - fault_wall).count() - offset;
            out.push_back({name, static_cast<Millis>(std::llround(ms)), r.agent});
        }
    }
    return out;
}

FaultPlan DrillEngine::plan_fault(const PreCheck& pre) const {
    FaultPlan plan;
    plan.kind = m_options.fault;
    plan.leader = pre.leader;
    plan.candidate = pre.candidate;
    plan.target = fault_target(plan.kind, m_seams.topology, pre.leader);
    plan.use_host_control =
        plan.kind == FaultKind::partition_primary && m_seams.host_control != nullptr;
    return plan;
}

AnalysisInput DrillEngine::analysis_input(const PreCheck& pre) const {
    AnalysisInput in;
    in.fault = m_options.fault;
    in.cluster = m_seams.topology.cluster;
    in.old_primary = pre.leader;
    in.settings = m_seams.settings;
    in.objectives = m_options.objectives;
    in.alerts_watched = m_seams.watch_alerts;
    return in;
}

bool DrillEngine::baseline(Timeline& timeline, ProbeSet& probes, const std::string& run,
                           AnalysisInput& in) {
    progress("run " + run + ": probes, " + std::to_string(m_options.baseline.count()) +
             " ms of baseline writes");
    probes.start(timeline);
    sleep_interruptible(m_options.baseline);
    // Known once the probes have connected (a forwarded path is set up on first use).
    in.probe_vantage = m_seams.vantage ? m_seams.vantage() : "";
    if (interrupted()) {
        probes.stop();
        in.errors.push_back("interrupted before the fault: nothing was injected");
        return false;
    }
    if (!acked_since(timeline.events(), 0)) {
        throw Error(ExitCode::verification_failed,
                    "no write was acknowledged through HAProxy during the baseline; the fault "
                    "was not injected",
                    "check the write port of " + m_seams.topology.probe_haproxy().name +
                        " (`pgdr status`)");
    }
    return true;
}

Millis DrillEngine::inject_and_restore(Timeline& timeline, const FaultPlan& plan,
                                       AnalysisInput& in) {
    const auto& info = fault_info(m_options.fault);
    wait_alerts_quiet(timeline);
    FaultInjector injector(fault_seams());
    // Recorded before the fault, cleared after a successful restore: a drill killed between
    // the two leaves the journal, and the next drill restores from it (fault_journal.hpp).
    const FaultJournal journal = journal_for(plan);
    record_journal(journal);
    progress(info.flag + " on " + plan.target);
    Millis fault_at = timeline.now_ms();
    try {
        injector.arm(plan);  // the safety net's commands are not the fault's time
        fault_at = timeline.record(
            FaultInjected{info.name, plan.target, info.flag + " on " + plan.target});
        timeline.record(Note{"fault: " + injector.inject(plan)});
        if (!react(timeline, plan, fault_at) && !interrupted()) {
            in.errors.push_back("the cluster did not react as expected within " +
                                std::to_string(m_options.timeout.count() / 1000) + " s");
        }
        hold_for_alerts(timeline, fault_at);
    } catch (const std::exception& e) {
        in.errors.push_back(std::string("fault: ") + e.what());
    }

    // Always, also after a failed step or an interrupt.
    progress("restore: " + info.restore);
    FaultRestored restored = injector.restore(plan);
    timeline.record(restored);
    if (!restored.ok) {
        in.errors.push_back("restore failed: " + restored.detail +
                            (m_seams.lock_dir.empty()
                                 ? std::string()
                                 : " (kept in " + fault_journal_path(m_seams.lock_dir) + ")"));
    } else {
        clear_journals(journal);
    }
    return fault_at;
}

void DrillEngine::after_the_run(const Timeline& timeline, const std::string& run,
                                AnalysisInput& in) {
    ClusterSeams cs{m_seams.topology, m_seams.cluster, m_seams.transport};
    std::string leader;
    try {
        HealthCriteria criteria;
        criteria.check_haproxy = false;
        leader = check_health(cs, criteria).leader();
    } catch (const std::exception& e) {
        in.errors.push_back(std::string("post-checks: ") + e.what());
    }
    progress("post-checks on leader " + leader);
    in.post_check = post_check(cs, leader, in.errors);
    std::map<std::int64_t, std::int64_t> stamps;
    if (!leader.empty()) {
        std::string error;
        in.seqs_on_new_primary = read_drill_seqs(cs, leader, run, error, &stamps);
        if (!error.empty()) {
            in.errors.push_back(error);
        }
    }
    in.cadence = m_seams.cadence;
    if (m_seams.collect_evidence) {
        progress("server evidence: clock offsets, logs");
        in.evidence = collect_evidence(timeline, stamps);
    }
}

ServerEvidence DrillEngine::collect_evidence(const Timeline& timeline,
                                             const std::map<std::int64_t, std::int64_t>& stamps) {
    const auto& t = m_seams.topology;
    ServerEvidence ev;
    ev.haproxy_host = t.probe_haproxy().name;
    ev.offsets =
        measure_clock_offsets(evidence_hosts(t), m_seams.transport, m_seams.clock, ev.errors);
    const auto since = std::chrono::duration_cast<std::chrono::microseconds>(
                           timeline.started_wall().time_since_epoch())
                           .count() -
                       1000000;
    ev.events = collect_log_events(t, m_seams.transport, since, ev.errors);
    // The rows' stamps, each on the clock of the member that acknowledged it.
    for (const auto& e : timeline.events()) {
        const auto* a = std::get_if<WriteAcked>(&e.data);
        auto it = a != nullptr ? stamps.find(a->seq) : stamps.end();
        if (it == stamps.end() || a->backend.empty()) {
            continue;
        }
        ServerEvent row;
        row.host = a->backend;
        row.source = source::probe;
        row.kind = evidence::row_written;
        row.subject = a->backend;
        row.at_us = it->second;
        row.resolution_us = 1;
        row.seq = a->seq;
        row.text = "pgdr_drill.at of seq " + std::to_string(a->seq);
        ev.events.push_back(std::move(row));
    }
    return ev;
}

DrillOutcome DrillEngine::run() {
    const auto& t = m_seams.topology;
    if (t.production && m_options.yes_really != t.cluster) {
        throw usage_error("cluster " + t.cluster + " is marked production: true",
                          "drilling it needs --yes-really " + t.cluster);
    }
    if (m_options.repeat < 1) {
        throw usage_error("--repeat must be at least 1");
    }
    if (m_options.timeout > k_max_drill_wait || m_options.baseline > k_max_drill_wait) {
        throw usage_error("--timeout and --baseline are at most 3600 s",
                          "the fault stays in place up to 2 x --timeout; an hour is the most");
    }
    if (m_options.objectives.max_time_to_alert_ms && !m_seams.watch_alerts) {
        throw usage_error("--max-time-to-alert: no host of cluster " + t.cluster +
                              " runs the monitor service, so no alert can be timed",
                          "add `monitor` to a host's services and run `pgdr bootstrap`");
    }
    fault_target(m_options.fault, t, "");  // refuses what cannot be done before touching anything
    if ((m_options.fault == FaultKind::reboot_primary ||
         m_options.fault == FaultKind::lose_primary_host) &&
        m_seams.host_control == nullptr) {
        throw usage_error(
            fault_info(m_options.fault).flag +
                " acts on the leader's whole host: it needs the lab or the OVH provider, and "
                "this inventory has neither",
            "use --kill-primary: the same crash of Patroni and PostgreSQL, without the reboot");
    }
    std::optional<DrillLock> lock;
    if (!m_seams.lock_dir.empty()) {
        lock.emplace(m_seams.lock_dir);
        restore_journaled_fault();
    }
    DrillOutcome out;
    for (int i = 0; i < m_options.repeat; ++i) {
        if (interrupted()) {
            out.interrupted = true;
            break;
        }
        try {
            progress("pre-checks" + (m_options.repeat > 1
                                         ? " (run " + std::to_string(i + 1) + "/" +
                                               std::to_string(m_options.repeat) + ")"
                                         : std::string()));
            PreCheck pre = pre_checks();
            out.reports.push_back(run_once(pre, i + 1));
        } catch (const Error& e) {
            if (i == 0) {
                throw;
            }
            out.stopped_early = e.what();
            break;
        }
        if (interrupted()) {
            out.interrupted = true;
            break;
        }
    }
    return out;
}

}  // namespace pgdr::drills
