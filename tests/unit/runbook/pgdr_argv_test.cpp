// Issue 13 item 8: a runbook never adds --yes-really by itself; production drills need the
// operator's --yes-really on `runbook run`.
#include "runbook/pgdr_argv.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "runbook/parser.hpp"

namespace {

pgdr::Inventory inventory(bool production) {
    auto inv = pgdr::load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
    inv.production = production;
    return inv;
}

const std::string k_drilling = R"(name: drilling
steps:
  - id: status
    pgdr: {action: status}
  - id: kill
    pgdr: {action: drill, args: {fault: kill-primary, max_rto: 30s}}
)";

bool has(const std::vector<std::string>& argv, const std::string& word) {
    return std::find(argv.begin(), argv.end(), word) != argv.end();
}

}  // namespace

TEST_CASE("runbook drill steps: no --yes-really unless the operator gave it", "[runbook][gate]") {
    auto rb = pgdr::runbook::parse_runbook(k_drilling, "rb.yaml");
    const auto& drill = std::get<pgdr::runbook::PgdrStep>(rb.steps[1].body);
    pgdr::runbook::PgdrArgvOptions o;
    o.inventory_path = "prod.yaml";
    auto argv = pgdr::runbook::pgdr_step_argv(drill, o);
    CHECK(argv[1] == "-i");
    CHECK(has(argv, "--kill-primary"));
    CHECK(has(argv, "--max-rto"));
    CHECK_FALSE(has(argv, "--yes-really"));
    o.yes_really = "lab";
    argv = pgdr::runbook::pgdr_step_argv(drill, o);
    REQUIRE(has(argv, "--yes-really"));
    CHECK(argv.back() == "lab");
}

TEST_CASE("runbook run: a production drill needs --yes-really CLUSTER", "[runbook][gate]") {
    using pgdr::runbook::check_production_gate;
    auto rb = pgdr::runbook::parse_runbook(k_drilling, "rb.yaml");
    const std::string cmd = "pgdr -i prod.yaml runbook run rb.yaml";
    CHECK_NOTHROW(check_production_gate(rb, inventory(false), "", cmd));
    try {
        check_production_gate(rb, inventory(true), "", cmd);
        FAIL("a production drill ran without --yes-really");
    } catch (const pgdr::Error& e) {
        CHECK(std::string(e.what()).find("production") != std::string::npos);
        CHECK(e.hint() == "run `" + cmd + " --yes-really lab`");
    }
    CHECK_NOTHROW(check_production_gate(rb, inventory(true), "lab", cmd));
    CHECK_THROWS_AS(check_production_gate(rb, inventory(true), "other", cmd), pgdr::Error);
    // No drill step: nothing to gate.
    auto calm = pgdr::runbook::parse_runbook(
        "name: calm\nsteps:\n  - id: s\n    pgdr: {action: status}\n", "calm.yaml");
    CHECK_NOTHROW(check_production_gate(calm, inventory(true), "", cmd));
}

TEST_CASE("runbook certs steps: pgdr certs status and rotate --yes", "[runbook]") {
    auto rb = pgdr::runbook::load_runbook(std::string(PGDR_SOURCE_DIR) +
                                          "/runbooks/rotate-certificates.yaml");
    pgdr::runbook::PgdrArgvOptions o;
    o.inventory_path = "lab.yaml";
    std::vector<std::vector<std::string>> argvs;
    for (const auto& step : rb.steps) {
        if (const auto* p = std::get_if<pgdr::runbook::PgdrStep>(&step.body);
            p != nullptr && p->action.rfind("certs_", 0) == 0) {
            auto argv = pgdr::runbook::pgdr_step_argv(*p, o);
            argvs.emplace_back(argv.begin() + 4, argv.end());  // after exe -i FILE --no-color
        }
    }
    using V = std::vector<std::string>;
    CHECK(argvs == std::vector<V>{V{"certs", "status", "--warn-days", "${warn_days}"},
                                  V{"certs", "rotate", "--yes"},
                                  V{"certs", "status", "--warn-days", "${warn_days}"}});
}

