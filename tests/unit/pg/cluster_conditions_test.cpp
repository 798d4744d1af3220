// Bootstrap's waits on the cluster (WaitForCluster in the plan), run by apply() with
// pg::AssessedConditions on a recorded cluster: the rules of `pgdr status`, read through the
// reach (HTTP + SQL), nothing run on a host.
#include "pg/cluster_conditions.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "fakes/manual_clock.hpp"
#include "fakes/recording_transport.hpp"
#include "pg/bootstrap_plan.hpp"
#include "pg/secrets.hpp"
#include "unit/pg/plan_fixtures.hpp"
#include "unit/pg/recorded_cluster.hpp"
#include "unit/pg/test_tls.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::pg::testing::RecordedCluster;
using pgdr::testing::RecordingTransport;

namespace {

Inventory lab_inventory() {
    return load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
}

// The bootstrap plan's waits on the cluster in `stage`, each in a step of its own on its host.
Plan cluster_waits(const Inventory& inv, Stage stage) {
    const Secrets secrets{"repl-pw",  "super-pw", "rewind-pw", "rest-pw",
                          "probe-pw", "stats-pw", {},          {}};
    auto plan = plan_bootstrap(inv, pgdr::testing::fresh_facts(inv),
                               pgdr::testing::with_test_tls(secrets, inv), "pg1");
    Plan out;
    for (const auto& step : plan.stage(stage).steps) {
        for (const auto& ha : step.hosts) {
            for (const auto& a : ha.actions) {
                if (const auto* w = std::get_if<WaitForCluster>(&a)) {
                    out.add_step(stage, step.name).hosts.push_back({ha.host, {*w}});
                }
            }
        }
    }
    return out;
}

// The lab cluster as recorded (pg1 leads, pg2 its synchronous standby, HAProxy on pg3 routes
// writes to pg1), the hosts' transports and a clock that moves only when slept on.
struct Bootstrap {
    Inventory inv = lab_inventory();
    RecordedCluster rc;
    fakes::ManualClock clock;
    std::ostringstream sink;
    Logger logger{sink, 3};
    RecordingTransport pg1{"pg1"};
    RecordingTransport pg2{"pg2"};
    RecordingTransport pg3{"pg3"};

    ApplyReport run(Stage stage) {
        const Plan waits = cluster_waits(inv, stage);
        REQUIRE(waits.action_count() == 1);
        AssessedConditions conditions(cluster_targets(inv), rc.access(), criteria_for(inv));
        ApplyOptions o;
        o.clock = &clock;
        o.cluster = &conditions;
        return apply(waits, {{"pg1", &pg1}, {"pg2", &pg2}, {"pg3", &pg3}}, logger, o);
    }
    bool hosts_untouched() const {
        return pg1.calls().empty() && pg2.calls().empty() && pg3.calls().empty();
    }
};

// Sets `role` on member `name` from the n-th read of GET /cluster on.
void from_read(RecordedCluster& rc, int n, const std::string& name, const std::string& role) {
    auto reads = std::make_shared<int>(0);
    rc.on_cluster_read = [&rc, reads, n, name, role] {
        if (++*reads == n) {
            for (auto& m : rc.members) {
                if (m.name == name) {
                    m.role = role;
                }
            }
        }
    };
}

// The one wait held at once, on its host, unchanged (nothing to do).
void check_held(const ApplyReport& report, const std::string& host, const std::string& what) {
    REQUIRE(report.ok());
    REQUIRE(report.results.size() == 1);
    CHECK(report.results[0].host == host);
    CHECK(report.results[0].description == "wait: " + what);
    CHECK(report.results[0].outcome == Outcome::unchanged);
}

}  // namespace

