// pgdr-guard's failover records in a drill report (JSON guard_phases): the failovers of this
// run only, relative to the fault, each agent's clock corrected by its measured offset.
#include <catch2/catch.hpp>

#include "drills/engine.hpp"
#include "drills/report_json.hpp"
#include "drills/report_text.hpp"

using namespace pgdr::drills;
using namespace std::chrono_literals;
using Wall = std::chrono::system_clock::time_point;

TEST_CASE("guard phases: this run's failover, relative to the fault", "[drills][guard]") {
    const Wall fault(1800000000000ms);
    GuardFailoverRecord old_one{"lb1", {{"detected", fault - 60s}, {"key_released", fault - 59s}}};
    GuardFailoverRecord mine{"lb2",
                             {{"detected", fault + 2100ms},
                              {"quorum", fault + 2400ms},
                              {"fenced", fault + 2650ms},
                              {"key_released", fault + 2700ms}}};
    // lb2's clock is 30 ms ahead of the operator's.
    const auto phases = guard_phases_of({old_one, mine}, fault,
                                        {ClockOffset{"lb2", 30.0, 0.4}, ClockOffset{"pg1", 5, 1}});
    REQUIRE(phases.size() == 4);
    CHECK(phases[0].name == "detected");
    CHECK(phases[0].at_ms == 2070);
    CHECK(phases[3].name == "key_released");
    CHECK(phases[3].at_ms == 2670);
    CHECK(phases[3].agent == "lb2");
    CHECK(guard_phases_of({}, fault, {}).empty());

    Report r;
    r.drill = "kill-primary";
    CHECK_FALSE(report_to_json(r).contains("guard_phases"));  // only when the guard acted
    r.guard_phases = phases;
    const auto j = report_to_json(r);
    REQUIRE(j["guard_phases"].size() == 4);
    CHECK(j["guard_phases"][2]["name"] == "fenced");
    CHECK(j["guard_phases"][2]["at_ms"] == 2620);
    CHECK(j["guard_phases"][2]["agent"] == "lb2");
    CHECK(render_text(r).find("pgdr-guard (relative to the fault):") != std::string::npos);
}
