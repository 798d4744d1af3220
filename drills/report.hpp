// The result of one drill (DESIGN.md §5): what analyze() computes from a Timeline and what the
// renderers (report_text, report_json, report_markdown, report_junit, report_svg) print.
//
// Times in a Report are milliseconds relative to the fault (negative = before the fault). When
// no fault marker was recorded they are relative to the drill's start, and the
// `fault_injected` check fails.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "drills/timeline.hpp"
#include "monitoring/alert_timing.hpp"

namespace pgdr::drills {

// Phase names, stable: they are JSON values and JUnit/Markdown labels.
namespace phase {
inline constexpr const char* last_ack_before_outage = "last_ack_before_outage";
inline constexpr const char* fault_injected = "fault_injected";
inline constexpr const char* first_write_failure = "first_write_failure";
inline constexpr const char* old_leader_gone = "old_leader_gone";
inline constexpr const char* new_leader_elected = "new_leader_elected";
inline constexpr const char* promoted = "promoted";
inline constexpr const char* haproxy_switched = "haproxy_switched";
inline constexpr const char* first_ack_after_outage = "first_ack_after_outage";
inline constexpr const char* fault_restored = "fault_restored";
inline constexpr const char* primary_back = "primary_back";  // same leader, writable again
inline constexpr const char* old_primary_rejoined = "old_primary_rejoined";
}  // namespace phase

// Every phase name in canonical order (the order used for ties and in repeat summaries).
const std::vector<std::string>& phase_names();
// A phrase for people ("old primary back as a replica"); the name itself when unknown.
std::string phase_label(const std::string& name);

// Where a phase's time comes from (JSON phases[].source): a server's own log or data, aligned
// to the drill's clock through the host's measured clock offset, or pgdr's own observation.
namespace source {
inline constexpr const char* patroni_log = "patroni_log";
inline constexpr const char* postgres_log = "postgres_log";
inline constexpr const char* haproxy_log = "haproxy_log";
inline constexpr const char* probe = "probe";      // the probe's row, stamped by the server
inline constexpr const char* sampler = "sampler";  // first seen by pgdr's samplers or probes
inline constexpr const char* pgdr = "pgdr";        // pgdr's own action (fault, restore)
}  // namespace source

struct Phase {
    std::string name;
    Millis at_ms = 0;    // relative to the fault
    std::string detail;  // e.g. the node concerned
    std::string source = source::sampler;
    Millis uncertainty_ms = 0;  // the true moment lies within at_ms ± this
    // When server evidence gave the time: what the samplers saw, for the cross-check.
    std::optional<Millis> sampler_at_ms = std::nullopt;
};

// A moment of a pgdr-guard failover (guard/decision.hpp: detected, quorum, fenced,
// key_released), relative to the fault, on the clock of the agent that acted (corrected by its
// measured offset when the drill measured one).
struct GuardPhase {
    std::string name;
    Millis at_ms = 0;
    std::string agent;
};

// A host's clock against the operator's, measured during the drill: host = operator + offset,
// known to ± bound (half the round trip of the exchange).
struct ClockOffset {
    std::string host;
    double offset_ms = 0;
    double bound_ms = 0;
};

// The samplers' cadence: a change is seen up to interval + lag after it happened.
struct SamplerInfo {
    Millis interval_ms = 0;
    Millis lag_ms = 0;  // median time a node sample took
};

// Objectives given on the command line. max_lost defaults to 0: losing an acknowledged write
// fails a drill unless the operator allows it (asynchronous replication, --max-lost N).
struct Objectives {
    std::optional<Millis> max_rto_ms;
    std::optional<std::int64_t> max_lost = 0;
    // --max-time-to-alert: every alert the fault must raise fired within this of the fault.
    std::optional<Millis> max_time_to_alert_ms;
};

// One pass/fail item of the verdict; one JUnit testcase each. Names are stable:
// fault_injected, leader_expectation, writes_recovered, no_split_brain, max_rto, max_lost,
// restored, cluster_whole, causal_order (the report's evidence contradicts itself: the report
// fails, not the cluster), alerts_fired (with a monitor host: every alert the fault catalogue
// names for the fault fired, within max_time_to_alert_ms when given; drills/alert_watch.hpp).
struct Check {
    std::string name;
    bool passed = false;
    std::string detail;
};

// Kinds: two_writable_primaries, alternating_write_backends, same_timeline_two_primaries,
// timelines_inconsistent, histories_inconsistent.
struct SplitBrainEvidence {
    std::string kind;
    std::optional<Millis> at_ms;  // relative to the fault, when it has a time
    std::string detail;
};

// A gap between two acknowledged writes (or from the last one to the end of the observation)
// that holds failed writes or is longer than the outage threshold.
struct Outage {
    Millis start_ms = 0;             // the last acknowledged write before it
    std::optional<Millis> end_ms;    // the first acknowledged write after it; empty: never
    std::int64_t failed_writes = 0;  // WriteFailed events inside it
    Millis length_ms = 0;            // end - start, or observation end - start
};

struct WriteCounts {
    std::int64_t sent = 0;
    std::int64_t acknowledged = 0;
    std::int64_t failed = 0;
    std::int64_t unanswered = 0;  // sent, neither acknowledged nor failed when probes stopped
};

// One write attempt's outcome for the timeline picture, relative to the fault.
struct WriteTick {
    Millis at_ms = 0;
    bool ok = false;
};

// The writer's outage against the independent persistent-connection probe's
// (drills/persistent_probe.hpp). Times relative to the fault.
struct CrossCheck {
    std::optional<Millis> persistent_probe_outage_ms;  // empty: the probe has no figure (error)
    bool recovered = true;                     // false: the probe never wrote again (lower bound)
    std::optional<Millis> last_ack_before_ms;  // the probe's last acknowledged write before it
    std::optional<Millis> first_ack_after_ms;  // its first acknowledged write after it
    std::optional<Millis> difference_ms;       // persistent - writer
    Millis tolerance_ms = 0;
    // The outages' own resolution: the longer of the two attempts that ended them (below). A
    // probe ends its outage when its first successful attempt is acknowledged, an attempt that
    // started at most one interval after the previous one failed, so the moment writes worked
    // again lies within that attempt; two honest probes can differ by about its length.
    Millis resolution_ms = 0;
    bool agrees = false;  // both figures known, within ± (tolerance_ms + resolution_ms)
    std::int64_t writes = 0;
    std::int64_t acknowledged = 0;
    std::int64_t failed = 0;
    std::int64_t reconnects = 0;  // connections opened after the first
    // How long the attempt that ended each outage took, from its start to its acknowledgement
    // (a reconnect through HAProxy, then the INSERT). Each probe ends its outage at its first
    // successful attempt, so the two figures can lie up to about one such attempt apart: on a
    // starved machine reconnects take hundreds of milliseconds.
    std::optional<Millis> persistent_recovery_attempt_ms;
    std::optional<Millis> writer_recovery_attempt_ms;
    // The probe's first failed write of its outage: when it came back and what it said (why
    // its outage began, for a disagreement to be read).
    std::optional<Millis> first_failure_ms;
    std::string first_failure;
    std::string error;  // why there is no figure or no comparison
};

enum class Verdict { pass, fail };
std::string to_string(Verdict verdict);

struct Report {
    std::string drill;  // fault name, e.g. "kill-primary"
    std::string cluster;
    std::string started_at;  // ISO 8601 UTC of the drill's start
    std::string fault_at;    // ISO 8601 UTC of the fault; "" when none was recorded
    // What the fault injector reported it did, e.g. "pg1: powered off (HostControl::kill_host),
    // off after 5200 ms" (how long a provider took to stop the machine); "" when unknown.
    std::string fault_action;
    std::string old_primary;
    std::string new_primary;  // the leader at the end; == old_primary when unchanged; "" unknown
    bool leader_changed = false;
    bool new_leader_expected = false;

