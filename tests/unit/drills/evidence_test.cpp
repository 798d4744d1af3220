// Server-side evidence: the parsers on logs recorded from real lab drills (Debian 13: Patroni
// 4.0.7, PostgreSQL 17, HAProxy 3.0; Debian 12: Patroni 3.0.2, PostgreSQL 15, HAProxy 2.6; see
// tests/golden/drills/evidence/README.md), clock offsets, and the phases of those drills
// re-derived from their evidence, plus scripted timelines with skewed clocks.
#include "drills/evidence.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "drills/evidence_phases.hpp"

using namespace pgdr;
using namespace pgdr::drills;

namespace {

std::string recorded(const std::string& path) {
    std::ifstream in(std::string(PGDR_GOLDEN_DIR) + "/drills/evidence/" + path);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

WallMicros utc(const std::string& text) {
    WallMicros res = 0;
    auto t = parse_timestamp(text, &res);
    REQUIRE(t.has_value());
    return *t;
}

// Every host's events of one recorded drill.
std::vector<ServerEvent> recorded_events(const std::string& dir) {
    std::vector<ServerEvent> out;
    for (const std::string host : {"pg1", "pg2", "pg3"}) {
        auto lines = parse_journal_json(recorded(dir + "/journal-" + host + ".json"));
        for (auto& v : {patroni_events(host, lines), haproxy_events(host, lines),
                        postgres_events(host, recorded(dir + "/postgresql-" + host + ".log"))}) {
            out.insert(out.end(), v.begin(), v.end());
        }
    }
    return out;
}

const ServerEvent* first(const std::vector<ServerEvent>& events, const std::string& host,
                         const std::string& kind, const std::string& subject = "") {
    const ServerEvent* best = nullptr;
    for (const auto& e : events) {
        if (e.host == host && e.kind == kind && (subject.empty() || e.subject == subject) &&
            (best == nullptr || e.at_us < best->at_us)) {
            best = &e;
        }
    }
    return best;
}

// The recorded report's phases (the samplers' times), then the evidence applied to them.
struct Rederived {
    std::vector<Phase> phases;
    Check causal;
};
Rederived rederive(const std::string& dir) {
    const auto report = nlohmann::json::parse(recorded(dir + "/report.json"));
    std::vector<Phase> phases;
    for (const auto& p : report["phases"]) {
        phases.push_back({p["name"], p["at_ms"].get<Millis>(), p["detail"]});
    }
    ServerEvidence ev;
    ev.events = recorded_events(dir);
    ev.haproxy_host = "pg3";
    // One kernel clock for every lab host: offset 0, bounded by a lab round trip.
    for (const std::string h : {"pg1", "pg2", "pg3"}) {
        ev.offsets.push_back({h, 0.0, 2.0});
    }
    PhaseContext c;
    c.old_primary = report["old_primary"];
    c.elected = report["new_primary"];
    c.fault_wall_us = utc(report["fault_at"].get<std::string>());
    c.sampler_lag_ms = 10;
    apply_evidence(phases, ev, c, ProbeCadence{});
    return {phases, causal_order(phases, c)};
}

const Phase& phase_named(const std::vector<Phase>& phases, const std::string& name) {
    for (const auto& p : phases) {
        if (p.name == name) {
            return p;
        }
    }
    FAIL("no phase " << name);
    return phases.front();
}

}  // namespace

TEST_CASE("timestamps of PostgreSQL, RFC 5424 and ISO 8601", "[drills][evidence]") {
    WallMicros res = 0;
    const WallMicros base = 1796447905000000;  // 2026-12-05T05:18:25Z
    CHECK(parse_timestamp("2026-12-05 05:18:25.041 UTC [3515] LOG:  x", &res) == base + 41000);
    CHECK(res == 1000);
    CHECK(parse_timestamp("2026-12-05T05:18:25.109079+00:00 - haproxy", &res) == base + 109079);
    CHECK(res == 1);
    CHECK(parse_timestamp("2026-12-05T07:18:25.5+02:00", &res) == base + 500000);
    CHECK(parse_timestamp("2026-12-05 00:18:25 -0500", &res) == base);
    CHECK(res == 1000000);
    CHECK(parse_timestamp("2026-12-05T05:18:25Z", &res) == base);
    CHECK_FALSE(parse_timestamp("2026-12-05 05:18:25.041 CET", &res));
    CHECK_FALSE(parse_timestamp("Dec  5 05:18:25 pg1 haproxy", &res));
    CHECK_FALSE(parse_timestamp("", &res));
}

TEST_CASE("journal lines: JSON objects with a time and a text message", "[drills][evidence]") {
    auto lines = parse_journal_json(
        "{\"__REALTIME_TIMESTAMP\":\"5\",\"_SYSTEMD_UNIT\":\"haproxy.service\",\"MESSAGE\":\"a\"}\n"
        "not json\n"
        "{\"__REALTIME_TIMESTAMP\":\"6\",\"SYSLOG_IDENTIFIER\":\"x\",\"MESSAGE\":[1,2]}\n"
        "{\"MESSAGE\":\"no time\"}\n"
        "{\"__REALTIME_TIMESTAMP\":\"7\",\"SYSLOG_IDENTIFIER\":\"patroni\",\"MESSAGE\":\"b\"}");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].received_us == 5);
    CHECK(lines[0].unit == "haproxy.service");
    CHECK(lines[1].unit == "patroni");
    CHECK(lines[1].message == "b");
}

