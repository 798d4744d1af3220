// pg::take_snapshot + pg::assess: every finding, on a recorded lab cluster with one thing
// broken at a time, read through the same seams as `pgdr status` (HTTP + SQL via the reach).
#include "pg/assessment.hpp"

#include <catch2/catch.hpp>

#include "unit/pg/recorded_cluster.hpp"

using pgdr::pg::AssessCriteria;
using pgdr::pg::Finding;
using pgdr::pg::Severity;
using pgdr::pg::testing::RecordedCluster;

namespace {

AssessCriteria lab_criteria() {
    AssessCriteria c;
    c.max_lag_bytes = 1048576;
    c.synchronous_mode = true;
    return c;
}

std::vector<Finding> findings(RecordedCluster& rc, const AssessCriteria& c = lab_criteria()) {
    return pgdr::pg::assess(rc.targets, rc.snapshot(), c);
}

std::vector<std::string> codes(const std::vector<Finding>& f) {
    std::vector<std::string> out;
    for (const auto& x : f) {
        out.push_back(x.code);
    }
    return out;
}

using Codes = std::vector<std::string>;

}  // namespace

TEST_CASE("assess: a healthy cluster has no finding", "[pg][assess]") {
    RecordedCluster rc;
    auto snap = rc.snapshot();
    CHECK(snap.leader == "pg1");
    CHECK(snap.patroni_source == "pg1");
    REQUIRE(snap.replication.size() == 2);
    CHECK(snap.replication_of("pg2")->sync_state == "sync");
    CHECK(snap.etcd.size() == 3);
    REQUIRE(snap.haproxy.size() == 1);
    CHECK(snap.haproxy[0].up_servers("primary") == Codes{"pg1"});
    auto f = pgdr::pg::assess(rc.targets, snap, lab_criteria());
    CHECK(codes(f).empty());
    CHECK(pgdr::pg::healthy(f));
    // Every port was reached at the cluster's addresses (DirectReach), SQL on the leader only.
    CHECK(rc.sql_hosts == Codes{"198.18.0.11:5432"});
    CHECK(rc.http.count("GET", "198.18.0.11:8008/cluster") == 1);
    CHECK(rc.http.count("GET", ":2379/health") == 3);
    CHECK(rc.http.count("GET", "198.18.0.13:7000/;csv") == 1);
}

TEST_CASE("assess: no member answers, and the reason is kept", "[pg][assess]") {
    RecordedCluster rc;
    rc.rest_down = {"198.18.0.11", "198.18.0.12", "198.18.0.13"};
    auto f = findings(rc);
    REQUIRE(!f.empty());
    CHECK(f[0].code == "patroni_unreachable");
    CHECK(f[0].severity == Severity::critical);
    CHECK(f[0].message.find("pg1: GET https://198.18.0.11:8008/cluster") != std::string::npos);
    CHECK(f[0].message.find("pg3: GET https://198.18.0.13:8008/cluster") != std::string::npos);
}

TEST_CASE("assess: the first member that answers is asked, a partitioned one last",
          "[pg][assess]") {
    RecordedCluster rc;
    rc.rest_down = {"198.18.0.11"};
    pgdr::pg::SnapshotOptions o;
    o.ask_last = "pg2";
    auto snap = rc.snapshot(o);
    CHECK(snap.patroni_source == "pg3");
}

TEST_CASE("assess: no leader", "[pg][assess]") {
    RecordedCluster rc;
    rc.members[0].role = "replica";
    rc.members[0].state = "stopped";
    rc.write_up.clear();
    auto f = findings(rc);
    CHECK(codes(f) == Codes{"no_leader", "member_not_running", "haproxy_write_not_leader"});
    CHECK(rc.sql_hosts.empty());  // no leader to ask
}

TEST_CASE("assess: two leaders", "[pg][assess]") {
    RecordedCluster rc;
    rc.members[1].role = "leader";
    rc.members[1].state = "running";
    rc.write_up = {"pg1", "pg2"};
    auto f = findings(rc);
    CHECK(codes(f) == Codes{"several_leaders", "haproxy_write_not_leader"});
    CHECK(f[0].message == "Patroni reports 2 leaders (pg1, pg2); exactly one is needed");
    CHECK(f[1].message == "HAProxy on pg3 routes writes to [pg1,pg2], not to the leader alone");
}

TEST_CASE("assess: Patroni 3 says master for the leader's role", "[pg][assess]") {
    RecordedCluster rc;
    rc.members[0].role = "master";
    CHECK(codes(findings(rc)).empty());
}

