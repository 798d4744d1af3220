// The transcript of a runbook run, for a change ticket: DIR/transcript.jsonl (one JSON object
// per line: run_start, step_start, step_end, run_end; times in UTC ISO 8601, durations in ms)
// and DIR/summary.md (each step's result and duration, the resume command on failure).
// Every line passes through the logger's redaction before it is written; the directory is
// created 0700. transcript.jsonl is appended to (a resumed run given the same DIR adds its
// events after the first run's); summary.md describes the latest run.
#pragma once

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/log.hpp"
#include "runbook/executor.hpp"

namespace pgdr::runbook {

class Transcript {
  public:
    // Throws pgdr::Error when the directory or the file cannot be created.
    Transcript(std::string dir, const Logger& log);

    const std::string& dir() const { return m_dir; }
    std::string jsonl_path() const { return m_dir + "/transcript.jsonl"; }
    std::string summary_path() const { return m_dir + "/summary.md"; }

    // Appends one event (flushed at once: a crash keeps what happened so far).
    void event(const nlohmann::json& e);
    void write_summary(const Runbook& runbook, const std::map<std::string, std::string>& params,
                       const RunSummary& summary);

  private:
    std::string m_dir;
    const Logger& m_log;
    std::ofstream m_out;
};

std::string render_summary_markdown(const Runbook& runbook,
                                    const std::map<std::string, std::string>& params,
                                    const RunSummary& summary);

}  // namespace pgdr::runbook
