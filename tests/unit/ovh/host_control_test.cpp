// OvhHostControl on the recording fake HttpClient: inventory host -> instance id from the
// state, the v1 power routes it posts, and a clear error for a host without an instance.
#include "ovh/host_control.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "core/error.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/recording_http_client.hpp"
#include "unit/ovh/ovh_rig.hpp"

using pgdr::MachineState;
using pgdr::fakes::ManualClock;
using pgdr::fakes::RecordingHttpClient;
using pgdr::ovh::OvhHostControl;

namespace {

const char* k_base = "https://eu.api.ovh.com/1.0/cloud/project/p1/instance/";

struct Rig : pgdr::ovh::testing::ApiRig {
    std::vector<std::string> ssh_asked;
    int ssh_refusals = 0;
    OvhHostControl control;

    Rig() : control(api, clock, pgdr::ovh::instance_ids(state()), control_options()) {
        http.respond(200, "1457018875");  // /auth/time
    }
    // What `pgdr provision` records: pg3 was never created.
    static pgdr::ClusterState state() {
        pgdr::ClusterState s;
        s.hosts["pg1"].instance_id = "i-1";
        s.hosts["pg2"].instance_id = "i-2";
        s.hosts["pg3"].address = "10.0.0.13";
        return s;
    }
    pgdr::ovh::OvhHostControlOptions control_options() {
        pgdr::ovh::OvhHostControlOptions o;
        o.ssh_ready = [this](const std::string& host) {
            ssh_asked.push_back(host);
            return ssh_refusals-- <= 0;
        };
        o.ssh_timeout = std::chrono::seconds(10);
        o.ssh_poll = std::chrono::seconds(2);
        return o;
    }
    // The requests but the client's /auth/time.
    std::vector<pgdr::HttpRequest> calls() const {
        std::vector<pgdr::HttpRequest> out;
        for (const auto& r : http.requests()) {
            if (r.url.find("/auth/time") == std::string::npos) {
                out.push_back(r);
            }
        }
        return out;
    }
};

}  // namespace

TEST_CASE("ovh host control: reboot_host posts a hard reboot of the host's instance",
          "[ovh][host_control]") {
    Rig rig;
    rig.http.respond(200, "null");
    rig.control.reboot_host("pg2");
    auto calls = rig.calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].method == "POST");
    CHECK(calls[0].url == std::string(k_base) + "i-2/reboot");
    CHECK(calls[0].body == "{\"type\":\"hard\"}");
    CHECK(calls[0].headers.count("X-Ovh-Signature") == 1);
    CHECK(rig.clock.sleeps().empty());  // does not wait for the boot
}

TEST_CASE("ovh host control: the reboot target is checked by name and private address",
          "[ovh][host_control]") {
    // Issue 13 item 9: a stale state.json must never hard-reset another machine.
    Rig rig;
    pgdr::ovh::OvhHostControlOptions o;
    o.expected["pg2"] = {"pgdr-shop-pg2", "10.0.0.12"};
    OvhHostControl checked(rig.api, rig.clock, {{"pg2", "i-2"}}, o);

    rig.http.respond(200, R"({"id":"i-2","name":"pgdr-other-db7","status":"ACTIVE","ipAddresses":[)"
                          R"({"ip":"10.0.0.12","type":"private","version":4}]})");
    CHECK_THROWS_WITH(checked.reboot_host("pg2"), Catch::Contains("pgdr-other-db7"));
    auto calls = rig.calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].method == "GET");  // no POST

    rig.http.respond(200, R"({"id":"i-2","name":"pgdr-shop-pg2","status":"ACTIVE","ipAddresses":[)"
                          R"({"ip":"10.9.9.9","type":"private","version":4}]})");
    CHECK_THROWS_WITH(checked.reboot_host("pg2"), Catch::Contains("10.0.0.12"));
    CHECK(rig.calls().size() == 2);

    rig.http.respond(200,
                     R"({"id":"i-2","name":"pgdr-shop-pg2","status":"ACTIVE","ipAddresses":[)"
                     R"({"ip":"51.1.2.3","type":"public"},{"ip":"10.0.0.12","type":"private"}]})");
    rig.http.respond(200, "null");
    checked.reboot_host("pg2");
    calls = rig.calls();
    REQUIRE(calls.size() == 4);
    CHECK(calls[3].method == "POST");
    CHECK(calls[3].url == std::string(k_base) + "i-2/reboot");
}

