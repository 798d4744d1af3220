// The drill engine (DESIGN.md §5): one fault, end to end, as a list of named steps:
//
//   guard        a production cluster needs --yes-really CLUSTER (usage error, exit 2);
//                --reboot-primary needs a HostControl (the lab or OVH; usage error otherwise)
//   lock         no other drill on this cluster (DrillLock in the state directory); then a
//                fault journal left by an interrupted drill is restored (fault_journal.hpp)
//   pre-checks   no finding of pg::assess on the cluster snapshot (pg/assessment.hpp: exactly
//                one leader; every member a member, running or streaming, on the leader's
//                timeline; every replica streaming in the leader's pg_stat_replication (not
//                Patroni's "running")
//                with lag under the bound (default maximum_lag_on_failover); a synchronous
//                standby under synchronous_mode; etcd healthy; HAProxy routing writes to the
//                leader only); a switchover candidate pg::pick_candidate accepts; for
//                partition-primary and reboot-primary, a leader that does not also run the
//                probes' HAProxy; etcd keeps a quorum through the fault (etcd_quorum.hpp).
//                Unhealthy: pgdr::Error verification_failed (exit 7); no REST API answered:
//                ExitCode::unreachable (5).
//   probes       the probes from the ProbeFactory start; `baseline` of writes; no acknowledged
//                write in the baseline stops the drill before the fault (exit 7); when alerts
//                are watched, an expected alert still firing from an earlier fault (the
//                2-minute PatroniLeaderChanged of a previous run) is waited out, bounded by
//                `timeout` (else the report warns: this fault cannot raise it again)
//   fault        the fault journal is written, FaultInjected is recorded, then the
//                FaultInjector acts
//   react        bounded by `timeout`: a new leader expected -> until a write is acknowledged by
//                another member than the old leader; kill-postmaster -> until writes fail and
//                come back (or a settle time of loop_wait + 10 s passes without a failure);
//                kill-etcd-member -> a settle time of one ttl; kill-haproxy -> 3 s; then, when
//                the probes watch Alertmanager (watch_alerts), until every alert the catalogue
//                names for the fault fired (bounded by --max-time-to-alert, or 60 s, and
//                `timeout`): the fault stays in place long enough to be alerted on
//   restore      always: also after a failed step and on interrupt; FaultRestored recorded;
//                the journal is removed when the restore succeeded.
//                reboot-primary's waits until the host is back (bounded by `timeout`, not cut
//                short by an interrupt)
//   health       bounded by `timeout`: check_health() finds nothing (old primary back as a
//                replica on the leader's timeline, all streaming, etcd healthy, HAProxy on the
//                leader) and the last write was acknowledged; skipped when interrupted
//   post-checks  timelines, histories, streaming replicas; the run's rows read on the leader
//                with their server-side stamps
//   evidence     clock offsets of every host, the Patroni/HAProxy journal and PostgreSQL log
//                lines since the run's start (evidence_collect.hpp)
//   report       analyze(): phases from the best evidence, causal_order
//
// --repeat N runs this N times (pre-checks before each); all waits poll every 100 ms on the
// Clock, so tests drive them with a manual clock. Interrupt (the flag set by a SIGINT, SIGTERM or
// SIGHUP handler) ends the current wait at once; the engine restores, reports what it saw, and
// marks the outcome interrupted.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/host_control.hpp"
#include "core/http.hpp"
#include "drills/analysis.hpp"
#include "drills/fault_journal.hpp"
#include "drills/faults.hpp"
#include "drills/prediction.hpp"
#include "drills/probe.hpp"
#include "drills/topology.hpp"
#include "pg/cluster_snapshot.hpp"

