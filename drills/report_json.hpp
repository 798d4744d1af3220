// The JSON rendering of a drill report (`--output json`, `--report FILE.json`).
//
// Stable fields (issue 5, man/pgdr-drill.1): drill, cluster, started_at, old_primary,
// new_primary, rto_ms, write_outage_ms, predicted_rto_ms, lost_acknowledged_writes,
// unacknowledged_applied_writes, lag_at_fault_bytes, phases [{name, at_ms, detail}],
// verdict ("pass"|"fail"), restored. Extra fields: fault_at, leader_changed,
// new_leader_expected, write_outage_recovered, prediction_formula, split_brain,
// split_brain_evidence, objectives, checks, outages, writes, lost_sequence_numbers,
// unacknowledged_applied_sequence_numbers, observed_from_ms, observed_until_ms, warnings,
// errors. Unknown figures are null. Keys keep this order.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "drills/repeats.hpp"
#include "drills/report.hpp"

namespace pgdr::drills {

nlohmann::ordered_json report_to_json(const Report& report);
nlohmann::ordered_json summary_to_json(const RepeatSummary& summary);

// Pretty-printed (2 spaces) with a final newline.
std::string render_json(const Report& report);
// {"summary": {...}, "runs": [report, ...]} for --repeat N.
std::string render_json(const std::vector<Report>& reports, const RepeatSummary& summary);

}  // namespace pgdr::drills
