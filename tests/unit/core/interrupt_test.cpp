// Issue 13 item 5: SIGHUP (a closed terminal, a dropped bastion session) stops a runbook,
// switchover or drill like Ctrl-C, instead of killing pgdr with a fault in place.
#include "core/interrupt.hpp"

#include <catch2/catch.hpp>
#include <csignal>

TEST_CASE("interrupt guard: SIGHUP, SIGINT and SIGTERM set the flag", "[core][interrupt]") {
    for (int sig : {SIGHUP, SIGINT, SIGTERM}) {
        pgdr::InterruptGuard guard;
        CHECK_FALSE(pgdr::InterruptGuard::flag().load());
        REQUIRE(std::raise(sig) == 0);  // would end the test binary without the guard
        CHECK(pgdr::InterruptGuard::flag().load());
    }
}
