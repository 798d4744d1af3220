#include "runbook/executor.hpp"

#include <map>
#include <optional>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/poll.hpp"
#include "core/quote.hpp"
#include "runbook/parser.hpp"
#include "runbook/transcript.hpp"

namespace pgdr::runbook {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string words(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& w : argv) {
        out += (out.empty() ? "" : " ") + shell_quote(w);
    }
    return out;
}

std::string selector_text(const HostSelector& s) {
    if (s.role) {
        return *s.role == Role::leader ? "the leader" : "the replicas";
    }
    if (!s.service.empty()) {
        return "the " + s.service + " hosts";
    }
    std::string out;
    for (const auto& h : s.hosts) {
        out += (out.empty() ? "" : ",") + h;
    }
    return out;
}

std::string seconds_text(long long ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
    return buf;
}

bool interrupted(const ExecOptions& o) {
    return o.interrupted != nullptr && o.interrupted->load();
}

struct StepOutcome {
    StepResult result = StepResult::failed;
    std::string output;
    std::string error;
};

class Runner {
  public:
    Runner(const Runbook& rb, const ExecSeams& s, const ExecOptions& o)
        : m_rb(rb), m_s(s), m_o(o) {}

    RunSummary run() {
        RunSummary sum;
        size_t index = start_index();
        const auto t0 = m_s.clock.steady_now();
        emit_run_start();
        // --from skips the steps before it, but not their last confirmation: the operator
        // answers it again before the run resumes (a resume command must not bypass it).
        std::optional<size_t> reask = last_confirm_before(index);
        while (index < m_rb.steps.size()) {
            const Step& step = m_rb.steps[reask ? *reask : index];
            if (interrupted(m_o)) {
                sum.result = RunResult::interrupted;
                sum.stopped_at = step.id;
                break;
            }
            const StepOutcome out = run_step(step, index, sum);
            if (reask) {
                reask.reset();
                if (succeeded(out)) {
                    continue;  // confirmed again: now the step --from named
                }
                sum.result = out.result == StepResult::interrupted ? RunResult::interrupted
                             : out.result == StepResult::needs_confirmation
                                 ? RunResult::needs_confirmation
                                 : RunResult::failed;
                sum.stopped_at = m_rb.steps[index].id;
                break;
            }
            if (!advance(step, out, index, sum)) {
                break;
            }
        }
        finish(sum, index, t0);
        return sum;
    }

  private:
    static bool succeeded(const StepOutcome& out) {
        return out.result == StepResult::ok || out.result == StepResult::dry_run;
    }

    // The step --from names (0 without it).
    size_t start_index() const {
        if (m_o.from.empty()) {
            return 0;
        }
        int i = m_rb.index_of(m_o.from);
        if (i < 0) {
            std::string ids;
            for (const auto& st : m_rb.steps) {
                ids += (ids.empty() ? "" : ", ") + st.id;
            }
            throw usage_error("--from " + m_o.from + ": runbook " + m_rb.name + " has no such step",
                              "its steps: " + ids);
        }
        return static_cast<size_t>(i);
    }

    void emit_run_start() {
        emit({{"event", "run_start"},
              {"time", now()},
              {"runbook", m_rb.name},
              {"file", m_rb.file},
              {"params", m_o.params},
              {"from", m_o.from},
              {"dry_run", m_o.dry_run},
              {"steps", m_rb.steps.size()}});
    }

