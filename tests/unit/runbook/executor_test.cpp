// The runbook executor on recording transports, a scripted Patroni cluster and fake pgdr
// actions: ordering, timeouts, on_failure abort/continue/goto, --from, confirmations,
// Ctrl-C, dry runs and the transcript.
#include "runbook/executor.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/duration.hpp"
#include "core/files.hpp"
#include "fakes/manual_clock.hpp"
#include "runbook/parser.hpp"
#include "runbook/substitute.hpp"
#include "runbook/transcript.hpp"
#include "unit/core/temp_dir.hpp"
#include "unit/runbook/fake_ha_cluster.hpp"

using pgdr::runbook::RunResult;
using pgdr::runbook::StepResult;

namespace {

struct FakeActions final : pgdr::runbook::PgdrActions {
    struct Call {
        std::string action;
        std::map<std::string, std::string> args;
        std::chrono::milliseconds timeout;
    };
    std::vector<Call> calls;
    std::map<std::string, pgdr::runbook::ActionResult> results;  // by action; default ok
    std::function<void()> during;

    pgdr::runbook::ActionResult invoke(const pgdr::runbook::PgdrStep& step,
                                       std::chrono::milliseconds timeout,
                                       const std::atomic<bool>*) override {
        calls.push_back({step.action, step.args, timeout});
        if (during) {
            during();
        }
        auto it = results.find(step.action);
        if (it != results.end()) {
            return it->second;
        }
        return {true, false, step.action + " done", ""};
    }
};

struct Harness {
    pgdr::test::FakeHaCluster cluster;
    pgdr::fakes::ManualClock clock;
    std::ostringstream log_sink;
    pgdr::Logger log{log_sink};
    FakeActions actions;
    pgdr::runbook::ClusterOps ops{
        cluster.inv, cluster.lookup, cluster.access(), {{"replica", "pg3"}}};
    std::ostringstream progress;
    std::atomic<bool> interrupted{false};
    pgdr::runbook::ExecOptions options;
    std::vector<std::string> commands;  // `step N` markers in the order they ran

    Harness() {
        options.progress = &progress;
        options.interrupted = &interrupted;
        options.resume_argv = {"pgdr", "-i", "lab.yaml", "runbook", "run", "rb.yaml"};
        for (auto& [name, t] : cluster.hosts) {
            t->on({"echo"},
                  [this, n = name](const std::vector<std::string>& argv, const pgdr::RunOptions&) {
                      commands.push_back(n + ":" + argv.at(1));
                      pgdr::CommandResult r;
                      r.exit_status = 0;
                      r.out = argv.at(1) + "\n";
                      return r;
                  });
            t->on({"false"}, 1, "", "it failed\n");
        }
    }

    pgdr::runbook::RunSummary run(const std::string& yaml,
                                  pgdr::runbook::Transcript* transcript = nullptr) {
        auto rb = pgdr::runbook::parse_runbook(yaml, "rb.yaml");
        auto inst = pgdr::runbook::instantiate(
            rb, pgdr::runbook::resolve_parameters(rb, {}, {{"cluster", "lab"}}));
        pgdr::runbook::ExecSeams seams{&ops, &actions, clock, log, transcript};
        return pgdr::runbook::execute(inst, seams, options);
    }
};

std::vector<std::string> results(const pgdr::runbook::RunSummary& s) {
    std::vector<std::string> out;
    for (const auto& r : s.steps) {
        out.push_back(r.id + "=" + pgdr::runbook::to_string(r.result));
    }
    return out;
}

using Lines = std::vector<std::string>;

const std::string k_three = R"(name: three
steps:
  - id: a
    run: {hosts: [pg1], command: [echo, one]}
  - id: b
    run: {hosts: [pg2, pg3], command: [echo, two]}
  - id: c
    run: {hosts: [pg1], command: [echo, three]}
)";

}  // namespace

TEST_CASE("executor: steps run in order on the selected hosts", "[runbook]") {
    Harness h;
    auto s = h.run(k_three);
    CHECK(s.result == RunResult::ok);
    CHECK(s.exit_code() == 0);
    CHECK(h.commands == Lines{"pg1:one", "pg2:two", "pg3:two", "pg1:three"});
    CHECK(results(s) == Lines{"a=ok", "b=ok", "c=ok"});
    CHECK(s.last_completed == "c");
    CHECK(s.resume_command.empty());
    CHECK(s.steps[1].output == "--- pg2\ntwo\n--- pg3\ntwo\n");
    CHECK(h.progress.str().find("[2/3] b (run)") != std::string::npos);
}

