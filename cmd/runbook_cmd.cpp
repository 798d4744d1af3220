// pgdr runbook validate|run: executable, checked and recorded procedures (man/pgdr-runbook.1,
// the format in man/pgdr-runbook.5). Options and wiring; the rules are runbook::execute's.
//
// The pgdr actions of a runbook use pgdr's own code: switchover, failover and reinit call
// pg::run_ha in this process, status and verify pg::collect_status; drill and bootstrap run
// this very binary (/proc/self/exe) with the matching argv, so they behave exactly as
// `pgdr drill` and `pgdr bootstrap` typed by hand (their own signal handling and restore).
#include <poll.h>
#include <unistd.h>

#include <iostream>

#include "cmd/context.hpp"
#include "cmd/wiring.hpp"
#include "core/duration.hpp"
#include "core/interrupt.hpp"
#include "core/local_transport.hpp"
#include "core/state.hpp"
#include "pg/secrets.hpp"
#include "pg/status.hpp"
#include "pg/switchover.hpp"
#include "runbook/executor.hpp"
#include "runbook/parser.hpp"
#include "runbook/pgdr_argv.hpp"
#include "runbook/substitute.hpp"
#include "runbook/transcript.hpp"

namespace pgdr::cmd {

namespace {

struct ValidateOptions {
    std::vector<std::string> files;
};

struct RunOptions_ {
    std::string file;
    std::vector<std::string> params;
    bool dry_run = false;
    std::string from;
    bool yes = false;
    std::string yes_really;
    std::string transcript;
    std::string break_lock;
};

// The answer typed on the terminal within `timeout`; std::nullopt when none came.
std::optional<bool> ask_terminal(const std::string& question, std::chrono::milliseconds timeout) {
    std::cerr << "\n" << question << " [y/N] " << std::flush;
    struct pollfd p {};
    p.fd = STDIN_FILENO;
    p.events = POLLIN;
    const int ms = static_cast<int>(std::min<long long>(timeout.count(), 24LL * 3600 * 1000));
    if (::poll(&p, 1, ms) <= 0) {
        std::cerr << "\n";
        return std::nullopt;
    }
    std::string answer;
    if (!std::getline(std::cin, answer)) {
        return false;
    }
    return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

std::string summarize_status(const pg::ClusterStatus& st) {
    const auto& s = st.snapshot;
    std::string out = "leader " + pg::leader_text(s) + "\n";
    for (const auto& m : s.members) {
        const auto* r = s.replication_of(m.name);
        out += "  " + m.name + " " + m.role_text + " " + m.state + " timeline " +
               (m.timeline ? std::to_string(*m.timeline) : "-") +
               (m.is_leader()
                    ? ""
                    : " replication " + (r == nullptr ? std::string("NOT STREAMING") : r->state)) +
               "\n";
    }
    out += st.healthy() ? "healthy\n" : "problems:\n";
    for (const auto& p : st.problems()) {
        out += "  - " + p + "\n";
    }
    return out;
}

// How long a drill or bootstrap step has to stop cleanly after SIGTERM (a drill's restore,
// reboot-primary's wait for the host included) before it is killed.
constexpr std::chrono::minutes k_child_kill_grace{5};

class CmdActions final : public runbook::PgdrActions {
  public:
    CmdActions(Context& ctx, const Inventory& inv, ClusterWiring& cluster, Clock& clock,
               std::string yes_really)
        : m_ctx(ctx),
          m_inv(inv),
          m_cluster(cluster),
          m_clock(clock),
          m_yes_really(std::move(yes_really)) {}

    runbook::ActionResult invoke(const runbook::PgdrStep& step, std::chrono::milliseconds timeout,
                                 const std::atomic<bool>* interrupted) override {
        const auto& a = step.action;
        if (a == "switchover" || a == "failover" || a == "reinit") {
            return ha(step, timeout, interrupted);
        }
        if ((a == "status" || a == "verify") && m_inv.dr) {
            // A pair: `pgdr status` reads both clusters and the DR link, with the roles as the
            // state records them now (a promotion during the runbook swaps them); it exits 0
            // only when both are healthy and the link streams.
            runbook::PgdrStep status = step;
            status.action = "status";
            auto r = run_child(status, timeout, interrupted);
            if (a == "status") {
                r.ok = true;
                r.error.clear();
            }
            return r;
        }
        if (a == "status" || a == "verify") {
            auto s = pg::collect_status(m_inv, m_cluster.access());
            runbook::ActionResult r;
            r.ok = a == "status" || s.healthy();
            r.output = summarize_status(s);
            if (!r.ok) {
                const auto problems = s.problems();
                r.error = std::to_string(problems.size()) + " problem(s): " + problems.front();
            }
            return r;
        }
        return run_child(step, timeout, interrupted);
    }

  private:
    // The step as a child pgdr (pgdr_step_argv).
    runbook::ActionResult run_child(const runbook::PgdrStep& step,
                                    std::chrono::milliseconds timeout,
                                    const std::atomic<bool>* interrupted) {
        const auto& a = step.action;
        runbook::PgdrArgvOptions ao;
        ao.inventory_path = m_ctx.inventory_path;
        ao.accept_new_host_keys = m_ctx.accept_new_host_keys;
        ao.yes_really = m_yes_really;
        const auto argv = runbook::pgdr_step_argv(step, ao);
        LocalTransport local;
        RunOptions o;
        o.timeout = timeout;
        // The child pgdr runs in its own process group: Ctrl-C, SIGHUP or the step timeout
        // reach it as SIGTERM, so a drill restores its fault; SIGKILL only after the grace.
        o.kill_grace = k_child_kill_grace;
        o.cancel = interrupted;
        auto c = local.run(argv, o);
        runbook::ActionResult r;
        r.ok = c.ok();
        r.timed_out = c.timed_out;
        r.output = c.out + (c.err.empty() ? "" : "--- stderr\n" + c.err);
        if (!r.ok) {
            r.error = "pgdr " + a +
                      (c.timed_out ? " timed out"
                                   : " exited with status " + std::to_string(c.exit_status));
        }
        return r;
    }

    runbook::ActionResult ha(const runbook::PgdrStep& step, std::chrono::milliseconds timeout,
                             const std::atomic<bool>* interrupted) {
        pg::HaRequest req;
        req.action = step.action == "switchover" ? pg::HaAction::switchover
                     : step.action == "failover" ? pg::HaAction::failover
                                                 : pg::HaAction::reinit;
        auto arg = [&step](const std::string& k) {
            auto it = step.args.find(k);
            return it == step.args.end() ? std::string() : it->second;
        };
        req.target = req.action == pg::HaAction::reinit ? arg("member") : arg("to");
        req.scheduled_at = arg("at");
        req.timeout = timeout;
        if (!arg("timeout").empty()) {
            auto t = parse_duration(arg("timeout"));
            if (!t) {
                return {false, false, "", "timeout '" + arg("timeout") + "' is not a duration"};
            }
            req.timeout = *t;
        }
        auto password = read_secret(m_inv.paths.state_dir, pg::k_rest_api_secret);
        if (!password) {
            return {false, false, "", "no REST API secret in the state directory"};
        }
        m_ctx.log->add_secret(*password);
        pg::HaSeams seams{m_inv,
                          m_cluster.access(),
                          m_clock,
                          pg::k_rest_api_user,
                          *password,
                          nullptr,
                          [this](const std::string& m) { m_ctx.log->info(m); },
                          interrupted};
        auto res = pg::run_ha(seams, req);
        return {res.ok(), false, pg::render_ha_text(res), res.failure};
    }

    Context& m_ctx;
    const Inventory& m_inv;
    ClusterWiring& m_cluster;
    Clock& m_clock;
    std::string m_yes_really;  // runbook run --yes-really, passed to drill steps
};

int validate(Context& ctx, const ValidateOptions& o) {
    int bad = 0;
    nlohmann::json all = nlohmann::json::array();
    for (const auto& f : o.files) {
        try {
            auto rb = runbook::load_runbook(f);
            if (ctx.json()) {
                all.push_back({{"file", f}, {"valid", true}, {"name", rb.name}, {"problems", {}}});
            } else {
                std::cout << f << ": ok (runbook " << rb.name << ", " << rb.steps.size()
                          << " steps, " << rb.parameters.size() << " parameters)\n";
            }
        } catch (const runbook::RunbookError& e) {
            ++bad;
            nlohmann::json problems = nlohmann::json::array();
            for (const auto& d : e.diagnostics()) {
                if (ctx.json()) {
                    problems.push_back({{"line", d.line},
                                        {"column", d.column},
                                        {"message", d.message},
                                        {"text", d.format()}});
                } else {
                    std::cout << d.format() << '\n';
                }
            }
            if (ctx.json()) {
                all.push_back({{"file", f}, {"valid", false}, {"problems", problems}});
            } else {
                std::cout << e.diagnostics().size() << " problem"
                          << (e.diagnostics().size() == 1 ? "" : "s") << " found in " << f << "\n";
            }
        }
    }
    if (ctx.json()) {
        std::cout << all.dump(2) << '\n';
    }
    return bad == 0 ? 0 : static_cast<int>(ExitCode::invalid_config);
}

std::string stamp(Clock& clock) {
    std::string s;
    for (char c : format_utc(clock.wall_now()).substr(0, 19)) {
        if (c != '-' && c != ':') {
            s += c;
        }
    }
    return s + "Z";
}

// --param NAME=VALUE, the last one of a name winning.
std::map<std::string, std::string> given_params(const RunOptions_& o) {
    std::map<std::string, std::string> given;
    for (const auto& p : o.params) {
        given.insert_or_assign(runbook::parse_param_assignment(p).first,
                               runbook::parse_param_assignment(p).second);
    }
    return given;
}

void check_from(const RunOptions_& o, const runbook::Runbook& rb,
                const runbook::Runbook& resolved) {
    if (!o.from.empty() && resolved.index_of(o.from) < 0) {
        std::string ids;
        for (const auto& st : resolved.steps) {
            ids += (ids.empty() ? "" : ", ") + st.id;
        }
        throw usage_error("--from " + o.from + ": runbook " + rb.name + " has no such step",
                          "its steps: " + ids);
    }
}

// --transcript, else (not under --dry-run) a new directory in the state directory; "" = none.
std::string transcript_dir(const RunOptions_& o, const Inventory& inv, const runbook::Runbook& rb,
                           Clock& clock) {
    if (!o.transcript.empty() || o.dry_run) {
        return o.transcript;
    }
    return inv.paths.state_dir + "/runbooks/" + rb.name + "-" + stamp(clock);
}

// The command that resumes this run (the executor adds --from STEP).
std::vector<std::string> resume_argv(Context& ctx, const RunOptions_& o,
                                     const std::map<std::string, std::string>& given) {
    std::vector<std::string> resume{"pgdr", "-i", ctx.inventory_path, "runbook", "run", o.file};
    for (const auto& [k, v] : given) {
        resume.push_back("--param");
        resume.push_back(k + "=" + v);
    }
    if (o.yes) {
        resume.push_back("--yes");
    }
    if (!o.yes_really.empty()) {
        resume.push_back("--yes-really");
        resume.push_back(o.yes_really);
    }
    if (!o.transcript.empty()) {
        resume.push_back("--transcript");
        resume.push_back(o.transcript);
    }
    return resume;
}

void print_summary_json(Context& ctx, const RunOptions_& o, const runbook::Runbook& rb,
                        const runbook::RunSummary& sum, const std::string& dir) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : sum.steps) {
        steps.push_back({{"step", s.id},
                         {"kind", s.kind},
                         {"result", runbook::to_string(s.result)},
                         {"duration_ms", s.duration_ms},
                         {"error", s.error}});
    }
    std::cout << ctx.log->redact(nlohmann::json{
                     {"runbook", rb.name},
                     {"result", runbook::to_string(sum.result)},
                     {"dry_run", o.dry_run},
                     {"steps", steps},
                     {"last_completed_step", sum.last_completed},
                     {"stopped_at", sum.stopped_at},
                     {"resume_command", sum.resume_command},
                     {"duration_ms", sum.duration_ms},
                     {"transcript",
                      dir}}.dump(2))
              << '\n';
}

void print_summary_text(const runbook::Runbook& rb, const runbook::RunSummary& sum,
                        const std::string& dir) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f s", static_cast<double>(sum.duration_ms) / 1000.0);
    std::cout << "\nrunbook " << rb.name << ": " << runbook::to_string(sum.result) << " in "
              << secs;
    if (!sum.stopped_at.empty()) {
        std::cout << " (stopped at " << sum.stopped_at << ")";
    }
    if (sum.continued_failures > 0) {
        std::cout << ", " << sum.continued_failures << " failed step(s) continued past";
    }
    std::cout << "\n";
    if (!dir.empty()) {
        std::cout << "transcript: " << dir << "/transcript.jsonl, " << dir << "/summary.md\n";
    }
    if (!sum.resume_command.empty()) {
        std::cout << "resume with: " << sum.resume_command << "\n";
    }
}

