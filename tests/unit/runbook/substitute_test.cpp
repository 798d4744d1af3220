// ${param} substitution: references, escapes, defaults, --param values, instantiation.
#include "runbook/substitute.hpp"

#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "runbook/parser.hpp"

using pgdr::runbook::substitute;

TEST_CASE("substitution: references, escapes and errors", "[runbook]") {
    const std::map<std::string, std::string> v{{"a", "pg2"}, {"b_2", "x y"}};
    CHECK(substitute("to ${a} and ${b_2}", v) == "to pg2 and x y");
    CHECK(substitute("${a}${a}", v) == "pg2pg2");
    CHECK(substitute("literal $${a} and $HOME and $", v) == "literal ${a} and $HOME and $");
    CHECK(substitute("", v).empty());
    CHECK_THROWS_WITH(substitute("${nope}", v), "unknown parameter '${nope}' in \"${nope}\"");
    CHECK_THROWS_WITH(substitute("x ${a", v),
                      "unterminated '${' (write '$${' for a literal '${') in \"x ${a\"");
    CHECK_THROWS_WITH(substitute("${A}", v),
                      "invalid parameter reference '${A}' (names are lower case letters, "
                      "digits and '_') in \"${A}\"");

    std::string error;
    auto refs = pgdr::runbook::references("${a}-${b_2}-$${c}", error);
    REQUIRE(refs.has_value());
    CHECK(*refs == std::vector<std::string>{"a", "b_2"});
}

TEST_CASE("substitution: parameters resolve from --param, defaults and builtins", "[runbook]") {
    auto rb = pgdr::runbook::parse_runbook(R"(name: demo
parameters:
  replica: {description: the member}
  report: {default: "${cluster}-${replica}.md"}
steps:
  - id: ask
    description: rebuild ${replica}
    confirm: "Rebuild ${replica} of ${cluster}?"
  - id: run
    run: {hosts: ["${replica}"], command: [echo, "${report}", "$${literal}"]}
  - id: check
    assert: {condition: "streaming ${replica}", message: "${replica} does not stream"}
)",
                                           "demo.yaml");
    const std::map<std::string, std::string> builtins{{"cluster", "lab"},
                                                      {"inventory", "lab.yaml"}};
    CHECK_THROWS_WITH(pgdr::runbook::resolve_parameters(rb, {}, builtins),
                      "runbook demo needs a value for: replica");
    CHECK_THROWS_WITH(pgdr::runbook::resolve_parameters(rb, {{"replca", "pg3"}}, builtins),
                      "runbook demo has no parameter 'replca'");

    auto values = pgdr::runbook::resolve_parameters(rb, {{"replica", "pg3"}}, builtins);
    CHECK(values.at("report") == "lab-pg3.md");
    auto inst = pgdr::runbook::instantiate(rb, values);
    CHECK(inst.steps[0].description == "rebuild pg3");
    CHECK(std::get<pgdr::runbook::ConfirmStep>(inst.steps[0].body).text == "Rebuild pg3 of lab?");
    const auto& run = std::get<pgdr::runbook::RunStep>(inst.steps[1].body);
    CHECK(run.target.hosts == std::vector<std::string>{"pg3"});
    CHECK(run.command == std::vector<std::string>{"echo", "lab-pg3.md", "${literal}"});
    const auto& a = std::get<pgdr::runbook::AssertStep>(inst.steps[2].body);
    CHECK(a.condition.member == "pg3");
    CHECK(a.message == "pg3 does not stream");
    // The parsed runbook is left as it was.
    CHECK(std::get<pgdr::runbook::ConfirmStep>(rb.steps[0].body).text ==
          "Rebuild ${replica} of ${cluster}?");

    // A hostile value stays one argv word.
    auto hostile = pgdr::runbook::instantiate(
        rb, pgdr::runbook::resolve_parameters(rb, {{"replica", "pg3; rm -rf / $(id)"}}, builtins));
    CHECK(std::get<pgdr::runbook::RunStep>(hostile.steps[1].body).target.hosts ==
          std::vector<std::string>{"pg3; rm -rf / $(id)"});
}

TEST_CASE("substitution: --param NAME=VALUE", "[runbook]") {
    using pgdr::runbook::parse_param_assignment;
    CHECK(parse_param_assignment("a=b=c") == std::make_pair(std::string("a"), std::string("b=c")));
    CHECK(parse_param_assignment("a=") == std::make_pair(std::string("a"), std::string()));
    CHECK_THROWS_WITH(parse_param_assignment("novalue"), "--param novalue: expected NAME=VALUE");
    CHECK_THROWS_WITH(parse_param_assignment("=x"), "--param =x: expected NAME=VALUE");
}

TEST_CASE("substitution: sql queries get literals and identifiers, never raw SQL",
          "[runbook][sql]") {
    // Issue 13 item 8: ${param} was spliced raw into SQL run as the superuser.
    using pgdr::runbook::substitute_sql_query;
    const std::map<std::string, std::string> v{
        {"name", "x'); drop table t; --"}, {"table", "my \"t\""}, {"n", "42"}};
    CHECK(substitute_sql_query("select ${name}", v) == "select 'x''); drop table t; --'");
    CHECK(substitute_sql_query("select '${name}'", v) == "select 'x''); drop table t; --'");
    CHECK(substitute_sql_query("select count(*) from \"${table}\"", v) ==
          "select count(*) from \"my \"\"t\"\"\"");
    CHECK(substitute_sql_query("select ${n}::int", v) == "select '42'::int");
    CHECK_THROWS_AS(substitute_sql_query("select 'a${n}'", v), pgdr::Error);
    CHECK_THROWS_AS(substitute_sql_query("select ${x}", v), pgdr::Error);
    CHECK_THROWS_AS(substitute_sql_query("select ${n}", {{"n", "a$$b"}}), pgdr::Error);

    // instantiate() uses it for sql steps, and only there.
    auto rb = pgdr::runbook::parse_runbook(R"(name: q
parameters:
  who: {description: a name}
steps:
  - id: q
    sql: {query: "select ${who}", expect: "${who}"}
  - id: r
    run: {hosts: [pg1], command: [echo, "${who}"]}
)",
                                           "q.yaml");
    auto inst = pgdr::runbook::instantiate(rb, {{"who", "o'neil"}});
    const auto& sql = std::get<pgdr::runbook::SqlStep>(inst.steps[0].body);
    CHECK(sql.query == "select 'o''neil'");
    CHECK(*sql.expect == "o'neil");
    CHECK(std::get<pgdr::runbook::RunStep>(inst.steps[1].body).command[1] == "o'neil");
}
