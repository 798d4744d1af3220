#include "drills/display.hpp"

#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <sstream>

#include "core/duration.hpp"

namespace pgdr::drills {

std::string format_duration(Millis ms) {
    return format_seconds(std::chrono::milliseconds(ms), 2);
}

std::string format_offset(Millis ms) {
    return (ms >= 0 ? "+" : "") + format_duration(ms);
}

std::string format_bytes(std::int64_t bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024 && bytes > -1024) {
        return std::to_string(bytes) + " B";
    }
    double value = static_cast<double>(bytes);
    int unit = 0;
    while ((value >= 1024.0 || value <= -1024.0) && unit < 4) {
        value /= 1024.0;
        ++unit;
    }
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.1f %s", value, units[unit]);
    return buf;
}

std::string or_dash(const std::optional<Millis>& ms) {
    return ms ? format_duration(*ms) : std::string("-");
}

std::string or_dash_count(const std::optional<std::int64_t>& n) {
    return n ? std::to_string(*n) : std::string("-");
}

std::string cross_check_text(const CrossCheck& c) {
    if (!c.persistent_probe_outage_ms) {
        return "- (" + c.error + ")";
    }
    std::string out = "persistent-connection probe " + std::string(c.recovered ? "" : "at least ") +
                      format_duration(*c.persistent_probe_outage_ms);
    if (!c.difference_ms) {
        return out + " (" + c.error + ")";
    }
    const std::string diff =
        (*c.difference_ms >= 0 ? "+" : "") + std::to_string(*c.difference_ms) + " ms";
    const std::string beyond =
        c.resolution_ms > 0 ? " + " + std::to_string(c.resolution_ms) + " ms reconnect" : "";
    return out + " (" + diff + (c.agrees ? ", within ±" : ": NOT within ±") +
           std::to_string(c.tolerance_ms) + " ms" + beyond + " of the writer; " +
           std::to_string(c.reconnects) + " reconnect(s))";
}

std::vector<std::pair<std::string, std::string>> headline_rows(const Report& r) {
    std::vector<std::pair<std::string, std::string>> rows;
    std::string leader = r.old_primary.empty() ? "?" : r.old_primary;
    leader += r.leader_changed ? " -> " + r.new_primary
                               : (r.new_primary.empty() ? " -> none observed" : " (unchanged)");
    rows.emplace_back("leader", leader);
    if (!r.fault_action.empty()) {
        rows.emplace_back("fault", r.fault_action);
    }
    std::string rto = or_dash(r.rto_ms);
    if (!r.rto_ms && !r.write_outage_recovered) {
        rto = "not recovered";
    }
    rows.emplace_back("RTO (fault to first acknowledged write)", rto);
    if (r.alerts_watched) {
        rows.emplace_back("time to alert (first expected alert)",
                          r.time_to_alert_ms ? format_offset(*r.time_to_alert_ms) : "-");
    }
    rows.emplace_back("predicted RTO", r.predicted_rto_ms ? format_duration(*r.predicted_rto_ms) +
                                                                " (" + r.prediction_formula + ")"
                                                          : "- (" + r.prediction_formula + ")");
    std::string outage = or_dash(r.write_outage_ms);
    if (r.write_outage_ms && !r.write_outage_recovered) {
        outage = "at least " + outage;
    }
    rows.emplace_back("write outage", outage);
    if (r.cross_check) {
        rows.emplace_back("outage cross-check", cross_check_text(*r.cross_check));
    }
    rows.emplace_back("lost acknowledged writes", or_dash_count(r.lost_acknowledged_writes));
    rows.emplace_back("unacknowledged applied writes",
                      or_dash_count(r.unacknowledged_applied_writes));
    rows.emplace_back("lag at fault",
                      r.lag_at_fault_bytes ? format_bytes(*r.lag_at_fault_bytes) : "-");
    rows.emplace_back("writes", std::to_string(r.writes.sent) + " sent, " +
                                    std::to_string(r.writes.acknowledged) + " acknowledged, " +
                                    std::to_string(r.writes.failed) + " failed, " +
                                    std::to_string(r.writes.unanswered) + " unanswered");
    rows.emplace_back("probes from", r.probe_vantage.empty() ? "this machine" : r.probe_vantage);
    if (r.probe_write_latency_ms) {
        std::ostringstream latency;
        latency << std::fixed << std::setprecision(1) << *r.probe_write_latency_ms
                << " ms (median, before the fault)";
        rows.emplace_back("probe write latency", latency.str());
    } else {
        rows.emplace_back("probe write latency", "-");
    }
    rows.emplace_back("split brain", r.split_brain ? "YES" : "no");
    rows.emplace_back("restored", r.restored ? "yes" : "NO");
    rows.emplace_back("verdict", r.verdict == Verdict::pass ? "pass" : "FAIL");
    return rows;
}

std::string xml_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                    out += '?';
                } else {
                    out += c;
                }
        }
    }
    return out;
}

std::vector<std::string> phase_row(const Phase& p) {
    return {format_offset(p.at_ms), "±" + std::to_string(p.uncertainty_ms) + " ms",
            phase_label(p.name), p.source, p.detail};
}

std::string evidence_note(const Report& r) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "samplers every %lld ms, lag %lld ms",
                  static_cast<long long>(r.sampler.interval_ms),
                  static_cast<long long>(r.sampler.lag_ms));
    std::string out = buf;
    if (r.clock_offsets.empty()) {
        return out + "; no clock offsets measured (no server evidence)";
    }
    out += "; clock offsets:";
    for (const auto& o : r.clock_offsets) {
        std::snprintf(buf, sizeof buf, " %s %+.1f ms ±%.1f", o.host.c_str(), o.offset_ms,
                      o.bound_ms);
        out += buf;
    }
    return out;
}

}  // namespace pgdr::drills
