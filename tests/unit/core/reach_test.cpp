// ClusterReach: URL authorities, and the HTTP client that sends requests through a reach.
#include "core/reach.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/reach_http.hpp"
#include "fakes/recording_http_client.hpp"

using pgdr::ClusterReach;
using pgdr::Endpoint;
using pgdr::HttpFailure;
using pgdr::HttpRequest;
using pgdr::HttpTransportError;
using pgdr::ReachingHttpClient;
using pgdr::url_authority;

namespace {

// Forwards every port of 198.18.0.0/24 to 127.0.0.1:(40000 + port), and records what it was
// asked; "198.18.9.9" cannot be reached at all.
class FakeReach final : public ClusterReach {
  public:
    Endpoint endpoint(const std::string& address, int port) override {
        asked.emplace_back(address, port);
        if (address == "198.18.9.9") {
            throw std::runtime_error("no vantage host answers");
        }
        if (address.rfind("198.18.0.", 0) == 0) {
            return {"127.0.0.1", 40000 + port};
        }
        return {address, port};
    }
    std::string vantage() const override { return "via fake"; }
    std::vector<std::pair<std::string, int>> asked;
};

}  // namespace

TEST_CASE("reach: url_authority reads host and port of http(s) URLs", "[reach]") {
    auto a = url_authority("http://198.18.0.11:8008/cluster");
    REQUIRE(a);
    CHECK(a->host == "198.18.0.11");
    CHECK(a->port == 8008);
    auto b = url_authority("https://eu.api.ovh.com/1.0/auth/time");
    REQUIRE(b);
    CHECK(b->host == "eu.api.ovh.com");
    CHECK(b->port == 443);
    auto c = url_authority("http://[fd00::1]:7000/;csv");
    REQUIRE(c);
    CHECK(c->host == "fd00::1");
    CHECK(c->port == 7000);
    CHECK(c->authority() == "[fd00::1]:7000");
    CHECK(url_authority("http://198.18.0.11")->port == 80);
    for (const char* bad : {"", "198.18.0.11:8008", "http://", "http://u:p@h:1/", "http://h:x/",
                            "http://h:99999/", "http://[fd00::1/", "http://h:/"}) {
        INFO(bad);
        CHECK_FALSE(url_authority(bad));
    }
}

TEST_CASE("reach: Endpoint renders authorities and URLs", "[reach]") {
    CHECK(Endpoint{"127.0.0.1", 4321}.url() == "http://127.0.0.1:4321");
    CHECK(Endpoint{"::1", 5}.url("https") == "https://[::1]:5");
}

TEST_CASE("reach: requests keep their URL and connect where the reach says", "[reach]") {
    pgdr::fakes::RecordingHttpClient inner;
    FakeReach reach;
    ReachingHttpClient http(inner, reach);
    inner.respond(200, "{}");
    inner.respond(200, "{}");
    HttpRequest r;
    r.url = "http://198.18.0.12:8008/patroni";
    CHECK(http.send(r).status == 200);
    r.url = "https://eu.api.ovh.com/1.0/auth/time";
    CHECK(http.send(r).status == 200);
    auto sent = inner.requests();
    REQUIRE(sent.size() == 2);
    // The URL (and so the Host header and the certificate name) is unchanged ...
    CHECK(sent[0].url == "http://198.18.0.12:8008/patroni");
    REQUIRE(sent[0].connect_to);
    // ... and the connection goes to the forwarded port.
    CHECK(sent[0].connect_to->first.authority() == "198.18.0.12:8008");
    CHECK(sent[0].connect_to->second.authority() == "127.0.0.1:48008");
    // A reachable endpoint needs no detour.
    CHECK_FALSE(sent[1].connect_to);
    CHECK(reach.asked.size() == 2);
}

TEST_CASE("reach: no path to a port is a connect failure, not a crash", "[reach]") {
    pgdr::fakes::RecordingHttpClient inner;
    FakeReach reach;
    ReachingHttpClient http(inner, reach);
    HttpRequest r;
    r.url = "http://198.18.9.9:8008/cluster";
    try {
        http.send(r);
        FAIL("expected an HttpTransportError");
    } catch (const HttpTransportError& e) {
        CHECK(e.kind() == HttpFailure::connect);
        CHECK(std::string(e.what()).find("no vantage host answers") != std::string::npos);
    }
    CHECK(inner.requests().empty());
}