TEST_CASE("executor: a failing step aborts the run and names the resume command", "[runbook]") {
    Harness h;
    auto s = h.run(R"(name: abort
steps:
  - id: a
    run: {hosts: [pg1], command: [echo, one]}
  - id: broken
    run: {hosts: [pg2], command: ["false"]}
  - id: c
    run: {hosts: [pg1], command: [echo, never]}
)");
    CHECK(s.result == RunResult::failed);
    CHECK(s.exit_code() == 7);
    CHECK(h.commands == Lines{"pg1:one"});
    CHECK(results(s) == Lines{"a=ok", "broken=failed"});
    CHECK(s.steps[1].error == "failed on pg2 (exit 1)");
    CHECK(s.steps[1].output == "it failed\n");
    CHECK(s.last_completed == "a");
    CHECK(s.stopped_at == "broken");
    CHECK(s.resume_command == "pgdr -i lab.yaml runbook run rb.yaml --from broken");
}

TEST_CASE("executor: on_failure continue and goto", "[runbook]") {
    Harness h;
    auto s = h.run(R"(name: policies
steps:
  - id: tolerated
    on_failure: continue
    run: {hosts: [pg1], command: ["false"]}
  - id: probe
    on_failure: goto repair
    run: {hosts: [pg1], command: ["false"]}
  - id: skipped
    run: {hosts: [pg1], command: [echo, skipped]}
  - id: repair
    run: {hosts: [pg1], command: [echo, repair]}
  - id: after
    run: {hosts: [pg1], command: [echo, after]}
)");
    CHECK(s.result == RunResult::ok);
    CHECK(s.continued_failures == 1);
    CHECK(s.exit_code() == 7);  // the run went on, but a step failed
    CHECK(results(s) == Lines{"tolerated=failed", "probe=failed", "repair=ok", "after=ok"});
    CHECK(h.commands == Lines{"pg1:repair", "pg1:after"});
    CHECK(h.progress.str().find("on_failure: goto repair") != std::string::npos);
}

TEST_CASE("executor: a goto loop ends after k_max_step_runs runs", "[runbook]") {
    Harness h;
    auto s = h.run(R"(name: loop
steps:
  - id: retry
    on_failure: goto retry
    run: {hosts: [pg1], command: ["false"]}
)");
    CHECK(s.result == RunResult::failed);
    REQUIRE(s.steps.size() == pgdr::runbook::k_max_step_runs + 1);
    CHECK(s.steps.back().error == "step ran 20 times in this run: a goto loop? stopping");
}

TEST_CASE("executor: step timeouts reach the transport and the pgdr action", "[runbook]") {
    Harness h;
    h.cluster.hosts["pg1"]->on({"sleep"},
                               [](const std::vector<std::string>&, const pgdr::RunOptions& o) {
                                   pgdr::CommandResult r;
                                   r.timed_out = o.timeout == std::chrono::seconds(3);
                                   r.exit_status = r.timed_out ? -1 : 0;
                                   return r;
                               });
    auto s = h.run(R"(name: timeouts
steps:
  - id: act
    timeout: 7m
    pgdr: {action: verify}
  - id: slow
    timeout: 3s
    run: {hosts: [pg1], command: [sleep, "60"]}
)");
    REQUIRE(h.actions.calls.size() == 1);
    CHECK(h.actions.calls[0].timeout == std::chrono::minutes(7));
    CHECK(results(s) == Lines{"act=ok", "slow=timed_out"});
    CHECK(s.steps[1].error == "failed on pg1 (timed out)");
    CHECK(s.exit_code() == 7);
}