    // Runs one step (unless it ran too often: a goto loop), reports it (progress, transcript)
    // and records it in the summary.
    StepOutcome run_step(const Step& step, size_t index, RunSummary& sum) {
        StepRecord rec;
        rec.id = step.id;
        rec.kind = kind_name(step.body);
        rec.description = step.description;
        progress("[" + std::to_string(index + 1) + "/" + std::to_string(m_rb.steps.size()) + "] " +
                 step.id + " (" + rec.kind + ")" +
                 (step.description.empty() ? "" : ": " + step.description));
        emit({{"event", "step_start"},
              {"time", now()},
              {"step", step.id},
              {"index", index + 1},
              {"kind", rec.kind},
              {"description", step.description}});
        rec.started = now();
        const auto s0 = m_s.clock.steady_now();
        StepOutcome out;
        if (++m_runs[step.id] > k_max_step_runs) {
            out.error = "step ran " + std::to_string(k_max_step_runs) +
                        " times in this run: a goto loop? stopping";
        } else {
            out = execute_step(step);
        }
        rec.ended = now();
        rec.duration_ms = duration_cast<milliseconds>(m_s.clock.steady_now() - s0).count();
        rec.result = out.result;
        rec.output = m_s.log.redact(excerpt(out.output));
        rec.error = m_s.log.redact(out.error);
        emit_step_end(rec);
        sum.steps.push_back(rec);
        return out;
    }

    void emit_step_end(const StepRecord& rec) {
        emit({{"event", "step_end"},
              {"time", rec.ended},
              {"step", rec.id},
              {"kind", rec.kind},
              {"result", to_string(rec.result)},
              {"duration_ms", rec.duration_ms},
              {"output", rec.output},
              {"error", rec.error}});
        if (rec.result == StepResult::dry_run) {
            progress("      " + rec.output);
        } else {
            progress("      " + to_string(rec.result) + " in " + seconds_text(rec.duration_ms) +
                     (rec.error.empty() ? "" : ": " + rec.error));
        }
    }

    // Moves `index` to the step after `step` (the next one, or on_failure's goto target); false
    // when the run stops there (sum says why).
    bool advance(const Step& step, const StepOutcome& out, size_t& index, RunSummary& sum) {
        if (succeeded(out)) {
            sum.last_completed = step.id;
            ++index;
            return true;
        }
        if (out.result == StepResult::needs_confirmation) {
            sum.result = RunResult::needs_confirmation;
            sum.stopped_at = step.id;
            return false;
        }
        if (out.result == StepResult::interrupted || interrupted(m_o)) {
            sum.result = RunResult::interrupted;
            sum.stopped_at = step.id;
            return false;
        }
        const bool looped = m_runs[step.id] > k_max_step_runs;
        if (step.on_failure.policy == FailurePolicy::continue_run && !looped) {
            ++sum.continued_failures;
            ++index;
            return true;
        }
        if (step.on_failure.policy == FailurePolicy::go_to && !looped) {
            progress("      on_failure: goto " + step.on_failure.target);
            index = static_cast<size_t>(m_rb.index_of(step.on_failure.target));
            return true;
        }
        sum.result = RunResult::failed;
        sum.stopped_at = step.id;
        return false;
    }

    // Where the run stopped, the command that resumes it, its duration; the run_end event and
    // the transcript's summary.
    void finish(RunSummary& sum, size_t index, std::chrono::steady_clock::time_point t0) {
        if (sum.result == RunResult::interrupted && sum.stopped_at.empty() &&
            index < m_rb.steps.size()) {
            sum.stopped_at = m_rb.steps[index].id;
        }
        if (!sum.stopped_at.empty() && !m_o.resume_argv.empty()) {
            auto argv = m_o.resume_argv;
            argv.push_back("--from");
            argv.push_back(sum.stopped_at);
            sum.resume_command = shell_join(argv);
        }
        sum.duration_ms = duration_cast<milliseconds>(m_s.clock.steady_now() - t0).count();
        emit({{"event", "run_end"},
              {"time", now()},
              {"result", to_string(sum.result)},
              {"last_completed_step", sum.last_completed},
              {"stopped_at", sum.stopped_at},
              {"resume_command", sum.resume_command},
              {"continued_failures", sum.continued_failures},
              {"duration_ms", sum.duration_ms}});
        if (m_s.transcript != nullptr) {
            m_s.transcript->write_summary(m_rb, m_o.params, sum);
        }
    }

    std::string now() { return format_utc(m_s.clock.wall_now()); }

