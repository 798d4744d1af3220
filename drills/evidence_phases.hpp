// Phases from the best evidence (DESIGN.md §5, issue 19): each phase analysis found on the
// samplers' observations is replaced by the server's own record of it when one exists, aligned
// to the drill's clock (evidence.hpp), and keeps the sampler's time as a cross-check:
//
//   new_leader_elected  patroni_log  between the last line that shows the key not held by the
//                                    elected node yet and the first that shows it held (its
//                                    own promotion, a member naming it the owner, HAProxy
//                                    marking it UP); Patroni logs these after the fact
//   promoted            postgres_log the elected node's end of recovery: between "archive
//                                    recovery complete" (or "selected new timeline ID") and
//                                    "database system is ready to accept connections"
//   haproxy_switched    haproxy_log  the probes' HAProxy: "Server primary/<elected> is UP"
//   old_leader_gone     patroni_log  the old leader demoting itself or releasing the key, or a
//                                    member seeing no key or another owner, or another
//                                    member taking it (HAProxy marking it UP included); only
//                                    when no later than the samplers' first sight of it
//   first_ack_after_outage  probe    the acknowledged row's pgdr_drill.at on the server
//
// Only events after the fault (within their uncertainty) count, the first of each. Sampler
// phases carry the cadence as their uncertainty: a node sample sees a change up to one interval
// (the configured one, or the spacing the samples really had when longer) plus its own
// duration late; a write is acknowledged within one write interval of the moment
// it could be.
//
// causal_order: edges that hold on every healthy or unhealthy cluster, so that evidence
// contradicting one of them is wrong (a clock, a parser, a sampler), never the cluster:
//   fault -> every phase after it           the fault causes them
//   old_leader_gone -> new_leader_elected   the leader key is free before another takes it
//   new_leader_elected -> promoted          Patroni promotes after taking the key
//   new_leader_elected -> haproxy_switched  /primary answers 200 only from the key's holder
//   promoted -> first_ack_after_outage      when the new leader acknowledged it: a node in
//   haproxy_switched -> first_ack_after_outage  recovery refuses writes; HAProxy routes the
//                                               write only to a server it has marked UP
// Not an edge: promoted -> haproxy_switched (Patroni's /primary answers 200 shortly before
// pg_is_in_recovery() is false). An edge is contradicted when the later phase ends, by its
// uncertainty, before the earlier one can have begun.
#pragma once

#include <string>
#include <vector>

#include "drills/evidence.hpp"
#include "drills/report.hpp"

namespace pgdr::drills {

// How often the probes look: the sampler uncertainty of each phase.
struct ProbeCadence {
    Millis write_interval_ms = 10;
    Millis sample_interval_ms = 50;
    Millis stats_interval_ms = 100;
};

// What the drill collected from the servers, for analyze().
struct ServerEvidence {
    std::vector<ServerEvent> events;
    std::vector<ClockOffset> offsets;
    std::string haproxy_host;         // the probes' HAProxy: its log says when writes switched
    std::vector<std::string> errors;  // hosts or logs that could not be read
};

// What the phases are about, from the sampler analysis.
struct PhaseContext {
    std::string old_primary;
    std::string elected;             // "" when no new leader
    std::int64_t first_ack_seq = 0;  // the first acknowledged write after the outage; 0: none
    std::string first_ack_backend;   // the node that acknowledged it
    Millis sampler_lag_ms = 0;
    Millis sample_gap_ms = 0;      // the longest median spacing of one node's samples
    WallMicros fault_wall_us = 0;  // the fault on the operator's clock
};

// Sets every phase's source and uncertainty: server evidence replaces the sampler's time
// (kept in Phase::sampler_at_ms).
void apply_evidence(std::vector<Phase>& phases, const ServerEvidence& evidence,
                    const PhaseContext& context, const ProbeCadence& cadence);

// The causal_order check on the final phases.
Check causal_order(const std::vector<Phase>& phases, const PhaseContext& context);

}  // namespace pgdr::drills
