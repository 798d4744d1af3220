// Drills measure alerting (issue 15): Alertmanager polls on the timeline become the report's
// `alerts` ({name, expected, fired_ms, resolved_ms} relative to the fault), the check
// alerts_fired and --max-time-to-alert (exit 8); the engine holds the fault for its alerts.
#include "drills/alert_watch.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "core/error.hpp"
#include "drills/engine.hpp"
#include "drills/fault_catalogue.hpp"
#include "drills/report_json.hpp"
#include "drills/report_markdown.hpp"
#include "drills/report_svg.hpp"
#include "drills/report_text.hpp"
#include "fakes/manual_clock.hpp"
#include "unit/drills/fake_cluster.hpp"
#include "unit/drills/scenarios.hpp"

using namespace pgdr;
using namespace pgdr::drills;
using pgdr::drills::test::KillPrimaryDrill;
using pgdr::drills::test::Script;
using pgdr::drills::testing::FakeCluster;

namespace {

// The fault's wall-clock time in the scripted drills (FakeClock: 2026-05-04T10:00:00Z + 5 s).
constexpr long long k_fault_wall_ms = 1777888800000LL + Script::k_fault_offset_ms;

monitoring::Alert alert(const std::string& name, long long starts_rel_ms) {
    monitoring::Alert a;
    a.name = name;
    a.state = "active";
    a.starts_at_ms = k_fault_wall_ms + starts_rel_ms;
    return a;
}

// One poll a second from -2 s to +25 s; `active(t)` lists what Alertmanager says at t.
void polls(Script& s, const std::function<std::vector<monitoring::Alert>(Millis)>& active) {
    for (Millis t = -2000; t < 25000; t += 1000) {
        s.add(t + 1, AlertsPolled{active(t), ""});
    }
}

// pg1's Patroni down from +4.2 s (listed from +5 s, gone at +22 s); the new timeline raises
// PatroniLeaderChanged at +12 s (listed from +13 s, still firing at the end); PostgresDown,
// not expected of kill-primary, from +6 s to +9 s.
std::vector<monitoring::Alert> kill_primary_alerts(Millis t) {
    std::vector<monitoring::Alert> out;
    if (t >= 5000 && t < 22000) {
        out.push_back(alert("PatroniMemberDown", 4200));
    }
    if (t >= 13000) {
        out.push_back(alert("PatroniLeaderChanged", 12000));
    }
    if (t >= 7000 && t < 9000) {
        out.push_back(alert("PostgresDown", 6000));
    }
    return out;
}

Report watched(KillPrimaryDrill& drill, std::optional<Millis> max_time_to_alert = std::nullopt) {
    auto in = drill.input();
    in.alerts_watched = true;
    in.objectives.max_time_to_alert_ms = max_time_to_alert;
    return drill.analyze_with(in);
}

}  // namespace

TEST_CASE("alerts: fired and resolved relative to the fault, the expected ones first",
          "[drills][alerts]") {
    KillPrimaryDrill drill;
    polls(drill.script, kill_primary_alerts);
    const Report r = watched(drill);
    REQUIRE(r.alerts.size() == 3);
    CHECK(r.alerts[0].name == "PatroniMemberDown");
    CHECK(r.alerts[0].expected);
    CHECK(r.alerts[0].fired_ms == 4200);
    CHECK(r.alerts[0].resolved_ms == 22001);  // the first poll that no longer lists it
    CHECK(r.alerts[1].name == "PatroniLeaderChanged");
    CHECK(r.alerts[1].expected);
    CHECK(r.alerts[1].fired_ms == 12000);
    CHECK_FALSE(r.alerts[1].resolved_ms);
    CHECK(r.alerts[2].name == "PostgresDown");
    CHECK_FALSE(r.alerts[2].expected);
    CHECK(r.alerts[2].fired_ms == 6000);
    CHECK(r.alerts[2].resolved_ms == 9001);
    CHECK(r.time_to_alert_ms == 4200);
    const Check* c = r.find_check("alerts_fired");
    REQUIRE(c != nullptr);
    CHECK(c->passed);
    CHECK(c->detail ==
          "PatroniMemberDown fired at +4.20 s, PatroniLeaderChanged fired at +12.00 s");
    CHECK(r.verdict == Verdict::pass);

    auto j = nlohmann::json::parse(render_json(r));
    REQUIRE(j["alerts"].size() == 3);
    CHECK(j["alerts"][0] == nlohmann::json{{"name", "PatroniMemberDown"},
                                           {"expected", true},
                                           {"fired_ms", 4200},
                                           {"resolved_ms", 22001}});
    CHECK(j["alerts"][1]["resolved_ms"].is_null());
    CHECK(j["time_to_alert_ms"] == 4200);
    const auto text = render_text(r);
    CHECK(text.find("alerts (Alertmanager, relative to the fault):") != std::string::npos);
    CHECK(text.find("PatroniLeaderChanged  expected  fired +12.00 s  not resolved while watched") !=
          std::string::npos);
    CHECK(text.find("time to alert (first expected alert)") != std::string::npos);
    CHECK(render_markdown(r).find("| PatroniMemberDown | yes | +4.20 s | +22.00 s |") !=
          std::string::npos);
    const auto svg = render_svg(r);
    CHECK(svg.find("<g class=\"alerts\">") != std::string::npos);
    CHECK(svg.find("PatroniMemberDown (expected) fired +4.20 s, resolved +22.00 s") !=
          std::string::npos);
}