TEST_CASE("recorded Debian 13 logs: Patroni 4.0.7, PostgreSQL 17, HAProxy 3.0",
          "[drills][evidence]") {
    const auto events = recorded_events("trixie/lose-primary-host");
    const auto* lock = first(events, "pg2", evidence::lock_acquired);
    REQUIRE(lock != nullptr);
    CHECK(lock->source == "patroni_log");
    CHECK(lock->at_us ==
          utc("2026-12-05 05:18:25.022 UTC"));  // Patroni's own time, not the journal's
    const auto* seen = first(events, "pg3", evidence::lock_owner, "pg2");
    REQUIRE(seen != nullptr);
    CHECK(seen->at_us < lock->at_us);  // a member logs the new holder first
    const auto* up = first(events, "pg3", evidence::server_up, "pg2");
    REQUIRE(up != nullptr);
    CHECK(up->port == "write");
    CHECK(up->at_us == utc("2026-12-05T05:18:25.109079Z"));  // HAProxy's RFC 5424 stamp
    CHECK(first(events, "pg2", evidence::promote_requested)->at_us ==
          utc("2026-12-05 05:18:25.041 UTC"));
    CHECK(first(events, "pg2", evidence::recovery_ended)->at_us ==
          utc("2026-12-05 05:18:25.232 UTC"));

    const auto sw = recorded_events("trixie/switchover");
    const auto* demote = first(sw, "pg2", evidence::demoted);
    REQUIRE(demote != nullptr);
    CHECK(demote->text == "INFO: switchover: demoting myself");
    CHECK(first(sw, "pg3", evidence::lock_acquired)->text.find("Cleaning up failover key") !=
          std::string::npos);
}

TEST_CASE("recorded Debian 12 logs: Patroni 3.0.2, PostgreSQL 15, HAProxy 2.6",
          "[drills][evidence]") {
    const auto events = recorded_events("bookworm/lose-primary-host");
    const auto* lock = first(events, "pg2", evidence::lock_acquired);
    REQUIRE(lock != nullptr);
    CHECK(lock->at_us == utc("2026-12-05 05:23:18.855 UTC"));
    const auto* up = first(events, "pg3", evidence::server_up, "pg2");
    REQUIRE(up != nullptr);
    // HAProxy saw the new holder's /primary answer 200 before Patroni logged its promotion.
    CHECK(up->at_us < lock->at_us);
    REQUIRE(first(events, "pg2", evidence::accepting_connections) != nullptr);

    const auto sw = recorded_events("bookworm/switchover");
    const auto* demote = first(sw, "pg2", evidence::demoted);
    REQUIRE(demote != nullptr);
    CHECK(demote->text == "INFO: manual failover: demoting myself");
    CHECK(first(sw, "pg2", evidence::no_leader) != nullptr);
}

