// analyze(): from a drill's Timeline to its Report (DESIGN.md §5). Pure: no I/O, no clock.
//
// Definitions (all times relative to the first FaultInjected marker, T0):
//  - Outage: a gap between two consecutive acknowledged writes (by acknowledgement time) that
//    ends after T0 and holds at least one failed write or is longer than
//    outage_threshold_ms; a last acknowledged write followed by failures (or by silence longer
//    than the threshold) until the end of the observation is an open outage (never
//    recovered). The longest outage is "the" outage.
//  - write_outage_ms: its length. No outage: the longest gap between acknowledged writes that
//    ends after T0 (a few write intervals).
//  - rto_ms: T0 -> the first acknowledged write after the outage; no outage: T0 -> the first
//    acknowledged write after T0; open outage: empty (and writes_recovered fails).
//  - Lost acknowledged writes: acknowledged sequence numbers missing from
//    seqs_on_new_primary. Unacknowledged applied writes: sent but never acknowledged sequence
//    numbers present there.
//  - lag_at_fault_bytes: the old primary's last LSN at or before T0 minus the elected
//    leader's last LSN at or before T0 (or, when the leader did not change, the largest such
//    difference over the other members), clamped at 0. Samples are up to one sampling
//    interval apart, so the figure carries that much noise.
//  - Phases: see report.hpp; a phase absent from the timeline is absent from the report. Their
//    times come from the servers' own evidence where there is some, with a source and an
//    uncertainty each, and the causal_order check (evidence_phases.hpp).
//  - Split brain (conclusive, fails the verdict): two nodes not in recovery at the same time
//    with writes acknowledged by both in that window; acknowledged writes that go back to a
//    node after another took over; two nodes seen as primary on the same timeline after the
//    promotion; post-check timelines or histories that disagree with the leader's. Two nodes
//    not in recovery at once without writes on both is a warning.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "drills/evidence_phases.hpp"
#include "drills/fault_catalogue.hpp"
#include "drills/prediction.hpp"
#include "drills/report.hpp"
#include "drills/timeline.hpp"

namespace pgdr::drills {

// What the post-checks found once the cluster settled after the restore step.
struct PostCheck {
    std::string leader;
    std::map<std::string, int> timelines;  // member -> its timeline id
    bool histories_consistent = true;      // every member's timeline history agrees
    int streaming_replicas = 0;            // pg_stat_replication rows in state 'streaming'
    int expected_replicas = 0;
};

struct AnalysisInput {
    FaultKind fault = FaultKind::kill_primary;
    std::string cluster;
    std::string old_primary;  // the leader at the pre-checks; "" = from the samples before T0
    ClusterSettings settings;
    Objectives objectives;
    // This drill's sequence numbers found in the drill table on the leader after the drill;
    // std::nullopt when they could not be read (lost writes are then unknown).
    std::optional<std::vector<std::int64_t>> seqs_on_new_primary;
    std::optional<PostCheck> post_check;
    std::vector<std::string> errors;  // from the engine (restore, post-checks), carried over
    Millis outage_threshold_ms = 1000;
    // A node sample describes its node until the next sample of that node, or for this long.
    Millis sample_validity_ms = 1000;
    // Where the probes connected from ("this machine", "via pg3 (198.18.0.13)").
    std::string probe_vantage;
    ServerEvidence evidence;  // logs and rows collected after the drill, clock offsets
    ProbeCadence cadence;
    // An alert probe polled Alertmanager (a monitor host): the report gets `alerts` and the
    // check alerts_fired for the alerts the catalogue names for the fault.
    bool alerts_watched = false;
};

// Never throws on odd timelines: what cannot be determined is empty and explained in
// Report::errors or Report::warnings, and the verdict fails where it must.
Report analyze(const Timeline& timeline, const AnalysisInput& input);
// The same on a snapshot (events in stamp order) with the drill's wall-clock start.
Report analyze(const std::vector<Event>& events, std::chrono::system_clock::time_point started,
               const AnalysisInput& input);

}  // namespace pgdr::drills
