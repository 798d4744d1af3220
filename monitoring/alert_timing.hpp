// When did each alert fire and resolve, relative to a drill's fault (issue 15)?
//
// The drill polls Alertmanager (fetch_alerts) about once a second from before the fault until
// after the restore; each poll is an AlertPoll. An alert counts for the drill when Alertmanager
// says it started at or after the fault: one that was already firing (a previous drill's
// PatroniLeaderChanged, say) is not this fault's. `fired_ms` is Alertmanager's startsAt minus
// the fault's time (server-side: when Prometheus fired it, not when pgdr saw it); `resolved_ms`
// is the first poll that no longer lists it, so it is late by up to one poll interval.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "monitoring/alerts.hpp"

namespace pgdr::monitoring {

struct AlertPoll {
    long long at_ms = 0;  // this machine's clock, milliseconds since the epoch
    std::vector<Alert> alerts;
};

struct AlertTiming {
    std::string name;
    bool expected = false;
    std::optional<long long> fired_ms;     // relative to the fault; nullopt: did not fire
    std::optional<long long> resolved_ms;  // nullopt: did not resolve while watched
};

// Every expected alert (in the given order), then every other alert that fired during the
// drill, by name.
std::vector<AlertTiming> time_alerts(const std::vector<AlertPoll>& polls, long long fault_at_ms,
                                     const std::vector<std::string>& expected);

// Every expected alert fired within max_ms of the fault.
bool all_fired_within(const std::vector<AlertTiming>& timings, long long max_ms);

}  // namespace pgdr::monitoring
