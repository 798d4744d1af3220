#include "drills/alert_watch.hpp"

#include <algorithm>
#include <exception>

#include "drills/display.hpp"

namespace pgdr::drills {

namespace {

long long epoch_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

const AlertsPolled* last_poll(const std::vector<Event>& events, Millis before) {
    const AlertsPolled* last = nullptr;
    for (const auto& e : events) {
        if (e.at_ms >= before) {
            break;
        }
        if (const auto* p = std::get_if<AlertsPolled>(&e.data); p != nullptr && p->error.empty()) {
            last = p;
        }
    }
    return last;
}

bool listed(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::string join_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        out += (out.empty() ? "" : ", ") + n;
    }
    return out;
}

}  // namespace

std::unique_ptr<Probe> make_alert_probe(AlertFetch fetch, Clock& clock,
                                        std::chrono::milliseconds interval) {
    return std::make_unique<PollingProbe>(
        "alerts", clock, interval, [fetch = std::move(fetch)](Timeline& t) {
            AlertsPolled poll;
            try {
                poll.alerts = fetch();
            } catch (const std::exception& e) {
                poll.error = e.what();
                poll.error = poll.error.empty() ? "no answer" : poll.error;
            }
            t.record(std::move(poll));
        });
}

AlertFindings find_alerts(const std::vector<Event>& events,
                          std::chrono::system_clock::time_point started, Millis fault_at,
                          const std::vector<std::string>& expected) {
    AlertFindings f;
    const long long start_ms = epoch_ms(started);
    const long long fault_ms = start_ms + fault_at;
    std::vector<monitoring::AlertPoll> polls;
    for (const auto& e : events) {
        const auto* p = std::get_if<AlertsPolled>(&e.data);
        if (p == nullptr || e.at_ms < fault_at) {
            continue;
        }
        ++f.polls;
        if (!p->error.empty()) {
            ++f.failed_polls;
            f.last_error = p->error;
            continue;  // a failed poll says nothing about what fired or resolved
        }
        polls.push_back({start_ms + e.at_ms, p->alerts});
    }
    f.timings = monitoring::time_alerts(polls, fault_ms, expected);
    if (const auto* before = last_poll(events, fault_at)) {
        for (const auto& a : before->alerts) {
            if (listed(expected, a.name) && !listed(f.already_firing, a.name)) {
                f.already_firing.push_back(a.name);
            }
        }
    }
    return f;
}

std::vector<std::string> expected_alerts_active(const std::vector<Event>& events,
                                                const std::vector<std::string>& expected) {
    std::vector<std::string> out;
    const auto* last =
        last_poll(events, events.empty() ? 0 : events.back().at_ms + 1);  // every poll so far
    if (last == nullptr) {
        return out;
    }
    for (const auto& a : last->alerts) {
        if (listed(expected, a.name) && !listed(out, a.name)) {
            out.push_back(a.name);
        }
    }
    return out;
}

Check alerts_check(const AlertFindings& findings, const std::string& fault,
                   std::optional<Millis> max_time_to_alert_ms) {
    Check c{"alerts_fired", true, ""};
    std::vector<std::string> parts;
    int expected = 0;
    for (const auto& t : findings.timings) {
        if (!t.expected) {
            continue;
        }
        ++expected;
        if (!t.fired_ms) {
            c.passed = false;
            parts.push_back(t.name + " did not fire");
        } else if (max_time_to_alert_ms && *t.fired_ms > *max_time_to_alert_ms) {
            c.passed = false;
            parts.push_back(t.name + " fired at " + format_offset(*t.fired_ms) + ", after " +
                            format_duration(*max_time_to_alert_ms));
        } else {
            parts.push_back(t.name + " fired at " + format_offset(*t.fired_ms));
        }
    }
    if (expected == 0) {
        c.detail = "no alert is certain for " + fault + " (" +
                   std::to_string(findings.timings.size()) + " fired)";
        return c;
    }
    c.detail = join_names(parts);
    if (max_time_to_alert_ms) {
        c.detail += "; objective " + format_duration(*max_time_to_alert_ms);
    }
    if (!c.passed && findings.polls > 0 && findings.failed_polls == findings.polls) {
        c.detail += "; Alertmanager never answered after the fault: " + findings.last_error;
    }
    return c;
}

std::vector<std::string> alert_warnings(const AlertFindings& findings) {
    std::vector<std::string> out;
    if (findings.polls == 0) {
        out.push_back("Alertmanager was not polled after the fault");
    } else if (findings.failed_polls > 0) {
        out.push_back("Alertmanager did not answer " + std::to_string(findings.failed_polls) +
                      " of " + std::to_string(findings.polls) +
                      " polls after the fault: " + findings.last_error);
    }
    if (!findings.already_firing.empty()) {
        out.push_back(
            "already firing before the fault (from an earlier one, so not raised "
            "again by this one): " +
            join_names(findings.already_firing));
    }
    return out;
}

}  // namespace pgdr::drills
