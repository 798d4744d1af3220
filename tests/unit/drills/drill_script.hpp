// Test helpers for the drill analysis: a thread-safe fake clock and a script that builds a
// Timeline from events given at times relative to the fault.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "drills/timeline.hpp"

namespace pgdr::drills::test {

// Steady time moves only when told to (set_ms, advance) or when slept on.
class FakeClock final : public Clock {
  public:
    std::chrono::steady_clock::time_point steady_now() override {
        return std::chrono::steady_clock::time_point(std::chrono::milliseconds(m_ms.load()));
    }
    std::chrono::system_clock::time_point wall_now() override {
        // 2026-05-04T10:00:00Z plus the steady time, so wall times are deterministic.
        return std::chrono::system_clock::time_point(std::chrono::seconds(1777888800)) +
               std::chrono::milliseconds(m_ms.load());
    }
    void sleep_for(std::chrono::milliseconds d) override {
        m_ms += d.count();
        ++m_sleeps;
    }
    void set_ms(std::int64_t ms) { m_ms = ms; }
    std::int64_t sleeps() const { return m_sleeps.load(); }

  private:
    std::atomic<std::int64_t> m_ms{0};
    std::atomic<std::int64_t> m_sleeps{0};
};

// Collects events at times relative to the fault, then replays them in time order into a real
// Timeline driven by the fake clock (the fault sits at k_fault_offset_ms after the start).
class Script {
  public:
    static constexpr Millis k_fault_offset_ms = 5000;

    void add(Millis at, EventData data) { m_events.emplace_back(at, std::move(data)); }

    void fault(const std::string& name, const std::string& target, Millis at = 0) {
        add(at, FaultInjected{name, target, "scripted"});
    }
    void restored(const std::string& name, const std::string& target, Millis at, bool ok = true,
                  const std::string& detail = "restarted") {
        add(at, FaultRestored{name, target, ok, detail});
    }

    // One write every `every` ms in [from, to): sent at t, then acknowledged by the backend
    // that `who(t)` names 3 ms later, or failed 5 ms later when it names nobody.
    void writes(Millis from, Millis to, Millis every,
                const std::function<std::optional<std::string>(Millis)>& who,
                const std::string& failure = "connection refused") {
        for (Millis t = from; t < to; t += every) {
            std::int64_t seq = ++m_seq;
            add(t, WriteSent{seq});
            if (auto backend = who(t)) {
                add(t + 3, WriteAcked{seq, *backend});
                m_acked.push_back(seq);
            } else {
                add(t + 5, WriteFailed{seq, failure, ""});
                m_failed.push_back(seq);
            }
        }
    }

    // One sample of `node` every `every` ms in [from, to), as `make(t)` describes it.
    void samples(const std::string& node, Millis from, Millis to, Millis every,
                 const std::function<NodeSample(Millis)>& make) {
        for (Millis t = from; t < to; t += every) {
            NodeSample s = make(t);
            s.node = node;
            add(t, std::move(s));
        }
    }

    void haproxy(Millis at, const std::string& server, const std::string& status,
                 HaproxyPort port = HaproxyPort::write) {
        add(at, HaproxyServerState{port, server, status});
    }

    // Replays every event into `timeline` through `clock`, in time order (stable for ties).
    void replay(FakeClock& clock, Timeline& timeline) {
        std::stable_sort(m_events.begin(), m_events.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto& [at, data] : m_events) {
            clock.set_ms(at + k_fault_offset_ms);
            timeline.record(data);
        }
    }

    const std::vector<std::int64_t>& acked() const { return m_acked; }
    const std::vector<std::int64_t>& failed() const { return m_failed; }

  private:
    std::vector<std::pair<Millis, EventData>> m_events;
    std::int64_t m_seq = 0;
    std::vector<std::int64_t> m_acked;
    std::vector<std::int64_t> m_failed;
};

// Sample shapes.
inline NodeSample primary_sample(int timeline, std::uint64_t lsn) {
    NodeSample s;
    s.role = NodeRole::primary;
    s.patroni_state = "running";
    s.in_recovery = false;
    s.timeline = timeline;
    s.lsn = lsn;
    return s;
}
// `leader`: the leader the member reports; "" = no leader key; std::nullopt = not asked.
inline NodeSample replica_sample(int timeline, std::uint64_t lsn,
                                 std::optional<std::string> leader = std::nullopt) {
    NodeSample s;
    s.role = NodeRole::replica;
    s.patroni_state = "streaming";
    s.in_recovery = true;
    s.timeline = timeline;
    s.lsn = lsn;
    s.leader_seen = std::move(leader);
    return s;
}
inline NodeSample unreachable_sample(const std::string& error = "connection refused") {
    NodeSample s;
    s.error = error;
    return s;
}

}  // namespace pgdr::drills::test
