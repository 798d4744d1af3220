#include "monitoring/alert_timing.hpp"

#include <algorithm>
#include <map>

namespace pgdr::monitoring {

namespace {

// Alertmanager rounds nothing, but Prometheus stamps startsAt at its rule evaluation, which may
// precede the fault's timestamp on this machine by clock skew; a small margin keeps an alert
// raised by the fault from being taken for an old one.
constexpr long long k_skew_margin_ms = 1000;

bool fresh(const Alert& a, long long fault_at_ms) {
    return a.starts_at_ms && *a.starts_at_ms >= fault_at_ms - k_skew_margin_ms;
}

}  // namespace

std::vector<AlertTiming> time_alerts(const std::vector<AlertPoll>& polls, long long fault_at_ms,
                                     const std::vector<std::string>& expected) {
    struct Seen {
        std::optional<long long> fired;
        std::optional<long long> resolved;
    };
    std::map<std::string, Seen> seen;
    for (const auto& poll : polls) {
        std::map<std::string, bool> active;  // name → listed fresh in this poll
        for (const auto& a : poll.alerts) {
            if (!fresh(a, fault_at_ms)) {
                continue;
            }
            active[a.name] = true;
            auto& s = seen[a.name];
            const long long rel = *a.starts_at_ms - fault_at_ms;
            s.fired = s.fired ? std::min(*s.fired, rel) : rel;
            s.resolved.reset();  // firing again
        }
        for (auto& [name, s] : seen) {
            if (s.fired && !active.count(name) && !s.resolved) {
                s.resolved = poll.at_ms - fault_at_ms;
            }
        }
    }
    std::vector<AlertTiming> out;
    for (const auto& name : expected) {
        AlertTiming t{name, true, std::nullopt, std::nullopt};
        if (auto it = seen.find(name); it != seen.end()) {
            t.fired_ms = it->second.fired;
            t.resolved_ms = it->second.resolved;
        }
        out.push_back(t);
    }
    for (const auto& [name, s] : seen) {
        if (std::find(expected.begin(), expected.end(), name) == expected.end()) {
            out.push_back({name, false, s.fired, s.resolved});
        }
    }
    return out;
}

bool all_fired_within(const std::vector<AlertTiming>& timings, long long max_ms) {
    return std::all_of(timings.begin(), timings.end(), [&](const AlertTiming& t) {
        return !t.expected || (t.fired_ms && *t.fired_ms <= max_ms);
    });
}

}  // namespace pgdr::monitoring
