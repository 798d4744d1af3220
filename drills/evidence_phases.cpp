#include "drills/evidence_phases.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include "core/strings.hpp"
#include "drills/display.hpp"

namespace pgdr::drills {

namespace {

using Match = std::function<bool(const ServerEvent&)>;

// The first aligned event after the fault (within its uncertainty) that matches.
const AlignedEvent* first_after_fault(const std::vector<AlignedEvent>& events, const Match& m) {
    for (const auto& a : events) {
        if (a.at_ms + a.uncertainty_ms >= 0 && m(a.event)) {
            return &a;
        }
    }
    return nullptr;
}

struct Found {
    double at_ms = 0;
    double uncertainty_ms = 0;
    std::string source;
};

Found from(const AlignedEvent& a) {
    return {a.at_ms, a.uncertainty_ms, a.event.source};
}

bool on(const ServerEvent& e, const std::string& host, const char* source, const char* kind) {
    return e.host == host && e.source == source && e.kind == kind;
}

// pg_is_in_recovery() turns false between the end of recovery and the postmaster's "ready to
// accept connections": the middle of the two, covering both.
std::optional<Found> promotion(const std::vector<AlignedEvent>& events, const std::string& node) {
    const auto* ended = first_after_fault(events, [&](const ServerEvent& e) {
        return on(e, node, source::postgres_log, evidence::recovery_ended) ||
               on(e, node, source::postgres_log, evidence::new_timeline);
    });
    if (ended == nullptr) {
        return std::nullopt;
    }
    const AlignedEvent* ready = nullptr;
    for (const auto& a : events) {
        if (a.at_ms >= ended->at_ms &&
            on(a.event, node, source::postgres_log, evidence::accepting_connections)) {
            ready = &a;
            break;
        }
    }
    if (ready == nullptr) {
        return from(*ended);
    }
    const double lo = ended->at_ms - ended->uncertainty_ms;
    const double hi = ready->at_ms + ready->uncertainty_ms;
    return Found{(lo + hi) / 2.0, (hi - lo) / 2.0, source::postgres_log};
}

// Patroni logs the key's new holder after the fact (the holder at the end of its cycle, the
// others at their next one; HAProxy can mark the holder UP before it logs its promotion): the
// earliest line that shows the key held by the elected node is an upper bound. The last line
// after the fault that shows it not held yet (no key, another holder, the old leader letting
// go) is the lower bound; the phase is the middle of the two, covering both.
std::optional<Found> election(const std::vector<AlignedEvent>& events,
                              const ServerEvidence& evidence, const PhaseContext& c) {
    auto held = [&](const ServerEvent& e) {
        return on(e, c.elected, source::patroni_log, evidence::lock_acquired) ||
               (e.source == source::patroni_log && e.kind == evidence::lock_owner &&
                e.subject == c.elected) ||
               (on(e, evidence.haproxy_host, source::haproxy_log, evidence::server_up) &&
                e.port == "write" && e.subject == c.elected);
    };
    auto not_yet = [&](const ServerEvent& e) {
        return e.source == source::patroni_log &&
               (e.kind == evidence::no_leader ||
                (e.kind == evidence::lock_owner && e.subject != c.elected) ||
                (e.kind == evidence::demoted && e.host == c.old_primary));
    };
    const AlignedEvent* yes = first_after_fault(events, held);
    if (yes == nullptr) {
        return std::nullopt;
    }
    const AlignedEvent* before = nullptr;
    for (const auto& a : events) {
        if (a.at_ms >= yes->at_ms) {
            break;
        }
        if (a.at_ms + a.uncertainty_ms >= 0 && not_yet(a.event)) {
            before = &a;
        }
    }
    if (before == nullptr) {
        return Found{yes->at_ms, yes->uncertainty_ms, yes->event.source};
    }
    const double lo = before->at_ms - before->uncertainty_ms;
    const double hi = yes->at_ms + yes->uncertainty_ms;
    return Found{(lo + hi) / 2.0, (hi - lo) / 2.0, yes->event.source};
}

std::optional<Found> server_time(const std::string& phase_name,
                                 const std::vector<AlignedEvent>& events,
                                 const ServerEvidence& evidence, const PhaseContext& c) {
    const AlignedEvent* a = nullptr;
    if (phase_name == phase::new_leader_elected && !c.elected.empty()) {
        return election(events, evidence, c);
    } else if (phase_name == phase::promoted && !c.elected.empty()) {
        return promotion(events, c.elected);
    } else if (phase_name == phase::haproxy_switched && !c.elected.empty()) {
        a = first_after_fault(events, [&](const ServerEvent& e) {
            return on(e, evidence.haproxy_host, source::haproxy_log, evidence::server_up) &&
                   e.port == "write" && e.subject == c.elected;
        });
    } else if (phase_name == phase::old_leader_gone && !c.old_primary.empty()) {
        a = first_after_fault(events, [&](const ServerEvent& e) {
            return on(e, c.old_primary, source::patroni_log, evidence::demoted) ||
                   (e.source == source::patroni_log &&
                    (e.kind == evidence::no_leader ||
                     (e.kind == evidence::lock_acquired && e.host != c.old_primary) ||
                     (e.kind == evidence::lock_owner && e.subject != c.old_primary))) ||
                   (on(e, evidence.haproxy_host, source::haproxy_log, evidence::server_up) &&
                    e.port == "write" && e.subject != c.old_primary);
        });
    } else if (phase_name == phase::first_ack_after_outage && c.first_ack_seq > 0) {
        a = first_after_fault(events, [&](const ServerEvent& e) {
            return e.source == source::probe && e.seq == c.first_ack_seq;
        });
    }
    if (a == nullptr) {
        return std::nullopt;
    }
    return from(*a);
}

Millis sampler_uncertainty(const std::string& name, const PhaseContext& c,
                           const ProbeCadence& cadence) {
    if (name == phase::fault_injected || name == phase::fault_restored) {
        return 0;
    }
    if (name == phase::first_write_failure || name == phase::last_ack_before_outage ||
        name == phase::first_ack_after_outage) {
        return cadence.write_interval_ms;
    }
    if (name == phase::haproxy_switched) {
        return cadence.stats_interval_ms + c.sampler_lag_ms;
    }
    return std::max(cadence.sample_interval_ms, c.sample_gap_ms) + c.sampler_lag_ms;
}

const Phase* find(const std::vector<Phase>& phases, const char* name) {
    for (const auto& p : phases) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

std::string describe(const Phase& p) {
    return phase_label(p.name) + " " + format_offset(p.at_ms) + " ±" +
           std::to_string(p.uncertainty_ms) + " ms (" + p.source + ")";
}

}  // namespace

void apply_evidence(std::vector<Phase>& phases, const ServerEvidence& evidence,
                    const PhaseContext& context, const ProbeCadence& cadence) {
    const auto events = align(evidence.events, evidence.offsets, context.fault_wall_us);
    for (auto& p : phases) {
        p.source = p.name == phase::fault_injected || p.name == phase::fault_restored
                       ? source::pgdr
                       : source::sampler;
        p.uncertainty_ms = sampler_uncertainty(p.name, context, cadence);
        auto f = server_time(p.name, events, evidence, context);
        // "Gone" is when someone first noticed: a log line later than the samplers' first
        // sight is not better evidence (Patroni logs nothing when the key just expires).
        if (f && p.name == phase::old_leader_gone &&
            f->at_ms - f->uncertainty_ms > static_cast<double>(p.at_ms)) {
            f.reset();
        }
        if (f) {
            p.sampler_at_ms = p.at_ms;
            p.at_ms = std::llround(f->at_ms);
            p.uncertainty_ms = static_cast<Millis>(std::ceil(f->uncertainty_ms));
            p.source = f->source;
        }
    }
}

Check causal_order(const std::vector<Phase>& phases, const PhaseContext& context) {
    struct Edge {
        const char* before;
        const char* after;
    };
    std::vector<Edge> edges;
    for (const char* later :
         {phase::first_write_failure, phase::old_leader_gone, phase::new_leader_elected,
          phase::promoted, phase::haproxy_switched, phase::first_ack_after_outage,
          phase::fault_restored, phase::primary_back, phase::old_primary_rejoined}) {
        edges.push_back({phase::fault_injected, later});
    }
    edges.push_back({phase::old_leader_gone, phase::new_leader_elected});
    edges.push_back({phase::new_leader_elected, phase::promoted});
    edges.push_back({phase::new_leader_elected, phase::haproxy_switched});
    if (!context.elected.empty() && context.first_ack_backend == context.elected) {
        edges.push_back({phase::promoted, phase::first_ack_after_outage});
        edges.push_back({phase::haproxy_switched, phase::first_ack_after_outage});
    }
    int held = 0;
    std::vector<std::string> broken;
    for (const auto& e : edges) {
        const Phase* a = find(phases, e.before);
        const Phase* b = find(phases, e.after);
        if (a == nullptr || b == nullptr) {
            continue;
        }
        if (b->at_ms + b->uncertainty_ms < a->at_ms - a->uncertainty_ms) {
            broken.push_back(describe(*b) + " before its cause " + describe(*a));
        } else {
            ++held;
        }
    }
    Check c;
    c.name = "causal_order";
    c.passed = broken.empty();
    c.detail =
        broken.empty()
            ? std::to_string(held) + " cause-effect pair(s) in order within their uncertainty"
            : "the report's evidence contradicts itself (a clock, a log or a sampler is "
              "wrong, not the cluster): " +
                  join(broken, "; ");
    return c;
}

}  // namespace pgdr::drills
