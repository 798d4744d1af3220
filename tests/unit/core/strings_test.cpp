// core/strings: join, trim, split, lines.
#include "core/strings.hpp"

#include <catch2/catch.hpp>

using Lines = std::vector<std::string>;

TEST_CASE("strings: join, trim, split, lines", "[core][strings]") {
    CHECK(pgdr::join({}) == "");
    CHECK(pgdr::join({"a", "b"}) == "a, b");
    CHECK(pgdr::join({"a", "b"}, "|") == "a|b");
    CHECK(pgdr::trim(" \t x y\r\n") == "x y");
    CHECK(pgdr::trim(" \n") == "");
    CHECK(pgdr::split("a|b|", '|') == Lines{"a", "b", ""});
    CHECK(pgdr::split("", ',') == Lines{""});
    CHECK(pgdr::lines("a\r\n\nb\n") == Lines{"a", "b"});
    CHECK(pgdr::first_line("\n\nfirst\nsecond") == "first");
}
