#include "drills/analysis.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "drill_script.hpp"
#include "scenarios.hpp"

using namespace pgdr;
using namespace pgdr::drills;
using namespace pgdr::drills::test;

namespace {

Millis phase_at(const Report& r, const std::string& name) {
    const Phase* p = r.find_phase(name);
    INFO("phase " << name);
    REQUIRE(p != nullptr);
    return p->at_ms;
}

bool check_passed(const Report& r, const std::string& name) {
    const Check* c = r.find_check(name);
    INFO("check " << name);
    REQUIRE(c != nullptr);
    return c->passed;
}

Report run(Script& script, const AnalysisInput& in) {
    FakeClock clock;
    Timeline timeline(clock);
    script.replay(clock, timeline);
    return analyze(timeline, in);
}

// A steady cluster: pg1 primary, pg2 and pg3 replicas following it, from `from` to `to`.
void steady_samples(Script& s, Millis from, Millis to) {
    s.samples("pg1", from, to, 50, [](Millis) { return primary_sample(1, 1000); });
    s.samples("pg2", from, to, 50, [](Millis) { return replica_sample(1, 1000, "pg1"); });
    s.samples("pg3", from, to, 50, [](Millis) { return replica_sample(1, 1000, "pg1"); });
}

AnalysisInput input_for(FaultKind fault, const Script& s) {
    AnalysisInput in;
    in.fault = fault;
    in.cluster = "lab";
    in.old_primary = "pg1";
    in.settings = tuned_settings();
    in.seqs_on_new_primary = s.acked();
    return in;
}

}  // namespace

TEST_CASE("kill-primary: phases relative to the fault, in time order", "[drills][analysis]") {
    KillPrimaryDrill drill;
    Report r = drill.analyze();

    CHECK(phase_at(r, phase::last_ack_before_outage) == -7);
    CHECK(phase_at(r, phase::fault_injected) == 0);
    CHECK(phase_at(r, phase::first_write_failure) == 5);
    CHECK(phase_at(r, phase::old_leader_gone) == 10000);
    CHECK(phase_at(r, phase::new_leader_elected) == 10925);
    CHECK(phase_at(r, phase::promoted) == 11000);
    CHECK(phase_at(r, phase::haproxy_switched) == 11180);
    CHECK(phase_at(r, phase::first_ack_after_outage) == 11203);
    CHECK(phase_at(r, phase::fault_restored) == 20000);
    // 21500 is on the old timeline: rejoined only once on the leader's timeline.
    CHECK(phase_at(r, phase::old_primary_rejoined) == 23000);
    CHECK(r.find_phase(phase::primary_back) == nullptr);
    REQUIRE(r.phases.size() == 10);
    for (std::size_t i = 1; i < r.phases.size(); ++i) {
        CHECK(r.phases[i - 1].at_ms <= r.phases[i].at_ms);
    }
    CHECK(r.find_phase(phase::new_leader_elected)->detail == "pg2");
}

TEST_CASE("kill-primary: headline figures and verdict", "[drills][analysis]") {
    KillPrimaryDrill drill;
    Report r = drill.analyze();

    CHECK(r.drill == "kill-primary");
    CHECK(r.cluster == "lab");
    CHECK(r.started_at == "2026-05-04T10:00:00.000Z");
    CHECK(r.fault_at == "2026-05-04T10:00:05.000Z");
    CHECK(r.old_primary == "pg1");
    CHECK(r.new_primary == "pg2");
    CHECK(r.leader_changed);
    REQUIRE(r.rto_ms);
    CHECK(*r.rto_ms == 11203);
    REQUIRE(r.write_outage_ms);
    CHECK(*r.write_outage_ms == 11210);
    CHECK(r.write_outage_recovered);
    REQUIRE(r.outages.size() == 1);
    CHECK(r.outages[0].failed_writes == 1120);
    CHECK(r.predicted_rto_ms == std::optional<Millis>(11000));
    CHECK(r.lost_acknowledged_writes == std::optional<std::int64_t>(0));
    CHECK(r.unacknowledged_applied_writes == std::optional<std::int64_t>(1));
    REQUIRE(r.unacknowledged_applied_seqs.size() == 1);
    CHECK(r.unacknowledged_applied_seqs[0] == drill.applied_unacked_seq);
    CHECK(r.lag_at_fault_bytes == std::optional<std::int64_t>(4096));
    CHECK(r.writes.sent == 2700);
    CHECK(r.writes.acknowledged + r.writes.failed == 2700);
    CHECK(r.writes.unanswered == 0);
    CHECK_FALSE(r.split_brain);
    CHECK(r.restored);
    for (const auto& c : r.checks) {
        INFO(c.name << ": " << c.detail);
        CHECK(c.passed);
    }
    CHECK(r.checks.size() == 10);  // causal_order included
    CHECK(r.verdict == Verdict::pass);
    CHECK(exit_code(r) == ExitCode::ok);
    CHECK(r.errors.empty());
}

