// pgdr status --output json: the fields it always had, from the one snapshot and assessment.
#include "pg/status.hpp"

#include <catch2/catch.hpp>

#include "unit/pg/recorded_cluster.hpp"

using pgdr::pg::testing::RecordedCluster;

TEST_CASE("status: JSON keeps its fields and adds the findings", "[pg][status]") {
    RecordedCluster rc;
    rc.write_up = {"pg1", "pg2"};
    pgdr::pg::ClusterStatus st;
    st.snapshot = rc.snapshot();
    pgdr::pg::AssessCriteria c;
    c.synchronous_mode = true;
    st.findings = pgdr::pg::assess(rc.targets, st.snapshot, c);
    const auto j = pgdr::pg::status_to_json(st);
    CHECK(j["healthy"] == false);
    CHECK(j["leader"] == "pg1");
    REQUIRE(j["members"].size() == 3);
    CHECK(j["members"][1]["name"] == "pg2");
    CHECK(j["members"][1]["role"] == "sync_standby");
    CHECK(j["members"][1]["timeline"] == 3);
    CHECK(j["members"][1]["replication_state"] == "streaming");
    CHECK(j["members"][1]["sync_state"] == "sync");
    CHECK(j["members"][1]["replay_lsn"] == "0/5000060");
    CHECK(j["members"][0]["lag_bytes"] == -1);  // the leader has no lag
    CHECK(j["etcd"][0] == nlohmann::json{{"endpoint", "https://198.18.0.11:2379"},
                                         {"healthy", true},
                                         {"detail", ""}});
    CHECK(j["haproxy"][0] ==
          nlohmann::json{
              {"haproxy", "pg3"}, {"backend", "primary"}, {"server", "pg1"}, {"status", "UP"}});
    CHECK(j["problems"] == nlohmann::json{"HAProxy on pg3 routes writes to [pg1,pg2], not to the "
                                          "leader alone (pg1)"});
    CHECK(j["findings"][0]["code"] == "haproxy_write_not_leader");
    CHECK(j["findings"][0]["severity"] == "critical");
    CHECK(j["findings"][0]["member"] == "pg3");
    CHECK(pgdr::pg::leader_text(st.snapshot) == "pg1");
}
