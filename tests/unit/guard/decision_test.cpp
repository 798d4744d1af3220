// pgdr guard's decision core (guard/decision.hpp) on scripted seams: a dead leader is fenced
// and failed over only with a quorum, the fence lock, a safe candidate and a confirmed fence,
// in that order; everything else releases nothing.
#include "guard/decision.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>

using namespace pgdr::guard;
using namespace std::chrono_literals;

namespace {

TimePoint at(int ms) {
    return TimePoint(std::chrono::milliseconds(1'800'000'000'000LL + ms));
}

// Two agents' worth of world: this agent's probes, the other agent's observation, the lock,
// the provider and Patroni's keys; every effect recorded in order.
struct World {
    Probe probe{"pg1", Reach::ok, Reach::ok};
    std::optional<Observation> peer;  // the other agent's last published observation
    std::vector<Observation> published;
    bool lock_free = true;
    std::optional<std::string> candidate = std::string("pg2");
    pgdr::MachineState machine = pgdr::MachineState::stopped;  // what the provider reports
    FenceOutcome fence = FenceOutcome::confirmed_off;
    bool probe_throws = false;
    int failover_failures = 0;  // the next N /failover writes throw (an etcd election)
    std::vector<std::string> calls;

    GuardSeams seams() {
        GuardSeams s;
        s.probe = [this] {
            if (probe_throws) {
                throw std::runtime_error("etcd unreachable");
            }
            return probe;
        };
        s.publish = [this](const Observation& o) { published.push_back(o); };
        s.observations = [this] {
            std::vector<Observation> all{published.back()};
            if (peer) {
                all.push_back(*peer);
            }
            return all;
        };
        s.try_lock = [this] {
            calls.push_back("lock");
            return lock_free;
        };
        s.unlock = [this] { calls.push_back("unlock"); };
        s.candidate = [this](const std::string& old) {
            calls.push_back("candidate " + old);
            return candidate;
        };
        s.machine_state = [this](const std::string& host) {
            calls.push_back("state " + host);
            return machine;
        };
        s.fence = [this](const std::string& host, std::chrono::milliseconds timeout) {
            calls.push_back("fence " + host + " " + std::to_string(timeout.count()));
            return fence;
        };
        s.write_failover = [this](const std::string& c) {
            calls.push_back("failover " + c);
            if (failover_failures > 0) {
                --failover_failures;
                throw std::runtime_error("no etcd member answered /v3/kv/put");
            }
        };
        s.revoke_leader_lease = [this](const std::string& l) { calls.push_back("revoke " + l); };
        s.before_fence = [this](const std::string& l) { calls.push_back("hand-off " + l); };
        s.pause = [this](std::chrono::milliseconds d) {
            calls.push_back("pause " + std::to_string(d.count()));
        };
        return s;
    }
    Observation peer_sees(bool unreachable, int when_ms, const std::string& leader = "pg1",
                          bool machine_answers = false) {
        Observation o;
        o.agent = "lb2";
        o.leader = leader;
        o.at = at(when_ms);
        o.unreachable = unreachable;
        o.machine_answers = machine_answers;
        return o;
    }
};

// Steps every 300 ms from `from` to `to` (inclusive) and returns the decisions.
std::vector<Decision> run(Guard& g, int from, int to) {
    std::vector<Decision> out;
    for (int t = from; t <= to; t += 300) {
        out.push_back(g.step(at(t), [t] { return at(t + 150); }));
    }
    return out;
}

}  // namespace

TEST_CASE("guard: a leader that answers is left alone", "[guard]") {
    World w;
    Guard g("lb1", GuardSettings{}, w.seams());
    for (const auto& d : run(g, 0, 6000)) {
        CHECK(d.action == Action::none);
    }
    CHECK(w.calls.empty());
    // Patroni alive, PostgreSQL down: the host lives, Patroni's own checks decide.
    w.probe.postgres = Reach::refused;
    for (const auto& d : run(g, 6300, 12000)) {
        CHECK(d.action == Action::none);
    }
    CHECK(w.calls.empty());
}