TEST_CASE("objectives: RTO over --max-rto fails the verdict with exit 8", "[drills][analysis]") {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    in.objectives.max_rto_ms = 11202;
    Report r = drill.analyze_with(in);
    CHECK_FALSE(check_passed(r, "max_rto"));
    CHECK(r.find_check("max_rto")->detail == "RTO 11.20 s, objective 11.20 s");
    CHECK(r.verdict == Verdict::fail);
    CHECK(exit_code(r) == ExitCode::objectives_missed);

    in.objectives.max_rto_ms = 11203;  // the bound is inclusive
    CHECK(drill.analyze_with(in).verdict == Verdict::pass);

    in.objectives.max_rto_ms.reset();
    Report no_objective = drill.analyze_with(in);
    CHECK(no_objective.find_check("max_rto") == nullptr);
    CHECK(no_objective.verdict == Verdict::pass);
}

TEST_CASE("lost acknowledged writes are counted on the new primary", "[drills][analysis]") {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    // The last 3 writes acknowledged by pg1 before the fault never reached pg2.
    auto& seqs = *in.seqs_on_new_primary;
    std::vector<std::int64_t> missing;
    for (auto seq : drill.script.acked()) {
        if (seq > drill.applied_unacked_seq - 4 && seq < drill.applied_unacked_seq) {
            missing.push_back(seq);
        }
    }
    REQUIRE(missing.size() == 3);
    for (auto seq : missing) {
        seqs.erase(std::find(seqs.begin(), seqs.end(), seq));
    }
    Report r = drill.analyze_with(in);
    CHECK(r.lost_acknowledged_writes == std::optional<std::int64_t>(3));
    CHECK(r.lost_seqs == missing);
    CHECK_FALSE(check_passed(r, "max_lost"));
    CHECK(r.verdict == Verdict::fail);

    in.objectives.max_lost = 3;  // asynchronous replication, loss allowed
    CHECK(drill.analyze_with(in).verdict == Verdict::pass);
}

TEST_CASE("lost writes unknown when the drill table was not read", "[drills][analysis]") {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    in.seqs_on_new_primary.reset();
    Report r = drill.analyze_with(in);
    CHECK_FALSE(r.lost_acknowledged_writes);
    CHECK_FALSE(r.unacknowledged_applied_writes);
    CHECK_FALSE(check_passed(r, "max_lost"));  // an objective cannot be met by an unknown
    CHECK(r.verdict == Verdict::fail);
    in.objectives.max_lost.reset();
    CHECK(drill.analyze_with(in).verdict == Verdict::pass);
}

TEST_CASE("no outage at all: kill-etcd-member keeps the leader", "[drills][analysis]") {
    Script s;
    s.fault("kill-etcd-member", "etcd2");
    s.writes(-1000, 5000, 10, [](Millis) { return std::optional<std::string>("pg1"); });
    steady_samples(s, -1000, 5000);
    s.restored("kill-etcd-member", "etcd2", 3000);
    Report r = run(s, input_for(FaultKind::kill_etcd_member, s));

    CHECK(r.outages.empty());
    CHECK(r.rto_ms == std::optional<Millis>(3));  // the first write after the fault
    CHECK(r.write_outage_ms == std::optional<Millis>(10));
    CHECK(r.find_phase(phase::last_ack_before_outage) == nullptr);
    CHECK(r.find_phase(phase::first_ack_after_outage) == nullptr);
    CHECK(r.find_phase(phase::new_leader_elected) == nullptr);
    CHECK_FALSE(r.leader_changed);
    CHECK(r.new_primary == "pg1");
    CHECK(check_passed(r, "leader_expectation"));
    CHECK(r.find_check("leader_expectation")->detail ==
          "expected no failover: leader unchanged: pg1");
    CHECK(r.predicted_rto_ms == std::optional<Millis>(0));
    CHECK(r.lag_at_fault_bytes == std::optional<std::int64_t>(0));
    CHECK(r.verdict == Verdict::pass);
}

TEST_CASE("an unexpected failover fails a no-failover drill", "[drills][analysis]") {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    in.fault = FaultKind::kill_etcd_member;
    drill.script.fault("kill-etcd-member", "pg1", 0);  // the first marker wins; see warning
    Report r = drill.analyze_with(in);
    CHECK_FALSE(check_passed(r, "leader_expectation"));
    CHECK(r.verdict == Verdict::fail);
    CHECK(std::find(r.warnings.begin(), r.warnings.end(),
                    "the fault marker says 'kill-primary', the drill is 'kill-etcd-member'") !=
          r.warnings.end());
}

