// ProjectApi on a recording fake HttpClient: a POST with an unknown outcome is followed by a
// look-up by name, never by a blind second POST; waits poll until READY or 404.
#include "ovh/resources.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "fakes/manual_clock.hpp"
#include "fakes/recording_http_client.hpp"
#include "ovh/access_rules.hpp"
#include "unit/ovh/ovh_rig.hpp"

using pgdr::fakes::ManualClock;
using pgdr::fakes::RecordingHttpClient;

namespace {

struct Rig : pgdr::ovh::testing::ApiRig {
    Rig() { http.respond(200, "1457018875"); }  // /auth/time
};

const char* k_net =
    "{\"id\":\"n1\",\"resourceStatus\":\"READY\",\"targetSpec\":{\"name\":\"net\"}}";

}  // namespace

TEST_CASE("resources: after a timed-out POST, an existing resource is found by name",
          "[ovh][resources]") {
    Rig rig;
    rig.http.fail(pgdr::HttpFailure::timeout);              // POST: applied or not?
    rig.http.respond(200, std::string("[") + k_net + "]");  // list: it exists
    auto r = rig.api.create("network", "net", {{"targetSpec", {{"name", "net"}}}});
    CHECK(r["id"] == "n1");
    CHECK(rig.http.count("POST", "/v2/publicCloud/project/p1/network") == 1);
    CHECK(rig.http.count("GET", "/v2/publicCloud/project/p1/network") == 1);
}

TEST_CASE("resources: after a 500 on POST and nothing by that name, POST once more",
          "[ovh][resources]") {
    Rig rig;
    rig.http.respond(500, "<html>oops</html>");
    rig.http.respond(200, "[{\"id\":\"x\",\"targetSpec\":{\"name\":\"other\"}}]");
    rig.http.respond(200, k_net);
    auto r = rig.api.create("network", "net", {{"targetSpec", {{"name", "net"}}}});
    CHECK(r["id"] == "n1");
    CHECK(rig.http.count("POST", "/network") == 2);
}

TEST_CASE("resources: a definite refusal is not retried", "[ovh][resources]") {
    Rig rig;
    rig.http.respond(400, "{\"class\":\"Client::BadRequest\",\"message\":\"bad cidr\"}");
    CHECK_THROWS_AS(rig.api.create("network", "net", nlohmann::json::object()),
                    pgdr::ovh::ApiError);
    CHECK(rig.http.count("POST", "/network") == 1);
    CHECK(rig.http.count("GET", "/network") == 0);
}

TEST_CASE("resources: wait_ready polls until READY, ERROR fails with the task message",
          "[ovh][resources]") {
    Rig rig;
    rig.http.respond(200, "{\"id\":\"n1\",\"resourceStatus\":\"CREATING\"}");
    rig.http.respond(200, "{\"id\":\"n1\",\"resourceStatus\":\"CREATING\"}");
    rig.http.respond(200, k_net);
    CHECK(rig.api.wait_ready("network", "n1")["resourceStatus"] == "READY");
    CHECK(rig.clock.sleeps().size() == 2);
    rig.http.respond(200,
                     "{\"id\":\"n2\",\"resourceStatus\":\"ERROR\",\"currentTasks\":[{\"errors\":"
                     "[{\"message\":\"no capacity\"}]}]}");
    try {
        rig.api.wait_ready("network", "n2");
        FAIL("no error");
    } catch (const pgdr::Error& e) {
        CHECK(e.code() == pgdr::ExitCode::cloud_api);
        CHECK(std::string(e.what()).find("no capacity") != std::string::npos);
    }
}

TEST_CASE("resources: wait_ready gives up at the timeout", "[ovh][resources]") {
    Rig rig;
    rig.http.set_handler([](const pgdr::HttpRequest&) {
        return RecordingHttpClient::make(200, "{\"id\":\"n1\",\"resourceStatus\":\"CREATING\"}");
    });
    CHECK_THROWS_WITH(rig.api.wait_ready("network", "n1"),
                      Catch::Contains("still CREATING after 1800 s"));
}

TEST_CASE("resources: remove treats 404 as gone; wait_gone polls until 404", "[ovh][resources]") {
    Rig rig;
    rig.http.respond(404, "{\"message\":\"not found\"}");
    CHECK_FALSE(rig.api.remove("securityGroup", "s1"));
    rig.http.respond(200, "{\"id\":\"s1\",\"resourceStatus\":\"DELETING\"}");
    rig.http.respond(404, "{}");
    rig.api.wait_gone("securityGroup", "s1");
    CHECK(rig.http.count("GET", "/securityGroup/s1") == 2);
}

TEST_CASE("resources: v1 power actions and status", "[ovh][resources]") {
    Rig rig;
    rig.http.respond(200, "null");
    rig.api.reboot_hard("i1");
    rig.http.respond(200, "null");
    rig.api.stop("i1");
    rig.http.respond(200, "null");
    rig.api.start("i1");
    rig.http.respond(200, "{\"status\":\"HARD_REBOOT\"}");
    rig.http.respond(200, "{\"status\":\"ACTIVE\"}");
    rig.api.wait_instance_status("i1", "ACTIVE");
    auto reqs = rig.http.requests();
    CHECK(reqs[1].url == "https://eu.api.ovh.com/1.0/cloud/project/p1/instance/i1/reboot");
    CHECK(reqs[1].body == "{\"type\":\"hard\"}");
    CHECK(reqs[2].url.substr(reqs[2].url.size() - 5) == "/stop");
    CHECK(reqs[2].body.empty());
    CHECK(reqs[3].url.substr(reqs[3].url.size() - 6) == "/start");
}

