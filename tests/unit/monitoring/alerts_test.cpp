// Alertmanager's answer, RFC 3339 times, and the timing of alerts relative to a drill's fault.
#include "monitoring/alerts.hpp"

#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/inventory.hpp"
#include "core/reach.hpp"
#include "fakes/recording_http_client.hpp"
#include "monitoring/alert_timing.hpp"

using namespace pgdr;
using namespace pgdr::monitoring;

namespace {

// As Alertmanager 0.25 / 0.28 answer GET /api/v2/alerts (fields pgdr does not read trimmed).
const char* const k_body = R"([
 {"annotations": {"summary": "shop: Patroni on pg1 does not answer"},
  "endsAt": "2026-12-05T06:01:10.000Z", "fingerprint": "1a2b",
  "receivers": [{"name": "pgdr"}], "startsAt": "2026-12-05T06:00:04.512Z",
  "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
  "updatedAt": "2026-12-05T06:00:06.000Z",
  "labels": {"alertname": "PatroniMemberDown", "cluster": "shop", "instance": "pg1",
             "job": "patroni", "severity": "warning"}},
 {"annotations": {}, "startsAt": "2026-12-05T07:00:00+01:00",
  "status": {"state": "suppressed"},
  "labels": {"alertname": "PatroniNoLeader", "cluster": "shop", "severity": "critical"}},
 {"labels": {}, "startsAt": "x"}
])";

const long long k_six = 1796450400000;  // 2026-12-05T06:00:00Z

Alert alert(const std::string& name, long long starts_ms, const std::string& instance = "") {
    Alert a;
    a.name = name;
    a.instance = instance;
    a.starts_at_ms = starts_ms;
    return a;
}

}  // namespace

TEST_CASE("RFC 3339 times to milliseconds", "[monitoring][alerts]") {
    CHECK(parse_rfc3339_ms("2026-12-05T06:00:00Z") == k_six);
    CHECK(parse_rfc3339_ms("2026-12-05T06:00:04.512345678Z") == k_six + 4512);
    CHECK(parse_rfc3339_ms("2026-12-05T07:00:00.5+01:00") == k_six + 500);
    CHECK(parse_rfc3339_ms("2026-12-05T05:30:00-00:30") == k_six);
    CHECK_FALSE(parse_rfc3339_ms("2026-12-05 06:00:00"));
    CHECK(parse_rfc3339_ms("1970-01-01T00:00:01Z") == 1000);
}

TEST_CASE("Alertmanager's alert list", "[monitoring][alerts]") {
    auto alerts = parse_alertmanager_alerts(k_body);
    REQUIRE(alerts.size() == 2);  // the one without an alertname is dropped
    CHECK(alerts[0].name == "PatroniMemberDown");
    CHECK(alerts[0].instance == "pg1");
    CHECK(alerts[0].severity == "warning");
    CHECK(alerts[0].state == "active");
    CHECK(alerts[0].starts_at_ms == k_six + 4512);
    CHECK(alerts[0].summary == "shop: Patroni on pg1 does not answer");
    CHECK(alerts[1].instance.empty());
    CHECK(alerts[1].state == "suppressed");
    CHECK(alerts[1].starts_at_ms == k_six);
    CHECK(alerts_to_json(alerts)[0]["labels"]["job"] == "patroni");
    CHECK_THROWS_AS(parse_alertmanager_alerts("{\"error\": 1}"), Error);
    CHECK_THROWS_AS(parse_alertmanager_alerts("not json"), Error);
}