TEST_CASE("fault never injected: no marker fails the drill", "[drills][analysis]") {
    Script s;
    s.writes(-1000, 3000, 10, [](Millis) { return std::optional<std::string>("pg1"); });
    steady_samples(s, -1000, 3000);
    Report r = run(s, input_for(FaultKind::kill_primary, s));
    CHECK_FALSE(check_passed(r, "fault_injected"));
    CHECK_FALSE(check_passed(r, "completed"));
    CHECK(r.fault_at.empty());
    CHECK(r.find_phase(phase::fault_injected) == nullptr);
    REQUIRE_FALSE(r.errors.empty());
    CHECK(r.errors.front().find("no fault was injected") != std::string::npos);
    // Times stay relative to the drill's start: the first write was 4 s after it.
    CHECK(r.observed_from_ms == Script::k_fault_offset_ms - 1000);
    CHECK(r.verdict == Verdict::fail);
}

TEST_CASE("fault never detected: kill-primary without a failover", "[drills][analysis]") {
    Script s;
    s.fault("kill-primary", "pg1");
    s.writes(-1000, 8000, 10, [](Millis) { return std::optional<std::string>("pg1"); });
    steady_samples(s, -1000, 8000);
    s.restored("kill-primary", "pg1", 7000);
    Report r = run(s, input_for(FaultKind::kill_primary, s));
    CHECK(r.outages.empty());
    CHECK_FALSE(r.leader_changed);
    CHECK(r.find_phase(phase::old_leader_gone) == nullptr);
    CHECK_FALSE(check_passed(r, "leader_expectation"));
    CHECK(r.find_check("leader_expectation")->detail ==
          "expected a new leader: leader unchanged: pg1");
    CHECK(r.verdict == Verdict::fail);
}

TEST_CASE("probe never recovers: open outage, RTO unknown", "[drills][analysis]") {
    Script s;
    s.fault("partition-primary", "pg1");
    s.writes(-1000, 30000, 10, [](Millis t) -> std::optional<std::string> {
        if (t < 0) {
            return "pg1";
        }
        return std::nullopt;
    });
    s.samples("pg1", -1000, 30000, 50, [](Millis t) {
        return t < 0 ? primary_sample(1, 1000) : unreachable_sample("timeout");
    });
    s.samples("pg2", -1000, 30000, 50,
              [](Millis t) { return replica_sample(1, 1000, t < 10000 ? "pg1" : ""); });
    s.restored("partition-primary", "pg1", 29000, false, "nft delete table: no route to host");
    AnalysisInput in = input_for(FaultKind::partition_primary, s);
    in.objectives.max_rto_ms = 20000;
    Report r = run(s, in);

    CHECK_FALSE(r.rto_ms);
    REQUIRE(r.write_outage_ms);
    CHECK_FALSE(r.write_outage_recovered);
    // From the last acknowledged write (-7) to the end of the observation (29995).
    CHECK(*r.write_outage_ms == 30002);
    REQUIRE(r.outages.size() == 1);
    CHECK_FALSE(r.outages[0].end_ms);
    CHECK(r.find_phase(phase::first_ack_after_outage) == nullptr);
    CHECK(phase_at(r, phase::last_ack_before_outage) == -7);
    CHECK(phase_at(r, phase::old_leader_gone) == 10000);
    CHECK(r.new_primary.empty());
    CHECK_FALSE(check_passed(r, "writes_recovered"));
    CHECK_FALSE(check_passed(r, "max_rto"));
    CHECK_FALSE(check_passed(r, "leader_expectation"));
    CHECK_FALSE(check_passed(r, "restored"));
    CHECK(r.find_check("restored")->detail ==
          "restore step failed on pg1: nft delete table: no route to host");
    CHECK_FALSE(r.restored);
    CHECK(r.verdict == Verdict::fail);
}

TEST_CASE("kill-postmaster: leader unchanged, primary writable again", "[drills][analysis]") {
    Script s;
    s.fault("kill-postmaster", "pg1");
    s.writes(-1000, 8000, 10, [](Millis t) -> std::optional<std::string> {
        if (t >= 0 && t < 3000) {
            return std::nullopt;
        }
        return "pg1";
    });
    s.samples("pg1", -1000, 8000, 50, [](Millis t) {
        if (t >= 0 && t < 2500) {
            NodeSample x;  // Patroni answers, PostgreSQL does not
            x.role = NodeRole::primary;
            x.patroni_state = "starting";
            x.error = "connection refused";
            return x;
        }
        return primary_sample(1, 1000);
    });
    s.samples("pg2", -1000, 8000, 50, [](Millis) { return replica_sample(1, 1000, "pg1"); });
    s.restored("kill-postmaster", "pg1", 6000, true, "nothing to restore");
    Report r = run(s, input_for(FaultKind::kill_postmaster, s));

    CHECK_FALSE(r.leader_changed);
    CHECK(r.new_primary == "pg1");
    CHECK(check_passed(r, "leader_expectation"));
    CHECK(phase_at(r, phase::primary_back) == 2500);
    CHECK(r.rto_ms == std::optional<Millis>(3003));
    CHECK(r.write_outage_ms == std::optional<Millis>(3010));
    CHECK(r.predicted_rto_ms == std::optional<Millis>(2000 + 2000 + 1000));
    CHECK(r.verdict == Verdict::pass);
}

