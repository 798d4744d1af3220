// Display helpers shared by the report renderers: durations, offsets, byte counts, escaping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "drills/report.hpp"
#include "drills/timeline.hpp"

namespace pgdr::drills {

// Milliseconds as seconds with two decimals: 33120 -> "33.12 s".
std::string format_duration(Millis ms);
// The outage cross-check in one line: "persistent-connection probe 2.31 s (+12 ms, within
// ±100 ms of the writer; 1 reconnect(s))", or why it has no figure.
std::string cross_check_text(const CrossCheck& check);
// The same with a sign, for times relative to the fault: "+29.41 s", "-0.05 s".
std::string format_offset(Millis ms);
// Bytes in the largest fitting binary unit with one decimal: "0 B", "512 B", "1.5 KiB".
std::string format_bytes(std::int64_t bytes);
// "-" for an unknown value, else the formatter's text.
std::string or_dash(const std::optional<Millis>& ms);
std::string or_dash_count(const std::optional<std::int64_t>& n);

// The headline figures of a report as (label, value) rows, shared by the text and Markdown
// renderers so both say the same thing.
std::vector<std::pair<std::string, std::string>> headline_rows(const Report& report);

// One phase as cells: offset, "±N ms", label, source, detail (text and Markdown tables).
std::vector<std::string> phase_row(const Phase& phase);
// One line on how exact the phases are: the samplers' cadence and each host's clock offset.
std::string evidence_note(const Report& report);

// Escapes &, <, >, " and ' for XML text and attribute values, and replaces control characters
// that XML 1.0 forbids (every one below 0x20 except tab, newline and carriage return) by '?'.
std::string xml_escape(const std::string& text);

}  // namespace pgdr::drills