TEST_CASE("the recorded drills re-derived: server sources, causal order holds",
          "[drills][evidence]") {
    for (const std::string dir :
         {"trixie/kill-primary", "trixie/switchover", "trixie/lose-primary-host",
          "bookworm/kill-primary", "bookworm/switchover", "bookworm/lose-primary-host"}) {
        INFO(dir);
        const auto r = rederive(dir);
        INFO(r.causal.detail);
        CHECK(r.causal.passed);
        const auto& elected = phase_named(r.phases, phase::new_leader_elected);
        CHECK(elected.source != "sampler");
        REQUIRE(elected.sampler_at_ms);
        // The samplers see the election later than the servers log it, never seconds earlier.
        CHECK(*elected.sampler_at_ms + 200 >= elected.at_ms - elected.uncertainty_ms);
        const auto& promoted = phase_named(r.phases, phase::promoted);
        CHECK(promoted.source == "postgres_log");
        CHECK(promoted.uncertainty_ms < 300);
        const auto& switched = phase_named(r.phases, phase::haproxy_switched);
        CHECK(switched.source == "haproxy_log");
        CHECK(switched.uncertainty_ms <= 3);
        CHECK(phase_named(r.phases, phase::fault_injected).source == "pgdr");
        CHECK(phase_named(r.phases, phase::first_write_failure).source == "sampler");
    }
}

TEST_CASE("clock offsets: the exchange with the smallest round trip", "[drills][evidence]") {
    // The host is 5 s ahead; a slow exchange (40 ms) and a quick one (4 ms).
    auto o = clock_offset("pg1", {{1000000, 6020000, 1040000}, {2000000, 7002500, 2004000}});
    REQUIRE(o);
    CHECK(o->offset_ms == Approx(5000.5));
    CHECK(o->bound_ms == Approx(2.0));
    CHECK_FALSE(clock_offset("pg1", {}));
    CHECK_FALSE(clock_offset("pg1", {{10, 0, 20}}));   // no remote time
    CHECK_FALSE(clock_offset("pg1", {{20, 15, 10}}));  // time ran backwards
}

namespace {

// A scripted failover: pg2 takes the key at +10.000 s, promotes by +10.100 s, HAProxy (on pg3)
// marks it UP at +10.050 s; every host logs in its own clock (pg2 5 s ahead, pg3 2 s behind).
std::vector<ServerEvent> skewed_failover(WallMicros fault) {
    auto ev = [](std::string host, const char* src, const char* kind, WallMicros at,
                 std::string subject = "", std::string port = "") {
        ServerEvent e;
        e.host = host;
        e.source = src;
        e.kind = kind;
        e.subject = subject.empty() ? host : subject;
        e.port = port;
        e.at_us = at;
        e.resolution_us = 1000;
        return e;
    };
    const WallMicros pg2 = 5000000;
    const WallMicros pg3 = -2000000;
    return {
        ev("pg3", source::patroni_log, evidence::lock_owner, fault + 9000000 + pg3, "pg1"),
        ev("pg2", source::patroni_log, evidence::lock_acquired, fault + 10000000 + pg2),
        ev("pg2", source::postgres_log, evidence::recovery_ended, fault + 10040000 + pg2),
        ev("pg2", source::postgres_log, evidence::accepting_connections, fault + 10100000 + pg2),
        ev("pg3", source::haproxy_log, evidence::server_up, fault + 10050000 + pg3, "pg2", "write"),
    };
}

std::vector<Phase> sampler_phases() {
    return {{phase::fault_injected, 0, "pg1"},
            {phase::new_leader_elected, 10080, "pg2"},
            {phase::promoted, 10150, "pg2"},
            {phase::haproxy_switched, 10160, "pg2"},
            {phase::first_ack_after_outage, 10170, ""}};
}

}  // namespace