TEST_CASE("assess: a replica not streaming, absent or catching up", "[pg][assess]") {
    RecordedCluster rc;
    rc.replication.erase("pg3");
    auto f = findings(rc);
    CHECK(codes(f) == Codes{"replica_not_streaming"});
    CHECK(f[0].member == "pg3");
    CHECK(f[0].message ==
          "pg3 is not streaming from the leader pg1 (absent from pg_stat_replication)");

    RecordedCluster catchup;
    catchup.replication["pg2"][0] = "catchup";
    CHECK(findings(catchup)[0].message == "pg2 is not streaming from the leader pg1 (catchup)");
}

TEST_CASE("assess: a replica that Patroni does not run, or on another timeline", "[pg][assess]") {
    RecordedCluster rc;
    rc.members[2].state = "starting";
    rc.members[1].timeline = 2;
    auto f = findings(rc);
    CHECK(codes(f) == Codes{"timeline_mismatch", "member_not_running"});
    CHECK(f[0].message == "pg2 is on timeline 2, the leader pg1 on 3");
    CHECK(f[1].message == "pg3 is starting");
}

TEST_CASE("assess: lag over the limit, and unknown lag", "[pg][assess]") {
    RecordedCluster rc;
    rc.replication["pg3"][4] = "2097152";
    rc.replication["pg2"][4] = "";
    auto f = findings(rc);
    CHECK(codes(f) == Codes{"lag_unknown", "lag_over_limit"});
    CHECK(f[1].message == "pg3 lags 2097152 bytes, over the bound of 1048576");

    AssessCriteria no_bound = lab_criteria();
    no_bound.max_lag_bytes.reset();
    CHECK(codes(findings(rc, no_bound)).empty());
}

TEST_CASE("assess: no synchronous standby under synchronous_mode", "[pg][assess]") {
    RecordedCluster rc;
    rc.members[1].role = "replica";
    auto f = findings(rc);
    CHECK(codes(f) == Codes{"no_sync_standby"});
    AssessCriteria async = lab_criteria();
    async.synchronous_mode = false;
    CHECK(codes(findings(rc, async)).empty());

    RecordedCluster quorum;  // Patroni 4's quorum commit
    quorum.members[1].role = "quorum_standby";
    CHECK(codes(findings(quorum)).empty());
}

TEST_CASE("assess: an etcd member down, then no quorum", "[pg][assess]") {
    RecordedCluster rc;
    rc.etcd_down = {"198.18.0.12"};
    auto f = findings(rc);
    CHECK(codes(f) == Codes{"etcd_member_down"});
    CHECK(f[0].severity == Severity::warning);
    CHECK(f[0].member == "pg2");
    CHECK_FALSE(pgdr::pg::healthy(f));  // a warning is not healthy either

    rc.etcd_down.insert("198.18.0.13");
    CHECK(codes(findings(rc)) == Codes{"etcd_member_down", "etcd_member_down", "etcd_no_quorum"});
}

TEST_CASE("assess: HAProxy routing writes to a replica, or not answering", "[pg][assess]") {
    RecordedCluster rc;
    rc.write_up = {"pg2"};
    auto f = findings(rc);
    CHECK(codes(f) == Codes{"haproxy_write_not_leader"});
    CHECK(f[0].message == "HAProxy on pg3 routes writes to [pg2], not to the leader alone (pg1)");

    RecordedCluster down;
    down.haproxy_down = true;
    CHECK(codes(findings(down)) == Codes{"haproxy_unreachable"});
    AssessCriteria no_lb = lab_criteria();
    no_lb.haproxy = false;
    CHECK(codes(findings(down, no_lb)).empty());
}

TEST_CASE("assess: pg_stat_replication unreadable, a member missing", "[pg][assess]") {
    RecordedCluster rc;
    rc.sql_error = "password authentication failed for user \"postgres\"";
    auto f = findings(rc);
    CHECK(codes(f) == Codes{"replication_unreadable"});
    CHECK(f[0].message.find("password authentication failed") != std::string::npos);

    RecordedCluster missing;
    missing.targets.postgres.push_back({"pg4", "198.18.0.14"});
    CHECK(codes(findings(missing)) == Codes{"member_missing", "replica_not_streaming"});
}

TEST_CASE("snapshot: parsers keep Patroni's and etcd's vocabulary", "[pg][assess]") {
    auto members = pgdr::pg::parse_cluster_members(
        R"({"members":[{"name":"a","role":"primary","state":"running","timeline":2},)"
        R"({"name":"b","role":"quorum_standby","state":"streaming","lag":"unknown",)"
        R"("tags":{"nofailover":"true"}}]})");
    REQUIRE(members);
    REQUIRE(members->size() == 2);
    CHECK((*members)[0].is_leader());
    CHECK((*members)[1].is_sync_standby());
    CHECK_FALSE((*members)[1].lag_bytes);
    CHECK((*members)[1].nofailover);
    CHECK_FALSE(pgdr::pg::parse_cluster_members("<html>"));

    std::string detail;
    CHECK(pgdr::pg::parse_etcd_health(R"({"health":"true","reason":""})", detail));
    CHECK_FALSE(
        pgdr::pg::parse_etcd_health(R"({"health":"false","reason":"RAFT NO LEADER"})", detail));
    CHECK(detail == "RAFT NO LEADER");
}

