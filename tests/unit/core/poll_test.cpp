// core/poll: the one wait loop, on a manual clock.
#include "core/poll.hpp"

#include <catch2/catch.hpp>

#include "fakes/manual_clock.hpp"

using std::chrono::milliseconds;

TEST_CASE("poll: holds, times out after the bound, stops when interrupted", "[core][poll]") {
    pgdr::fakes::ManualClock clock;
    int calls = 0;
    CHECK(pgdr::poll_until(clock, milliseconds(5000), milliseconds(1000), nullptr,
                           [&] { return ++calls == 3; }) == pgdr::PollOutcome::holds);
    CHECK(calls == 3);
    CHECK(clock.sleeps().size() == 2);

    calls = 0;
    CHECK(pgdr::poll_until(clock, milliseconds(3000), milliseconds(1000), nullptr, [&] {
              ++calls;
              return false;
          }) == pgdr::PollOutcome::timed_out);
    CHECK(calls == 4);  // at 0, 1, 2 and 3 s

    std::atomic<bool> stop{true};
    calls = 0;
    CHECK(pgdr::poll_until(clock, milliseconds(3000), milliseconds(1000), &stop, [&] {
              ++calls;
              return true;
          }) == pgdr::PollOutcome::interrupted);
    CHECK(calls == 0);
}
