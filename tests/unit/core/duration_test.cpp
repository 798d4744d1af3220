// core/duration: the operator's durations, written and read.
#include "core/duration.hpp"

#include <catch2/catch.hpp>

using std::chrono::milliseconds;

TEST_CASE("duration: seconds with fixed decimals, rounded in integers", "[core][duration]") {
    CHECK(pgdr::format_seconds(milliseconds(0)) == "0.00 s");
    CHECK(pgdr::format_seconds(milliseconds(5)) == "0.01 s");
    CHECK(pgdr::format_seconds(milliseconds(4)) == "0.00 s");
    CHECK(pgdr::format_seconds(milliseconds(-50)) == "-0.05 s");
    CHECK(pgdr::format_seconds(milliseconds(30000), 1) == "30.0 s");
    CHECK(pgdr::format_seconds(milliseconds(1249), 1) == "1.2 s");
    CHECK(pgdr::format_seconds(milliseconds(1250), 1) == "1.3 s");
    CHECK(pgdr::format_seconds(milliseconds(61500), 0) == "62 s");
    CHECK(pgdr::format_seconds(milliseconds(1234), 3) == "1.234 s");
}
