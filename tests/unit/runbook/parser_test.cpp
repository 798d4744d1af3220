// Runbook parser: a valid file in full, the shipped runbooks, and malformed files with the
// exact diagnostics (file:line:column: message), every problem at once.
#include "runbook/parser.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/duration.hpp"

using pgdr::runbook::parse_runbook;
using pgdr::runbook::RunbookError;

namespace {

std::vector<std::string> problems(const std::string& text) {
    try {
        parse_runbook(text, "rb.yaml");
    } catch (const RunbookError& e) {
        CHECK(e.code() == pgdr::ExitCode::invalid_config);
        std::vector<std::string> out;
        for (const auto& d : e.diagnostics()) {
            out.push_back(d.format());
        }
        return out;
    }
    FAIL("the runbook was accepted");
    return {};
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("runbook parser: a complete runbook", "[runbook]") {
    auto rb = parse_runbook(R"(name: demo
description: all kinds of steps
parameters:
  candidate: {description: who leads next, default: pg2}
  replica:
steps:
  - id: check
    description: healthy first
    assert: {condition: healthy, message: not healthy}
  - id: ask
    confirm: "Go to ${candidate}?"
  - id: switch
    timeout: 10m
    on_failure: goto report
    pgdr: {action: switchover, args: {to: "${candidate}", timeout: 2m}}
  - id: wait
    wait_until: {condition: "leader_is ${candidate}", timeout: 90s, interval: 500ms}
  - id: list
    on_failure: continue
    run: {role: replica, command: [systemctl, is-active, "patroni@17-main"], sudo: true}
  - id: report
    sql: {role: leader, database: app, query: "select 1", expect: "1"}
  - id: probe
    wait_until:
      condition: {command: [pg_isready], hosts: "pg1,pg2"}
)",
                            "demo.yaml");
    CHECK(rb.name == "demo");
    REQUIRE(rb.parameters.size() == 2);
    CHECK(rb.parameters[0].default_value == "pg2");
    CHECK_FALSE(rb.parameters[1].default_value.has_value());
    REQUIRE(rb.steps.size() == 7);
    CHECK(rb.steps[0].where.line == 7);
    const auto& sw = rb.steps[2];
    CHECK(sw.timeout == std::chrono::minutes(10));
    CHECK(sw.on_failure.policy == pgdr::runbook::FailurePolicy::go_to);
    CHECK(sw.on_failure.target == "report");
    const auto& p = std::get<pgdr::runbook::PgdrStep>(sw.body);
    CHECK(p.action == "switchover");
    CHECK(p.args.at("to") == "${candidate}");
    const auto& w = std::get<pgdr::runbook::WaitStep>(rb.steps[3].body);
    CHECK(w.condition.kind == pgdr::runbook::ConditionKind::leader_is);
    CHECK(w.condition.member == "${candidate}");
    CHECK(w.interval == std::chrono::milliseconds(500));
    CHECK(rb.steps[3].timeout == std::chrono::seconds(90));
    const auto& run = std::get<pgdr::runbook::RunStep>(rb.steps[4].body);
    CHECK(run.target.role == pgdr::runbook::Role::replica);
    CHECK(run.sudo);
    CHECK(run.command == std::vector<std::string>{"systemctl", "is-active", "patroni@17-main"});
    CHECK(rb.steps[4].on_failure.policy == pgdr::runbook::FailurePolicy::continue_run);
    CHECK(rb.steps[4].timeout == std::chrono::minutes(5));  // the default for run
    const auto& sql = std::get<pgdr::runbook::SqlStep>(rb.steps[5].body);
    CHECK(sql.database == "app");
    CHECK(sql.expect == "1");
    const auto& probe = std::get<pgdr::runbook::WaitStep>(rb.steps[6].body);
    CHECK(probe.condition.kind == pgdr::runbook::ConditionKind::command);
    CHECK(probe.condition.command.target.hosts == std::vector<std::string>{"pg1", "pg2"});
}

TEST_CASE("runbook parser: the shipped runbooks are valid", "[runbook]") {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(PGDR_SOURCE_DIR "/runbooks")) {
        if (e.path().extension() != ".yaml") {
            continue;
        }
        INFO(e.path().string());
        auto rb = pgdr::runbook::load_runbook(e.path().string());
        CHECK(rb.name == e.path().stem().string());
        CHECK_FALSE(rb.description.empty());
        ++n;
    }
    CHECK(n == 9);
}

TEST_CASE("runbook parser: YAML syntax errors carry their position", "[runbook]") {
    CHECK(problems("name: x\nsteps: [\n") ==
          Lines{"rb.yaml:3:1: YAML syntax error: end of sequence flow not found"});
}

TEST_CASE("runbook parser: not a mapping", "[runbook]") {
    CHECK(problems("- id: a\n") ==
          Lines{"rb.yaml:1:1: a runbook is a mapping with name, description, parameters, steps"});
}