    std::optional<Millis> rto_ms;           // fault -> first acknowledged write after the outage
    std::optional<Millis> write_outage_ms;  // longest gap between acknowledged writes after it
    bool write_outage_recovered = true;     // false: write_outage_ms is a lower bound
    std::optional<Millis> predicted_rto_ms;
    std::string prediction_formula;
    std::optional<std::int64_t> lost_acknowledged_writes;       // empty: unknown
    std::optional<std::int64_t> unacknowledged_applied_writes;  // empty: unknown
    std::optional<std::int64_t> lag_at_fault_bytes;             // empty: unknown
    std::vector<std::int64_t> lost_seqs;                        // at most k_max_listed_seqs
    std::vector<std::int64_t> unacknowledged_applied_seqs;      // at most k_max_listed_seqs

    std::vector<Phase> phases;  // sorted by time, ties in canonical order
    // When pgdr-guard failed the leader over during the run (JSON guard_phases); else empty.
    std::vector<GuardPhase> guard_phases;
    std::vector<ClockOffset> clock_offsets;
    SamplerInfo sampler;
    std::vector<Outage> outages;
    WriteCounts writes;

    bool split_brain = false;
    std::vector<SplitBrainEvidence> split_brain_evidence;

    Objectives objectives;
    std::vector<Check> checks;
    Verdict verdict = Verdict::fail;
    bool restored = false;
    std::vector<std::string> warnings;
    std::vector<std::string> errors;

    // Where the probes ran from, and the median time from sending a write to its
    // acknowledgement before the fault (what the access path adds shows here).
    std::string probe_vantage;
    std::optional<double> probe_write_latency_ms;

    // Alertmanager as the drill polled it (drills/alert_watch.hpp); alerts_watched is false
    // when the inventory has no monitor host (then `alerts` is empty and not reported).
    bool alerts_watched = false;
    std::vector<monitoring::AlertTiming> alerts;  // expected ones first
    // The first expected alert to fire, relative to the fault: when the on-call person knew.
    std::optional<Millis> time_to_alert_ms;

    // The writer's outage cross-checked by the persistent-connection probe; empty when that
    // probe did not run.
    std::optional<CrossCheck> cross_check;

    std::vector<WriteTick> write_ticks;
    Millis observed_from_ms = 0;   // first event, relative to the fault
    Millis observed_until_ms = 0;  // last event, relative to the fault

    const Phase* find_phase(const std::string& name) const;
    const Check* find_check(const std::string& name) const;
};

inline constexpr std::size_t k_max_listed_seqs = 1000;

// ExitCode::ok for a passing drill, ExitCode::objectives_missed (8) otherwise.
ExitCode exit_code(const Report& report);

}  // namespace pgdr::drills