TEST_CASE("assess: archive_command failing on the leader (pg_stat_archiver)", "[pg][assess]") {
    RecordedCluster rc;
    pgdr::pg::SnapshotOptions o;
    o.archiver = true;
    // Failures long ago, archived since: not failing.
    rc.archiver = {"40", "000000010000000000000009", "1764982800",
                   "3",  "000000010000000000000007", "1764900000"};
    auto snap = rc.snapshot(o);
    REQUIRE(snap.archiver_read);
    CHECK(snap.archiver.failed_count == 3);
    CHECK_FALSE(snap.archiver.failing());
    CHECK(codes(pgdr::pg::assess(rc.targets, snap, lab_criteria())).empty());

    // The last failure is newer than the last success: archive-push fails now.
    rc.archiver = {"40", "000000010000000000000009", "1764982800",
                   "17", "00000001000000000000000A", "1764983400.5"};
    snap = rc.snapshot(o);
    auto f = pgdr::pg::assess(rc.targets, snap, lab_criteria());
    REQUIRE(codes(f) == Codes{"archive_failing"});
    CHECK(f[0].severity == Severity::warning);
    CHECK(f[0].member == "pg1");
    CHECK(f[0].message ==
          "archiving WAL fails on the leader pg1: 17 failures, last on 00000001000000000000000A, "
          "last success 000000010000000000000009 (the PostgreSQL log on pg1 says why; `pgdr "
          "backup check`)");
    CHECK_FALSE(pgdr::pg::healthy(f));

    // Nothing archived since the server started, failures only.
    rc.archiver = {"0", "", "", "2", "000000010000000000000001", "1764983400"};
    f = pgdr::pg::assess(rc.targets, rc.snapshot(o), lab_criteria());
    REQUIRE(codes(f) == Codes{"archive_failing"});
    CHECK(f[0].message.find("nothing archived since the server started") != std::string::npos);

    // Without the option (drills, waits) the archiver is not read.
    CHECK_FALSE(rc.snapshot().archiver_read);
}

TEST_CASE("snapshot_for: the parts of the snapshot a rule judges", "[pg][assess]") {
    using pgdr::pg::snapshot_for;
    auto patroni = snapshot_for({"no_sync_standby", "member_missing"});
    CHECK_FALSE(patroni.replication);
    CHECK_FALSE(patroni.archiver);
    CHECK_FALSE(patroni.etcd);
    CHECK_FALSE(patroni.haproxy);
    auto routing = snapshot_for({"patroni_unreachable", "haproxy_write_not_leader"});
    CHECK(routing.haproxy);
    CHECK_FALSE(routing.replication);
    CHECK(snapshot_for({"lag_over_limit"}).replication);
    CHECK(snapshot_for({"archive_failing"}).archiver);
    CHECK(snapshot_for({"etcd_no_quorum"}).etcd);
    CHECK_THROWS_AS(snapshot_for({"no_such_rule"}), std::invalid_argument);
    // Every finding the assessment gives is one of the rules (a broken cluster of each kind).
    RecordedCluster rc;
    rc.members[1].role = "replica";
    rc.write_up = {"pg1", "pg2"};
    rc.etcd_down = {"198.18.0.12", "198.18.0.13"};
    rc.replication.erase("pg3");
    const auto f = findings(rc);
    CHECK(f.size() >= 4);
    CHECK_NOTHROW(snapshot_for(codes(f)));
}

TEST_CASE("assess: a standby cluster's leader streams (issue 16)", "[pg][assess][dr]") {
    // Patroni 4 reports a standby leader "streaming" (from the primary cluster): healthy; a
    // primary leader "streaming", or a standby leader stopped, is not.
    RecordedCluster rc;
    rc.members[0].role = "standby_leader";
    rc.members[0].state = "streaming";
    AssessCriteria c = lab_criteria();
    c.synchronous_mode = false;
    rc.members[1].role = "replica";
    CHECK(codes(findings(rc, c)).empty());
    rc.members[0].state = "stopped";
    CHECK(codes(findings(rc, c)) == Codes{"member_not_running"});
    rc.members[0].role = "leader";
    rc.members[0].state = "streaming";
    CHECK(codes(findings(rc, c)) == Codes{"member_not_running"});
}
