// `--report FILE`: the rendering is chosen by the file's extension.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "drills/repeats.hpp"
#include "drills/report.hpp"

namespace pgdr::drills {

enum class ReportFormat { text, json, markdown, junit, svg };

// .txt -> text, .json -> json, .md/.markdown -> markdown, .xml -> junit, .svg -> svg
// (case-insensitive); std::nullopt otherwise.
std::optional<ReportFormat> report_format_for_path(const std::string& path);

std::string render_report(const Report& report, ReportFormat format);
// --repeat N. SVG shows one drill per picture, so for svg this renders the last run.
std::string render_report(const std::vector<Report>& reports, const RepeatSummary& summary,
                          ReportFormat format);

// Renders by the extension of `path` and writes it atomically (core/files.hpp). Throws a usage
// error (exit 2) for an unknown extension, pgdr::Error when the file cannot be written.
void write_report(const std::string& path, const Report& report);
void write_report(const std::string& path, const std::vector<Report>& reports,
                  const RepeatSummary& summary);

}  // namespace pgdr::drills
