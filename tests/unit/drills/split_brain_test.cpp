#include <algorithm>
#include <catch2/catch.hpp>

#include "drill_script.hpp"
#include "drills/analysis.hpp"
#include "scenarios.hpp"

using namespace pgdr;
using namespace pgdr::drills;
using namespace pgdr::drills::test;

namespace {

bool has_evidence(const Report& r, const std::string& kind) {
    return std::any_of(r.split_brain_evidence.begin(), r.split_brain_evidence.end(),
                       [&](const SplitBrainEvidence& e) { return e.kind == kind; });
}

// Patroni 3.0.2's flip-back after a healed partition (fixed upstream by PR #2689): pg1 partitioned;
// pg2 promoted to timeline 2 at 11000 and accepts writes; the partition heals at 20000; pg1 takes
// the key back, promotes itself to the same timeline number at 20300 and HAProxy sends writes to it
// from 20500; pg2 demotes at 20600.
struct FlipBackDrill {
    Script script;

    FlipBackDrill() {
        script.fault("partition-primary", "pg1");
        script.writes(-1000, 25000, 10, [](Millis t) -> std::optional<std::string> {
            if (t < 0) {
                return "pg1";
            }
            if (t < 11200) {
                return std::nullopt;
            }
            return t < 20500 ? "pg2" : "pg1";
        });
        script.samples("pg1", -1000, 25000, 50, [](Millis t) {
            if (t < 0) {
                return primary_sample(1, 1000);
            }
            return t < 20000 ? unreachable_sample("timeout")
                             : (t < 20300 ? replica_sample(1, 1000) : primary_sample(2, 9000));
        });
        script.samples("pg2", -1000, 25000, 50, [](Millis t) {
            if (t < 11000) {
                return replica_sample(1, 1000, t < 10000 ? "pg1" : "");
            }
            return t < 20600 ? primary_sample(2, 5000) : replica_sample(2, 5000, "pg1");
        });
        script.restored("partition-primary", "pg1", 20000);
    }
};

}  // namespace

TEST_CASE("split brain: the flip-back after a healed partition is caught by every signal",
          "[drills][split_brain]") {
    FlipBackDrill drill;
    FakeClock clock;
    Timeline timeline(clock);
    drill.script.replay(clock, timeline);
    AnalysisInput in;
    in.fault = FaultKind::partition_primary;
    in.cluster = "lab";
    in.old_primary = "pg1";
    in.settings = tuned_settings();
    // pg1 won: pg2's writes are gone.
    std::vector<std::int64_t> on_pg1;
    for (const auto& e : timeline.events()) {
        if (const auto* a = std::get_if<WriteAcked>(&e.data); a && a->backend == "pg1") {
            on_pg1.push_back(a->seq);
        }
    }
    in.seqs_on_new_primary = on_pg1;
    PostCheck pc;
    pc.leader = "pg1";
    pc.timelines = {{"pg1", 2}, {"pg2", 2}};
    pc.histories_consistent = false;
    pc.streaming_replicas = 0;
    pc.expected_replicas = 1;
    in.post_check = pc;
    Report r = analyze(timeline, in);

    CHECK(r.split_brain);
    CHECK(has_evidence(r, "two_writable_primaries"));
    CHECK(has_evidence(r, "alternating_write_backends"));
    CHECK(has_evidence(r, "same_timeline_two_primaries"));
    CHECK(has_evidence(r, "histories_inconsistent"));
    CHECK_FALSE(has_evidence(r, "timelines_inconsistent"));
    for (const auto& e : r.split_brain_evidence) {
        if (e.kind == "two_writable_primaries") {
            REQUIRE(e.at_ms);
            CHECK(*e.at_ms == 20300);
            CHECK(e.detail ==
                  "pg1 and pg2 were both not in recovery for 0.30 s from +20.30 s; writes "
                  "acknowledged by both (10 by pg1, 20 by pg2)");
        }
        if (e.kind == "alternating_write_backends") {
            CHECK(e.detail.find("pg1 -> pg2 -> pg1") != std::string::npos);
        }
    }
    // Writes acknowledged by pg2 from 11200 to 20490: 930 of them, lost.
    CHECK(r.lost_acknowledged_writes == std::optional<std::int64_t>(930));
    CHECK(r.new_primary == "pg1");
    CHECK_FALSE(r.leader_changed);  // the leader at the end is the old one
    CHECK(std::find(r.warnings.begin(), r.warnings.end(),
                    "leadership moved again after the election: pg2 was elected, pg1 leads at "
                    "the end") != r.warnings.end());
    CHECK_FALSE(r.find_check("no_split_brain")->passed);
    CHECK_FALSE(r.find_check("max_lost")->passed);
    CHECK_FALSE(r.find_check("cluster_whole")->passed);
    CHECK(r.verdict == Verdict::fail);
    CHECK(exit_code(r) == ExitCode::objectives_missed);
}

TEST_CASE("split brain: timelines that disagree after the drill", "[drills][split_brain]") {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    in.post_check->timelines["pg1"] = 1;
    Report r = drill.analyze_with(in);
    REQUIRE(r.split_brain);
    REQUIRE(r.split_brain_evidence.size() == 1);
    CHECK(r.split_brain_evidence[0].kind == "timelines_inconsistent");
    CHECK(r.split_brain_evidence[0].detail == "pg1 is on timeline 1, the leader pg2 on timeline 2");
    CHECK_FALSE(r.split_brain_evidence[0].at_ms);
    CHECK(r.verdict == Verdict::fail);
}

TEST_CASE("two primaries without writes on both is a warning, not split brain",
          "[drills][split_brain]") {
    Script s;
    s.fault("switchover", "pg1");
    s.writes(-1000, 5000, 10, [](Millis t) -> std::optional<std::string> {
        if (t < 0) {
            return "pg1";
        }
        return t < 1000 ? std::nullopt : std::optional<std::string>("pg2");
    });
    // pg1 sampled slowly: its last primary sample (at 500) still counts until 1400.
    s.samples("pg1", -1300, 5000, 900, [](Millis t) {
        return t <= 500 ? primary_sample(1, 1000) : replica_sample(2, 2000, "pg2");
    });
    s.samples("pg2", -1000, 5000, 50, [](Millis t) {
        return t < 1000 ? replica_sample(1, 1000, "pg1") : primary_sample(2, 2000);
    });
    s.restored("switchover", "pg1", 2000, true, "nothing to restore");
    AnalysisInput in;
    in.fault = FaultKind::switchover;
    in.old_primary = "pg1";
    in.settings = tuned_settings();
    in.seqs_on_new_primary = s.acked();
    FakeClock clock;
    Timeline timeline(clock);
    s.replay(clock, timeline);
    Report r = analyze(timeline, in);

    CHECK_FALSE(r.split_brain);
    CHECK(std::find(r.warnings.begin(), r.warnings.end(),
                    "pg1 and pg2 were both not in recovery for 0.40 s from +1.00 s (no write "
                    "acknowledged by both)") != r.warnings.end());
    for (const auto& c : r.checks) {
        INFO(c.name << ": " << c.detail);
        CHECK(c.passed);
    }
    CHECK(r.verdict == Verdict::pass);
}
