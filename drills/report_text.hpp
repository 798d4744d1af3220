// The terminal rendering of drill reports (pgdr drill's default output).
#pragma once

#include <string>
#include <vector>

#include "drills/repeats.hpp"
#include "drills/report.hpp"

namespace pgdr::drills {

// Plain text, no colour, columns padded; ends with a newline. Split-brain evidence is printed
// first and in capitals: the operator must not miss it.
std::string render_text(const Report& report);
// The --repeat N summary: min/median/p95/max per figure and per phase, then each run's verdict.
std::string render_text(const std::vector<Report>& reports, const RepeatSummary& summary);

}  // namespace pgdr::drills