TEST_CASE("executor: wait_until polls at its interval up to its timeout", "[runbook]") {
    Harness h;
    auto s = h.run(R"(name: wait
steps:
  - id: wait-leader
    wait_until: {condition: leader_is pg2, timeout: 10s, interval: 2s}
)");
    CHECK(results(s) == Lines{"wait-leader=timed_out"});
    CHECK(s.steps[0].error ==
          "leader_is pg2 not within 10s: leader_is pg2 does not hold "
          "(leader pg1)");
    CHECK(h.clock.sleeps() == std::vector<std::chrono::milliseconds>(5, std::chrono::seconds(2)));

    // The condition turning true ends the wait.
    Harness h2;
    int polls = 0;
    h2.cluster.hosts["pg1"]->on({"test-ready"},
                                [&polls](const std::vector<std::string>&, const pgdr::RunOptions&) {
                                    pgdr::CommandResult r;
                                    r.exit_status = ++polls < 3 ? 1 : 0;
                                    return r;
                                });
    auto s2 = h2.run(R"(name: wait
steps:
  - id: ready
    wait_until:
      condition: {command: [test-ready], hosts: [pg1]}
      timeout: 1m
      interval: 5s
)");
    CHECK(results(s2) == Lines{"ready=ok"});
    CHECK(polls == 3);
    CHECK(h2.clock.sleeps().size() == 2);
}

TEST_CASE(
    "executor: conditions read Patroni and pg_stat_replication (a 'running' replica "
    "may not stream)",
    "[runbook]") {
    Harness h;
    h.cluster.replication["pg3"].state = "catchup";
    auto s = h.run(R"(name: conditions
steps:
  - id: leader
    on_failure: continue
    assert: {condition: leader_is pg1}
  - id: pg2-streams
    on_failure: continue
    assert: {condition: streaming pg2}
  - id: all
    on_failure: continue
    assert: {condition: all_streaming, message: replicas must stream}
  - id: none
    on_failure: continue
    assert: {condition: no_leader}
)");
    CHECK(results(s) == Lines{"leader=ok", "pg2-streams=ok", "all=failed", "none=failed"});
    CHECK(s.steps[2].error ==
          "replicas must stream (all_streaming does not hold (leader pg1; "
          "not streaming: pg3))");
}

TEST_CASE("executor: sql runs as postgres on the resolved role, query on stdin", "[runbook]") {
    Harness h;
    std::vector<pgdr::testing::RecordedCall> psql;
    for (auto& [name, t] : h.cluster.hosts) {
        t->on({"runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v", "ON_ERROR_STOP=1"},
              [&psql, n = name](const std::vector<std::string>& argv, const pgdr::RunOptions& o) {
                  psql.push_back({n, argv, o.sudo, o.stdin_data});
                  pgdr::CommandResult r;
                  r.exit_status = 0;
                  r.out = "t\n";
                  return r;
              });
    }
    auto s = h.run(R"Y(name: sql
steps:
  - id: writable
    sql: {role: leader, database: app, query: "select :'replica' <> ''", expect: "t"}
  - id: replicas
    sql: {role: replica, query: "select pg_is_in_recovery()", expect: "f"}
)Y");
    CHECK(results(s) == Lines{"writable=ok", "replicas=failed"});
    REQUIRE(psql.size() == 3);
    CHECK(psql[0].host == "pg1");
    CHECK(psql[0].argv == Lines{"runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v",
                                "ON_ERROR_STOP=1", "-v", "replica=pg3", "-d", "app"});
    CHECK(psql[0].stdin_data == "select :'replica' <> ''");
    CHECK(psql[0].sudo);
    CHECK(psql[1].host == "pg2");
    CHECK(psql[2].host == "pg3");
    CHECK(s.steps[1].error ==
          "SQL failed on pg2 (returned 't', expected 'f'), pg3 (returned "
          "'t', expected 'f')");
}

TEST_CASE("executor: --from starts at the named step", "[runbook]") {
    Harness h;
    h.options.from = "b";
    auto s = h.run(k_three);
    CHECK(results(s) == Lines{"b=ok", "c=ok"});
    CHECK(h.commands == Lines{"pg2:two", "pg3:two", "pg1:three"});

    Harness bad;
    bad.options.from = "nope";
    CHECK_THROWS_WITH(bad.run(k_three), "--from nope: runbook three has no such step");
}

const std::string k_confirming = R"(name: confirming
steps:
  - id: before
    run: {hosts: [pg1], command: [echo, before]}
  - id: ask
    confirm: "Switch ${cluster} over?"
  - id: after
    pgdr: {action: switchover, args: {to: pg2}}
)";

