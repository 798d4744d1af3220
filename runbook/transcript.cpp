#include "runbook/transcript.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "core/error.hpp"
#include "core/files.hpp"

namespace pgdr::runbook {

namespace {

std::string seconds_text(long long ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
    return buf;
}

// A Markdown table cell: one line, pipes escaped.
std::string cell(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\n' || c == '\r') {
            out += ' ';
        } else if (c == '|') {
            out += "\\|";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

Transcript::Transcript(std::string dir, const Logger& log) : m_dir(std::move(dir)), m_log(log) {
    ensure_directory(m_dir, 0700);
    restrict_directory(m_dir);
    // Created 0600 (and made so when it existed): the transcript holds command output.
    const int fd = ::open(jsonl_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
        [[maybe_unused]] const int rc = ::fchmod(fd, 0600);
        ::close(fd);
    }
    m_out.open(jsonl_path(), std::ios::out | std::ios::app);
    if (!m_out) {
        throw Error(ExitCode::internal, "cannot write " + jsonl_path(),
                    "choose a writable directory with --transcript DIR");
    }
}

void Transcript::event(const nlohmann::json& e) {
    m_out << m_log.redact(e.dump()) << '\n';
    m_out.flush();
}

void Transcript::write_summary(const Runbook& runbook,
                               const std::map<std::string, std::string>& params,
                               const RunSummary& summary) {
    write_file_atomic(summary_path(),
                      m_log.redact(render_summary_markdown(runbook, params, summary)), 0600);
}

std::string render_summary_markdown(const Runbook& runbook,
                                    const std::map<std::string, std::string>& params,
                                    const RunSummary& summary) {
    std::ostringstream os;
    os << "# Runbook " << runbook.name << "\n\n";
    if (!runbook.description.empty()) {
        os << runbook.description << "\n\n";
    }
    os << "- file: `" << runbook.file << "`\n";
    for (const auto& [k, v] : params) {
        os << "- parameter `" << k << "` = `" << v << "`\n";
    }
    if (!summary.steps.empty()) {
        os << "- started: " << summary.steps.front().started << "\n";
        os << "- ended: " << summary.steps.back().ended << "\n";
    }
    os << "- result: **" << to_string(summary.result) << "** in "
       << seconds_text(summary.duration_ms) << "\n";
    if (summary.continued_failures > 0) {
        os << "- failed steps continued past: " << summary.continued_failures << "\n";
    }
    os << "- last completed step: "
       << (summary.last_completed.empty() ? "none" : "`" + summary.last_completed + "`") << "\n\n";
    os << "| # | step | kind | result | duration | started (UTC) | detail |\n";
    os << "|---|------|------|--------|----------|---------------|--------|\n";
    int n = 0;
    for (const auto& s : summary.steps) {
        std::string detail = s.error.empty() ? s.description : s.error;
        os << "| " << ++n << " | `" << s.id << "` | " << s.kind << " | " << to_string(s.result)
           << " | " << seconds_text(s.duration_ms) << " | " << s.started << " | " << cell(detail)
           << " |\n";
    }
    bool any_output = false;
    for (const auto& s : summary.steps) {
        if (s.output.empty()) {
            continue;
        }
        if (!any_output) {
            os << "\n## Output\n";
            any_output = true;
        }
        os << "\n### " << s.id << "\n\n```\n"
           << s.output << (s.output.back() == '\n' ? "" : "\n") << "```\n";
    }
    if (!summary.resume_command.empty()) {
        os << "\n## Resume\n\nThe run stopped at `" << summary.stopped_at
           << "`. After fixing the cause, resume with:\n\n```\n"
           << summary.resume_command << "\n```\n";
    }
    return os.str();
}

}  // namespace pgdr::runbook