TEST_CASE("guard: a dead leader, a quorum, a machine found off: fail over in that order",
          "[guard]") {
    World w;
    Guard g("lb1", GuardSettings{}, w.seams());
    run(g, 0, 900);
    w.probe = {"pg1", Reach::silent, Reach::silent};  // the host died at about 900 ms
    w.peer = w.peer_sees(true, 1500);
    auto ds = run(g, 1200, 3300);
    // Silent 300..1800 ms: suspect, never a fence before unreachable_after (2 s).
    CHECK(ds.front().action == Action::suspect);
    CHECK(ds[4].action == Action::suspect);  // 2400 ms: silent 1500 ms
    // At 3000 ms the silence reaches 2100 ms; the peer's observation (1500) is still fresh.
    const Decision& d = ds[6];
    REQUIRE(d.action == Action::failed_over);
    CHECK(d.candidate == "pg2");
    // The provider reports the machine off: fenced already, no power action.
    CHECK(w.calls == std::vector<std::string>{"lock", "candidate pg1", "state pg1", "failover pg2",
                                              "revoke pg1", "unlock"});
    REQUIRE(d.phases.size() == 4);
    CHECK(d.phases[0].first == "detected");
    CHECK(d.phases[0].second == at(900) + 2000ms);
    CHECK(d.phases[3].first == "key_released");
    CHECK(w.published.back().unreachable);
    // The DCS may name pg1 a little longer: it is not fenced twice (ds[7], 3300 ms).
    CHECK(ds[7].action == Action::none);
    CHECK(ds[7].reason == "pg1 was fenced 300 ms ago; waiting for the new leader");
}

TEST_CASE("guard: dead services on a running machine are reset, then failed over", "[guard]") {
    World w;
    w.machine = pgdr::MachineState::running;
    GuardSettings settings;
    SECTION("refusals: the kernel answers, Patroni and PostgreSQL are dead") {
        w.probe = {"pg1", Reach::ok, Reach::ok};
        Guard g("lb1", settings, w.seams());
        run(g, 0, 900);
        w.probe = {"pg1", Reach::refused, Reach::refused};
        w.peer = w.peer_sees(true, 3000, "pg1", true);
        auto d = g.step(at(3000), [] { return at(3100); });
        REQUIRE(d.action == Action::failed_over);
        // etcd's leadership leaves the machine before its reset (no etcd election after it).
        CHECK(w.calls == std::vector<std::string>{"lock", "candidate pg1", "state pg1",
                                                  "hand-off pg1", "fence pg1 20000", "failover pg2",
                                                  "revoke pg1", "unlock"});
        CHECK(w.published.back().machine_answers);
    }
    SECTION("silence with fence_on_silence: reset like a dead one") {
        settings.fence_on_silence = true;
        settings.fence_timeout = 5000ms;
        Guard g("lb1", settings, w.seams());
        run(g, 0, 900);
        w.probe = {"pg1", Reach::silent, Reach::silent};
        w.peer = w.peer_sees(true, 3000);
        auto d = g.step(at(3000), [] { return at(3100); });
        REQUIRE(d.action == Action::failed_over);
        CHECK(w.calls == std::vector<std::string>{"lock", "candidate pg1", "state pg1",
                                                  "fence pg1 5000", "failover pg2", "revoke pg1",
                                                  "unlock"});
    }
}