int run_runbook(Context& ctx, const RunOptions_& o) {
    const auto rb = runbook::load_runbook(o.file);
    const auto given = given_params(o);
    const Inventory inv = o.dry_run ? ctx.inventory() : resolved_inventory(ctx);
    const auto values =
        runbook::resolve_parameters(rb, given,
                                    {{runbook::k_builtin_cluster, inv.cluster},
                                     {runbook::k_builtin_inventory, ctx.inventory_path}});
    const auto resolved = runbook::instantiate(rb, values);
    runbook::check_production_gate(resolved, inv, o.yes_really,
                                   "pgdr -i " + ctx.inventory_path + " runbook run " + o.file);
    check_from(o, rb, resolved);

    SystemClock clock;
    const std::string dir = transcript_dir(o, inv, rb, clock);
    std::unique_ptr<runbook::Transcript> transcript;
    if (!dir.empty()) {
        transcript = std::make_unique<runbook::Transcript>(dir, *ctx.log);
    }

    HostTransports conn;
    ClusterWiring cluster(ctx, inv);
    std::unique_ptr<runbook::ClusterOps> ops;
    std::unique_ptr<ClusterLock> cluster_lock;
    if (!o.dry_run) {
        // Every cluster password is redacted from the output and the transcript.
        pg::register_stored_secrets(inv.paths.state_dir, *ctx.log);
        // Held for the whole runbook; its drill and bootstrap steps (child pgdr processes) join
        // it through PGDR_LOCK_LEASE.
        cluster_lock = take_cluster_lock(ctx, inv, o.break_lock);
        refuse_left_fault(ctx, inv, cluster_lock->hosts.by_name);
        conn = connect_hosts(ctx, inv);
        ops = std::make_unique<runbook::ClusterOps>(inv, conn.by_name, cluster.access(), values);
    }
    CmdActions actions(ctx, inv, cluster, clock, o.yes_really);
    InterruptGuard guard;

    runbook::ExecOptions eo;
    eo.dry_run = o.dry_run;
    eo.yes = o.yes;
    eo.interactive = ::isatty(STDIN_FILENO) != 0;
    eo.from = o.from;
    eo.resume_argv = resume_argv(ctx, o, given);
    eo.params = values;
    eo.ask = ask_terminal;
    eo.progress = ctx.json() ? &std::cerr : &std::cout;
    eo.interrupted = &InterruptGuard::flag();
    runbook::ExecSeams seams{ops.get(), &actions, clock, *ctx.log, transcript.get()};
    if (!ctx.json()) {
        std::cout << "runbook " << rb.name << (o.dry_run ? " (dry run)" : "") << " on cluster "
                  << inv.cluster << ": " << rb.steps.size() << " steps\n";
    }
    const auto sum = runbook::execute(resolved, seams, eo);
    if (ctx.json()) {
        print_summary_json(ctx, o, rb, sum, dir);
    } else {
        print_summary_text(rb, sum, dir);
    }
    return sum.exit_code();
}

}  // namespace