TEST_CASE("runbook parser: missing name and steps, unknown top-level key", "[runbook]") {
    CHECK(problems("description: d\nstesp: []\n") ==
          Lines{"rb.yaml:1:1: missing key 'name' (the runbook's name)",
                "rb.yaml:1:1: missing key 'steps' (the list of steps)",
                "rb.yaml:2:1: unknown key 'stesp' in the runbook (did you mean 'steps'?)"});
}

TEST_CASE("runbook parser: empty steps", "[runbook]") {
    CHECK(problems("name: x\nsteps: []\n") ==
          Lines{"rb.yaml:2:8: 'steps' must be a non-empty list of steps"});
}

TEST_CASE("runbook parser: step ids missing, malformed, duplicated", "[runbook]") {
    CHECK(problems(R"(name: x
steps:
  - confirm: ok?
  - id: Bad Id
    confirm: ok?
  - id: a
    confirm: ok?
  - id: a
    confirm: ok?
)") == Lines{"rb.yaml:3:5: step 1 has no 'id'",
             "rb.yaml:4:9: step id 'Bad Id' must be lower case letters, digits, '-' and '_', "
             "starting with a letter or digit",
             "rb.yaml:8:9: duplicate step id 'a' (first at line 6)"});
}

TEST_CASE("runbook parser: a step with two actions, or none", "[runbook]") {
    CHECK(problems(R"(name: x
steps:
  - id: a
    confirm: ok?
    run: {hosts: [pg1], command: [true]}
  - id: b
    description: nothing to do
)") == Lines{"rb.yaml:4:14: step 'a' has both 'run' and 'confirm': a step has exactly one of "
             "pgdr, run, sql, wait_until, confirm, assert",
             "rb.yaml:6:5: step 'b' has no action: give exactly one of pgdr, run, sql, "
             "wait_until, confirm, assert"});
}

TEST_CASE("runbook parser: on_failure values and goto targets", "[runbook]") {
    CHECK(problems(R"(name: x
steps:
  - id: a
    on_failure: retry
    confirm: ok?
  - id: b
    on_failure: goto reprot
    confirm: ok?
  - id: report
    confirm: ok?
)") == Lines{"rb.yaml:4:17: step 'a': on_failure must be abort, continue or 'goto STEP', not "
             "'retry'",
             "rb.yaml:7:17: step 'b': on_failure goto 'reprot': no such step (did you mean "
             "'report'?)"});
}

TEST_CASE("runbook parser: durations", "[runbook]") {
    CHECK(problems(R"(name: x
steps:
  - id: a
    timeout: 10x
    confirm: ok?
  - id: b
    wait_until: {condition: healthy, timeout: 0s}
)") == Lines{"rb.yaml:4:14: invalid duration '10x' for 'timeout' (use 500ms, 30s, 5m, 1h or a "
             "number of seconds)",
             "rb.yaml:7:47: invalid duration '0s' for 'timeout' (use 500ms, 30s, 5m, 1h or a "
             "number of seconds)"});
}

TEST_CASE("runbook parser: pgdr actions and their arguments", "[runbook]") {
    CHECK(problems(R"(name: x
steps:
  - id: a
    pgdr: {action: swtchover}
  - id: b
    pgdr: {action: switchover, args: {candidate: pg2}}
  - id: c
    pgdr: {action: failover}
  - id: d
    pgdr: {action: status, args: {verbose: true}}
)") == Lines{"rb.yaml:4:20: unknown pgdr action 'swtchover' (did you mean 'switchover'?)",
             "rb.yaml:6:39: pgdr switchover takes no argument 'candidate' (arguments: to, at, "
             "timeout)",
             "rb.yaml:8:11: pgdr failover needs argument 'to'",
             "rb.yaml:10:35: pgdr status takes no argument 'verbose' (it takes none)"});
}

TEST_CASE("runbook parser: run targets and commands", "[runbook]") {
    CHECK(problems(R"(name: x
steps:
  - id: a
    run: {command: [ls]}
  - id: b
    run: {role: leader, service: etcd, command: [ls]}
  - id: c
    run: {role: primary, command: ls}
  - id: d
    run: {service: nginx, command: [ls], timout: 3}
)") == Lines{"rb.yaml:4:10: step 'a' run needs one of 'hosts', 'service' or 'role'",
             "rb.yaml:6:10: step 'b' run takes one of 'hosts', 'service' or 'role', not several",
             "rb.yaml:8:17: 'role' in step 'c' run must be leader or replica, not 'primary'",
             "rb.yaml:8:35: 'command' in step 'c' run must be a non-empty list of words, e.g. "
             "[systemctl, status, etcd]",
             "rb.yaml:10:20: unknown service 'nginx' in step 'd' run (postgres, etcd or "
             "haproxy)",
             "rb.yaml:10:42: unknown key 'timout' in step 'd' run (keys: hosts, service, role, "
             "command, sudo)"});
}