TEST_CASE("alerts: an expected alert that never fires fails alerts_fired, exit 8",
          "[drills][alerts]") {
    KillPrimaryDrill drill;
    polls(drill.script, [](Millis t) {
        auto all = kill_primary_alerts(t);
        std::erase_if(all, [](const auto& a) { return a.name == "PatroniLeaderChanged"; });
        return all;
    });
    const Report r = watched(drill);
    const Check* c = r.find_check("alerts_fired");
    REQUIRE(c != nullptr);
    CHECK_FALSE(c->passed);
    CHECK(c->detail == "PatroniMemberDown fired at +4.20 s, PatroniLeaderChanged did not fire");
    CHECK(r.verdict == Verdict::fail);
    CHECK(exit_code(r) == ExitCode::objectives_missed);
    CHECK(static_cast<int>(exit_code(r)) == 8);
    auto j = nlohmann::json::parse(render_json(r));
    CHECK(j["alerts"][1]["name"] == "PatroniLeaderChanged");
    CHECK(j["alerts"][1]["fired_ms"].is_null());
    CHECK(j["alerts"][1]["resolved_ms"].is_null());
    CHECK(render_svg(r).find("PatroniLeaderChanged (expected): did not fire") != std::string::npos);
}

TEST_CASE("alerts: --max-time-to-alert bounds every expected alert", "[drills][alerts]") {
    KillPrimaryDrill late;
    polls(late.script, kill_primary_alerts);
    const Report r = watched(late, 10000);
    const Check* c = r.find_check("alerts_fired");
    REQUIRE(c != nullptr);
    CHECK_FALSE(c->passed);
    CHECK(c->detail ==
          "PatroniMemberDown fired at +4.20 s, PatroniLeaderChanged fired at "
          "+12.00 s, after 10.00 s; objective 10.00 s");
    CHECK(exit_code(r) == ExitCode::objectives_missed);
    CHECK(nlohmann::json::parse(render_json(r))["objectives"]["max_time_to_alert_ms"] == 10000);

    KillPrimaryDrill in_time;
    polls(in_time.script, kill_primary_alerts);
    const Report ok = watched(in_time, 15000);
    CHECK(ok.find_check("alerts_fired")->passed);
    CHECK(ok.verdict == Verdict::pass);
}

TEST_CASE("alerts: no monitor host, no alerts in the report", "[drills][alerts]") {
    KillPrimaryDrill drill;
    const Report r = drill.analyze();
    CHECK_FALSE(r.alerts_watched);
    CHECK(r.find_check("alerts_fired") == nullptr);
    auto j = nlohmann::json::parse(render_json(r));
    CHECK_FALSE(j.contains("alerts"));
    CHECK_FALSE(j.contains("time_to_alert_ms"));
    CHECK(render_text(r).find("alerts (") == std::string::npos);
}