void register_runbook_commands(CLI::App& app, Context& ctx) {
    auto* rb = app.add_subcommand("runbook",
                                  "Validate or run a runbook (a checked, recorded "
                                  "procedure: see pgdr-runbook(5))");
    rb->require_subcommand(1);

    auto vo = std::make_shared<ValidateOptions>();
    auto* v = rb->add_subcommand("validate", "Check runbook files; list every problem");
    v->add_option("file", vo->files, "Runbook file(s)")->required();
    v->callback([&ctx, vo] { ctx.action = [&ctx, vo] { return validate(ctx, *vo); }; });

    auto ro = std::make_shared<RunOptions_>();
    auto* r = rb->add_subcommand("run", "Run a runbook against the inventory's cluster");
    r->add_option("file", ro->file, "Runbook file")->required();
    r->add_option("--param", ro->params, "Set a parameter: NAME=VALUE (repeatable)")
        ->allow_extra_args(false);
    r->add_flag("--dry-run", ro->dry_run, "Print each step, resolved; run nothing");
    r->add_option("--from", ro->from, "Start at step STEP (resume after a failure)");
    r->add_flag("--yes", ro->yes, "Answer yes to every confirmation (needed without a terminal)");
    r->add_option("--yes-really", ro->yes_really,
                  "Required for a drill step on a production cluster: its name");
    r->add_option("--transcript", ro->transcript,
                  "Write the transcript to DIR (default: STATE_DIR/runbooks/NAME-TIME)");
    add_break_lock_option(r, ro->break_lock);
    r->callback([&ctx, ro] { ctx.action = [&ctx, ro] { return run_runbook(ctx, *ro); }; });
}

}  // namespace pgdr::cmd
