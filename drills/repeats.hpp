// `pgdr drill --repeat N`: N reports of the same drill summarised as min/median/p95/max
// (DESIGN.md §5).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "drills/report.hpp"

namespace pgdr::drills {

// Over the runs where the figure is known. median: the mean of the two middle values for an
// even count; p95: nearest rank (the ceil(0.95 n)-th smallest value).
struct Stats {
    std::size_t count = 0;
    double min = 0;
    double median = 0;
    double p95 = 0;
    double max = 0;
};

// std::nullopt for no values.
std::optional<Stats> summarize(std::vector<double> values);

struct RepeatSummary {
    std::string drill;
    std::string cluster;
    std::size_t runs = 0;
    std::size_t passed = 0;
    std::size_t split_brain_runs = 0;
    std::size_t unrecovered_runs = 0;  // runs whose writes never came back
    std::optional<Stats> rto_ms;
    std::optional<Stats> write_outage_ms;
    std::optional<Stats> predicted_rto_ms;
    std::optional<Stats> lost_acknowledged_writes;
    std::optional<Stats> unacknowledged_applied_writes;
    std::optional<Stats> lag_at_fault_bytes;
    bool alerts_watched = false;            // any run polled Alertmanager
    std::optional<Stats> time_to_alert_ms;  // the first expected alert of each run
    // Per phase (relative to the fault), in canonical phase order, for phases seen in any run.
    std::vector<std::pair<std::string, Stats>> phases;
    Verdict verdict = Verdict::fail;  // pass only when every run passed
};

// Throws pgdr::Error (internal) for an empty list or reports of different drills.
RepeatSummary aggregate(const std::vector<Report>& reports);

}  // namespace pgdr::drills
