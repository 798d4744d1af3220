// Scripted drills shared by the analysis and rendering tests.
#pragma once

#include <string>

#include "drill_script.hpp"
#include "drills/analysis.hpp"

namespace pgdr::drills::test {

// The tuned timing profile (Debian 12, Patroni 3.0.2 accepts it as is): ttl 10, loop_wait 2,
// retry_timeout 4, HAProxy inter 1 s, fall 2, rise 1.
inline ClusterSettings tuned_settings() {
    ClusterSettings s;
    s.ttl_s = 10;
    s.loop_wait_s = 2;
    s.retry_timeout_s = 4;
    s.haproxy_inter_ms = 1000;
    s.haproxy_down_inter_ms = 1000;
    s.haproxy_fall = 2;
    s.haproxy_rise = 1;
    return s;
}

// A --kill-primary drill on pg1 (times in ms from the fault):
//   writes every 10 ms through pg1 until -10 (acknowledged at -7), failing from 0, through pg2
//   from 11200 (first acknowledged at 11203); pg1 unreachable after 0, restored at 20000, back
//   as a replica on the old timeline at 21500 and on the leader's timeline 2 at 23000; pg2
//   4096 bytes behind at the fault, sees no leader from 10000, is leader from 10950 and out of
//   recovery from 11000; pg3 sees pg2 as leader from 10925; HAProxy marks pg2 UP at 11180.
struct KillPrimaryDrill {
    Script script;
    std::int64_t applied_unacked_seq = 0;  // the first failed write, present on pg2 afterwards

    KillPrimaryDrill() {
        script.fault("kill-primary", "pg1");
        script.writes(-2000, 25000, 10, [](Millis t) -> std::optional<std::string> {
            if (t < 0) {
                return "pg1";
            }
            if (t < 11200) {
                return std::nullopt;
            }
            return "pg2";
        });
        applied_unacked_seq = script.failed().front();
        auto pg1_lsn = [](Millis t) {
            return static_cast<std::uint64_t>(50000000 + (t + 2000) * 10);
        };
        script.samples("pg1", -2000, 25000, 50, [&](Millis t) {
            if (t <= 0) {  // the sample at 0 was taken just before the kill
                return primary_sample(1, pg1_lsn(t));
            }
            if (t < 21500) {
                return unreachable_sample();
            }
            return replica_sample(t < 23000 ? 1 : 2, 60000000, "pg2");
        });
        script.samples("pg2", -2000, 25000, 50, [&](Millis t) {
            if (t < 10950) {
                return replica_sample(1, pg1_lsn(t) - 4096, t < 10000 ? "pg1" : "");
            }
            NodeSample s = primary_sample(2, 60000000);
            s.in_recovery = t >= 11000 ? false : true;
            s.leader_seen = "pg2";
            return s;
        });
        script.samples("pg3", -1975, 25000, 50, [&](Millis t) {
            std::string leader = t < 10000 ? "pg1" : (t < 10900 ? "" : "pg2");
            return replica_sample(t < 12000 ? 1 : 2, pg1_lsn(t), leader);
        });
        script.haproxy(-2000, "pg1", "UP");
        script.haproxy(-2000, "pg2", "DOWN");
        script.haproxy(2000, "pg1", "DOWN");
        script.haproxy(11180, "pg2", "UP");
        script.restored("kill-primary", "pg1", 20000);
    }

    AnalysisInput input() const {
        AnalysisInput in;
        in.fault = FaultKind::kill_primary;
        in.cluster = "lab";
        in.old_primary = "pg1";
        in.settings = tuned_settings();
        in.objectives.max_rto_ms = 15000;
        in.objectives.max_lost = 0;
        std::vector<std::int64_t> seqs = script.acked();
        seqs.push_back(applied_unacked_seq);
        in.seqs_on_new_primary = seqs;
        PostCheck pc;
        pc.leader = "pg2";
        pc.timelines = {{"pg1", 2}, {"pg2", 2}, {"pg3", 2}};
        pc.streaming_replicas = 2;
        pc.expected_replicas = 2;
        in.post_check = pc;
        return in;
    }

    Report analyze_with(const AnalysisInput& in) {
        FakeClock clock;
        Timeline timeline(clock);
        script.replay(clock, timeline);
        return drills::analyze(timeline, in);
    }
    Report analyze() { return analyze_with(input()); }
};

}  // namespace pgdr::drills::test
