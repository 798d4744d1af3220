#include "drills/report_svg.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

#include "drills/display.hpp"

namespace pgdr::drills {

namespace {

constexpr int k_width = 960;
constexpr int k_left = 90;  // room for the row labels
constexpr int k_right = 30;
constexpr int k_strip_top = 50;
constexpr int k_strip_height = 28;
constexpr int k_label_top = 100;  // first phase label row
constexpr int k_label_step = 16;

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

// Axis steps in ms: the first that gives at most 12 ticks.
Millis axis_step(Millis span) {
    static const Millis steps[] = {100,   200,   500,   1000,   2000,   5000,   10000,
                                   20000, 30000, 60000, 120000, 300000, 600000, 1800000};
    for (Millis s : steps) {
        if (span / s <= 12) {
            return s;
        }
    }
    return 3600000;
}

std::string axis_label(Millis ms) {
    char buf[32];
    if (ms % 1000 == 0) {
        std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(ms / 1000));
    } else {
        std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
    }
    return buf;
}

// The drawing's geometry: the time range covers the observation and every phase, padded so
// that markers at the edges stay visible.
struct Chart {
    Millis from = 0;
    Millis to = 0;
    double plot = k_width - k_left - k_right;  // the plot's width in pixels
    int axis_y = 0;
    int height = 0;
    int alerts_top = 0;  // the first alert row's baseline

