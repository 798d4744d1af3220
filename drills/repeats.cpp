#include "drills/repeats.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace pgdr::drills {

std::optional<Stats> summarize(std::vector<double> values) {
    if (values.empty()) {
        return std::nullopt;
    }
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    Stats s;
    s.count = n;
    s.min = values.front();
    s.max = values.back();
    s.median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
    // Nearest rank: with 5 runs p95 is the largest, as it should be for so few samples.
    auto rank = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(n)));
    s.p95 = values[std::clamp<std::size_t>(rank, 1, n) - 1];
    return s;
}

namespace {

template <class T, class Get>
std::optional<Stats> stats_of(const std::vector<Report>& reports, Get get) {
    std::vector<double> values;
    for (const auto& r : reports) {
        const std::optional<T>& v = get(r);
        if (v) {
            values.push_back(static_cast<double>(*v));
        }
    }
    return summarize(std::move(values));
}

}  // namespace

RepeatSummary aggregate(const std::vector<Report>& reports) {
    if (reports.empty()) {
        throw Error(ExitCode::internal, "aggregate() needs at least one drill report");
    }
    RepeatSummary s;
    s.drill = reports.front().drill;
    s.cluster = reports.front().cluster;
    s.runs = reports.size();
    for (const auto& r : reports) {
        if (r.drill != s.drill) {
            throw Error(ExitCode::internal,
                        "cannot aggregate drills of different kinds: " + s.drill + ", " + r.drill);
        }
        s.passed += r.verdict == Verdict::pass ? 1 : 0;
        s.split_brain_runs += r.split_brain ? 1 : 0;
        s.unrecovered_runs += r.rto_ms ? 0 : 1;
        s.alerts_watched = s.alerts_watched || r.alerts_watched;
    }
    s.rto_ms = stats_of<Millis>(
        reports, [](const Report& r) -> auto& { return r.rto_ms; });
    s.write_outage_ms = stats_of<Millis>(
        reports, [](const Report& r) -> auto& { return r.write_outage_ms; });
    s.predicted_rto_ms = stats_of<Millis>(
        reports, [](const Report& r) -> auto& { return r.predicted_rto_ms; });
    s.lost_acknowledged_writes = stats_of<std::int64_t>(
        reports, [](const Report& r) -> auto& { return r.lost_acknowledged_writes; });
    s.unacknowledged_applied_writes = stats_of<std::int64_t>(
        reports, [](const Report& r) -> auto& { return r.unacknowledged_applied_writes; });
    s.lag_at_fault_bytes = stats_of<std::int64_t>(
        reports, [](const Report& r) -> auto& { return r.lag_at_fault_bytes; });
    s.time_to_alert_ms = stats_of<Millis>(
        reports, [](const Report& r) -> auto& { return r.time_to_alert_ms; });
    for (const auto& name : phase_names()) {
        std::vector<double> values;
        for (const auto& r : reports) {
            if (const Phase* p = r.find_phase(name)) {
                values.push_back(static_cast<double>(p->at_ms));
            }
        }
        if (auto st = summarize(std::move(values))) {
            s.phases.emplace_back(name, *st);
        }
    }
    s.verdict = s.passed == s.runs ? Verdict::pass : Verdict::fail;
    return s;
}

}  // namespace pgdr::drills