TEST_CASE("resources: flavor by name and region with its quota; image skips special ones",
          "[ovh][resources]") {
    Rig rig;
    rig.http.respond(200,
                     "[{\"id\":\"f0\",\"name\":\"b3-8\",\"region\":\"SBG5\",\"quota\":9},"
                     "{\"id\":\"f1\",\"name\":\"b3-8\",\"region\":\"GRA11\",\"available\":true,"
                     "\"quota\":2}]");
    auto f = rig.api.flavor("GRA11", "b3-8");
    REQUIRE(f);
    CHECK(f->id == "f1");
    CHECK(f->quota == 2);
    rig.http.respond(200,
                     "[{\"id\":\"g\",\"name\":\"Debian 13\",\"region\":\"GRA11\",\"status\":"
                     "\"active\",\"flavorType\":\"t1\"},{\"id\":\"d\",\"name\":\"Debian 13\","
                     "\"region\":\"GRA11\",\"status\":\"active\",\"flavorType\":null}]");
    CHECK(rig.api.image_id("GRA11", "Debian 13") == std::optional<std::string>("d"));
}

TEST_CASE("access rules: what pgdr asks for and how coverage is checked", "[ovh][resources]") {
    auto rules = pgdr::ovh::required_access_rules("p1");
    CHECK(pgdr::ovh::rule_allows(rules, "POST", "/v2/publicCloud/project/p1/network"));
    CHECK(pgdr::ovh::rule_allows(rules, "GET", "/cloud/project/p1"));
    CHECK_FALSE(pgdr::ovh::rule_allows(rules, "GET", "/cloud/project/p2/instance"));
    CHECK_FALSE(pgdr::ovh::rule_allows(rules, "POST", "/me"));
    CHECK(pgdr::ovh::missing_rules(rules, "p1").empty());
    std::vector<pgdr::ovh::AccessRule> all{
        {"GET", "/*"}, {"POST", "/*"}, {"PUT", "/*"}, {"DELETE", "/*"}};
    CHECK(pgdr::ovh::missing_rules(all, "p1").empty());
    auto missing = pgdr::ovh::missing_rules({{"GET", "/*"}}, "p1");
    CHECK(std::find(missing.begin(), missing.end(),
                    "POST /v2/publicCloud/project/p1/compute/instance") != missing.end());
}

TEST_CASE("access rules: exactly the routes pgdr calls, not the whole project",
          "[ovh][resources][access]") {
    // Issue 13 item 9: the consumer key was full CRUD on /cloud/project/<p>/*.
    auto rules = pgdr::ovh::required_access_rules("p1");
    using pgdr::ovh::rule_allows;
    const std::string v1 = "/cloud/project/p1";
    const std::string v2 = "/v2/publicCloud/project/p1";
    // What pgdr does.
    CHECK(rule_allows(rules, "POST", v1 + "/instance/i-1/reboot"));
    CHECK(rule_allows(rules, "POST", v1 + "/instance/i-1/stop"));
    CHECK(rule_allows(rules, "GET", v1 + "/instance/i-1"));
    CHECK(rule_allows(rules, "GET", v1 + "/flavor"));
    CHECK(rule_allows(rules, "POST", v2 + "/network/n-1/subnet"));
    CHECK(rule_allows(rules, "DELETE", v2 + "/network/n-1/subnet/s-1"));
    CHECK(rule_allows(rules, "PUT", v2 + "/securityGroup/sg-1"));
    CHECK(rule_allows(rules, "DELETE", v2 + "/compute/instance/i-1"));
    // The backups' Object Storage (issue 14): containers, the S3 user, its credential, policy.
    CHECK(rule_allows(rules, "POST", v1 + "/region/SBG5/storage"));
    CHECK(rule_allows(rules, "DELETE", v1 + "/region/SBG5/storage/pgdr-c-backup"));
    CHECK(rule_allows(rules, "POST", v1 + "/user"));
    CHECK(rule_allows(rules, "GET", v1 + "/user/42/s3Credentials"));
    CHECK(rule_allows(rules, "POST", v1 + "/user/42/s3Credentials"));
    CHECK(rule_allows(rules, "DELETE", v1 + "/user/42/s3Credentials/AK"));
    CHECK(rule_allows(rules, "POST", v1 + "/user/42/policy"));
    // What it never needs: other users' passwords or roles, volumes, other v1 instance
    // actions, billing.
    CHECK_FALSE(rule_allows(rules, "POST", v1 + "/user/42/regeneratePassword"));
    CHECK_FALSE(rule_allows(rules, "PUT", v1 + "/user/42"));
    CHECK_FALSE(rule_allows(rules, "DELETE", v1 + "/volume/v-1"));
    CHECK_FALSE(rule_allows(rules, "POST", v1 + "/instance/i-1/rescueMode"));
    CHECK_FALSE(rule_allows(rules, "POST", v1 + "/instance"));
    CHECK_FALSE(rule_allows(rules, "DELETE", v1 + "/instance/i-1"));
    CHECK_FALSE(rule_allows(rules, "POST", v2 + "/storage/s3"));
    CHECK_FALSE(rule_allows(rules, "PUT", v2 + "/compute/instance/i-1"));
    for (const auto& r : rules) {
        CHECK(r.path != v1 + "/*");
        CHECK(r.path != v2 + "/*");
    }
}