    double x_of(Millis t) const {
        return k_left + (static_cast<double>(t - from) / static_cast<double>(to - from)) * plot;
    }
};

Chart chart_for(const Report& r) {
    Chart c;
    c.from = std::min<Millis>(r.observed_from_ms, 0);
    c.to = std::max<Millis>(r.observed_until_ms, 0);
    for (const auto& p : r.phases) {
        c.from = std::min(c.from, p.at_ms - p.uncertainty_ms);
        c.to = std::max(c.to, p.at_ms + p.uncertainty_ms);
    }
    for (const auto& a : r.alerts) {
        c.to = std::max({c.to, static_cast<Millis>(a.fired_ms.value_or(c.to)),
                         static_cast<Millis>(a.resolved_ms.value_or(c.to))});
    }
    if (c.to - c.from < 1000) {
        c.to = c.from + 1000;
    }
    const int label_rows = static_cast<int>(r.phases.size());
    c.alerts_top = k_label_top + std::max(1, label_rows) * k_label_step + 16;
    c.axis_y = c.alerts_top - 10 + static_cast<int>(r.alerts.size()) * k_label_step + 4;
    c.height = c.axis_y + 40;
    return c;
}

void header(std::ostream& out, const Report& r, const Chart& c) {
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << k_width << "\" height=\""
        << c.height << "\" viewBox=\"0 0 " << k_width << ' ' << c.height
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    out << "  <title>" << xml_escape("pgdr drill " + r.drill + " on " + r.cluster) << "</title>\n";
    out << "  <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    std::string headline =
        "pgdr drill " + r.drill + " on " + r.cluster + ": " + to_string(r.verdict) + ", RTO " +
        or_dash(r.rto_ms) + ", write outage " + or_dash(r.write_outage_ms) + ", lost " +
        or_dash_count(r.lost_acknowledged_writes) + (r.split_brain ? ", SPLIT BRAIN" : "");
    out << "  <text x=\"10\" y=\"24\" font-size=\"14\" font-weight=\"bold\">"
        << xml_escape(headline) << "</text>\n";
}

// Outages behind everything else.
void outages(std::ostream& out, const Report& r, const Chart& c) {
    for (const auto& o : r.outages) {
        Millis end = o.end_ms.value_or(c.to);
        out << "  <rect class=\"outage\" x=\"" << num(c.x_of(o.start_ms)) << "\" y=\""
            << k_strip_top - 6 << "\" width=\"" << num(c.x_of(end) - c.x_of(o.start_ms))
            << "\" height=\"" << c.axis_y - k_strip_top + 6 << "\" fill=\"#fde2e2\"/>\n";
    }
}

// The write strip: one column per pixel, red when any write in it failed.
void write_strip(std::ostream& out, const Report& r, const Chart& ch) {
    out << "  <text x=\"10\" y=\"" << k_strip_top + 18 << "\">writes</text>\n";
    std::vector<int> column(static_cast<std::size_t>(ch.plot) + 1, 0);  // 0 none, 1 ok, 2 failed
    for (const auto& t : r.write_ticks) {
        auto c = static_cast<std::size_t>(std::max(0.0, ch.x_of(t.at_ms) - k_left));
        c = std::min(c, column.size() - 1);
        column[c] = std::max(column[c], t.ok ? 1 : 2);
    }
    // Runs of columns with the same outcome become one rectangle: a 30 s drill at 100 writes/s
    // is a handful of shapes, not thousands of ticks.
    out << "  <g class=\"writes\">\n";
    for (std::size_t c = 0; c < column.size();) {
        std::size_t run = c;
        while (run < column.size() && column[run] == column[c]) {
            ++run;
        }
        if (column[c] != 0) {
            out << "    <rect x=\"" << k_left + c << "\" y=\"" << k_strip_top << "\" width=\""
                << run - c << "\" height=\"" << k_strip_height << "\" fill=\""
                << (column[c] == 1 ? "#2e9d3a" : "#d62728") << "\"/>\n";
        }
        c = run;
    }
    out << "  </g>\n";
}

// A phase: a vertical marker, its error bar, and its label on row `row` below the strip.
void phase_marker(std::ostream& out, const Phase& p, int row, const Chart& c) {
    const double x = c.x_of(p.at_ms);
    const int label_y = k_label_top + row * k_label_step;
    const bool fault = p.name == phase::fault_injected;
    out << "    <line x1=\"" << num(x) << "\" y1=\"" << k_strip_top - 8 << "\" x2=\"" << num(x)
        << "\" y2=\"" << c.axis_y << "\" stroke=\"" << (fault ? "#d62728" : "#555")
        << "\" stroke-width=\"" << (fault ? 2 : 1) << "\""
        << (fault ? "" : " stroke-dasharray=\"4 3\"") << "/>\n";
    if (p.uncertainty_ms > 0) {
        // The error bar: the phase's time ± its uncertainty, with end caps.
        const double lo = c.x_of(p.at_ms - p.uncertainty_ms);
        const double hi = c.x_of(p.at_ms + p.uncertainty_ms);
        const int y = label_y - 4;
        out << "    <path class=\"uncertainty\" d=\"M" << num(lo) << ' ' << y - 3 << "v6M"
            << num(lo) << ' ' << y << "H" << num(hi) << "M" << num(hi) << ' ' << y - 3
            << "v6\" stroke=\"#1f77b4\" fill=\"none\"/>\n";
    }
    std::string label = phase_label(p.name) + " " + format_offset(p.at_ms) + " ±" +
                        std::to_string(p.uncertainty_ms) + " ms " + p.source;
    if (!p.detail.empty() && p.name != phase::first_write_failure) {
        label += " (" + p.detail + ")";
    }
    const bool right_half = x > k_left + c.plot / 2;
    out << "    <text x=\"" << num(right_half ? x - 4 : x + 4) << "\" y=\"" << label_y
        << "\" text-anchor=\"" << (right_half ? "end" : "start") << "\">" << xml_escape(label)
        << "</text>\n";
}

// Time axis in seconds from the fault.
void time_axis(std::ostream& out, const Chart& c) {
    out << "  <g class=\"axis\">\n";
    out << "    <line x1=\"" << k_left << "\" y1=\"" << c.axis_y << "\" x2=\"" << k_width - k_right
        << "\" y2=\"" << c.axis_y << "\" stroke=\"black\"/>\n";
    const Millis step = axis_step(c.to - c.from);
    Millis first_tick = (c.from / step) * step;
    if (first_tick < c.from) {
        first_tick += step;
    }
    for (Millis t = first_tick; t <= c.to; t += step) {
        const double x = c.x_of(t);
        out << "    <line x1=\"" << num(x) << "\" y1=\"" << c.axis_y << "\" x2=\"" << num(x)
            << "\" y2=\"" << c.axis_y + 5 << "\" stroke=\"black\"/>\n";
        out << "    <text x=\"" << num(x) << "\" y=\"" << c.axis_y + 18
            << "\" text-anchor=\"middle\">" << axis_label(t) << "</text>\n";
    }
    out << "    <text x=\"" << k_width - k_right << "\" y=\"" << c.axis_y + 34
        << "\" text-anchor=\"end\">seconds from the fault</text>\n";
    out << "  </g>\n";
}

// The alerts Alertmanager listed (a monitor host): one row each below the phase labels, a bar
// from firing to resolution (to the end of the observation when still firing), the expected
// ones orange.
void alert_rows(std::ostream& out, const Report& r, const Chart& c) {
    if (r.alerts.empty()) {
        return;
    }
    out << "  <g class=\"alerts\">\n";
    for (std::size_t i = 0; i < r.alerts.size(); ++i) {
        const auto& a = r.alerts[i];
        const int y = c.alerts_top + static_cast<int>(i) * k_label_step;
        std::string label = a.name + (a.expected ? " (expected)" : "");
        if (a.fired_ms) {
            const double x0 = c.x_of(*a.fired_ms);
            const double x1 = c.x_of(static_cast<Millis>(a.resolved_ms.value_or(c.to)));
            out << "    <rect x=\"" << num(x0) << "\" y=\"" << y - 10 << "\" width=\""
                << num(std::max(1.0, x1 - x0)) << "\" height=\"12\" fill=\""
                << (a.expected ? "#ff7f0e" : "#bbb") << "\"/>\n";
            label += " fired " + format_offset(*a.fired_ms) +
                     (a.resolved_ms ? ", resolved " + format_offset(*a.resolved_ms) : "");
        } else {
            label += ": did not fire";
        }
        out << "    <text x=\"10\" y=\"" << y << "\" fill=\""
            << (a.expected && !a.fired_ms ? "#d62728" : "black") << "\">" << xml_escape(label)
            << "</text>\n";
    }
    out << "  </g>\n";
}

}  // namespace

std::string render_svg(const Report& r) {
    const Chart chart = chart_for(r);
    std::ostringstream out;
    header(out, r, chart);
    outages(out, r, chart);
    write_strip(out, r, chart);
    out << "  <g class=\"phases\">\n";
    for (std::size_t i = 0; i < r.phases.size(); ++i) {
        phase_marker(out, r.phases[i], static_cast<int>(i), chart);
    }
    out << "  </g>\n";
    alert_rows(out, r, chart);
    time_axis(out, chart);
    out << "</svg>\n";
    return out.str();
}

}  // namespace pgdr::drills