TEST_CASE("alerts: one already firing before the fault is not this fault's", "[drills][alerts]") {
    KillPrimaryDrill drill;
    polls(drill.script, [](Millis t) {
        auto all = kill_primary_alerts(t);
        std::erase_if(all, [](const auto& a) { return a.name == "PatroniLeaderChanged"; });
        all.push_back(alert("PatroniLeaderChanged", -60000));  // an earlier drill's, still on
        return all;
    });
    const Report r = watched(drill);
    CHECK_FALSE(r.alerts[1].fired_ms);
    CHECK_FALSE(r.find_check("alerts_fired")->passed);
    bool warned = false;
    for (const auto& w : r.warnings) {
        warned = warned || w.find("already firing before the fault") != std::string::npos;
    }
    CHECK(warned);
}

TEST_CASE("alerts: Alertmanager never answering fails the check and says so", "[drills][alerts]") {
    KillPrimaryDrill drill;
    for (Millis t = -2000; t < 25000; t += 1000) {
        drill.script.add(t + 1, AlertsPolled{{}, "no Alertmanager answered (pg3: timeout)"});
    }
    const Report r = watched(drill);
    const Check* c = r.find_check("alerts_fired");
    REQUIRE(c != nullptr);
    CHECK_FALSE(c->passed);
    CHECK(c->detail.find("Alertmanager never answered after the fault: no Alertmanager "
                         "answered (pg3: timeout)") != std::string::npos);
    CHECK(r.warnings.back().find("did not answer 25 of 25 polls") != std::string::npos);
}

TEST_CASE("alerts: the alert probe records each poll, or why it failed", "[drills][alerts]") {
    test::FakeClock clock;
    Timeline timeline(clock);
    int calls = 0;
    auto probe = make_alert_probe(
        [&]() -> std::vector<monitoring::Alert> {
            if (++calls == 2) {
                throw Error(ExitCode::unreachable, "no Alertmanager answered");
            }
            return {alert("EtcdMemberDown", 0)};
        },
        clock, std::chrono::milliseconds(1000));
    probe->start(timeline);
    while (timeline.size() < 3) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    probe->stop();
    const auto events = timeline.events();
    const auto* first = std::get_if<AlertsPolled>(&events[0].data);
    const auto* second = std::get_if<AlertsPolled>(&events[1].data);
    REQUIRE(first != nullptr);
    REQUIRE(second != nullptr);
    CHECK(first->alerts.size() == 1);
    CHECK(first->error.empty());
    CHECK(second->alerts.empty());
    CHECK(second->error == "no Alertmanager answered");
    CHECK(events[1].at_ms - events[0].at_ms == 1000);
}

namespace {

// Alertmanager as the fake cluster would have it: `name` fires `fires_ms` after the fault (as
// Prometheus stamps it) and is listed from then on. Polled as fast as the test runs, on a
// clock of its own (the engine's manual clock moves only with the engine's waits).
struct FakeAlertmanager {
    FakeAlertmanager(std::string n, std::optional<long long> f,
                     std::optional<long long> r = std::nullopt)
        : name(std::move(n)), fires_ms(f), resolves_ms(r) {}
    fakes::ManualClock own_clock;
    std::string name;
    std::optional<long long> fires_ms;
    std::optional<long long> resolves_ms;  // after the fault's restore; nullopt: never

    std::unique_ptr<Probe> probe(Clock& cluster_clock) {
        return std::make_unique<PollingProbe>(
            "alerts", own_clock, std::chrono::milliseconds(1000),
            [this, &cluster_clock](Timeline& t) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
                AlertsPolled poll;
                const long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                          cluster_clock.wall_now().time_since_epoch())
                                          .count();
                for (const auto& e : t.events()) {
                    const long long at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                             t.wall_at(e.at_ms).time_since_epoch())
                                             .count();
                    if (std::holds_alternative<FaultRestored>(e.data) && resolves_ms &&
                        now >= at + *resolves_ms) {
                        poll.alerts.clear();
                        break;
                    }
                    if (std::holds_alternative<FaultInjected>(e.data) && fires_ms) {
                        const long long fault = at;
                        if (now >= fault + *fires_ms) {
                            monitoring::Alert a;
                            a.name = name;
                            a.starts_at_ms = fault + *fires_ms;
                            poll.alerts.push_back(a);
                        }
                    }
                }
                t.record(std::move(poll));
            });
    }
};

