// The renderings of a restore drill's report (drills/restore_drill.hpp), in the formats of the
// other drills' reports: text (the terminal), JSON (`--output json`, `--report FILE.json`),
// Markdown and JUnit XML. A restore drill has no timeline picture: `.svg` is a usage error.
//
// JSON fields, stable (issue 14, man/pgdr-drill.1): beside the drills' common fields (drill,
// cluster, started_at, objectives, checks, verdict, restored, warnings, errors):
// restore_rto_ms, backup_age_ms, wal_replayed_bytes, markers_expected, markers_found,
// markers_after_target (must be 0), rpo_ms, and the details (target, scratch host, backup,
// WAL, markers). Unknown figures are null. Keys keep this order.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "drills/report_file.hpp"
#include "drills/restore_drill.hpp"

namespace pgdr::drills {

nlohmann::ordered_json restore_report_to_json(const RestoreDrillReport& report);

std::string render_restore_json(const RestoreDrillReport& report);
std::string render_restore_text(const RestoreDrillReport& report);
std::string render_restore_markdown(const RestoreDrillReport& report);
std::string render_restore_junit(const RestoreDrillReport& report);

// By format; throws a usage error for svg.
std::string render_restore_report(const RestoreDrillReport& report, ReportFormat format);
// Renders by the extension of `path` and writes it atomically. Throws a usage error for an
// unknown extension or .svg.
void write_restore_report(const std::string& path, const RestoreDrillReport& report);

}  // namespace pgdr::drills
