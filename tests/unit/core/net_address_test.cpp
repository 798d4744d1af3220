// IPv4 addresses and CIDR blocks.
#include "core/net_address.hpp"

#include <catch2/catch.hpp>
#include <string>

using pgdr::Cidr;
using pgdr::parse_cidr;
using pgdr::parse_ipv4;

TEST_CASE("net_address: parse_ipv4 takes strict dotted quads", "[net_address]") {
    CHECK(parse_ipv4("198.18.0.11") == 0xC612000Bu);
    CHECK(parse_ipv4("0.0.0.0") == 0u);
    CHECK(parse_ipv4("255.255.255.255") == 0xFFFFFFFFu);
    CHECK(parse_ipv4("10.0.0.1") == 0x0A000001u);
    for (const char* bad :
         {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-4", "01.2.3.4", "1.2.3.04", "1..2.3",
          "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/24", "a.b.c.d", "0x1.2.3.4", "1.2.3.4.", "+1.2.3.4",
          "1234.1.1.1", "1.2.3.1000", "::1", "localhost"}) {
        INFO("'" << bad << "'");
        CHECK_FALSE(parse_ipv4(bad));
    }
    // A lone zero is fine; only a leading zero before other digits is refused (octal in C).
    CHECK(parse_ipv4("10.0.0.0") == 0x0A000000u);
}

TEST_CASE("net_address: format_ipv4 is the inverse of parse_ipv4", "[net_address]") {
    for (const char* a : {"198.18.0.11", "0.0.0.0", "255.255.255.255", "10.200.3.4"}) {
        auto v = parse_ipv4(a);
        REQUIRE(v);
        CHECK(pgdr::format_ipv4(*v) == a);
    }
}

TEST_CASE("net_address: parse_cidr", "[net_address]") {
    auto c = parse_cidr("198.18.0.0/24");
    REQUIRE(c);
    CHECK(c->network == 0xC6120000u);
    CHECK(c->prefix == 24);
    CHECK(c->mask() == 0xFFFFFF00u);
    CHECK(c->to_string() == "198.18.0.0/24");

    auto all = parse_cidr("0.0.0.0/0");
    REQUIRE(all);
    CHECK(all->mask() == 0u);
    auto host = parse_cidr("203.0.113.7/32");
    REQUIRE(host);
    CHECK(host->mask() == 0xFFFFFFFFu);

    for (const char* bad : {"198.18.0.5/24", "198.18.0.0/33", "198.18.0.0/-1", "198.18.0.0/",
                            "198.18.0.0", "/24", "198.18.0.0/24/8", "198.18.0.0/2a",
                            "198.18.0.0/ 24", "198.18.0.0/100", "banana", "10.0.0.0/4"}) {
        INFO("'" << bad << "'");
        CHECK_FALSE(parse_cidr(bad));
    }
}

TEST_CASE("net_address: contains", "[net_address]") {
    auto c = *parse_cidr("198.18.0.0/24");
    CHECK(c.contains(*parse_ipv4("198.18.0.0")));
    CHECK(c.contains(*parse_ipv4("198.18.0.11")));
    CHECK(c.contains(*parse_ipv4("198.18.0.255")));
    CHECK_FALSE(c.contains(*parse_ipv4("198.18.1.0")));
    CHECK_FALSE(c.contains(*parse_ipv4("198.19.0.11")));
    CHECK_FALSE(c.contains(*parse_ipv4("197.18.0.11")));

    auto wide = *parse_cidr("10.0.0.0/8");
    CHECK(wide.contains(*parse_ipv4("10.255.255.255")));
    CHECK_FALSE(wide.contains(*parse_ipv4("11.0.0.0")));

    auto all = *parse_cidr("0.0.0.0/0");
    CHECK(all.contains(*parse_ipv4("203.0.113.9")));
    CHECK(all.contains(*parse_ipv4("255.255.255.255")));

    auto one = *parse_cidr("203.0.113.7/32");
    CHECK(one.contains(*parse_ipv4("203.0.113.7")));
    CHECK_FALSE(one.contains(*parse_ipv4("203.0.113.6")));

    auto odd = *parse_cidr("172.16.0.0/12");
    CHECK(odd.contains(*parse_ipv4("172.31.255.1")));
    CHECK_FALSE(odd.contains(*parse_ipv4("172.32.0.1")));
}