TEST_CASE("runbook pitr-after-bad-migration: backup and restore steps, gated by --yes-really",
          "[runbook][gate]") {
    auto rb = pgdr::runbook::load_runbook(std::string(PGDR_SOURCE_DIR) +
                                          "/runbooks/pitr-after-bad-migration.yaml");
    pgdr::runbook::PgdrArgvOptions o;
    o.inventory_path = "lab.yaml";
    o.yes_really = "lab";
    using V = std::vector<std::string>;
    std::vector<V> argvs;
    for (const auto& step : rb.steps) {
        if (const auto* p = std::get_if<pgdr::runbook::PgdrStep>(&step.body);
            p != nullptr &&
            (p->action.rfind("backup_", 0) == 0 || p->action == "restore_cluster")) {
            auto argv = pgdr::runbook::pgdr_step_argv(*p, o);
            argvs.emplace_back(argv.begin() + 4, argv.end());
        }
    }
    CHECK(argvs == std::vector<V>{V{"backup", "list"}, V{"backup", "check"},
                                  V{"restore", "--cluster", "--to", "${to}", "--yes-really", "lab"},
                                  V{"backup", "list"}});
    // Any cluster, production or not: the restore replaces every member's data.
    using pgdr::runbook::check_production_gate;
    const std::string cmd = "pgdr -i lab.yaml runbook run pitr.yaml";
    try {
        check_production_gate(rb, inventory(false), "", cmd);
        FAIL("a whole-cluster restore ran without --yes-really");
    } catch (const pgdr::Error& e) {
        CHECK(e.code() == pgdr::ExitCode::usage);
        CHECK(std::string(e.what()).find("step restore") != std::string::npos);
        CHECK(e.hint() == "run `" + cmd + " --yes-really lab`");
    }
    CHECK_NOTHROW(check_production_gate(rb, inventory(false), "lab", cmd));
    CHECK_NOTHROW(check_production_gate(rb, inventory(true), "lab", cmd));
    o.yes_really.clear();
    const auto& restore = std::get<pgdr::runbook::PgdrStep>(rb.steps[rb.index_of("restore")].body);
    CHECK_FALSE(has(pgdr::runbook::pgdr_step_argv(restore, o), "--yes-really"));
}

TEST_CASE("runbook drill steps: the restore drill with its target", "[runbook][restore]") {
    auto rb = pgdr::runbook::parse_runbook(R"(name: restoring
steps:
  - id: restore
    pgdr: {action: drill, args: {fault: restore, to: "2026-12-05T16:20:00Z", max_rto: "600"}}
)",
                                           "rb.yaml");
    const auto& drill = std::get<pgdr::runbook::PgdrStep>(rb.steps[0].body);
    pgdr::runbook::PgdrArgvOptions o;
    o.inventory_path = "lab.yaml";
    const auto argv = pgdr::runbook::pgdr_step_argv(drill, o);
    CHECK(has(argv, "--restore"));
    const auto to = std::find(argv.begin(), argv.end(), "--to");
    REQUIRE(to != argv.end());
    REQUIRE(to + 1 != argv.end());
    CHECK(*(to + 1) == "2026-12-05T16:20:00Z");
    CHECK(has(argv, "--max-rto"));
}

TEST_CASE("runbook region-loss: the region drill with promotion, dr rebuild, dr switchover",
          "[runbook][dr]") {
    auto rb =
        pgdr::runbook::load_runbook(std::string(PGDR_SOURCE_DIR) + "/runbooks/region-loss.yaml");
    pgdr::runbook::PgdrArgvOptions o;
    o.inventory_path = "lab.yaml";
    using V = std::vector<std::string>;
    std::vector<V> argvs;
    for (const auto& step : rb.steps) {
        if (const auto* p = std::get_if<pgdr::runbook::PgdrStep>(&step.body);
            p != nullptr && (p->action == "drill" || p->action.rfind("dr_", 0) == 0)) {
            auto argv = pgdr::runbook::pgdr_step_argv(*p, o);
            argvs.emplace_back(argv.begin() + 4, argv.end());
        }
    }
    CHECK(argvs ==
          std::vector<V>{V{"drill", "--lose-region", "${region}", "--promote"},
                         V{"dr", "rebuild", "--yes", "--timeout", "5m"},
                         V{"dr", "switchover", "--yes", "--timeout", "5m", "--catch-up", "30s"}});
    // A real region loss: dr promote --force; a yes/no argument is true or false.
    auto real = pgdr::runbook::parse_runbook(
        "name: real\nsteps:\n  - id: p\n    pgdr: {action: dr_promote, args: {force: \"true\"}}\n"
        "  - id: q\n    pgdr: {action: dr_promote, args: {force: maybe}}\n",
        "real.yaml");
    auto argv =
        pgdr::runbook::pgdr_step_argv(std::get<pgdr::runbook::PgdrStep>(real.steps[0].body), o);
    CHECK(V(argv.begin() + 4, argv.end()) == V{"dr", "promote", "--yes", "--force"});
    CHECK_THROWS_WITH(
        pgdr::runbook::pgdr_step_argv(std::get<pgdr::runbook::PgdrStep>(real.steps[1].body), o),
        Catch::Contains("argument force is 'maybe', not true or false"));
}