namespace pgdr::drills {

// The longest --timeout and --baseline: a fault stays in place up to 2 x --timeout.
inline constexpr std::chrono::hours k_max_drill_wait{1};

struct DrillOptions {
    FaultKind fault = FaultKind::kill_primary;
    std::string candidate;  // switchover; "" = pg::pick_candidate()
    Objectives objectives;
    int repeat = 1;
    std::chrono::milliseconds baseline{5000};
    std::chrono::milliseconds timeout{180000};  // bound of each wait
    std::optional<std::int64_t> max_lag_bytes;  // empty: topology.maximum_lag_on_failover
    std::string yes_really;                     // --yes-really CLUSTER
    std::chrono::milliseconds poll{100};
    std::chrono::milliseconds tail{1000};  // probes keep sampling after health, for the record
};

// Builds the probes of one run (writer first); `run` is the run id the writer stores.
// The probes of one run; `target` is the host the fault is about to hit (where the probes
// must not connect from).
using ProbeFactory = std::function<std::vector<std::unique_ptr<Probe>>(const std::string& run,
                                                                       const std::string& target)>;

// A failover pgdr-guard recorded (guard/status.hpp), its phases in wall time.
struct GuardFailoverRecord {
    std::string agent;
    std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> phases;
};

struct DrillSeams {
    const DrillTopology& topology;
    ClusterSettings settings;
    Clock& clock;
    HttpClient& http;
    pg::ClusterAccess cluster;  // the snapshot of every health check (pg/cluster_snapshot.hpp)
    TransportFor transport;
    HostControl* host_control = nullptr;  // the lab or OVH (lab partition, hard reset)
    ProbeFactory probes;
    std::string rest_user;
    std::string rest_password;
    std::string lock_dir;  // the state directory; "" = no lock (tests)
    const std::atomic<bool>* interrupted = nullptr;
    std::function<void(const std::string&)> progress;  // step messages; may be empty
    // Where the probes connect from, for the report; empty: "this machine".
    std::function<std::string()> vantage;
    ProbeCadence cadence = {};     // the probes' intervals, for the phases' uncertainty
    bool collect_evidence = true;  // server logs, clock offsets and row stamps after each run
    // The probes include an alert probe (drills/alert_watch.hpp): the inventory has a monitor
    // host. The report then times the fault's expected alerts.
    bool watch_alerts = false;
    // The guard's failover records (inventory guard.enabled), read after the run; empty: none.
    std::function<std::vector<GuardFailoverRecord>()> guard_failovers = {};
};

// The phases of the guard failovers that began after `fault_wall` (minus a second of clock
// uncertainty), relative to it; each agent's clock corrected by its offset when measured.
std::vector<GuardPhase> guard_phases_of(const std::vector<GuardFailoverRecord>& records,
                                        std::chrono::system_clock::time_point fault_wall,
                                        const std::vector<ClockOffset>& offsets);

struct DrillOutcome {
    std::vector<Report> reports;  // one per run done
    bool interrupted = false;
    std::string stopped_early;  // a repeat's pre-checks failed: why
};

class DrillEngine {
  public:
    DrillEngine(DrillSeams seams, DrillOptions options);

    // Throws pgdr::Error for the guard, the lock and the first run's pre-checks; later
    // failures are in the reports.
    DrillOutcome run();

    // One run's steps, public for tests of a single step.
    struct PreCheck {
        std::string leader;
        std::string candidate;
    };
    PreCheck pre_checks();
    // `pgdr drill --heal`: the drill lock, then the fault a journal records (state
    // directory or a member's copy) restored; what was restored, "" when there was none.
    // Throws like run().
    std::string restore_only();
    Report run_once(const PreCheck& pre, int index);

  private:
    // run_once's steps: the fault and the analysis' input from the pre-checks; the baseline
    // writes (false when interrupted); the fault injected, reacted to and restored; then the
    // post-checks, the rows on the new leader and the server evidence.
    FaultPlan plan_fault(const PreCheck& pre) const;
    AnalysisInput analysis_input(const PreCheck& pre) const;
    bool baseline(Timeline& timeline, ProbeSet& probes, const std::string& run, AnalysisInput& in);
    // Returns when the fault was injected (the timeline's offset).
    Millis inject_and_restore(Timeline& timeline, const FaultPlan& plan, AnalysisInput& in);
    void after_the_run(const Timeline& timeline, const std::string& run, AnalysisInput& in);

    bool interrupted() const;
    void progress(const std::string& message) const;
    // Polls `done` every options.poll until it is true, the timeout passes or an interrupt;
    // returns whether `done` became true.
    bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& done);
    void sleep_interruptible(std::chrono::milliseconds duration);
    bool react(const Timeline& timeline, const FaultPlan& plan, Millis fault_at);
    // With watch_alerts: before the fault, until no expected alert is still firing; after
    // react, until every expected alert fired (drills/alert_watch.hpp).
    void wait_alerts_quiet(const Timeline& timeline);
    void hold_for_alerts(const Timeline& timeline, Millis fault_at);
    void watch_until_resolved(const Timeline& timeline, Millis fault_at);
    bool wait_health(const Timeline& timeline, const FaultPlan& plan, std::string& why);
    FaultSeams fault_seams() const;
    FaultJournal journal_for(const FaultPlan& plan) const;
    // A fault journal left by a drill that did not restore: restore it now (returns what was
    // restored; "" when there was none), or throw.
    std::string restore_journaled_fault();
    void record_journal(const FaultJournal& journal);
    void clear_journals(const FaultJournal& journal);
    // Clock offsets, log lines and the rows' stamps (seq -> microseconds on the acknowledging
    // member's clock) of the run that `timeline` recorded.
    ServerEvidence collect_evidence(const Timeline& timeline,
                                    const std::map<std::int64_t, std::int64_t>& stamps);

    DrillSeams m_seams;
    DrillOptions m_options;
};

// The run id stored in pgdr_drill.run: "<cluster>-<UTC yyyymmddThhmmss>-<index>".
std::string make_run_id(const std::string& cluster, std::chrono::system_clock::time_point now,
                        int index);

}  // namespace pgdr::drills