// The cluster's manual clock, but each sleep also takes a little real time: the engine's waits
// (100 ms steps, instant on a manual clock) then leave the fake Alertmanager's thread room to
// poll between them, as a real second leaves the real probe.
class PacedClock final : public Clock {
  public:
    explicit PacedClock(Clock& inner) : m_inner(inner) {}
    std::chrono::steady_clock::time_point steady_now() override { return m_inner.steady_now(); }
    std::chrono::system_clock::time_point wall_now() override { return m_inner.wall_now(); }
    void sleep_for(std::chrono::milliseconds d) override {
        std::this_thread::sleep_for(std::chrono::microseconds(300));
        m_inner.sleep_for(d);
    }

  private:
    Clock& m_inner;
};

DrillSeams watched_seams(FakeCluster& c, FakeAlertmanager& am, PacedClock& clock) {
    DrillSeams s = c.seams();
    auto inner = s.probes;
    DrillSeams w{s.topology,
                 s.settings,
                 clock,
                 s.http,
                 s.cluster,
                 s.transport,
                 s.host_control,
                 [inner, &am, &c](const std::string& run, const std::string& target) {
                     auto probes = inner(run, target);
                     probes.push_back(am.probe(c.clock));
                     return probes;
                 },
                 s.rest_user,
                 s.rest_password,
                 s.lock_dir,
                 s.interrupted,
                 s.progress,
                 s.vantage};
    w.watch_alerts = true;
    return w;
}

DrillOptions etcd_drill(std::optional<Millis> max_time_to_alert) {
    DrillOptions o;
    o.fault = FaultKind::kill_etcd_member;
    o.baseline = std::chrono::milliseconds(1000);
    o.timeout = std::chrono::milliseconds(120000);
    o.tail = std::chrono::milliseconds(200);
    o.objectives.max_time_to_alert_ms = max_time_to_alert;
    return o;
}

// The engine's run, and how long it took on the cluster's manual clock.
DrillOutcome timed_run(DrillEngine& engine, FakeCluster& c, long long& elapsed_ms) {
    const auto t0 = c.clock.steady_now();
    auto out = engine.run();
    elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(c.clock.steady_now() - t0).count();
    return out;
}

Millis restored_at(const Report& r) {
    const Phase* p = r.find_phase(phase::fault_restored);
    return p != nullptr ? p->at_ms : -1;
}

}  // namespace

TEST_CASE("drill engine: the fault is held until its alerts fire", "[drills][engine][alerts]") {
    FakeCluster c;
    c.settings.ttl_s = 10;
    FakeAlertmanager am("EtcdMemberDown", 25000);  // later than the ttl the drill waits
    PacedClock clock(c.clock);
    DrillEngine engine(watched_seams(c, am, clock), etcd_drill(std::nullopt));
    const auto out = engine.run();
    REQUIRE(out.reports.size() == 1);
    const Report& r = out.reports.front();
    REQUIRE(r.alerts_watched);
    REQUIRE_FALSE(r.alerts.empty());
    CHECK(r.alerts[0].name == "EtcdMemberDown");
    CHECK(r.alerts[0].fired_ms == 25000);
    CHECK(r.find_check("alerts_fired")->passed);
    // Restored once the alert was seen, not after the ttl alone.
    CHECK(restored_at(r) >= 25000);
    CHECK(restored_at(r) < 60000);
}

TEST_CASE("drill engine: after the restore the probes watch until a fired alert resolves",
          "[drills][engine][alerts]") {
    FakeCluster c;
    c.settings.ttl_s = 10;
    // Resolved 5 s after the restore: longer than the tail, well within the minute's bound.
    FakeAlertmanager am("EtcdMemberDown", 4000, 5000);
    PacedClock clock(c.clock);
    DrillEngine engine(watched_seams(c, am, clock), etcd_drill(15000));
    const auto out = engine.run();
    REQUIRE(out.reports.size() == 1);
    const Report& r = out.reports.front();
    REQUIRE_FALSE(r.alerts.empty());
    CHECK(r.alerts[0].name == "EtcdMemberDown");
    CHECK(r.alerts[0].fired_ms == 4000);
    REQUIRE(r.alerts[0].resolved_ms.has_value());
    CHECK(*r.alerts[0].resolved_ms >= restored_at(r) + 5000);
    CHECK(*r.alerts[0].resolved_ms < restored_at(r) + 8000);
    CHECK(r.find_check("alerts_fired")->passed);
}