TEST_CASE("skewed clocks: measured offsets put the evidence in order", "[drills][evidence]") {
    const WallMicros fault = 1796447905000000;
    PhaseContext c;
    c.old_primary = "pg1";
    c.elected = "pg2";
    c.first_ack_backend = "pg2";
    c.fault_wall_us = fault;
    ServerEvidence ev;
    ev.events = skewed_failover(fault);
    ev.haproxy_host = "pg3";

    SECTION("offsets applied") {
        ev.offsets = {{"pg1", 0, 1}, {"pg2", 5000, 1.5}, {"pg3", -2000, 1}};
        auto phases = sampler_phases();
        apply_evidence(phases, ev, c, ProbeCadence{});
        const auto& elected = phase_named(phases, phase::new_leader_elected);
        CHECK(elected.source == "patroni_log");
        // Between pg3 still seeing pg1 (+9.000 s) and pg2's own line (+10.000 s).
        CHECK(elected.at_ms == 9500);
        CHECK(elected.uncertainty_ms == 503);
        CHECK(elected.sampler_at_ms == 10080);
        const auto& promoted = phase_named(phases, phase::promoted);
        CHECK(promoted.at_ms == 10070);
        CHECK(promoted.uncertainty_ms == 33);
        CHECK(phase_named(phases, phase::haproxy_switched).at_ms == 10050);
        CHECK(phase_named(phases, phase::first_ack_after_outage).source == "sampler");
        CHECK(phase_named(phases, phase::first_ack_after_outage).uncertainty_ms == 10);
        const auto check = causal_order(phases, c);
        INFO(check.detail);
        CHECK(check.passed);
    }

    SECTION("offsets unknown: the skew shows as a contradiction, the report fails") {
        // pg2's clock 5 s ahead is read as the truth, pg3 with a wrong small bound.
        ev.offsets = {{"pg1", 0, 1}, {"pg2", 0, 1}, {"pg3", 0, 1}};
        auto phases = sampler_phases();
        apply_evidence(phases, ev, c, ProbeCadence{});
        const auto check = causal_order(phases, c);
        CHECK_FALSE(check.passed);
        CHECK(check.name == "causal_order");
        CHECK(check.detail.find("before its cause") != std::string::npos);
        CHECK(check.detail.find("not the cluster") != std::string::npos);
    }
}

TEST_CASE("causal order: the sampler's uncertainty is slack, not a contradiction",
          "[drills][evidence]") {
    PhaseContext c;
    c.elected = "pg2";
    c.first_ack_backend = "pg2";
    std::vector<Phase> phases = {{phase::fault_injected, 0, ""},
                                 {phase::promoted, 1000, "pg2"},
                                 {phase::first_ack_after_outage, 960, ""}};
    phases[1].uncertainty_ms = 60;
    phases[2].uncertainty_ms = 10;
    CHECK(causal_order(phases, c).passed);
    phases[1].uncertainty_ms = 20;
    CHECK_FALSE(causal_order(phases, c).passed);
    // Promoted -> first write only binds when the new leader acknowledged that write.
    c.first_ack_backend = "pg3";
    CHECK(causal_order(phases, c).passed);
    // Patroni's /primary may answer 200 before recovery ends: HAProxy first is no contradiction.
    std::vector<Phase> early = {{phase::promoted, 1000, "pg2"},
                                {phase::haproxy_switched, 800, "pg2"}};
    CHECK(causal_order(early, c).passed);
    // Nothing caused by the fault precedes it.
    std::vector<Phase> before = {{phase::fault_injected, 0, ""},
                                 {phase::new_leader_elected, -500, "pg2"}};
    before[1].uncertainty_ms = 100;
    CHECK_FALSE(causal_order(before, c).passed);
}
