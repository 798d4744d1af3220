#include "drills/report_junit.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "drills/display.hpp"

namespace pgdr::drills {

namespace {

std::string attr(const std::string& text) {
    return '"' + xml_escape(text) + '"';
}

std::string seconds(Millis ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000));
    return buf;
}

void property(std::ostringstream& out, const std::string& name, const std::string& value) {
    out << "    <property name=" << attr(name) << " value=" << attr(value) << "/>\n";
}

template <class T>
std::string value_or_empty(const std::optional<T>& v) {
    return v ? std::to_string(*v) : std::string();
}

}  // namespace

std::string render_junit(const Report& report) {
    return render_junit(std::vector<Report>{report});
}

std::string render_junit(const std::vector<Report>& reports) {
    std::size_t tests = 0;
    std::size_t failures = 0;
    Millis total = 0;
    for (const auto& r : reports) {
        tests += r.checks.size();
        for (const auto& c : r.checks) {
            failures += c.passed ? 0 : 1;
        }
        total += std::max<Millis>(0, r.observed_until_ms - r.observed_from_ms);
    }
    const Report* first = reports.empty() ? nullptr : &reports.front();
    std::ostringstream out;
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out << "<testsuite name=" << attr("pgdr drill " + (first ? first->drill : std::string()))
        << " tests=\"" << tests << "\" failures=\"" << failures << "\" errors=\"0\" skipped=\"0\""
        << " timestamp=" << attr(first ? first->started_at : std::string()) << " time=\""
        << seconds(total) << "\">\n";
    if (first != nullptr) {
        out << "  <properties>\n";
        property(out, "cluster", first->cluster);
        property(out, "drill", first->drill);
        if (reports.size() == 1) {
            property(out, "old_primary", first->old_primary);
            property(out, "new_primary", first->new_primary);
            property(out, "rto_ms", value_or_empty(first->rto_ms));
            property(out, "write_outage_ms", value_or_empty(first->write_outage_ms));
            property(out, "predicted_rto_ms", value_or_empty(first->predicted_rto_ms));
            property(out, "lost_acknowledged_writes",
                     value_or_empty(first->lost_acknowledged_writes));
            property(out, "unacknowledged_applied_writes",
                     value_or_empty(first->unacknowledged_applied_writes));
            property(out, "lag_at_fault_bytes", value_or_empty(first->lag_at_fault_bytes));
        } else {
            property(out, "runs", std::to_string(reports.size()));
        }
        out << "  </properties>\n";
    }
    for (std::size_t i = 0; i < reports.size(); ++i) {
        const auto& r = reports[i];
        const std::string prefix =
            reports.size() == 1 ? std::string() : "run " + std::to_string(i + 1) + ": ";
        for (const auto& c : r.checks) {
            out << "  <testcase classname=" << attr("pgdr.drill." + r.drill)
                << " name=" << attr(prefix + c.name) << " time=\"0.000\"";
            if (c.passed) {
                out << "/>\n";
                continue;
            }
            out << ">\n    <failure message=" << attr(c.detail) << " type=\"drill\">"
                << xml_escape(c.detail) << "</failure>\n  </testcase>\n";
        }
    }
    std::string notes;
    for (const auto& r : reports) {
        for (const auto& w : r.warnings) {
            notes += "warning: " + w + "\n";
        }
        for (const auto& e : r.errors) {
            notes += "error: " + e + "\n";
        }
    }
    if (!notes.empty()) {
        out << "  <system-err>" << xml_escape(notes) << "</system-err>\n";
    }
    out << "</testsuite>\n";
    return out.str();
}

}  // namespace pgdr::drills
