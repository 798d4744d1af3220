// pg::assess: the problems `pgdr status` reports (and its exit 7), from parsed member states.
#include "pg/status.hpp"

#include <catch2/catch.hpp>

using pgdr::Inventory;
using pgdr::pg::ClusterStatus;
using pgdr::pg::MemberStatus;

namespace {

Inventory lab() {
    return pgdr::load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
}

MemberStatus member(const std::string& name, const std::string& role) {
    MemberStatus m;
    m.name = name;
    m.role = role;
    m.state = role == "leader" ? "running" : "streaming";
    m.replication_state = role == "leader" ? "" : "streaming";
    m.lag_bytes = 0;
    return m;
}

ClusterStatus cluster(const std::string& pg2_role) {
    ClusterStatus s;
    s.leader = "pg1";
    s.members = {member("pg1", "leader"), member("pg2", pg2_role), member("pg3", "replica")};
    s.haproxy = {{"pg3", "primary", "pg1", "UP"},
                 {"pg3", "primary", "pg2", "DOWN"},
                 {"pg3", "primary", "pg3", "DOWN"}};
    return s;
}

}  // namespace

TEST_CASE("status: a healthy cluster has no problems", "[pg][status]") {
    auto s = cluster("sync_standby");
    pgdr::pg::assess(lab(), s);
    CHECK(s.problems.empty());
    CHECK(s.healthy());
}

TEST_CASE("status: synchronous_mode without a synchronous standby is a problem", "[pg][status]") {
    // Right after bootstrap, Patroni names the synchronous standby one HA loop after the
    // replicas stream; a drill or a switchover must wait for it (Patroni answers 412 to a
    // switchover until then).
    auto inv = lab();
    REQUIRE(inv.patroni.synchronous_mode);
    auto s = cluster("replica");
    pgdr::pg::assess(inv, s);
    REQUIRE(s.problems.size() == 1);
    CHECK(s.problems[0] ==
          "synchronous_mode is on but no member is a synchronous standby yet: commits are not "
          "protected by a replica");

    inv.patroni.synchronous_mode = false;
    auto async = cluster("replica");
    pgdr::pg::assess(inv, async);
    CHECK(async.problems.empty());
}

TEST_CASE("status: HAProxy routing writes to another member than the leader", "[pg][status]") {
    auto s = cluster("sync_standby");
    s.haproxy[1].status = "UP 1/2";
    pgdr::pg::assess(lab(), s);
    REQUIRE(s.problems.size() == 1);
    CHECK(s.problems[0] == "HAProxy on pg3 routes writes to [pg1,pg2], not to the leader alone");
}

TEST_CASE("status: a replica that does not stream, or lags, is a problem", "[pg][status]") {
    auto s = cluster("sync_standby");
    s.members[2].replication_state = "";
    s.members[1].lag_bytes = 1LL << 30;
    pgdr::pg::assess(lab(), s);
    REQUIRE(s.problems.size() == 2);
    CHECK(s.problems[0] == "pg2 lags 1073741824 bytes");
    CHECK(s.problems[1] ==
          "pg3 is not streaming from the leader (absent from pg_stat_replication)");
}