    void emit(const nlohmann::json& e) {
        if (m_s.transcript != nullptr) {
            m_s.transcript->event(e);
        }
    }

    void progress(const std::string& line) {
        if (m_o.progress != nullptr) {
            *m_o.progress << m_s.log.redact(line) << std::endl;
        }
    }

    StepOutcome from(const Outcome& o) {
        StepOutcome out;
        out.result =
            o.ok ? StepResult::ok : (o.timed_out ? StepResult::timed_out : StepResult::failed);
        out.output = o.output;
        out.error = o.error;
        return out;
    }

    // The last confirm step before `index` (a --from start), if any.
    std::optional<size_t> last_confirm_before(size_t index) const {
        for (size_t i = index; i > 0; --i) {
            if (std::holds_alternative<ConfirmStep>(m_rb.steps[i - 1].body)) {
                return i - 1;
            }
        }
        return std::nullopt;
    }

    StepOutcome execute_step(const Step& step) {
        if (m_o.dry_run) {
            return {StepResult::dry_run, "would " + describe_step(step), ""};
        }
        if (std::holds_alternative<ConfirmStep>(step.body)) {
            return confirm(std::get<ConfirmStep>(step.body), step.timeout);
        }
        if (const auto* p = std::get_if<PgdrStep>(&step.body)) {
            ActionResult r;
            try {
                r = m_s.actions->invoke(*p, step.timeout, m_o.interrupted);
            } catch (const std::exception& e) {
                return {StepResult::failed, "", e.what()};
            }
            StepOutcome out;
            out.result = r.ok ? StepResult::ok
                              : (r.timed_out ? StepResult::timed_out
                                             : (interrupted(m_o) ? StepResult::interrupted
                                                                 : StepResult::failed));
            out.output = r.output;
            out.error = r.error;
            return out;
        }
        if (m_s.ops == nullptr) {
            return {StepResult::failed, "", "no cluster connection"};
        }
        if (const auto* r = std::get_if<RunStep>(&step.body)) {
            return from(m_s.ops->run(*r, step.timeout));
        }
        if (const auto* q = std::get_if<SqlStep>(&step.body)) {
            return from(m_s.ops->sql(*q, step.timeout));
        }
        if (const auto* w = std::get_if<WaitStep>(&step.body)) {
            return wait(*w, step.timeout);
        }
        const auto& a = std::get<AssertStep>(step.body);
        auto o = m_s.ops->evaluate(a.condition, step.timeout);
        auto out = from(o);
        if (!o.ok && !a.message.empty()) {
            out.error = a.message + " (" + o.error + ")";
        }
        return out;
    }

    StepOutcome confirm(const ConfirmStep& c, std::chrono::milliseconds timeout) {
        if (m_o.yes) {
            return {StepResult::ok, "confirmed by --yes: " + c.text, ""};
        }
        if (!m_o.interactive || !m_o.ask) {
            return {StepResult::needs_confirmation, "",
                    "confirmation needed (\"" + c.text +
                        "\") but stdin is not a terminal: run it on a terminal, or pass --yes"};
        }
        auto answer = m_o.ask(c.text, timeout);
        if (interrupted(m_o)) {
            return {StepResult::interrupted, "", "interrupted at the confirmation"};
        }
        if (!answer) {
            return {StepResult::timed_out, "", "no answer within " + format_duration_spec(timeout)};
        }
        if (!*answer) {
            return {StepResult::refused, "", "the operator answered no"};
        }
        return {StepResult::ok, "confirmed by the operator: " + c.text, ""};
    }