TEST_CASE("drill engine: an alert that never resolves is watched for a minute, not more",
          "[drills][engine][alerts]") {
    FakeCluster c;
    c.settings.ttl_s = 10;
    FakeAlertmanager am("EtcdMemberDown", 4000, std::nullopt);
    PacedClock clock(c.clock);
    DrillEngine engine(watched_seams(c, am, clock), etcd_drill(15000));
    long long elapsed = 0;
    const auto out = timed_run(engine, c, elapsed);
    REQUIRE(out.reports.size() == 1);
    const Report& r = out.reports.front();
    REQUIRE_FALSE(r.alerts.empty());
    CHECK(r.alerts[0].fired_ms == 4000);
    CHECK_FALSE(r.alerts[0].resolved_ms.has_value());
    // From the run's start: the baseline, the fault until the restore, then the minute.
    const long long restored_since_start = 1000 + restored_at(r);
    CHECK(elapsed >= restored_since_start + 60000);
    CHECK(elapsed < restored_since_start + 70000);
}

TEST_CASE("drill engine: an alert that lasts a fixed window is not watched until it resolves",
          "[drills][engine][alerts]") {
    CHECK(alert_lasts_a_window("PatroniLeaderChanged"));
    CHECK_FALSE(alert_lasts_a_window("PatroniMemberDown"));
    FakeCluster c;
    // PatroniLeaderChanged fires with the promotion and stays for its minute.
    FakeAlertmanager am("PatroniLeaderChanged", 2000, std::nullopt);
    PacedClock clock(c.clock);
    DrillOptions o = etcd_drill(std::nullopt);
    o.fault = FaultKind::kill_primary;
    DrillEngine engine(watched_seams(c, am, clock), o);
    long long elapsed = 0;
    const auto out = timed_run(engine, c, elapsed);
    REQUIRE(out.reports.size() == 1);
    const Report& r = out.reports.front();
    const auto* changed = [&]() -> const monitoring::AlertTiming* {
        for (const auto& a : r.alerts) {
            if (a.name == "PatroniLeaderChanged") {
                return &a;
            }
        }
        return nullptr;
    }();
    REQUIRE(changed != nullptr);
    CHECK(changed->fired_ms == 2000);
    CHECK_FALSE(changed->resolved_ms.has_value());
    // Done soon after the restore, not a minute later.
    CHECK(elapsed < 1000 + restored_at(r) + 20000);
}

TEST_CASE(
    "drill engine: an alert that does not come is waited for up to the objective, then "
    "the drill fails with exit 8",
    "[drills][engine][alerts]") {
    FakeCluster c;
    c.settings.ttl_s = 10;
    FakeAlertmanager am("EtcdMemberDown", std::nullopt);
    PacedClock clock(c.clock);
    DrillEngine engine(watched_seams(c, am, clock), etcd_drill(15000));
    const auto out = engine.run();
    REQUIRE(out.reports.size() == 1);
    const Report& r = out.reports.front();
    CHECK_FALSE(r.find_check("alerts_fired")->passed);
    CHECK(exit_code(r) == ExitCode::objectives_missed);
    // Held to the objective plus two polls, not the 60 s default.
    CHECK(restored_at(r) >= 15000);
    CHECK(restored_at(r) < 20000);
}

TEST_CASE("drill engine: --max-time-to-alert without a monitor host is a usage error",
          "[drills][engine][alerts]") {
    FakeCluster c;
    DrillEngine engine(c.seams(), etcd_drill(15000));
    try {
        engine.run();
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::usage);
        CHECK(std::string(e.what()).find("monitor service") != std::string::npos);
    }
    CHECK(c.commands().empty());
}