TEST_CASE("executor: without a terminal, the first confirmation stops the run (exit 2)",
          "[runbook]") {
    Harness h;
    h.options.interactive = false;
    int asked = 0;
    h.options.ask = [&asked](const std::string&, std::chrono::milliseconds) {
        ++asked;
        return std::optional<bool>(true);
    };
    auto s = h.run(k_confirming);
    CHECK(s.result == RunResult::needs_confirmation);
    CHECK(s.exit_code() == 2);
    CHECK(asked == 0);
    CHECK(results(s) == Lines{"before=ok", "ask=needs_confirmation"});
    CHECK(s.steps[1].error ==
          "confirmation needed (\"Switch lab over?\") but stdin is not a "
          "terminal: run it on a terminal, or pass --yes");
    CHECK(h.actions.calls.empty());
    CHECK(s.resume_command == "pgdr -i lab.yaml runbook run rb.yaml --from ask");
}

TEST_CASE("executor: --yes confirms; a terminal asks; no refuses", "[runbook]") {
    Harness yes;
    yes.options.yes = true;
    auto s = yes.run(k_confirming);
    CHECK(results(s) == Lines{"before=ok", "ask=ok", "after=ok"});
    REQUIRE(yes.actions.calls.size() == 1);
    CHECK(yes.actions.calls[0].args.at("to") == "pg2");

    Harness tty;
    tty.options.interactive = true;
    std::vector<std::string> questions;
    tty.options.ask = [&questions](const std::string& q, std::chrono::milliseconds t) {
        questions.push_back(q + " within " + pgdr::format_duration_spec(t));
        return std::optional<bool>(false);
    };
    auto refused = tty.run(k_confirming);
    CHECK(questions == Lines{"Switch lab over? within 1h"});
    CHECK(results(refused) == Lines{"before=ok", "ask=refused"});
    CHECK(refused.exit_code() == 7);
    CHECK(tty.actions.calls.empty());
}

TEST_CASE("executor: --from asks the skipped confirmation again", "[runbook][from]") {
    // Issue 13 item 8: a resume command must not bypass the confirmation before it.
    Harness tty;
    tty.options.interactive = true;
    tty.options.from = "after";
    std::vector<std::string> questions;
    tty.options.ask = [&questions](const std::string& q, std::chrono::milliseconds) {
        questions.push_back(q);
        return std::optional<bool>(false);
    };
    auto refused = tty.run(k_confirming);
    CHECK(questions == Lines{"Switch lab over?"});
    CHECK(results(refused) == Lines{"ask=refused"});
    CHECK(refused.result == RunResult::failed);
    CHECK(refused.stopped_at == "after");
    CHECK(tty.actions.calls.empty());

    Harness yes_tty;
    yes_tty.options.interactive = true;
    yes_tty.options.from = "after";
    yes_tty.options.ask = [](const std::string&, std::chrono::milliseconds) {
        return std::optional<bool>(true);
    };
    auto s = yes_tty.run(k_confirming);
    CHECK(results(s) == Lines{"ask=ok", "after=ok"});
    CHECK(yes_tty.actions.calls.size() == 1);
    CHECK(yes_tty.commands.empty());  // `before` stays skipped

    Harness no_tty;
    no_tty.options.interactive = false;
    no_tty.options.from = "after";
    auto stopped = no_tty.run(k_confirming);
    CHECK(stopped.result == RunResult::needs_confirmation);
    CHECK(stopped.resume_command == "pgdr -i lab.yaml runbook run rb.yaml --from after");
    CHECK(no_tty.actions.calls.empty());
}

TEST_CASE("executor: Ctrl-C stops after the current step, resumable at the next", "[runbook]") {
    Harness h;
    h.actions.during = [&h] { h.interrupted = true; };
    auto s = h.run(R"(name: interrupted
steps:
  - id: status
    pgdr: {action: status}
  - id: next
    run: {hosts: [pg1], command: [echo, never]}
)");
    CHECK(s.result == RunResult::interrupted);
    CHECK(s.exit_code() == 130);
    CHECK(results(s) == Lines{"status=ok"});
    CHECK(h.commands.empty());
    CHECK(s.stopped_at == "next");
    CHECK(s.resume_command == "pgdr -i lab.yaml runbook run rb.yaml --from next");

    // During a wait: the wait ends at its next check.
    Harness w;
    w.interrupted = true;
    auto s2 = w.run(R"(name: waiting
steps:
  - id: wait
    wait_until: {condition: leader_is pg2, timeout: 1h}
)");
    CHECK(s2.result == RunResult::interrupted);
    CHECK(s2.stopped_at == "wait");
    CHECK(w.clock.sleeps().empty());
}

