// A drill measures its cluster's alerting (issue 15): when the inventory has a monitor host, a
// probe polls Alertmanager (GET /api/v2/alerts, through the drill's ClusterReach like every
// other probe) about once a second from the probes' start until they stop, and records each
// answer on the timeline (AlertsPolled). analyze() turns the polls into the report's `alerts`:
// per alert, when it fired and resolved relative to the fault (monitoring/alert_timing.hpp),
// and the check `alerts_fired`: every alert the fault catalogue expects of the fault fired,
// within --max-time-to-alert when given.
//
// The engine holds the fault in place until the expected alerts fired (or the objective, or
// 60 s, passed): a fault repaired sooner than a rule's `for:` window raises nothing, and the
// drill would blame the alerting for its own haste.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "drills/probe.hpp"
#include "drills/report.hpp"
#include "drills/timeline.hpp"
#include "monitoring/alert_timing.hpp"

namespace pgdr::drills {

// One look at Alertmanager: the cluster's active alerts; throws pgdr::Error (or any
// std::exception) when no Alertmanager answered.
using AlertFetch = std::function<std::vector<monitoring::Alert>()>;

inline constexpr std::chrono::milliseconds k_alert_poll_interval{1000};
// How long the engine holds a fault for its expected alerts when no objective is given.
inline constexpr std::chrono::milliseconds k_default_alert_hold{60000};

// A PollingProbe ("alerts") that records one AlertsPolled per call of `fetch`: the alerts, or
// the error with no alerts.
std::unique_ptr<Probe> make_alert_probe(AlertFetch fetch, Clock& clock,
                                        std::chrono::milliseconds interval = k_alert_poll_interval);

struct AlertFindings {
    std::vector<monitoring::AlertTiming> timings;  // expected first, in catalogue order
    int polls = 0;                                 // AlertsPolled after the fault
    int failed_polls = 0;                          // of those, Alertmanager did not answer
    std::string last_error;
    // Expected alerts Alertmanager already listed as firing, from before the fault, in the last
    // poll before it: this fault cannot raise them again (see wait in the engine).
    std::vector<std::string> already_firing;
};

// `events` in stamp order, `started` the timeline's wall-clock start, `fault_at` the fault's
// stamp on the timeline. Alertmanager's startsAt is read on the monitor host's clock; a skew
// of up to a second is absorbed (alert_timing.cpp), a larger one shifts fired_ms.
AlertFindings find_alerts(const std::vector<Event>& events,
                          std::chrono::system_clock::time_point started, Millis fault_at,
                          const std::vector<std::string>& expected);

// The expected alerts that the latest poll lists as active (whatever their start).
std::vector<std::string> expected_alerts_active(const std::vector<Event>& events,
                                                const std::vector<std::string>& expected);

// The check alerts_fired, and warnings for the report.
Check alerts_check(const AlertFindings& findings, const std::string& fault,
                   std::optional<Millis> max_time_to_alert_ms);
std::vector<std::string> alert_warnings(const AlertFindings& findings);

}  // namespace pgdr::drills