TEST_CASE("ovh host control: a host without an instance in the state is a clear error",
          "[ovh][host_control]") {
    Rig rig;
    for (const char* host : {"pg3", "pg9"}) {
        try {
            rig.control.reboot_host(host);
            FAIL("no error for " << host);
        } catch (const pgdr::Error& e) {
            CHECK(e.code() == pgdr::ExitCode::invalid_config);
            CHECK(std::string(e.what()) == "no OVH instance is recorded for host '" +
                                               std::string(host) + "' in the state (state.json)");
            CHECK(e.hint().find("pgdr provision") != std::string::npos);
        }
    }
    CHECK(rig.calls().empty());  // nothing sent, no guess by name
}

TEST_CASE("ovh host control: an API refusal of the reboot reaches the caller",
          "[ovh][host_control]") {
    Rig rig;
    rig.http.respond(409, "{\"class\":\"Client::Conflict\",\"message\":\"Instance is SHUTOFF\"}");
    CHECK_THROWS_WITH(rig.control.reboot_host("pg1"), Catch::Contains("Instance is SHUTOFF"));
    CHECK(rig.calls().size() == 1);  // a definite refusal is not retried
}

TEST_CASE("ovh host control: state from the instance status", "[ovh][host_control]") {
    Rig rig;
    rig.http.respond(200, "{\"id\":\"i-1\",\"status\":\"ACTIVE\"}");
    CHECK(rig.control.state("pg1") == MachineState::running);
    rig.http.respond(200, "{\"id\":\"i-1\",\"status\":\"HARD_REBOOT\"}");
    CHECK(rig.control.state("pg1") == MachineState::unknown);
    rig.http.respond(200, "{\"id\":\"i-1\",\"status\":\"SHUTOFF\"}");
    CHECK(rig.control.state("pg1") == MachineState::stopped);
    CHECK(rig.calls().back().method == "GET");
    CHECK(rig.calls().back().url == std::string(k_base) + "i-1");
    CHECK(pgdr::ovh::machine_state("SHELVED_OFFLOADED") == MachineState::stopped);
    CHECK(pgdr::ovh::machine_state("BUILD") == MachineState::unknown);
}

TEST_CASE("ovh host control: kill stops and waits for SHUTOFF; start waits for ACTIVE and SSH",
          "[ovh][host_control]") {
    Rig rig;
    rig.http.respond(200, "null");                      // POST stop
    rig.http.respond(200, "{\"status\":\"ACTIVE\"}");   // still running
    rig.http.respond(200, "{\"status\":\"SHUTOFF\"}");  // stopped
    rig.control.kill_host("pg1");
    rig.http.respond(200, "null");                     // POST start
    rig.http.respond(200, "{\"status\":\"ACTIVE\"}");  // running
    rig.ssh_refusals = 2;
    rig.control.start_host("pg1");
    auto calls = rig.calls();
    REQUIRE(calls.size() == 5);
    CHECK(calls[0].url == std::string(k_base) + "i-1/stop");
    CHECK(calls[0].method == "POST");
    CHECK(calls[3].url == std::string(k_base) + "i-1/start");
    CHECK(rig.ssh_asked == std::vector<std::string>{"pg1", "pg1", "pg1"});

    rig.http.respond(200, "null");
    rig.http.respond(200, "{\"status\":\"ACTIVE\"}");
    rig.ssh_refusals = 1000;
    CHECK_THROWS_WITH(rig.control.start_host("pg2"),
                      Catch::Contains("ACTIVE on OVH but did not answer SSH within 10 s"));
}

TEST_CASE("ovh host control: partitions are not available through the API", "[ovh][host_control]") {
    Rig rig;
    CHECK_THROWS_WITH(rig.control.partition_host("pg1"),
                      Catch::Contains("no per-instance network cut"));
    CHECK_THROWS_AS(rig.control.heal_host("pg1"), pgdr::Error);
    CHECK(rig.calls().empty());
}
