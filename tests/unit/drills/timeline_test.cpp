#include "drills/timeline.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "core/error.hpp"
#include "drill_script.hpp"
#include "drills/probe.hpp"

using namespace pgdr;
using namespace pgdr::drills;
using namespace pgdr::drills::test;

TEST_CASE("timeline: events stamped in ms since the start, wall time derived",
          "[drills][timeline]") {
    FakeClock clock;
    clock.set_ms(1000);
    Timeline timeline(clock);
    clock.set_ms(1250);
    CHECK(timeline.record(WriteSent{1}) == 250);
    clock.set_ms(1262);
    CHECK(timeline.record(WriteAcked{1, "pg1"}) == 262);
    CHECK(timeline.now_ms() == 262);

    auto events = timeline.events();
    REQUIRE(events.size() == 2);
    CHECK(events[0].at_ms == 250);
    CHECK(std::get<WriteSent>(events[0].data).seq == 1);
    CHECK(std::get<WriteAcked>(events[1].data).backend == "pg1");
    CHECK(format_utc(events[1].wall) == "2026-05-04T10:00:01.262Z");
    CHECK(format_utc(timeline.started_wall()) == "2026-05-04T10:00:01.000Z");
    CHECK(timeline.size() == 2);
}

TEST_CASE("timeline: concurrent probes keep stamp order", "[drills][timeline]") {
    FakeClock clock;
    Timeline timeline(clock);
    constexpr int k_threads = 4;
    constexpr int k_each = 500;
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < k_each; ++i) {
                clock.sleep_for(std::chrono::milliseconds(1));  // time moves under the threads
                timeline.record(Note{"thread " + std::to_string(t)});
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    auto events = timeline.events();
    REQUIRE(events.size() == static_cast<std::size_t>(k_threads * k_each));
    for (std::size_t i = 1; i < events.size(); ++i) {
        REQUIRE(events[i - 1].at_ms <= events[i].at_ms);
    }
}

TEST_CASE("patroni roles are normalised across versions", "[drills][timeline]") {
    CHECK(parse_patroni_role("master") == NodeRole::primary);   // Patroni 3.0
    CHECK(parse_patroni_role("primary") == NodeRole::primary);  // Patroni 4
    CHECK(parse_patroni_role("leader") == NodeRole::primary);   // GET /cluster
    CHECK(parse_patroni_role("sync_standby") == NodeRole::replica);
    CHECK(parse_patroni_role("replica") == NodeRole::replica);
    CHECK(parse_patroni_role("standby_leader") == NodeRole::standby_leader);
    CHECK(parse_patroni_role("") == NodeRole::unknown);
    CHECK(to_string(NodeRole::primary) == "primary");
    CHECK(to_string(NodeRole::unknown) == "unknown");
}

TEST_CASE("node samples and HAProxy states", "[drills][timeline]") {
    NodeSample s;
    CHECK_FALSE(s.answered());
    s.in_recovery = true;
    CHECK(s.answered());
    CHECK(HaproxyServerState{HaproxyPort::write, "pg1", "UP 1/2"}.up());
    CHECK_FALSE(HaproxyServerState{HaproxyPort::write, "pg1", "DOWN"}.up());
    CHECK_FALSE(HaproxyServerState{HaproxyPort::write, "pg1", "MAINT"}.up());
}

TEST_CASE("polling probe: samples on its thread until stopped", "[drills][probe]") {
    FakeClock clock;
    Timeline timeline(clock);
    std::atomic<int> calls{0};
    PollingProbe probe("writer", clock, std::chrono::milliseconds(10), [&](Timeline& t) {
        int n = ++calls;
        t.record(WriteSent{n});
    });
    CHECK(probe.name() == "writer");
    probe.start(timeline);
    while (probe.samples() < 20) {
        std::this_thread::yield();
    }
    probe.stop();
    const auto after_stop = timeline.size();
    CHECK(after_stop >= 20);
    CHECK(after_stop == static_cast<std::size_t>(calls.load()));
    probe.stop();  // idempotent
    CHECK(timeline.size() == after_stop);
    // The cadence comes from the clock: one interval slept per sample (the fake clock's
    // sleep advances time), so stamps are 10 ms apart.
    auto events = timeline.events();
    CHECK(events[1].at_ms - events[0].at_ms == 10);
    CHECK(clock.sleeps() >= 19);
}

TEST_CASE("polling probe: a throwing sample ends the probe with a note", "[drills][probe]") {
    FakeClock clock;
    Timeline timeline(clock);
    PollingProbe probe("sampler", clock, std::chrono::milliseconds(50),
                       [](Timeline&) { throw std::runtime_error("libpq exploded"); });
    probe.start(timeline);
    while (timeline.size() == 0) {
        std::this_thread::yield();
    }
    probe.stop();
    auto events = timeline.events();
    REQUIRE(events.size() == 1);
    CHECK(std::get<Note>(events[0].data).text == "probe sampler stopped: libpq exploded");
    CHECK(probe.samples() == 0);
}

TEST_CASE("polling probe: bad interval and double start are refused", "[drills][probe]") {
    FakeClock clock;
    Timeline timeline(clock);
    CHECK_THROWS_AS(PollingProbe("x", clock, std::chrono::milliseconds(0), [](Timeline&) {}),
                    Error);
    PollingProbe probe("x", clock, std::chrono::milliseconds(5), [](Timeline&) {});
    probe.start(timeline);
    CHECK_THROWS_AS(probe.start(timeline), Error);
    probe.stop();
}

namespace {

// Records what the set asked of it (tests/fakes style).
class RecordingProbe final : public Probe {
  public:
    RecordingProbe(std::string name, std::vector<std::string>& log, bool fail_start = false)
        : m_name(std::move(name)), m_log(log), m_fail_start(fail_start) {}
    std::string name() const override { return m_name; }
    void start(Timeline&) override {
        if (m_fail_start) {
            throw Error(ExitCode::unreachable, m_name + " cannot connect");
        }
        m_log.push_back("start " + m_name);
    }
    void stop() noexcept override { m_log.push_back("stop " + m_name); }

  private:
    std::string m_name;
    std::vector<std::string>& m_log;
    bool m_fail_start;
};

}  // namespace

TEST_CASE("probe set: stops in reverse order, also when a start fails", "[drills][probe]") {
    FakeClock clock;
    Timeline timeline(clock);
    std::vector<std::string> log;
    {
        ProbeSet set;
        set.add(std::make_unique<RecordingProbe>("writer", log));
        set.add(std::make_unique<RecordingProbe>("reader", log));
        set.start(timeline);
        CHECK(set.size() == 2);
    }  // destruction stops them
    CHECK(log ==
          std::vector<std::string>{"start writer", "start reader", "stop reader", "stop writer"});

    log.clear();
    ProbeSet failing;
    failing.add(std::make_unique<RecordingProbe>("writer", log));
    failing.add(std::make_unique<RecordingProbe>("haproxy", log, true));
    CHECK_THROWS_AS(failing.start(timeline), Error);
    CHECK(log == std::vector<std::string>{"start writer", "stop writer"});
    failing.stop();  // nothing left to stop
    CHECK(log.size() == 2);
}
