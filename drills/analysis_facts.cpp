#include "drills/analysis_facts.hpp"

#include <type_traits>

namespace pgdr::drills {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

Facts collect_facts(const std::vector<Event>& events) {
    Facts facts;
    for (const auto& e : events) {
        if (const auto* f = std::get_if<FaultInjected>(&e.data)) {
            facts.fault_at_abs = e.at_ms;
            facts.fault_name = f->fault;
            facts.fault_target = f->target;
            break;
        }
    }
    const Millis t0 = facts.fault_at_abs.value_or(0);
    if (!events.empty()) {
        facts.first_at = events.front().at_ms - t0;
        facts.last_at = events.back().at_ms - t0;
    }
    for (const auto& e : events) {
        const Millis at = e.at_ms - t0;
        std::visit(Overloaded{
                       [&](const WriteSent& w) { facts.sent.emplace(w.seq, at); },
                       [&](const WriteAcked& w) {
                           facts.acks.push_back({at, w.seq, w.backend});
                       },
                       [&](const WriteFailed& w) {
                           facts.failures.push_back({at, w.seq, w.message});
                       },
                       [&](const ReadResult&) {},
                       [&](const NodeSample& s) {
                           facts.samples[s.node].push_back({at, s});
                       },
                       [&](const HaproxyServerState& h) {
                           facts.haproxy.push_back({at, h});
                       },
                       [&](const FaultInjected&) {},
                       [&](const FaultRestored& r) {
                           facts.restores.push_back({at, r});
                       },
                       [&](const Note& n) { facts.notes.push_back(n.text); },
                       [&](const AlertsPolled&) {},  // alert_watch.cpp reads them
                       // persistent_probe.cpp reads them, apart from the writer's facts
                       [&](const PersistentWrite&) {},
                   },
                   e.data);
    }
    return facts;
}

std::string primary_before(const Facts& facts, Millis at) {
    // Each node's last answered sample at or before `at` says whether it is primary; when
    // several say so (a stale sample), the most recent one wins.
    std::string best;
    Millis best_at = 0;
    for (const auto& [node, samples] : facts.samples) {
        const SampleFact* last = nullptr;
        for (const auto& s : samples) {
            if (s.at > at) {
                break;
            }
            if (s.sample.answered()) {  // an unreachable node keeps its last known role
                last = &s;
            }
        }
        if (last == nullptr) {
            continue;
        }
        bool primary = last->sample.in_recovery.has_value()
                           ? !*last->sample.in_recovery
                           : last->sample.role == NodeRole::primary;
        if (primary && (best.empty() || last->at > best_at)) {
            best = node;
            best_at = last->at;
        }
    }
    return best;
}

}  // namespace pgdr::drills
