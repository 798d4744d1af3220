// The OVH client on a recording fake HttpClient and a manual clock: signing of the exact bytes
// sent, the time delta fetched once, the retry rules, errors and redaction.
#include "ovh/client.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "fakes/manual_clock.hpp"
#include "fakes/recording_http_client.hpp"
#include "ovh/signer.hpp"

using namespace std::chrono_literals;
using pgdr::fakes::ManualClock;
using pgdr::fakes::RecordingHttpClient;

namespace {

const std::string k_ak = "TDPKJdwZwAQPwKX2";
const std::string k_as = "9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk";
const std::string k_ck = "5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY";

pgdr::ovh::Credentials creds() {
    pgdr::ovh::Credentials c;
    c.endpoint = "ovh-eu";
    c.base_url = "https://eu.api.ovh.com/1.0";
    c.application_key = k_ak;
    c.application_secret = k_as;
    c.consumer_key = k_ck;
    return c;
}

struct Rig {
    RecordingHttpClient http;
    ManualClock clock;  // local wall clock at 1457018875
    std::ostringstream log_text;
    pgdr::Logger log{log_text, 3};
    pgdr::ovh::Client client;

    explicit Rig(pgdr::ovh::ClientOptions opts = {})
        : client(http, clock, log, creds(), with_seed(opts)) {}
    static pgdr::ovh::ClientOptions with_seed(pgdr::ovh::ClientOptions o) {
        o.jitter_seed = 42;
        return o;
    }
};

}  // namespace

TEST_CASE("client: /auth/time once, then signed calls with the corrected timestamp",
          "[ovh][client]") {
    Rig rig;
    rig.http.respond(200, "1457018881");  // server 6 s ahead (python-ovh test_time_delta)
    rig.http.respond(200, "{\"ok\":true}");
    rig.http.respond(200, "[]");
    auto first = rig.client.get("/cloud/project/p1/instance?region=GRA11");
    CHECK(first["ok"] == true);
    rig.clock.advance(2000ms);
    rig.client.post("/v2/publicCloud/project/p1/network", {{"a", "b"}, {"c", "d"}});

    auto reqs = rig.http.requests();
    REQUIRE(reqs.size() == 3);
    CHECK(reqs[0].url == "https://eu.api.ovh.com/1.0/auth/time");
    CHECK(reqs[0].headers.count("X-Ovh-Signature") == 0);
    CHECK(reqs[0].headers.count("X-Ovh-Consumer") == 0);
    CHECK(reqs[0].headers.at("X-Ovh-Application") == k_ak);
    CHECK(rig.client.time_delta() == 6);
    CHECK(rig.http.count("GET", "/auth/time") == 1);

    const auto& get = reqs[1];
    CHECK(get.url == "https://eu.api.ovh.com/1.0/cloud/project/p1/instance?region=GRA11");
    CHECK(get.headers.at("X-Ovh-Timestamp") == "1457018881");
    CHECK(get.headers.at("X-Ovh-Consumer") == k_ck);
    CHECK(get.headers.at("X-Ovh-Signature") ==
          pgdr::ovh::sign_request(k_as, k_ck, "GET", get.url, "", 1457018881));
    CHECK(get.body.empty());

    const auto& post = reqs[2];
    CHECK(post.url == "https://eu.api.ovh.com/v2/publicCloud/project/p1/network");
    CHECK(post.body == "{\"a\":\"b\",\"c\":\"d\"}");
    CHECK(post.headers.at("Content-Type") == "application/json");
    CHECK(post.headers.at("X-Ovh-Timestamp") == "1457018883");
    // The bytes signed are the bytes sent: recompute over what the fake recorded.
    CHECK(post.headers.at("X-Ovh-Signature") ==
          pgdr::ovh::sign_request(k_as, k_ck, "POST", post.url, post.body, 1457018883));
}