TEST_CASE("alert timing: server-side fire time, resolution at the first poll without it",
          "[monitoring][alerts]") {
    const long long fault = k_six;
    // An old PatroniLeaderChanged still fires from a previous drill: not this fault's.
    const Alert old_change = alert("PatroniLeaderChanged", fault - 60000);
    std::vector<AlertPoll> polls{
        {fault - 1000, {old_change}},
        {fault + 5000, {old_change, alert("PatroniMemberDown", fault + 4200, "pg1")}},
        {fault + 9000,
         {old_change, alert("PatroniMemberDown", fault + 4200, "pg1"),
          alert("PatroniNoLeader", fault + 7900), alert("PostgresDown", fault + 6100, "pg1")}},
        {fault + 40000, {old_change, alert("PostgresDown", fault + 6100, "pg1")}},
        {fault + 41000, {old_change}},
    };
    auto t = time_alerts(polls, fault, {"PatroniNoLeader", "PatroniMemberDown", "EtcdMemberDown"});
    REQUIRE(t.size() == 4);
    CHECK(t[0].name == "PatroniNoLeader");
    CHECK(t[0].expected);
    CHECK(t[0].fired_ms == 7900);
    CHECK(t[0].resolved_ms == 40000);
    CHECK(t[1].fired_ms == 4200);
    CHECK(t[1].resolved_ms == 40000);
    CHECK(t[2].name == "EtcdMemberDown");
    CHECK_FALSE(t[2].fired_ms);
    CHECK_FALSE(t[2].resolved_ms);
    CHECK(t[3].name == "PostgresDown");
    CHECK_FALSE(t[3].expected);
    CHECK(t[3].resolved_ms == 41000);

    CHECK_FALSE(all_fired_within(t, 15000));  // EtcdMemberDown never fired
    t.erase(t.begin() + 2);
    CHECK(all_fired_within(t, 15000));
    CHECK_FALSE(all_fired_within(t, 5000));  // PatroniNoLeader took 7.9 s
}

TEST_CASE("Prometheus' scrape targets, from the first monitor host that answers",
          "[monitoring][alerts][targets]") {
    // As Prometheus 2.42 / 2.53 answer GET /api/v1/targets (fields pgdr does not read trimmed).
    const std::string body = R"({"status": "success", "data": {"activeTargets": [
      {"labels": {"cluster": "shop", "instance": "pg1", "job": "patroni"},
       "scrapeUrl": "https://198.18.0.11:8008/metrics", "health": "up", "lastError": ""},
      {"labels": {"cluster": "shop", "instance": "pg2", "job": "node"},
       "scrapeUrl": "http://198.18.0.12:9100/metrics", "health": "down",
       "lastError": "Get \"http://198.18.0.12:9100/metrics\": connection refused"}],
      "droppedTargets": []}})";
    auto targets = parse_prometheus_targets(body);
    REQUIRE(targets.size() == 2);
    CHECK(targets[0].job == "patroni");
    CHECK(targets[0].instance == "pg1");
    CHECK(targets[0].health == "up");
    CHECK(targets[1].url == "http://198.18.0.12:9100/metrics");
    CHECK(targets[1].health == "down");
    CHECK_THAT(targets[1].last_error, Catch::Contains("connection refused"));
    CHECK(targets_to_json(targets)[1]["last_error"] == targets[1].last_error);
    CHECK_THROWS_AS(parse_prometheus_targets(R"({"status": "error"})"), Error);
    CHECK_THROWS_AS(parse_prometheus_targets("[]"), Error);

    auto inv = parse_inventory(R"(cluster: shop
network:
  cidr: 198.18.0.0/24
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd, monitor]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy, monitor]}
)",
                               "inv.yaml");
    DirectReach reach;
    fakes::RecordingHttpClient http;
    http.respond(503, "");
    http.respond(200, body);
    CHECK(fetch_targets(inv, reach, http).size() == 2);
    REQUIRE(http.requests().size() == 2);
    CHECK(http.requests()[0].url == "http://198.18.0.11:9090/api/v1/targets?state=active");
    CHECK(http.requests()[1].url == "http://198.18.0.13:9090/api/v1/targets?state=active");

    http.respond(500, "");
    http.respond(500, "");
    try {
        fetch_targets(inv, reach, http);
        FAIL("no Prometheus answered, yet targets came back");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::unreachable);
        CHECK_THAT(e.what(),
                   Catch::Contains("no Prometheus answered (pg1: HTTP 500; pg3: HTTP 500)"));
    }
}
