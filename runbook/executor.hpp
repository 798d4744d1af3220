// Running a runbook step by step (man/pgdr-runbook.1).
//
// The executor owns the order and the rules: each step's timeout, on_failure (abort, continue,
// goto), --from, confirmations (asked only on a terminal; --yes answers them; without either
// the run stops at the first one, exit 2), Ctrl-C (the current step ends at its next check,
// then the run stops, exit 130), progress lines and the transcript. What a step does to the
// cluster is ClusterOps' (run, sql, conditions) or PgdrActions' (pgdr actions, implemented in
// cmd/ with pgdr's own code).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "runbook/cluster_ops.hpp"
#include "runbook/model.hpp"

namespace pgdr::runbook {

class Transcript;

struct ActionResult {
    bool ok = false;
    bool timed_out = false;
    std::string output;
    std::string error;
};

// The pgdr actions a step may invoke (switchover, failover, reinit, status, verify, drill,
// bootstrap); cmd/ implements it with the same code as the subcommands.
class PgdrActions {
  public:
    virtual ~PgdrActions() = default;
    // Runs the action within `timeout`; failures are values. `interrupted` is the Ctrl-C flag.
    virtual ActionResult invoke(const PgdrStep& step, std::chrono::milliseconds timeout,
                                const std::atomic<bool>* interrupted) = 0;
};

enum class StepResult { ok, failed, timed_out, refused, needs_confirmation, interrupted, dry_run };
std::string to_string(StepResult r);

struct StepRecord {
    std::string id;
    std::string kind;
    std::string description;
    StepResult result = StepResult::failed;
    std::string started;  // UTC, ISO 8601
    std::string ended;
    long long duration_ms = 0;
    std::string output;  // excerpt, redacted
    std::string error;   // redacted
};

enum class RunResult { ok, failed, needs_confirmation, interrupted };
std::string to_string(RunResult r);

struct RunSummary {
    RunResult result = RunResult::ok;
    std::vector<StepRecord> steps;  // in execution order (a goto may repeat a step)
    std::string last_completed;     // the last step that succeeded
    std::string stopped_at;         // where to resume ("" when the run finished)
    std::string resume_command;     // the exact command to resume ("" when finished)
    int continued_failures = 0;     // failed steps whose on_failure was continue
    long long duration_ms = 0;

    int exit_code() const;  // 0, 7 (failed), 2 (confirmation needed), 130 (interrupted)
};

// question, timeout -> yes / no / std::nullopt (no answer in time).
using AskFn = std::function<std::optional<bool>(const std::string& question,
                                                std::chrono::milliseconds timeout)>;

struct ExecOptions {
    bool dry_run = false;
    bool yes = false;          // answer every confirmation with yes
    bool interactive = false;  // stdin is a terminal: confirmations may be asked
    std::string from;          // start at this step id ("" = the first)
    // The command line that ran the runbook, without --from: the resume command appends
    // "--from STEP" to it.
    std::vector<std::string> resume_argv;
    std::map<std::string, std::string> params;  // resolved values, for the transcript
    AskFn ask;
    std::ostream* progress = nullptr;  // step lines; nullptr: silent
    const std::atomic<bool>* interrupted = nullptr;
};

struct ExecSeams {
    ClusterOps* ops;  // may be null in a dry run
    PgdrActions* actions;
    Clock& clock;
    Logger& log;                       // redaction of everything recorded or printed
    Transcript* transcript = nullptr;  // may be null
};

// A step may run at most this many times in one run (a goto loop ends as a failure).
inline constexpr int k_max_step_runs = 20;

// Runs an instantiated runbook (substitute.hpp). Throws a usage error when `from` names no
// step; everything else is in the summary.
RunSummary execute(const Runbook& runbook, const ExecSeams& seams, const ExecOptions& options);

// What a step would do, one line (dry run, progress).
std::string describe_step(const Step& step);

// Keeps the start and the end of a long output.
std::string excerpt(const std::string& text, size_t max_chars = 2000);

}  // namespace pgdr::runbook