TEST_CASE("client: a GET is retried on 429, 5xx and timeouts, honouring Retry-After",
          "[ovh][client]") {
    Rig rig;
    rig.http.respond(200, "1457018875");
    rig.http.respond(429, "{\"message\":\"Too Many Requests\"}", {{"retry-after", "7"}});
    rig.http.respond(503, "<html><body><h1>503 Service Unavailable</h1></body></html>");
    rig.http.fail(pgdr::HttpFailure::timeout);
    rig.http.respond(500, "{\"class\":\"Server::InternalServerError\",\"message\":\"boom\"}");
    rig.http.respond(200, "[1,2]");
    auto out = rig.client.get("/cloud/project/p1/region");
    CHECK(out == nlohmann::json::array({1, 2}));
    CHECK(rig.http.count("GET", "/cloud/project/p1/region") == 5);
    auto sleeps = rig.clock.sleeps();
    REQUIRE(sleeps.size() == 4);
    CHECK(sleeps[0] >= 7000ms);  // Retry-After honoured
    pgdr::ovh::RetryPolicy p;
    for (std::size_t i = 1; i < sleeps.size(); ++i) {
        const int retry = static_cast<int>(i) + 1;
        CHECK(sleeps[i] >= pgdr::ovh::backoff_delay(p, retry, 0.0, std::nullopt));
        CHECK(sleeps[i] <= pgdr::ovh::backoff_delay(p, retry, 1.0, std::nullopt));
    }
}

TEST_CASE("client: retries stop after max_attempts with a clear error", "[ovh][client]") {
    pgdr::ovh::ClientOptions opts;
    opts.retry.max_attempts = 3;
    Rig rig(opts);
    rig.http.respond(200, "1457018875");
    for (int i = 0; i < 3; ++i) {
        rig.http.respond(503, "<html>Service Unavailable</html>", {{"x-ovh-queryid", "EU.q-9"}});
    }
    try {
        rig.client.del("/v2/publicCloud/project/p1/network/n1");
        FAIL("no error");
    } catch (const pgdr::ovh::ApiError& e) {
        CHECK(e.code() == pgdr::ExitCode::cloud_api);
        CHECK(e.status() == 503);
        CHECK(e.failure().attempts == 3);
        std::string what = e.what();
        CHECK(what.find("DELETE /v2/publicCloud/project/p1/network/n1") != std::string::npos);
        CHECK(what.find("Service Unavailable") != std::string::npos);
        CHECK(what.find("X-Ovh-Queryid: EU.q-9") != std::string::npos);
        CHECK(what.find("<html>") == std::string::npos);
    }
    CHECK(rig.http.count("DELETE", "/network/n1") == 3);
}

TEST_CASE("client: a POST is never blindly retried", "[ovh][client]") {
    Rig rig;
    rig.http.respond(200, "1457018875");
    SECTION("timeout: outcome unknown, one attempt") {
        rig.http.fail(pgdr::HttpFailure::timeout);
        try {
            rig.client.post("/v2/publicCloud/project/p1/compute/instance", {{"x", 1}});
            FAIL("no error");
        } catch (const pgdr::ovh::ApiError& e) {
            CHECK(e.outcome_unknown());
        }
        CHECK(rig.http.count("POST", "/compute/instance") == 1);
        CHECK(rig.clock.sleeps().empty());
    }
    SECTION("500: outcome unknown, one attempt") {
        rig.http.respond(500, "{\"message\":\"Internal Server Error\"}");
        try {
            rig.client.post("/v2/publicCloud/project/p1/compute/instance", {{"x", 1}});
            FAIL("no error");
        } catch (const pgdr::ovh::ApiError& e) {
            CHECK(e.outcome_unknown());
            CHECK(e.status() == 500);
        }
        CHECK(rig.http.count("POST", "/compute/instance") == 1);
    }
    SECTION("429 and connect failures are retried: the call was not run") {
        rig.http.respond(429, "{}");
        rig.http.fail(pgdr::HttpFailure::connect);
        rig.http.respond(200, "{\"id\":\"i1\"}");
        auto out = rig.client.post("/v2/publicCloud/project/p1/compute/instance", {{"x", 1}});
        CHECK(out["id"] == "i1");
        auto reqs = rig.http.requests();
        REQUIRE(reqs.size() == 4);
        // Every attempt is re-signed with its own timestamp, over the same body.
        CHECK(reqs[1].body == reqs[3].body);
        CHECK(reqs[3].headers.at("X-Ovh-Signature") ==
              pgdr::ovh::sign_request(k_as, k_ck, "POST", reqs[3].url, reqs[3].body,
                                      std::stoll(reqs[3].headers.at("X-Ovh-Timestamp"))));
    }
    SECTION("400 is final") {
        rig.http.respond(400,
                         "{\"class\":\"Client::BadRequest\",\"message\":\"Invalid signature\"}");
        try {
            rig.client.post("/v2/publicCloud/project/p1/compute/instance", {{"x", 1}});
            FAIL("no error");
        } catch (const pgdr::ovh::ApiError& e) {
            CHECK_FALSE(e.outcome_unknown());
            CHECK(std::string(e.what()).find("Client::BadRequest: \"Invalid signature\"") !=
                  std::string::npos);
            CHECK(e.hint().find("application secret") != std::string::npos);
        }
    }
}

