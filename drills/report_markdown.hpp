// The Markdown rendering of drill reports (`--report FILE.md`), for post-mortems and tickets.
#pragma once

#include <string>
#include <vector>

#include "drills/repeats.hpp"
#include "drills/report.hpp"

namespace pgdr::drills {

// GitHub-flavoured Markdown: a heading, the headline figures, phases and checks as tables.
// Cell text is escaped (| and newlines), so hostile node names cannot break a table.
std::string render_markdown(const Report& report);
// The --repeat N summary followed by one section per run.
std::string render_markdown(const std::vector<Report>& reports, const RepeatSummary& summary);

}  // namespace pgdr::drills
