// pg::pick_candidate: the one ranking of replicas for a switchover or a failover.
#include "pg/candidate.hpp"

#include <catch2/catch.hpp>

#include "unit/pg/recorded_cluster.hpp"

using pgdr::pg::CandidatePolicy;
using pgdr::pg::pick_candidate;
using pgdr::pg::testing::RecordedCluster;

TEST_CASE("candidate: a synchronous standby first, then the least lag", "[pg][candidate]") {
    RecordedCluster rc;
    rc.replication["pg2"][4] = "900";
    rc.replication["pg3"][4] = "10";
    CHECK(pick_candidate(rc.snapshot(), {}).name == "pg2");  // sync beats less lag
    rc.members[1].role = "replica";
    CHECK(pick_candidate(rc.snapshot(), {}).name == "pg3");
}

TEST_CASE("candidate: a quorum standby counts as synchronous", "[pg][candidate]") {
    // The drill's old picker tested "sync_standby" only and missed Patroni 4's quorum commit.
    RecordedCluster rc;
    rc.members[1].role = "replica";
    rc.members[2].role = "quorum_standby";
    rc.replication["pg2"][4] = "0";
    rc.replication["pg3"][4] = "500";
    CHECK(pick_candidate(rc.snapshot(), {}).name == "pg3");
}

TEST_CASE("candidate: under synchronous_mode only the synchronous standby", "[pg][candidate]") {
    RecordedCluster rc;
    CandidatePolicy sync;
    sync.synchronous_mode = true;
    auto snap = rc.snapshot();
    CHECK(pick_candidate(snap, sync).name == "pg2");
    CHECK(pgdr::pg::candidate_refusal(snap, sync, "pg3") ==
          "pg3 is replica; with synchronous_mode Patroni hands over to pg2 only");
    rc.members[1].role = "replica";
    auto none = pick_candidate(rc.snapshot(), sync);
    CHECK(none.name.empty());
    CHECK(none.why.find("there is none yet") != std::string::npos);
}

TEST_CASE("candidate: lag bound, unknown lag, nofailover, not streaming", "[pg][candidate]") {
    RecordedCluster rc;
    CandidatePolicy p;
    p.max_lag_bytes = 1000;
    rc.replication["pg2"][4] = "5000";
    rc.replication["pg3"][4] = "";
    auto snap = rc.snapshot();
    CHECK(pick_candidate(snap, p).name.empty());
    p.allow_unknown_lag = true;
    CHECK(pick_candidate(snap, p).name == "pg3");

    RecordedCluster tagged;
    tagged.members[1].nofailover = true;
    tagged.replication.erase("pg3");
    auto t = tagged.snapshot();
    CHECK(pick_candidate(t, {}).name.empty());
    CHECK(pgdr::pg::candidate_refusal(t, {}, "pg2") == "pg2 is tagged nofailover");
    CHECK(pgdr::pg::candidate_refusal(t, {}, "pg3") ==
          "pg3 is not streaming from pg1 (absent from pg_stat_replication)");
}

TEST_CASE("candidate: without a leader, the highest timeline by Patroni's lag", "[pg][candidate]") {
    RecordedCluster rc;
    rc.members[0].role = "replica";
    rc.members[0].state = "stopped";
    rc.members[1].role = "replica";
    rc.members[1].timeline = 2;
    rc.members[1].lag = 0;
    rc.members[2].lag = 4096;
    auto c = pick_candidate(rc.snapshot(), {});
    CHECK(c.name == "pg3");  // pg2 is on an older timeline
}
