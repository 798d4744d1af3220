// Issue 13 item 5: SIGHUP (a closed terminal, a dropped bastion session) stops a runbook,
// switchover or drill like Ctrl-C, instead of killing pgdr with a fault in place.
#include "runbook/interrupt.hpp"

#include <catch2/catch.hpp>
#include <csignal>

TEST_CASE("interrupt guard: SIGHUP, SIGINT and SIGTERM set the flag", "[runbook][interrupt]") {
    for (int sig : {SIGHUP, SIGINT, SIGTERM}) {
        pgdr::runbook::InterruptGuard guard;
        CHECK_FALSE(pgdr::runbook::InterruptGuard::flag().load());
        REQUIRE(std::raise(sig) == 0);  // would end the test binary without the guard
        CHECK(pgdr::runbook::InterruptGuard::flag().load());
    }
}