TEST_CASE("guard: without a confirmed fence, or with any doubt, nothing is released", "[guard]") {
    World w;
    Guard g("lb1", GuardSettings{}, w.seams());
    run(g, 0, 900);
    w.probe = {"pg1", Reach::silent, Reach::silent};
    auto step_at = [&](int ms) { return g.step(at(ms), [ms] { return at(ms); }); };

    SECTION("the other agent still reaches the leader: a partition, not a death") {
        w.peer = w.peer_sees(false, 3000);
        auto d = step_at(3000);
        CHECK(d.action == Action::no_quorum);
        CHECK(d.reason == "1 of 2 agents still reach pg1");
    }
    SECTION("the other agent's observation is stale (its host is lost)") {
        w.peer = w.peer_sees(true, -1000);
        auto d = step_at(3000);
        CHECK(d.action == Action::no_quorum);
        CHECK(d.reason == "1 agent(s) find pg1 unreachable, 2 needed");
    }
    SECTION("the other agent watches another leader") {
        w.peer = w.peer_sees(true, 3000, "pg2");
        CHECK(step_at(3000).action == Action::no_quorum);
    }
    SECTION("another agent holds the fence lock") {
        w.peer = w.peer_sees(true, 3000);
        w.lock_free = false;
        CHECK(step_at(3000).action == Action::locked_out);
        CHECK(w.calls == std::vector<std::string>{"lock"});
    }
    SECTION("no safe candidate: no fence at all") {
        w.peer = w.peer_sees(true, 3000);
        w.candidate.reset();
        CHECK(step_at(3000).action == Action::no_candidate);
        CHECK(w.calls == std::vector<std::string>{"lock", "candidate pg1", "unlock"});
    }
    SECTION("the provider API fails, or does not confirm") {
        w.probe = {"pg1", Reach::refused, Reach::refused};
        w.peer = w.peer_sees(true, 3000, "pg1", true);
        w.machine = pgdr::MachineState::running;
        w.fence = GENERATE(FenceOutcome::api_error, FenceOutcome::not_confirmed);
        auto d = step_at(3000);
        CHECK(d.action == Action::fence_failed);
        // etcd's leadership moved away first: harmless when the fence then fails.
        CHECK(w.calls == std::vector<std::string>{"lock", "candidate pg1", "state pg1",
                                                  "hand-off pg1", "fence pg1 20000", "unlock"});
    }
    SECTION("the provider cannot tell what the machine does") {
        w.peer = w.peer_sees(true, 3000);
        w.machine = GENERATE(pgdr::MachineState::unknown, pgdr::MachineState::partitioned);
        auto d = step_at(3000);
        CHECK(d.action == Action::fence_failed);
        CHECK(d.reason.find("nothing released") != std::string::npos);
        CHECK(w.calls == std::vector<std::string>{"lock", "candidate pg1", "state pg1", "unlock"});
    }
    SECTION("the provider says the silent leader runs: a partition, no fence") {
        w.peer = w.peer_sees(true, 3000);
        w.machine = pgdr::MachineState::running;
        auto d = step_at(3000);
        CHECK(d.action == Action::not_fenced);
        CHECK(d.reason.find("a partition or a hung machine") != std::string::npos);
        CHECK(w.calls == std::vector<std::string>{"lock", "candidate pg1", "state pg1", "unlock"});
    }
    SECTION("one agent got refusals, the other silence: not a machine known to run dead") {
        w.probe = {"pg1", Reach::refused, Reach::refused};
        w.peer = w.peer_sees(true, 3000, "pg1", false);
        w.machine = pgdr::MachineState::running;
        CHECK(step_at(3000).action == Action::not_fenced);
    }
    SECTION("the provider API throws") {
        w.peer = w.peer_sees(true, 3000);
        GuardSeams s = w.seams();
        s.machine_state = [](const std::string&) -> pgdr::MachineState {
            throw std::runtime_error("HTTP 503 from the provider");
        };
        Guard g2("lb1", GuardSettings{}, s);
        run(g2, 0, 900);
        auto d = g2.step(at(3000), [] { return at(3000); });
        CHECK(d.action == Action::error);
        CHECK(d.reason == "nothing released: HTTP 503 from the provider");
        CHECK(w.calls == std::vector<std::string>{"lock", "candidate pg1", "unlock"});
    }
    SECTION("maintenance mode: nothing at all") {
        w.peer = w.peer_sees(true, 3000);
        w.probe.paused = true;
        auto d = step_at(3000);
        CHECK(d.action == Action::none);
        CHECK(d.reason == "maintenance mode (Patroni paused): the guard does nothing");
        CHECK(w.calls.empty());
    }
    SECTION("a seam throws") {
        w.probe_throws = true;
        auto d = step_at(3000);
        CHECK(d.action == Action::error);
        CHECK(d.reason == "nothing released: etcd unreachable");
        CHECK(w.calls.empty());
    }
}

TEST_CASE("guard: a new leader starts its own clock", "[guard]") {
    World w;
    Guard g("lb1", GuardSettings{}, w.seams());
    run(g, 0, 900);
    w.probe = {"pg1", Reach::silent, Reach::silent};
    run(g, 1200, 1800);
    // Patroni elected pg2 (the TTL path): its first silent probe is not 2 s of silence.
    w.probe = {"pg2", Reach::silent, Reach::silent};
    w.peer = w.peer_sees(true, 2100, "pg2");
    auto d = g.step(at(2100), [] { return at(2100); });
    CHECK(d.action == Action::suspect);
    CHECK(w.calls.empty());
    // No leader in the DCS: nothing to do.
    w.probe = {"", Reach::silent, Reach::silent};
    CHECK(g.step(at(2400), [] { return at(2400); }).action == Action::none);
}

TEST_CASE("guard: quorum arithmetic", "[guard]") {
    GuardSettings s;
    s.quorum = 3;
    auto obs = [](const std::string& agent, bool unreachable, int ms) {
        Observation o;
        o.agent = agent;
        o.leader = "pg1";
        o.unreachable = unreachable;
        o.at = at(ms);
        return o;
    };
    auto q =
        quorum_of({obs("a", true, 0), obs("b", true, 0), obs("c", true, -4000)}, "pg1", at(0), s);
    CHECK_FALSE(q.reached);
    CHECK(q.fresh == 2);
    q = quorum_of({obs("a", true, 0), obs("b", true, 0), obs("c", true, -2000)}, "pg1", at(0), s);
    CHECK(q.reached);
    CHECK(q.agreeing == 3);
    CHECK_FALSE(q.machine_answers);
    auto refused = [&](const std::string& agent) {
        auto o = obs(agent, true, 0);
        o.machine_answers = true;
        return o;
    };
    q = quorum_of({refused("a"), refused("b"), refused("c")}, "pg1", at(0), s);
    CHECK(q.machine_answers);
    q = quorum_of({refused("a"), refused("b"), obs("c", true, 0)}, "pg1", at(0), s);
    CHECK_FALSE(q.machine_answers);
    CHECK_FALSE(quorum_of({}, "pg1", at(0), s).machine_answers);
}