TEST_CASE("executor: a dry run touches nothing", "[runbook]") {
    Harness h;
    h.options.dry_run = true;
    auto s = h.run(k_confirming);
    CHECK(results(s) == Lines{"before=dry_run", "ask=dry_run", "after=dry_run"});
    CHECK(h.cluster.log->calls().empty());
    CHECK(h.actions.calls.empty());
    CHECK(s.steps[0].output == "would run on pg1: echo before");
    CHECK(s.steps[1].output == "would ask: Switch lab over?");
    CHECK(s.steps[2].output == "would pgdr switchover to=pg2 (timeout 30m)");
}

TEST_CASE("executor: the transcript records every step, redacted, and a summary", "[runbook]") {
    pgdr::test::TempDir tmp;
    Harness h;
    h.log.add_secret("Sup3rSecretValue");
    h.actions.results["verify"] = {false, false, "password=Sup3rSecretValue\n",
                                   "1 problem(s): pg3 lags"};
    {
        pgdr::runbook::Transcript t(tmp.path() + "/t", h.log);
        auto s = h.run(R"(name: recorded
description: for the ticket
steps:
  - id: first
    description: say hello
    run: {hosts: [pg1], command: [echo, hello]}
  - id: verify
    pgdr: {action: verify}
  - id: never
    run: {hosts: [pg1], command: [echo, never]}
)",
                       &t);
        CHECK(s.result == RunResult::failed);
    }
    auto jsonl = pgdr::read_text_file(tmp.path() + "/t/transcript.jsonl");
    REQUIRE(jsonl.has_value());
    // Issue 13 (review): private, whatever the umask.
    struct stat st {};
    REQUIRE(::stat((tmp.path() + "/t/transcript.jsonl").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat((tmp.path() + "/t").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(jsonl->find("Sup3rSecretValue") == std::string::npos);
    std::vector<nlohmann::json> events;
    std::istringstream in(*jsonl);
    for (std::string line; std::getline(in, line);) {
        events.push_back(nlohmann::json::parse(line));
    }
    REQUIRE(events.size() == 6);
    CHECK(events[0]["event"] == "run_start");
    CHECK(events[0]["runbook"] == "recorded");
    CHECK(events[0]["time"] == "2016-03-03T15:27:55.000Z");
    CHECK(events[1]["event"] == "step_start");
    CHECK(events[1]["step"] == "first");
    CHECK(events[1]["description"] == "say hello");
    CHECK(events[2]["event"] == "step_end");
    CHECK(events[2]["result"] == "ok");
    CHECK(events[2]["output"] == "hello\n");
    CHECK(events[2].contains("duration_ms"));
    CHECK(events[4]["step"] == "verify");
    CHECK(events[4]["result"] == "failed");
    CHECK(events[4]["output"] == "password=[redacted]\n");
    CHECK(events[4]["error"] == "1 problem(s): pg3 lags");
    CHECK(events[5]["event"] == "run_end");
    CHECK(events[5]["result"] == "failed");
    CHECK(events[5]["last_completed_step"] == "first");
    CHECK(events[5]["resume_command"] == "pgdr -i lab.yaml runbook run rb.yaml --from verify");

    auto md = pgdr::read_text_file(tmp.path() + "/t/summary.md");
    REQUIRE(md.has_value());
    CHECK(md->find("# Runbook recorded") != std::string::npos);
    CHECK(md->find("| 1 | `first` | run | ok | 0.0 s | 2016-03-03T15:27:55.000Z | say hello |") !=
          std::string::npos);
    CHECK(md->find("| 2 | `verify` | pgdr | failed |") != std::string::npos);
    CHECK(md->find("pgdr -i lab.yaml runbook run rb.yaml --from verify") != std::string::npos);
    CHECK(md->find("Sup3rSecretValue") == std::string::npos);
}

TEST_CASE("executor: excerpts keep the start and the end of long output", "[runbook]") {
    const std::string text = std::string(3000, 'a') + std::string(3000, 'b');
    auto e = pgdr::runbook::excerpt(text, 100);
    CHECK(e ==
          std::string(50, 'a') + "\n[... 5900 characters left out ...]\n" + std::string(50, 'b'));
    CHECK(pgdr::runbook::excerpt("short", 100) == "short");
}
