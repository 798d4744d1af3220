#include "drills/restore_report.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "drills/display.hpp"
#include "drills/report_markdown.hpp"

namespace pgdr::drills {

namespace {

using Json = nlohmann::ordered_json;
using Rows = std::vector<std::pair<std::string, std::string>>;

template <class T>
Json or_null(const std::optional<T>& v) {
    return v ? Json(*v) : Json(nullptr);
}

Json or_null(const std::string& s) {
    return s.empty() ? Json(nullptr) : Json(s);
}

std::string rate_text(const std::optional<double>& rate) {
    if (!rate) {
        return "-";
    }
    return format_bytes(static_cast<std::int64_t>(std::llround(*rate))) + "/s";
}

// Where it restored: "scr100 (198.18.0.100)"; on OVH also the instance id, flavor and region.
std::string scratch_text(const RestoreDrillReport& r) {
    if (r.scratch_host.empty()) {
        return "-";
    }
    std::string where = r.scratch_address;
    if (!r.scratch_id.empty() && r.scratch_id != r.scratch_host) {
        where = "instance " + r.scratch_id;
        for (const auto& part : {r.scratch_flavor, r.scratch_region, r.scratch_address}) {
            if (!part.empty()) {
                where += ", " + part;
            }
        }
    }
    return r.scratch_host + " (" + where + ")";
}

// The figures as (label, value), shared by the text and Markdown renderings.
Rows headline_rows(const RestoreDrillReport& r) {
    Rows rows{
        {"target", r.target.empty() ? "-" : r.target + " (" + r.target_source + ")"},
        {"scratch host", scratch_text(r)},
        {"  up (created, answering SSH) in", or_dash(r.scratch_create_ms)},
        {"  ready (packages, configuration) in", or_dash(r.scratch_ready_ms)},
        {"backup", r.backup_label.empty() ? "-" : r.backup_label + ", ended " + r.backup_stop},
        {"backup age at the target", or_dash(r.backup_age_ms)},
        {"restore RTO", or_dash(r.restore_rto_ms)},
        {"  files restored in", or_dash(r.restore_copy_ms)},
        {"  recovery to the target in", or_dash(r.recovery_ms)},
        {"WAL replayed", r.wal_replayed_bytes ? format_bytes(*r.wal_replayed_bytes) + " (" +
                                                    rate_text(r.wal_replay_rate_bytes_per_s) + ")"
                                              : std::string("-")},
        {"RPO (target - last archived WAL)", or_dash(r.rpo_ms)},
        {"markers acknowledged",
         std::to_string(r.markers_acknowledged) +
             (r.markers_failed > 0 ? " (" + std::to_string(r.markers_failed) + " failed)"
                                   : std::string())},
        {"markers expected", or_dash_count(r.markers_expected)},
        {"markers found", or_dash_count(r.markers_found)},
        {"markers after the target", or_dash_count(r.markers_after_target)},
    };
    if (r.markers_uncertain > 0) {
        rows.push_back({"markers not judged", std::to_string(r.markers_uncertain) +
                                                  " (committed within their round trip of the "
                                                  "target)"});
    }
    return rows;
}

Json checks_json(const std::vector<Check>& checks) {
    Json out = Json::array();
    for (const auto& c : checks) {
        out.push_back(Json{{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
    }
    return out;
}

}  // namespace

nlohmann::ordered_json restore_report_to_json(const RestoreDrillReport& r) {
    Json j;
    j["drill"] = r.drill;
    j["cluster"] = r.cluster;
    j["started_at"] = r.started_at;
    j["provider"] = r.provider;
    j["restore_rto_ms"] = or_null(r.restore_rto_ms);
    j["backup_age_ms"] = or_null(r.backup_age_ms);
    j["wal_replayed_bytes"] = or_null(r.wal_replayed_bytes);
    j["markers_expected"] = or_null(r.markers_expected);
    j["markers_found"] = or_null(r.markers_found);
    j["markers_after_target"] = or_null(r.markers_after_target);
    j["rpo_ms"] = or_null(r.rpo_ms);
    j["target"] = or_null(r.target);
    j["target_source"] = r.target_source;
    j["scratch"] = Json{
        {"host", or_null(r.scratch_host)},           {"address", or_null(r.scratch_address)},
        {"provider", or_null(r.scratch_provider)},   {"id", or_null(r.scratch_id)},
        {"flavor", or_null(r.scratch_flavor)},       {"region", or_null(r.scratch_region)},
        {"create_ms", or_null(r.scratch_create_ms)}, {"ready_ms", or_null(r.scratch_ready_ms)}};
    j["backup"] = Json{{"label", or_null(r.backup_label)},
                       {"stop", or_null(r.backup_stop)},
                       {"lsn_stop", or_null(r.backup_lsn_stop)}};
    j["restore_copy_ms"] = or_null(r.restore_copy_ms);
    j["recovery_ms"] = or_null(r.recovery_ms);
    j["replay_lsn"] = or_null(r.replay_lsn);
    j["wal_replay_rate_bytes_per_s"] = r.wal_replay_rate_bytes_per_s
                                           ? Json(std::llround(*r.wal_replay_rate_bytes_per_s))
                                           : Json(nullptr);
    j["archive"] = Json{{"last_archived_wal", or_null(r.last_archived_wal)},
                        {"last_archived_at", or_null(r.last_archived_at)},
                        {"switched_wal", or_null(r.switched_wal)},
                        {"target_covered", r.target_covered}};
    j["markers"] = Json{{"acknowledged", r.markers_acknowledged},
                        {"failed", r.markers_failed},
                        {"uncertain", r.markers_uncertain},
                        {"missing", r.missing_markers},
                        {"after_target", r.markers_after_target_ids}};
    j["objectives"] = Json{{"max_rto_ms", or_null(r.objectives.max_rto_ms)}};
    j["checks"] = checks_json(r.checks);
    j["verdict"] = to_string(r.verdict);
    j["restored"] = r.restored;
    j["warnings"] = r.warnings;
    j["errors"] = r.errors;
    return j;
}

std::string render_restore_json(const RestoreDrillReport& r) {
    return restore_report_to_json(r).dump(2) + "\n";
}

std::string render_restore_text(const RestoreDrillReport& r) {
    std::ostringstream out;
    out << "pgdr drill --restore: cluster " << r.cluster << ", started " << r.started_at << "\n\n";
    const auto rows = headline_rows(r);
    std::size_t width = 0;
    for (const auto& [label, value] : rows) {
        width = std::max(width, label.size());
    }
    for (const auto& [label, value] : rows) {
        out << "  " << label << std::string(width - label.size() + 2, ' ') << value << '\n';
    }
    out << "\nchecks:\n";
    for (const auto& c : r.checks) {
        out << "  " << (c.passed ? "PASS" : "FAIL") << "  " << c.name << ": " << c.detail << '\n';
    }
    for (const auto& [title, items] :
         {std::pair{"warnings", &r.warnings}, std::pair{"errors", &r.errors}}) {
        if (!items->empty()) {
            out << '\n' << title << ":\n";
            for (const auto& i : *items) {
                out << "  - " << i << '\n';
            }
        }
    }
    out << "\nverdict: " << (r.verdict == Verdict::pass ? "PASS" : "FAIL") << '\n';
    return out.str();
}

std::string render_restore_markdown(const RestoreDrillReport& r) {
    std::ostringstream out;
    out << "# Restore drill: " << markdown_cell(r.cluster) << "\n\n";
    out << "Started " << markdown_cell(r.started_at) << ". Verdict: **"
        << (r.verdict == Verdict::pass ? "PASS" : "FAIL") << "**.\n\n";
    out << "| figure | value |\n|---|---|\n";
    for (const auto& [label, value] : headline_rows(r)) {
        std::string l = label;
        l.erase(0, l.find_first_not_of(' '));
        out << "| " << markdown_cell(l) << " | " << markdown_cell(value) << " |\n";
    }
    out << "\n## Checks\n\n| check | result | detail |\n|---|---|---|\n";
    for (const auto& c : r.checks) {
        out << "| " << markdown_cell(c.name) << " | " << (c.passed ? "pass" : "**fail**") << " | "
            << markdown_cell(c.detail) << " |\n";
    }
    for (const auto& [title, items] :
         {std::pair{"Warnings", &r.warnings}, std::pair{"Errors", &r.errors}}) {
        if (!items->empty()) {
            out << "\n## " << title << "\n\n";
            for (const auto& i : *items) {
                out << "- " << markdown_cell(i) << '\n';
            }
        }
    }
    return out.str();
}

std::string render_restore_junit(const RestoreDrillReport& r) {
    std::size_t failures = 0;
    for (const auto& c : r.checks) {
        failures += c.passed ? 0 : 1;
    }
    auto attr = [](const std::string& s) { return '"' + xml_escape(s) + '"'; };
    std::ostringstream out;
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out << "<testsuite name=" << attr("pgdr drill restore") << " tests=\"" << r.checks.size()
        << "\" failures=\"" << failures << "\" errors=\"" << r.errors.size()
        << "\" skipped=\"0\" timestamp=" << attr(r.started_at) << ">\n";
    out << "  <properties>\n";
    for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"cluster", r.cluster},
             {"target", r.target},
             {"restore_rto_ms", or_dash_count(r.restore_rto_ms)},
             {"backup_age_ms", or_dash_count(r.backup_age_ms)},
             {"wal_replayed_bytes", or_dash_count(r.wal_replayed_bytes)},
             {"scratch_host", scratch_text(r)},
             {"scratch_create_ms", or_dash_count(r.scratch_create_ms)}}) {
        out << "    <property name=" << attr(name) << " value=" << attr(value) << "/>\n";
    }
    out << "  </properties>\n";
    for (const auto& c : r.checks) {
        out << "  <testcase classname=" << attr("restore." + r.cluster) << " name=" << attr(c.name);
        if (c.passed) {
            out << "/>\n";
        } else {
            out << ">\n    <failure message=" << attr(c.detail) << "/>\n  </testcase>\n";
        }
    }
    out << "</testsuite>\n";
    return out.str();
}

std::string render_restore_report(const RestoreDrillReport& r, ReportFormat format) {
    switch (format) {
        case ReportFormat::text:
            return render_restore_text(r);
        case ReportFormat::json:
            return render_restore_json(r);
        case ReportFormat::markdown:
            return render_restore_markdown(r);
        case ReportFormat::junit:
            return render_restore_junit(r);
        case ReportFormat::svg:
            break;
    }
    throw usage_error("a restore drill has no timeline picture (.svg)",
                      "name the report .md, .json, .xml (JUnit) or .txt");
}

void write_restore_report(const std::string& path, const RestoreDrillReport& r) {
    const auto format = report_format_for_path(path);
    if (!format) {
        throw usage_error("--report " + path + ": unknown report type",
                          "name the file .md, .json, .xml (JUnit) or .txt");
    }
    write_file_atomic(path, render_restore_report(r, *format));
}

}  // namespace pgdr::drills