TEST_CASE("client: a 403 names the missing access rule", "[ovh][client]") {
    Rig rig;
    rig.http.respond(200, "1457018875");
    rig.http.respond(403,
                     "{\"class\":\"Client::Forbidden\",\"errorCode\":\"NOT_GRANTED_CALL\","
                     "\"message\":\"This call has not been granted\"}",
                     {{"x-ovh-queryid", "EU.ext-3.1"}});
    try {
        rig.client.post("/v2/publicCloud/project/abc/securityGroup", {{"x", 1}});
        FAIL("no error");
    } catch (const pgdr::ovh::ApiError& e) {
        CHECK(e.status() == 403);
        CHECK(e.hint().find("POST /v2/publicCloud/project/abc/securityGroup`") !=
              std::string::npos);
        CHECK(std::string(e.what()).find("EU.ext-3.1") != std::string::npos);
    }
    CHECK(pgdr::ovh::access_rule_for("GET", "/cloud/project/abc/instance/i?x=1") ==
          "GET /cloud/project/abc/instance/*");
    CHECK(pgdr::ovh::access_rule_for("POST", "/cloud/project/abc/instance/i/reboot") ==
          "POST /cloud/project/abc/instance/*/reboot");
    CHECK(pgdr::ovh::access_rule_for("GET", "/cloud/project/abc/flavor?region=GRA11") ==
          "GET /cloud/project/abc/flavor");
    CHECK(pgdr::ovh::access_rule_for("GET", "/cloud/project/abc") == "GET /cloud/project/abc");
    CHECK(pgdr::ovh::access_rule_for("GET", "/auth/currentCredential") ==
          "GET /auth/currentCredential");
}

TEST_CASE("client: get_if_exists maps 404 to nothing", "[ovh][client]") {
    Rig rig;
    rig.http.respond(200, "1457018875");
    rig.http.respond(404, "{\"class\":\"Client::NotFound\",\"message\":\"not found\"}");
    CHECK_FALSE(rig.client.get_if_exists("/v2/publicCloud/project/p/network/x").has_value());
}

TEST_CASE("client: list follows X-Pagination-Cursor-Next", "[ovh][client]") {
    Rig rig;
    rig.http.respond(200, "1457018875");
    rig.http.respond(200, "[{\"id\":\"a\"}]", {{"x-pagination-cursor-next", "c2"}});
    rig.http.respond(200, "[{\"id\":\"b\"}]");
    auto all = rig.client.list("/v2/publicCloud/project/p/network");
    REQUIRE(all.size() == 2);
    CHECK(all[1]["id"] == "b");
    auto reqs = rig.http.requests();
    CHECK(reqs[1].headers.count("X-Pagination-Cursor") == 0);
    CHECK(reqs[2].headers.at("X-Pagination-Cursor") == "c2");
}

TEST_CASE("client: /auth/time that is not a number is a clear error", "[ovh][client]") {
    Rig rig;
    rig.http.respond(200, "\"soon\"");
    CHECK_THROWS_AS(rig.client.get("/cloud/project/p"), pgdr::ovh::ApiError);
}

TEST_CASE("client: trace logs never show keys, secret or signature", "[ovh][client]") {
    Rig rig;
    // Unsigned calls do not need the server time: the credential answer comes first.
    rig.http.respond(200,
                     "{\"consumerKey\":\"newly-made-consumer-key-123\",\"validationUrl\":\"u\"}");
    rig.http.respond(200, "1457018875");
    rig.http.respond(200, "{}");
    rig.client.call_unsigned("POST", "/auth/credential", nlohmann::json{{"accessRules", {}}});
    rig.client.get("/cloud/project/p");
    auto text = rig.log_text.str();
    CHECK(text.find("> GET https://eu.api.ovh.com/1.0/cloud/project/p") != std::string::npos);
    CHECK(text.find(k_ak) == std::string::npos);
    CHECK(text.find(k_as) == std::string::npos);
    CHECK(text.find(k_ck) == std::string::npos);
    CHECK(text.find("newly-made-consumer-key-123") == std::string::npos);
    CHECK(text.find("$1$") == std::string::npos);
    CHECK(text.find("X-Ovh-Signature: [redacted]") != std::string::npos);
}
