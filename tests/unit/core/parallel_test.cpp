// Issue 13 (review): an exception escaping a parallel job is an Error after every job ran,
// never std::terminate.
#include "core/parallel.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>

#include "core/error.hpp"

TEST_CASE("parallel_for: a non-Error exception in a worker becomes an Error", "[core][parallel]") {
    for (std::size_t threads : {std::size_t{1}, std::size_t{4}}) {
        std::atomic<int> ran{0};
        try {
            pgdr::parallel_for(8, threads, [&](std::size_t i) {
                ++ran;
                if (i == 3) {
                    throw std::out_of_range("map::at");
                }
            });
            FAIL("no exception");
        } catch (const pgdr::Error& e) {
            CHECK(e.code() == pgdr::ExitCode::internal);
            CHECK_THAT(e.what(), Catch::Contains("parallel job 3: map::at"));
        }
        if (threads > 1) {
            CHECK(ran == 8);  // the other jobs finished
        }
    }
    // A pgdr::Error keeps its code.
    CHECK_THROWS_MATCHES(
        pgdr::parallel_for(
            4, 4, [](std::size_t) { throw pgdr::Error(pgdr::ExitCode::unreachable, "x"); }),
        pgdr::Error, Catch::Predicate<pgdr::Error>([](const pgdr::Error& e) {
            return e.code() == pgdr::ExitCode::unreachable;
        }));
}
