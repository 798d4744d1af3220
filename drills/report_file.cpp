#include "drills/report_file.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "core/files.hpp"
#include "drills/report_json.hpp"
#include "drills/report_junit.hpp"
#include "drills/report_markdown.hpp"
#include "drills/report_svg.hpp"
#include "drills/report_text.hpp"

namespace pgdr::drills {

namespace {

ReportFormat require_format(const std::string& path) {
    auto format = report_format_for_path(path);
    if (!format) {
        throw usage_error("--report " + path + ": unknown report type",
                          "name the file .md, .json, .xml (JUnit), .svg or .txt");
    }
    return *format;
}

}  // namespace

std::optional<ReportFormat> report_format_for_path(const std::string& path) {
    auto dot = path.rfind('.');
    auto slash = path.rfind('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
        return std::nullopt;
    }
    std::string ext = path.substr(dot + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == "txt") {
        return ReportFormat::text;
    }
    if (ext == "json") {
        return ReportFormat::json;
    }
    if (ext == "md" || ext == "markdown") {
        return ReportFormat::markdown;
    }
    if (ext == "xml") {
        return ReportFormat::junit;
    }
    if (ext == "svg") {
        return ReportFormat::svg;
    }
    return std::nullopt;
}

std::string render_report(const Report& report, ReportFormat format) {
    switch (format) {
        case ReportFormat::text:
            return render_text(report);
        case ReportFormat::json:
            return render_json(report);
        case ReportFormat::markdown:
            return render_markdown(report);
        case ReportFormat::junit:
            return render_junit(report);
        case ReportFormat::svg:
            return render_svg(report);
    }
    throw Error(ExitCode::internal, "unknown report format");
}

std::string render_report(const std::vector<Report>& reports, const RepeatSummary& summary,
                          ReportFormat format) {
    if (reports.empty()) {
        throw Error(ExitCode::internal, "no drill report to render");
    }
    switch (format) {
        case ReportFormat::text:
            return render_text(reports, summary);
        case ReportFormat::json:
            return render_json(reports, summary);
        case ReportFormat::markdown:
            return render_markdown(reports, summary);
        case ReportFormat::junit:
            return render_junit(reports);
        case ReportFormat::svg:
            return render_svg(reports.back());
    }
    throw Error(ExitCode::internal, "unknown report format");
}

void write_report(const std::string& path, const Report& report) {
    write_file_atomic(path, render_report(report, require_format(path)));
}

void write_report(const std::string& path, const std::vector<Report>& reports,
                  const RepeatSummary& summary) {
    write_file_atomic(path, render_report(reports, summary, require_format(path)));
}

}  // namespace pgdr::drills
