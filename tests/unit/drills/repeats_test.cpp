#include "drills/repeats.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "scenarios.hpp"

using namespace pgdr;
using namespace pgdr::drills;
using namespace pgdr::drills::test;

TEST_CASE("summarize: min, median, nearest-rank p95, max", "[drills][repeats]") {
    CHECK_FALSE(summarize({}));

    auto one = summarize({42});
    REQUIRE(one);
    CHECK(one->count == 1);
    CHECK(one->min == 42);
    CHECK(one->median == 42);
    CHECK(one->p95 == 42);
    CHECK(one->max == 42);

    auto odd = summarize({9.6, 9.2, 10.7, 9.6, 8.9});
    REQUIRE(odd);
    CHECK(odd->min == Approx(8.9));
    CHECK(odd->median == Approx(9.6));
    CHECK(odd->p95 == Approx(10.7));  // ceil(0.95 * 5) = 5th smallest
    CHECK(odd->max == Approx(10.7));

    auto even = summarize({4, 1, 3, 2});
    REQUIRE(even);
    CHECK(even->median == Approx(2.5));

    std::vector<double> hundred;
    for (int i = 100; i >= 1; --i) {
        hundred.push_back(i);
    }
    auto h = summarize(hundred);
    REQUIRE(h);
    CHECK(h->p95 == 95);  // 95th smallest of 1..100
    CHECK(h->median == Approx(50.5));
}

TEST_CASE("aggregate: N drill reports into one summary", "[drills][repeats]") {
    std::vector<Report> reports;
    for (Millis shift : {0, 400, -300, 1200, 100}) {
        KillPrimaryDrill drill;
        Report r = drill.analyze();
        // Vary the figures as repeated runs do.
        *r.rto_ms += shift;
        *r.write_outage_ms += shift;
        for (auto& p : r.phases) {
            if (p.name == phase::promoted) {
                p.at_ms += shift;
            }
        }
        reports.push_back(r);
    }
    reports[3].verdict = Verdict::fail;
    reports[3].split_brain = true;
    reports[4].rto_ms.reset();

    RepeatSummary s = aggregate(reports);
    CHECK(s.drill == "kill-primary");
    CHECK(s.cluster == "lab");
    CHECK(s.runs == 5);
    CHECK(s.passed == 4);
    CHECK(s.split_brain_runs == 1);
    CHECK(s.unrecovered_runs == 1);
    CHECK(s.verdict == Verdict::fail);
    REQUIRE(s.rto_ms);
    CHECK(s.rto_ms->count == 4);  // the unrecovered run has no RTO
    CHECK(s.rto_ms->min == 11203 - 300);
    CHECK(s.rto_ms->median == Approx((11203 + 11603) / 2.0));
    CHECK(s.rto_ms->max == 11203 + 1200);
    REQUIRE(s.write_outage_ms);
    CHECK(s.write_outage_ms->count == 5);
    CHECK(s.write_outage_ms->median == 11210 + 100);
    REQUIRE(s.predicted_rto_ms);
    CHECK(s.predicted_rto_ms->min == 11000);
    CHECK(s.predicted_rto_ms->max == 11000);
    REQUIRE(s.lost_acknowledged_writes);
    CHECK(s.lost_acknowledged_writes->max == 0);
    auto promoted = std::find_if(s.phases.begin(), s.phases.end(),
                                 [](const auto& p) { return p.first == phase::promoted; });
    REQUIRE(promoted != s.phases.end());
    CHECK(promoted->second.min == 10700);
    CHECK(promoted->second.max == 12200);
    // Phases keep the canonical order.
    REQUIRE(s.phases.size() == 10);
    CHECK(s.phases.front().first == phase::last_ack_before_outage);
    CHECK(s.phases.back().first == phase::old_primary_rejoined);
}

TEST_CASE("aggregate: all runs passing pass; mixed drills are refused", "[drills][repeats]") {
    KillPrimaryDrill drill;
    std::vector<Report> reports{drill.analyze(), drill.analyze()};
    CHECK(aggregate(reports).verdict == Verdict::pass);
    reports[1].drill = "switchover";
    CHECK_THROWS_AS(aggregate(reports), Error);
    CHECK_THROWS_AS(aggregate({}), Error);
}