TEST_CASE("bootstrap waits in pgdr until Patroni names a synchronous standby", "[pg][bootstrap]") {
    Bootstrap b;
    SECTION("named: holds at once, on Patroni's view alone") {
        check_held(b.run(Stage::patroni), "pg1", "Patroni names a synchronous standby");
        CHECK(b.rc.http.requests().size() == 1);
        CHECK(b.rc.http.count("GET", "198.18.0.11:8008/cluster") == 1);
        CHECK(b.rc.sql_hosts.empty());
    }
    SECTION("named one HA loop later: holds then") {
        b.rc.members[1].role = "replica";
        from_read(b.rc, 3, "pg2", "sync_standby");
        auto report = b.run(Stage::patroni);
        CHECK(report.ok());
        CHECK(b.clock.sleeps().size() == 2);
    }
    SECTION("a quorum standby (Patroni 4's quorum mode) counts") {
        b.rc.members[1].role = "quorum_standby";
        CHECK(b.run(Stage::patroni).ok());
    }
    SECTION("never named: fails at the timeout with the assessment's reason") {
        b.rc.members[1].role = "replica";
        auto report = b.run(Stage::patroni);
        CHECK(report.failed_stage == Stage::patroni);
        const auto& r = report.results.at(0);
        CHECK(r.outcome == Outcome::failed);
        CHECK(r.error.rfind("gave up after 120s waiting for Patroni names a synchronous standby: "
                            "synchronous_mode is on but no member is a synchronous standby",
                            0) == 0);
    }
    SECTION("Patroni does not answer: no vacuous success") {
        b.rc.rest_down = {"198.18.0.11", "198.18.0.12", "198.18.0.13"};
        auto report = b.run(Stage::patroni);
        CHECK_FALSE(report.ok());
        CHECK(report.results.at(0).error.find("no member's Patroni REST API answered") !=
              std::string::npos);
    }
    CHECK(b.hosts_untouched());
}

TEST_CASE("bootstrap waits in pgdr until HAProxy routes writes to the leader alone",
          "[pg][bootstrap]") {
    Bootstrap b;
    SECTION("the leader alone: holds at once") {
        check_held(b.run(Stage::haproxy), "pg3", "only the leader UP behind the write port");
        CHECK(b.rc.http.count("GET", "198.18.0.13:7000/;csv") == 1);
        CHECK(b.rc.http.count("GET", ":2379/health") == 0);
        CHECK(b.rc.sql_hosts.empty());
    }
    SECTION("a replica UP too after the reload, until its checks fail") {
        b.rc.write_up = {"pg1", "pg2"};
        b.rc.on_cluster_read = [&b, reads = std::make_shared<int>(0)] {
            if (++*reads == 4) {
                b.rc.write_up = {"pg1"};
            }
        };
        CHECK(b.run(Stage::haproxy).ok());
        CHECK(b.clock.sleeps().size() == 3);
    }
    SECTION("a replica stays UP: fails at the timeout naming the servers") {
        b.rc.write_up = {"pg1", "pg2"};
        auto report = b.run(Stage::haproxy);
        CHECK(report.failed_stage == Stage::haproxy);
        CHECK(report.results.at(0).error ==
              "gave up after 60s waiting for only the leader UP behind the write port: HAProxy on "
              "pg3 routes writes to [pg1,pg2], not to the leader alone (pg1)");
    }
    SECTION("the statistics page does not answer: fails with why") {
        b.rc.haproxy_down = true;
        auto report = b.run(Stage::haproxy);
        CHECK_FALSE(report.ok());
        CHECK(report.results.at(0).error.find("HAProxy statistics on pg3") != std::string::npos);
    }
    CHECK(b.hosts_untouched());
}

TEST_CASE("a wait about one HAProxy reads that one's statistics only", "[pg][bootstrap]") {
    RecordedCluster rc;
    rc.targets.haproxy = {{"pg2", "198.18.0.12"}, {"pg3", "198.18.0.13"}};
    AssessCriteria criteria;
    AssessedConditions conditions(rc.targets, rc.access(), criteria);
    WaitForCluster w;
    w.absent = {"haproxy_unreachable", "haproxy_write_not_leader"};
    w.member = "pg3";
    CHECK(conditions.unmet(w).empty());
    CHECK(rc.http.count("GET", "198.18.0.13:7000/;csv") == 1);
    CHECK(rc.http.count("GET", "198.18.0.12:7000/;csv") == 0);
    // About the cluster as a whole: every HAProxy, each finding named.
    rc.write_up = {"pg1", "pg2"};
    w.member = "";
    CHECK(conditions.unmet(w).size() == 2);
    w.absent = {"no_such_rule"};
    CHECK_THROWS_AS(conditions.unmet(w), std::invalid_argument);
}
