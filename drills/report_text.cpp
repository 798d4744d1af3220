#include "drills/report_text.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "drills/display.hpp"

namespace pgdr::drills {

namespace {

using Row = std::vector<std::string>;

void print_table(std::ostringstream& out, const std::vector<Row>& rows, const std::string& indent) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i) {
            widths[i] = std::max(widths[i], row[i].size());
        }
    }
    for (const auto& row : rows) {
        std::string line = indent;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) {
                line += std::string(widths[i] - row[i].size() + 2, ' ');
            }
        }
        line.erase(line.find_last_not_of(' ') + 1);  // an empty last cell leaves padding
        out << line << '\n';
    }
}

void print_list(std::ostringstream& out, const std::string& title,
                const std::vector<std::string>& items) {
    if (items.empty()) {
        return;
    }
    out << '\n' << title << ":\n";
    for (const auto& item : items) {
        out << "  - " << item << '\n';
    }
}

// What Alertmanager listed during the drill (a monitor host), the fault's expected alerts first.
void print_alerts(std::ostringstream& out, const Report& r) {
    if (!r.alerts_watched) {
        return;
    }
    out << "\nalerts (Alertmanager, relative to the fault):\n";
    std::vector<Row> rows;
    for (const auto& a : r.alerts) {
        rows.push_back({a.name, a.expected ? "expected" : "",
                        a.fired_ms ? "fired " + format_offset(*a.fired_ms) : "did not fire",
                        a.resolved_ms ? "resolved " + format_offset(*a.resolved_ms)
                        : a.fired_ms  ? "not resolved while watched"
                                      : ""});
    }
    if (rows.empty()) {
        out << "  (none fired, none expected)\n";
    } else {
        print_table(out, rows, "  ");
    }
}

std::string seconds(double ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000.0);
    return buf;
}

std::string plain(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

}  // namespace

std::string render_text(const Report& r) {
    std::ostringstream out;
    out << "pgdr drill " << r.drill << " on " << r.cluster << ": "
        << (r.verdict == Verdict::pass ? "pass" : "FAIL") << '\n';
    out << "started " << r.started_at;
    if (!r.fault_at.empty()) {
        out << ", fault at " << r.fault_at;
    }
    out << '\n';
    if (r.split_brain) {
        out << "\nSPLIT BRAIN: more than one primary accepted writes\n";
        for (const auto& e : r.split_brain_evidence) {
            out << "  ! " << e.kind << (e.at_ms ? " at " + format_offset(*e.at_ms) : "") << ": "
                << e.detail << '\n';
        }
    }
    out << '\n';
    std::vector<Row> rows;
    for (const auto& [label, value] : headline_rows(r)) {
        rows.push_back({label, value});
    }
    print_table(out, rows, "  ");

    out << "\nphases (relative to the fault):\n";
    rows.clear();
    for (const auto& p : r.phases) {
        rows.push_back(phase_row(p));
    }
    if (rows.empty()) {
        out << "  (none observed)\n";
    } else {
        print_table(out, rows, "  ");
    }
    out << "  " << evidence_note(r) << '\n';
    if (!r.guard_phases.empty()) {
        out << "\npgdr-guard (relative to the fault):\n";
        rows.clear();
        for (const auto& g : r.guard_phases) {
            rows.push_back({format_offset(g.at_ms), g.name, g.agent});
        }
        print_table(out, rows, "  ");
    }
    print_alerts(out, r);

    out << "\nchecks:\n";
    rows.clear();
    for (const auto& c : r.checks) {
        rows.push_back({c.passed ? "ok" : "FAIL", c.name, c.detail});
    }
    print_table(out, rows, "  ");
    print_list(out, "warnings", r.warnings);
    print_list(out, "errors", r.errors);
    return out.str();
}

std::string render_text(const std::vector<Report>& reports, const RepeatSummary& s) {
    std::ostringstream out;
    out << "pgdr drill " << s.drill << " on " << s.cluster << ", " << s.runs
        << " runs: " << s.passed << " passed" << (s.verdict == Verdict::pass ? "" : " - FAIL")
        << '\n';
    if (s.split_brain_runs > 0) {
        out << "SPLIT BRAIN in " << s.split_brain_runs << " run(s)\n";
    }
    out << '\n';
    std::vector<Row> rows{{"figure", "n", "min", "median", "p95", "max"}};
    auto add = [&](const std::string& label, const std::optional<Stats>& st, bool ms) {
        if (!st) {
            rows.push_back({label, "0", "-", "-", "-", "-"});
            return;
        }
        auto f = [&](double v) { return ms ? seconds(v) : plain(v); };
        rows.push_back(
            {label, std::to_string(st->count), f(st->min), f(st->median), f(st->p95), f(st->max)});
    };
    add("RTO", s.rto_ms, true);
    add("write outage", s.write_outage_ms, true);
    add("predicted RTO", s.predicted_rto_ms, true);
    add("lost acknowledged writes", s.lost_acknowledged_writes, false);
    add("unacknowledged applied writes", s.unacknowledged_applied_writes, false);
    add("lag at fault (bytes)", s.lag_at_fault_bytes, false);
    if (s.alerts_watched) {
        add("time to alert", s.time_to_alert_ms, true);
    }
    for (const auto& [name, st] : s.phases) {
        add(phase_label(name), st, true);
    }
    print_table(out, rows, "  ");
    out << "\nruns:\n";
    rows.clear();
    for (std::size_t i = 0; i < reports.size(); ++i) {
        const auto& r = reports[i];
        rows.push_back({std::to_string(i + 1), r.verdict == Verdict::pass ? "pass" : "FAIL",
                        "RTO " + or_dash(r.rto_ms),
                        "lost " + or_dash_count(r.lost_acknowledged_writes),
                        r.old_primary + " -> " + (r.new_primary.empty() ? "?" : r.new_primary)});
    }
    print_table(out, rows, "  ");
    return out.str();
}

}  // namespace pgdr::drills