    StepOutcome wait(const WaitStep& w, std::chrono::milliseconds timeout) {
        const auto deadline = m_s.clock.steady_now() + timeout;
        Outcome last;
        int checks = 0;
        const auto outcome = poll_until(m_s.clock, timeout, w.interval, m_o.interrupted, [&] {
            const auto left = duration_cast<milliseconds>(deadline - m_s.clock.steady_now());
            last = m_s.ops->evaluate(w.condition, std::max(left, std::chrono::milliseconds(1000)));
            ++checks;
            return last.ok;
        });
        switch (outcome) {
            case PollOutcome::holds:
                return {StepResult::ok,
                        describe(w.condition) + " after " + std::to_string(checks) +
                            " check(s): " + last.output,
                        ""};
            case PollOutcome::interrupted:
                return {StepResult::interrupted, last.output, "interrupted while waiting"};
            case PollOutcome::timed_out:
                break;
        }
        return {StepResult::timed_out, last.output,
                describe(w.condition) + " not within " + format_duration_spec(timeout) +
                    (last.error.empty() ? "" : ": " + last.error)};
    }

    const Runbook& m_rb;
    const ExecSeams& m_s;
    const ExecOptions& m_o;
    std::map<std::string, int> m_runs;  // how often each step ran (goto loops)
};

}  // namespace

std::string to_string(StepResult r) {
    switch (r) {
        case StepResult::ok:
            return "ok";
        case StepResult::failed:
            return "failed";
        case StepResult::timed_out:
            return "timed_out";
        case StepResult::refused:
            return "refused";
        case StepResult::needs_confirmation:
            return "needs_confirmation";
        case StepResult::interrupted:
            return "interrupted";
        case StepResult::dry_run:
            return "dry_run";
    }
    return "?";
}

std::string to_string(RunResult r) {
    switch (r) {
        case RunResult::ok:
            return "ok";
        case RunResult::failed:
            return "failed";
        case RunResult::needs_confirmation:
            return "needs_confirmation";
        case RunResult::interrupted:
            return "interrupted";
    }
    return "?";
}

int RunSummary::exit_code() const {
    switch (result) {
        case RunResult::ok:
            // Every step ran, but a failure let through by `on_failure: continue` (a drill that
            // missed its objectives on drill day) must not read as success to a script.
            return continued_failures > 0 ? static_cast<int>(ExitCode::verification_failed) : 0;
        case RunResult::failed:
            return static_cast<int>(ExitCode::verification_failed);
        case RunResult::needs_confirmation:
            return static_cast<int>(ExitCode::usage);
        case RunResult::interrupted:
            return static_cast<int>(ExitCode::interrupted);
    }
    return 1;
}

std::string describe_step(const Step& step) {
    return std::visit(
        [&step](const auto& b) -> std::string {
            using T = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<T, PgdrStep>) {
                std::string out = "pgdr " + b.action;
                for (const auto& [k, v] : b.args) {
                    out += " " + k + "=" + shell_quote(v);
                }
                return out + " (timeout " + format_duration_spec(step.timeout) + ")";
            } else if constexpr (std::is_same_v<T, RunStep>) {
                return "run on " + selector_text(b.target) + (b.sudo ? " (sudo)" : "") + ": " +
                       words(b.command);
            } else if constexpr (std::is_same_v<T, SqlStep>) {
                return "run SQL on " +
                       std::string(b.role == Role::leader ? "the leader" : "the replicas") + " (" +
                       b.database + "): " + b.query +
                       (b.expect ? " [expect '" + *b.expect + "']" : "");
            } else if constexpr (std::is_same_v<T, WaitStep>) {
                return "wait up to " + format_duration_spec(step.timeout) + " until " +
                       describe(b.condition);
            } else if constexpr (std::is_same_v<T, ConfirmStep>) {
                return "ask: " + b.text;
            } else {
                return "assert " + describe(b.condition);
            }
        },
        step.body);
}

std::string excerpt(const std::string& text, size_t max_chars) {
    if (text.size() <= max_chars) {
        return text;
    }
    const size_t half = max_chars / 2;
    return text.substr(0, half) + "\n[... " + std::to_string(text.size() - 2 * half) +
           " characters left out ...]\n" + text.substr(text.size() - half);
}

RunSummary execute(const Runbook& runbook, const ExecSeams& seams, const ExecOptions& options) {
    return Runner(runbook, seams, options).run();
}

}  // namespace pgdr::runbook
