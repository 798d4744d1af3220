#include "drills/report_markdown.hpp"

#include <cstdio>
#include <sstream>

#include "drills/display.hpp"

namespace pgdr::drills {

// Table cells: a pipe ends the cell and a newline ends the table; backticks, asterisks, '<'
// and '[' would start code, emphasis, HTML or links, so they are escaped or replaced.
std::string markdown_cell(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '|' || c == '\\' || c == '`' || c == '*' || c == '<' || c == '[') {
            out += '\\';
            out += c;
        } else if (c == '\n' || c == '\r') {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

namespace {

void table(std::ostringstream& out, const std::vector<std::string>& header,
           const std::vector<std::vector<std::string>>& rows) {
    out << '|';
    for (const auto& h : header) {
        out << ' ' << h << " |";
    }
    out << "\n|";
    for (std::size_t i = 0; i < header.size(); ++i) {
        out << "---|";
    }
    out << '\n';
    for (const auto& row : rows) {
        out << '|';
        for (const auto& c : row) {
            out << ' ' << markdown_cell(c) << " |";
        }
        out << '\n';
    }
}

// With a monitor host: what Alertmanager listed, relative to the fault (alert_watch.hpp).
void alerts_table(std::ostringstream& out, const Report& r, const std::string& level) {
    if (!r.alerts_watched) {
        return;
    }
    out << '\n' << level << " Alerts\n\n";
    if (r.alerts.empty()) {
        out << "None fired, none expected.\n";
        return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : r.alerts) {
        rows.push_back({a.name, a.expected ? "yes" : "no",
                        a.fired_ms ? format_offset(*a.fired_ms) : "did not fire",
                        a.resolved_ms ? format_offset(*a.resolved_ms) : "-"});
    }
    table(out, {"alert", "expected", "fired", "resolved"}, rows);
}

void body(std::ostringstream& out, const Report& r, const std::string& level) {
    out << "Started " << markdown_cell(r.started_at);
    if (!r.fault_at.empty()) {
        out << ", fault at " << markdown_cell(r.fault_at);
    }
    out << ".\n\n";
    if (r.split_brain) {
        out << "> **SPLIT BRAIN: more than one primary accepted writes.**\n";
        for (const auto& e : r.split_brain_evidence) {
            out << "> - " << markdown_cell(e.kind)
                << (e.at_ms ? " at " + format_offset(*e.at_ms) : std::string()) << ": "
                << markdown_cell(e.detail) << '\n';
        }
        out << '\n';
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& [label, value] : headline_rows(r)) {
        rows.push_back({label, value});
    }
    table(out, {"figure", "value"}, rows);

    out << '\n' << level << " Phases\n\n";
    rows.clear();
    for (const auto& p : r.phases) {
        rows.push_back(phase_row(p));
    }
    if (rows.empty()) {
        out << "None observed.\n";
    } else {
        table(out, {"at (from the fault)", "±", "phase", "source", "detail"}, rows);
    }
    out << '\n' << markdown_cell(evidence_note(r)) << '\n';
    if (!r.guard_phases.empty()) {
        out << '\n' << level << " pgdr-guard\n\n";
        rows.clear();
        for (const auto& g : r.guard_phases) {
            rows.push_back({format_offset(g.at_ms), g.name, g.agent});
        }
        table(out, {"at (from the fault)", "guard phase", "agent"}, rows);
    }
    alerts_table(out, r, level);

    out << '\n' << level << " Checks\n\n";
    rows.clear();
    for (const auto& c : r.checks) {
        rows.push_back({c.passed ? "pass" : "**FAIL**", c.name, c.detail});
    }
    // The FAIL emphasis is ours, not user text: write the rows without escaping column 1.
    out << "| result | check | detail |\n|---|---|---|\n";
    for (const auto& row : rows) {
        out << "| " << row[0] << " | " << markdown_cell(row[1]) << " | " << markdown_cell(row[2])
            << " |\n";
    }
    auto list = [&](const std::string& title, const std::vector<std::string>& items) {
        if (items.empty()) {
            return;
        }
        out << '\n' << level << ' ' << title << "\n\n";
        for (const auto& i : items) {
            out << "- " << markdown_cell(i) << '\n';
        }
    };
    list("Warnings", r.warnings);
    list("Errors", r.errors);
}

std::string stat(const std::optional<Stats>& s, bool ms, double Stats::*field) {
    if (!s) {
        return "-";
    }
    char buf[32];
    if (ms) {
        std::snprintf(buf, sizeof buf, "%.2f s", (*s).*field / 1000.0);
    } else {
        std::snprintf(buf, sizeof buf, "%.0f", (*s).*field);
    }
    return buf;
}

}  // namespace

std::string render_markdown(const Report& r) {
    std::ostringstream out;
    out << "# pgdr drill `" << r.drill << "` on " << markdown_cell(r.cluster) << ": "
        << (r.verdict == Verdict::pass ? "pass" : "FAIL") << "\n\n";
    body(out, r, "##");
    return out.str();
}

std::string render_markdown(const std::vector<Report>& reports, const RepeatSummary& s) {
    std::ostringstream out;
    out << "# pgdr drill `" << s.drill << "` on " << markdown_cell(s.cluster) << ", " << s.runs
        << " runs: " << (s.verdict == Verdict::pass ? "pass" : "FAIL") << "\n\n";
    out << s.passed << " of " << s.runs << " runs passed";
    if (s.split_brain_runs > 0) {
        out << "; **split brain in " << s.split_brain_runs << " run(s)**";
    }
    out << ".\n\n";
    std::vector<std::vector<std::string>> rows;
    auto add = [&](const std::string& label, const std::optional<Stats>& st, bool ms) {
        rows.push_back({label, st ? std::to_string(st->count) : "0", stat(st, ms, &Stats::min),
                        stat(st, ms, &Stats::median), stat(st, ms, &Stats::p95),
                        stat(st, ms, &Stats::max)});
    };
    add("RTO", s.rto_ms, true);
    add("write outage", s.write_outage_ms, true);
    add("predicted RTO", s.predicted_rto_ms, true);
    add("lost acknowledged writes", s.lost_acknowledged_writes, false);
    add("unacknowledged applied writes", s.unacknowledged_applied_writes, false);
    add("lag at fault (bytes)", s.lag_at_fault_bytes, false);
    for (const auto& [name, st] : s.phases) {
        add(phase_label(name), st, true);
    }
    table(out, {"figure", "n", "min", "median", "p95", "max"}, rows);
    for (std::size_t i = 0; i < reports.size(); ++i) {
        const auto& r = reports[i];
        out << "\n## Run " << (i + 1) << ": " << (r.verdict == Verdict::pass ? "pass" : "FAIL")
            << "\n\n";
        body(out, r, "###");
    }
    return out.str();
}

}  // namespace pgdr::drills
