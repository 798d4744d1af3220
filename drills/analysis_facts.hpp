// The facts analyze() works on, sorted out of a timeline's events: one list per kind, every
// time already relative to the fault (T0). Internal to drills/ (analysis.cpp, split_brain.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "drills/report.hpp"
#include "drills/timeline.hpp"

namespace pgdr::drills {

struct AckFact {
    Millis at = 0;
    std::int64_t seq = 0;
    std::string backend;
};

struct FailFact {
    Millis at = 0;
    std::int64_t seq = 0;
    std::string message;
};

struct SampleFact {
    Millis at = 0;
    NodeSample sample;
};

struct HaproxyFact {
    Millis at = 0;
    HaproxyServerState state;
};

struct RestoreFact {
    Millis at = 0;
    FaultRestored restored;
};

struct Facts {
    std::optional<Millis> fault_at_abs;  // since the drill's start; empty: no marker
    std::string fault_name;
    std::string fault_target;
    std::vector<RestoreFact> restores;
    std::vector<AckFact> acks;                               // in acknowledgement order
    std::vector<FailFact> failures;                          // in failure order
    std::map<std::int64_t, Millis> sent;                     // seq -> send time
    std::map<std::string, std::vector<SampleFact>> samples;  // node -> its samples in order
    std::vector<HaproxyFact> haproxy;
    std::vector<std::string> notes;
    Millis first_at = 0;  // first and last event
    Millis last_at = 0;
};

// Times are made relative to the first FaultInjected marker (or kept since the start when
// there is none).
Facts collect_facts(const std::vector<Event>& events);

// The node whose last answered sample at or before `at` says it is primary (the most recent
// such sample when several do); "" if none.
std::string primary_before(const Facts& facts, Millis at);

// Split-brain evidence (conclusive) and warnings (inconclusive) as described in analysis.hpp.
// `promoted_at`: the elected leader's promotion, empty when there was none.
struct SplitBrainFindings {
    std::vector<SplitBrainEvidence> evidence;
    std::vector<std::string> warnings;
};
struct PostCheck;
// `post_check` may be null (no post-checks ran).
SplitBrainFindings find_split_brain(const Facts& facts, std::optional<Millis> promoted_at,
                                    const PostCheck* post_check, Millis sample_validity_ms);

}  // namespace pgdr::drills
