// The Markdown rendering of drill reports (`--report FILE.md`), for post-mortems and tickets.
#pragma once

#include <string>
#include <vector>

#include "drills/repeats.hpp"
#include "drills/report.hpp"

namespace pgdr::drills {

// GitHub-flavoured Markdown: a heading, the headline figures, phases and checks as tables.
// Cell text is escaped (| and newlines), so hostile node names cannot break a table.
// A Markdown table cell: '|' and newlines would end the cell or the table; '`', '*', '<' and
// '[' would start code, emphasis, HTML or links. Every Markdown report's cells go through it.
std::string markdown_cell(const std::string& text);

std::string render_markdown(const Report& report);
// The --repeat N summary followed by one section per run.
std::string render_markdown(const std::vector<Report>& reports, const RepeatSummary& summary);

}  // namespace pgdr::drills