TEST_CASE("the longest of several outages is the write outage", "[drills][analysis]") {
    Script s;
    s.fault("switchover", "pg1");
    s.writes(-1000, 8000, 10, [](Millis t) -> std::optional<std::string> {
        if (t < 0) {
            return "pg1";
        }
        if (t == 300) {  // one ReadOnlySqlTransaction while pg1 demotes
            return std::nullopt;
        }
        if (t >= 400 && t < 2300) {
            return std::nullopt;
        }
        return t < 300 ? "pg1" : "pg2";
    });
    steady_samples(s, -1000, 0);
    s.samples("pg2", 0, 8000, 50, [](Millis t) {
        return t < 1600 ? replica_sample(1, 1000, "pg1") : primary_sample(2, 2000);
    });
    s.restored("switchover", "pg1", 2500, true, "nothing to restore");
    Report r = run(s, input_for(FaultKind::switchover, s));
    REQUIRE(r.outages.size() == 2);
    CHECK(r.outages[0].length_ms == 20);
    CHECK(r.write_outage_ms == std::optional<Millis>(2303 - 393));
    CHECK(r.rto_ms == std::optional<Millis>(2303));
    CHECK(phase_at(r, phase::last_ack_before_outage) == 393);
    CHECK(std::find(r.warnings.begin(), r.warnings.end(),
                    "2 write outages after the fault; the longest is reported") !=
          r.warnings.end());
    CHECK(r.leader_changed);
    CHECK(r.predicted_rto_ms == std::optional<Millis>(3000));
}

TEST_CASE("a silent gap longer than the threshold is an outage", "[drills][analysis]") {
    Script s;
    s.fault("kill-haproxy", "pg1");
    // Writes hang (no answer) from 0 to 1500, then succeed.
    s.writes(-500, 0, 10, [](Millis) { return std::optional<std::string>("pg1"); });
    s.writes(1500, 3000, 10, [](Millis) { return std::optional<std::string>("pg1"); });
    steady_samples(s, -500, 3000);
    s.restored("kill-haproxy", "pg1", 1400);
    AnalysisInput in = input_for(FaultKind::kill_haproxy, s);
    Report r = run(s, in);
    REQUIRE(r.outages.size() == 1);
    CHECK(r.outages[0].failed_writes == 0);
    CHECK(r.rto_ms == std::optional<Millis>(1503));
    CHECK_FALSE(r.predicted_rto_ms);

    in.outage_threshold_ms = 2000;  // then it is only a long gap
    Report relaxed = run(s, in);
    CHECK(relaxed.outages.empty());
    CHECK(relaxed.write_outage_ms == std::optional<Millis>(1510));
}

TEST_CASE("no writes at all: figures unknown, drill fails", "[drills][analysis]") {
    Script s;
    s.fault("kill-primary", "pg1");
    steady_samples(s, -1000, 1000);
    s.restored("kill-primary", "pg1", 500);
    Report r = run(s, input_for(FaultKind::kill_primary, s));
    CHECK_FALSE(r.rto_ms);
    CHECK_FALSE(r.write_outage_ms);
    CHECK_FALSE(check_passed(r, "writes_recovered"));
    CHECK_FALSE(check_passed(r, "completed"));
    CHECK(r.verdict == Verdict::fail);
}

TEST_CASE("the old primary comes from the samples when not given", "[drills][analysis]") {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    in.old_primary.clear();
    Report r = drill.analyze_with(in);
    CHECK(r.old_primary == "pg1");
    CHECK(r.verdict == Verdict::pass);
}

TEST_CASE("engine errors are carried over and fail the drill", "[drills][analysis]") {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    in.errors.push_back("post-check: pg3 not streaming after 120 s");
    Report r = drill.analyze_with(in);
    CHECK_FALSE(check_passed(r, "completed"));
    CHECK(r.find_check("completed")->detail == "post-check: pg3 not streaming after 120 s");
    CHECK(r.verdict == Verdict::fail);
}

TEST_CASE("post-check: missing replicas fail cluster_whole", "[drills][analysis]") {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    in.post_check->streaming_replicas = 1;
    Report r = drill.analyze_with(in);
    CHECK_FALSE(check_passed(r, "cluster_whole"));
    CHECK(r.find_check("cluster_whole")->detail == "leader pg2, 1 of 2 replicas streaming");
    CHECK(r.verdict == Verdict::fail);
}