TEST_CASE("runbook parser: sql steps", "[runbook]") {
    CHECK(problems(R"(name: x
steps:
  - id: a
    sql: {role: replica}
  - id: b
    sql: "select 1"
)") == Lines{"rb.yaml:4:10: step 'a' sql needs 'query' (the SQL)",
             "rb.yaml:6:10: step 'b' sql must be a mapping {role, database, query}"});
}

TEST_CASE("runbook parser: conditions", "[runbook]") {
    CHECK(problems(R"(name: x
steps:
  - id: a
    wait_until: {condition: leader_iz pg2}
  - id: b
    wait_until: {condition: leader_is}
  - id: c
    assert: {condition: healthy now}
  - id: d
    assert: {message: oops}
  - id: e
    wait_until: {condition: {sql: "select 1"}}
)") == Lines{"rb.yaml:4:29: unknown condition 'leader_iz' in step 'a' wait_until (did you "
             "mean 'leader_is'?)",
             "rb.yaml:6:29: condition 'leader_is' in step 'b' wait_until needs one member name, "
             "e.g. 'leader_is pg2'",
             "rb.yaml:8:25: condition 'healthy' in step 'c' assert takes no argument",
             "rb.yaml:10:13: step 'd' assert needs 'condition'",
             "rb.yaml:12:29: step 'e' wait_until needs 'expect' (the output the query must "
             "return)"});
}

TEST_CASE("runbook parser: parameters and references", "[runbook]") {
    CHECK(problems(R"(name: x
parameters:
  candidate: {default: pg2, descripion: who}
  Bad-Name: {}
  cluster: {}
  other: [1]
steps:
  - id: a
    confirm: "to ${cnadidate}?"
  - id: b
    confirm: "to ${candidate"
)") == Lines{"rb.yaml:3:29: unknown key 'descripion' in parameter 'candidate' (did you mean "
             "'description'?)",
             "rb.yaml:4:3: invalid parameter name 'Bad-Name' (lower case letters, digits and "
             "'_', not first a digit)",
             "rb.yaml:5:3: parameter 'cluster' is built in; choose another name",
             "rb.yaml:6:10: parameter 'other' must be a mapping {description, default} (or "
             "empty: required)",
             "rb.yaml:9:14: unknown parameter '${cnadidate}' in 'confirm' (did you mean "
             "'${candidate}'?)",
             "rb.yaml:11:14: 'confirm': unterminated '${' (write '$${' for a literal '${')"});
}

TEST_CASE("runbook parser: confirm must be a question", "[runbook]") {
    CHECK(problems(R"(name: x
steps:
  - id: a
    confirm: {text: ok}
  - id: b
    confirm: ""
)") == Lines{"rb.yaml:4:14: step 'a' confirm must be the question to ask, as a string",
             "rb.yaml:6:14: step 'b' confirm must be the question to ask, as a string"});
}

TEST_CASE("runbook parser: an unreadable file", "[runbook]") {
    try {
        pgdr::runbook::load_runbook("/nonexistent/rb.yaml");
        FAIL("accepted");
    } catch (const RunbookError& e) {
        REQUIRE(e.diagnostics().size() == 1);
        CHECK(e.diagnostics()[0].format() == "/nonexistent/rb.yaml: no such file");
    }
}

TEST_CASE("runbook durations", "[runbook]") {
    using pgdr::format_duration_spec;
    using pgdr::parse_duration;
    CHECK(parse_duration("500ms") == std::chrono::milliseconds(500));
    CHECK(parse_duration("30s") == std::chrono::seconds(30));
    CHECK(parse_duration("45") == std::chrono::seconds(45));
    CHECK(parse_duration("5m") == std::chrono::minutes(5));
    CHECK(parse_duration("2h") == std::chrono::hours(2));
    CHECK_FALSE(parse_duration("0").has_value());
    CHECK_FALSE(parse_duration("-5s").has_value());
    CHECK_FALSE(parse_duration("5 m").has_value());
    CHECK_FALSE(parse_duration("").has_value());
    CHECK(format_duration_spec(std::chrono::minutes(3)) == "3m");
    CHECK(format_duration_spec(std::chrono::milliseconds(1500)) == "1500ms");
}

TEST_CASE("runbook parser: absurd durations are refused", "[runbook]") {
    // Issue 13 (review): a step timeout of 999999h would hang a runbook (and its fault) for ever.
    auto found = problems(R"(name: long
description: too long
steps:
  - id: wait
    timeout: 999999h
    wait_until: {condition: healthy, timeout: 25h}
)");
    REQUIRE(found.size() == 2);
    CHECK_THAT(found[0], Catch::Contains("longer than the 24h a runbook step may take"));
    CHECK_NOTHROW(parse_runbook(R"(name: ok
description: a day
steps:
  - id: wait
    timeout: 24h
    wait_until: {condition: healthy, timeout: 1h}
)",
                                "rb.yaml"));
}