TEST_CASE("guard: a partition is not a stream of API calls", "[guard]") {
    World w;
    w.machine = pgdr::MachineState::running;
    Guard g("lb1", GuardSettings{}, w.seams());
    run(g, 0, 900);
    w.probe = {"pg1", Reach::silent, Reach::silent};
    auto step_at = [&](int ms) {
        w.peer = w.peer_sees(true, ms, "pg1", w.probe.machine_answers());
        return g.step(at(ms), [ms] { return at(ms); });
    };
    CHECK(step_at(3000).action == Action::not_fenced);
    const auto asked = std::count(w.calls.begin(), w.calls.end(), "state pg1");
    CHECK(asked == 1);
    // Still silent 5 s later: the provider's last word stands, nothing is asked.
    auto d = step_at(8000);
    CHECK(d.action == Action::not_fenced);
    CHECK(d.reason.find("reported pg1's machine running 5000 ms ago") != std::string::npos);
    CHECK(std::count(w.calls.begin(), w.calls.end(), "state pg1") == 1);
    // After the backoff it is asked again.
    CHECK(step_at(13100).action == Action::not_fenced);
    CHECK(std::count(w.calls.begin(), w.calls.end(), "state pg1") == 2);
    // Refusals (the services died behind the cut): asked at once, and reset.
    w.probe = {"pg1", Reach::refused, Reach::refused};
    CHECK(step_at(13400).action == Action::failed_over);
    CHECK(std::count(w.calls.begin(), w.calls.end(), "state pg1") == 3);
}

TEST_CASE("guard: after a fence, the release is retried under the lock until it succeeds",
          "[guard]") {
    World w;
    w.machine = pgdr::MachineState::running;
    w.probe = {"pg1", Reach::ok, Reach::ok};
    Guard g("lb1", GuardSettings{}, w.seams());
    run(g, 0, 900);
    w.probe = {"pg1", Reach::refused, Reach::refused};
    w.peer = w.peer_sees(true, 3000, "pg1", true);
    SECTION("etcd elects for a while (writes time out), then commits") {
        w.failover_failures = 2;
        int clock = 3100;
        auto d = g.step(at(3000), [&clock] { return at(clock += 1000); });
        REQUIRE(d.action == Action::failed_over);
        // Before this fix the first failure ended the step with "nothing released", the lock
        // went back, and the other agent reset the machine a second time.
        CHECK(w.calls == std::vector<std::string>{"lock", "candidate pg1", "state pg1",
                                                  "hand-off pg1", "fence pg1 20000", "failover pg2",
                                                  "pause 300", "failover pg2", "pause 300",
                                                  "failover pg2", "revoke pg1", "unlock"});
        CHECK(d.phases.back().first == "key_released");
    }
    SECTION("etcd never commits within the budget: an error that says the machine is fenced") {
        w.failover_failures = 1000;
        int clock = 3100;
        auto d = g.step(at(3000), [&clock] { return at(clock += 1000); });
        CHECK(d.action == Action::error);
        CHECK_THAT(d.reason, Catch::Contains("pg1 fenced, but its leader key could not be "
                                             "released within 8000 ms") &&
                                 Catch::Contains("no etcd member answered"));
        CHECK(std::count(w.calls.begin(), w.calls.end(), "failover pg2") == 8);
        CHECK(std::count(w.calls.begin(), w.calls.end(), "revoke pg1") == 0);
        CHECK(w.calls.back() == "unlock");
        // This agent does not fence it again while it waits for Patroni's TTL.
        w.calls.clear();
        d = g.step(at(3300), [] { return at(3400); });
        CHECK(w.calls.empty());
    }
    SECTION("a clock that does not move: the attempts are bounded") {
        w.failover_failures = 1000;
        auto d = g.step(at(3000), [] { return at(3100); });
        CHECK(d.action == Action::error);
        CHECK(std::count(w.calls.begin(), w.calls.end(), "failover pg2") ==
              Guard::k_release_attempts);
    }
}
