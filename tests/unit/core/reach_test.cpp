// Endpoint: what a ClusterReach answers, rendered for URLs and messages.
#include "core/reach.hpp"

#include <catch2/catch.hpp>

using pgdr::Endpoint;

TEST_CASE("reach: Endpoint renders authorities and URLs", "[reach]") {
    CHECK(Endpoint{"127.0.0.1", 4321}.url() == "http://127.0.0.1:4321");
    CHECK(Endpoint{"198.18.0.11", 8008}.authority() == "198.18.0.11:8008");
    CHECK(Endpoint{"::1", 5}.url("https") == "https://[::1]:5");
    CHECK(pgdr::DirectReach().endpoint("198.18.0.12", 5432).authority() == "198.18.0.12:5432");
    CHECK(pgdr::DirectReach().vantage() == "this machine");
}
