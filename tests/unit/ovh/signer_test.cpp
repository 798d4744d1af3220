// The OVH signature against the test vectors published in python-ovh, go-ovh and php-ovh
// (ovh-api.md §1.5).
#include "ovh/signer.hpp"

#include <catch2/catch.hpp>

namespace {
const std::string k_as = "9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk";
const std::string k_ck = "5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY";
const long long k_ts = 1457018875;
const std::string k_body = "{\"a\":\"b\",\"c\":\"d\"}";
}  // namespace

TEST_CASE("OVH signature matches the published vectors", "[ovh][signer]") {
    struct Vector {
        const char* method;
        const char* url;
        const char* signature;
    };
    const Vector vectors[] = {
        {"GET", "https://eu.api.ovh.com/1.0/auth", "$1$e9556054b6309771395efa467c22e627407461ad"},
        {"POST", "https://eu.api.ovh.com/1.0/auth", "$1$ec2fb5c7a81f64723c77d2e5b609ae6f58a84fc1"},
        {"PUT", "https://eu.api.ovh.com/1.0/auth", "$1$8a75a9e7c8e7296c9dbeda6a2a735eb6bd58ec4b"},
        {"DELETE", "https://eu.api.ovh.com/1.0/auth",
         "$1$a1eecd00b3b02b6cf5708b84b9ff42059a950d85"},
        {"GET", "https://eu.api.ovh.com/1.0/authTO", "$1$1f0958be70f095ddaba525778a9ac1dcffac89f3"},
        {"POST", "https://eu.api.ovh.com/1.0/authTO",
         "$1$b592effcb3bc2d37860eceb06a1b17670fbe49c6"},
        {"PUT", "https://eu.api.ovh.com/1.0/authTO", "$1$6b27c2a693a0eb4980217046b2fe10d74ba796f0"},
        {"DELETE", "https://eu.api.ovh.com/1.0/authTO",
         "$1$bd59b15361548c388058009e00c508081e991e8b"},
        {"GET", "https://eu.api.ovh.com/1.0/call", "$1$7f2db49253edfc41891023fcd1a54cf61db05fbb"},
        {"GET", "https://eu.api.ovh.com/v1/call", "$1$e6e7906d385eb28adcbfbe6b66c1528a42d741ad"},
        {"GET", "https://eu.api.ovh.com/v2/call", "$1$bb63b132a6f84ad5433d0c534d48d3f7c3804285"},
    };
    for (const auto& v : vectors) {
        const std::string method = v.method;
        const std::string body = (method == "POST" || method == "PUT") ? k_body : "";
        INFO(method << " " << v.url);
        CHECK(pgdr::ovh::sign_request(k_as, k_ck, method, v.url, body, k_ts) == v.signature);
    }
}

TEST_CASE("OVH signature pre-image joins the six fields with '+'", "[ovh][signer]") {
    CHECK(pgdr::ovh::signature_preimage(k_as, k_ck, "POST", "https://eu.api.ovh.com/1.0/auth",
                                        k_body, k_ts) ==
          "9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk+5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY+POST+"
          "https://eu.api.ovh.com/1.0/auth+{\"a\":\"b\",\"c\":\"d\"}+1457018875");
    // GET without a body: "++" between the URL and the timestamp.
    CHECK(pgdr::ovh::signature_preimage("s", "c", "GET", "u", "", 1) == "s+c+GET+u++1");
}

TEST_CASE("sha1_hex is lowercase hex of SHA-1", "[ovh][signer]") {
    // printf 'abc' | sha1sum
    CHECK(pgdr::ovh::sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(pgdr::ovh::sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}
