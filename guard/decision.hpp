// The decision core of `pgdr guard` (issue 18): fenced fast failover. Pure: time comes in as
// arguments, every effect goes through GuardSeams, so each rule is unit-tested with recording
// fakes on a manual clock.
//
// One loop step of an agent (Guard::step):
//   1. probe the leader (PostgreSQL and Patroni REST) and publish this agent's observation
//      (leader, last time it answered) where the other agents read it (etcd, with a lease);
//   2. the leader is *unreachable* for this agent when nothing answered for `unreachable_after`;
//   3. a *quorum* is `quorum` fresh observations (not older than `observation_ttl`) of the same
//      leader, all unreachable;
//   4. with a quorum, the agent that takes the fence lock (etcd; one agent at a time) fences:
//      it chooses the candidate first (pg::pick_candidate on the DCS's view: the synchronous
//      standby, else the least lag within maximum_lag_on_failover), then asks the provider
//      what the leader's machine is doing:
//        - off (stopped, shut off): the machine is fenced already;
//        - running, and its kernel refuses the connections (RST: Patroni and PostgreSQL are
//          dead on a live machine): it is reset (or powered off) through the provider, which
//          must acknowledge the reset or report the machine off within `fence_timeout`;
//        - running and silent (timeouts): a partition or a hung machine, which the provider
//          cannot tell from a cut network. Nothing is fenced unless `fence_on_silence` is set
//          (then it is reset like a dead one: a partitioned leader loses its PostgreSQL);
//          Patroni's own TTL path demotes a cut-off leader and elects another;
//      then writes Patroni's /failover key naming the candidate, and revokes the old leader's
//      lease so the replicas see the leader key gone at once. Before resetting a machine that
//      still runs, etcd's leadership is handed away from it (before_fence): a reset etcd
//      leader costs an etcd election (1-2 s) during which no key can be written. Once the
//      machine is fenced, the agent keeps its lock and retries the release until it succeeds
//      or k_release_budget has passed (an etcd election, a member going away): another agent
//      would only fence the machine a second time.
// Never a key released without a confirmed fence: no quorum, another agent's lock, no candidate,
// a provider that cannot tell, a fence API error or a fence not confirmed within `fence_timeout`
// all mean "do nothing" and Patroni's own TTL path applies. In maintenance mode (Patroni paused)
// the guard does nothing at all. Each step's outcome is a Decision with a reason and a time.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/host_control.hpp"

namespace pgdr::guard {

using TimePoint = std::chrono::system_clock::time_point;  // shared between hosts: wall time

struct GuardSettings {
    std::chrono::milliseconds probe_interval{300};
    std::chrono::milliseconds unreachable_after{2000};
    int quorum = 2;
    std::chrono::milliseconds observation_ttl{3000};
    std::chrono::milliseconds fence_timeout{20000};
    // Reset a leader that is silent while the provider says it runs (a partition, a hung
    // kernel): faster for a hung machine, but a partition then costs the old leader a reset.
    bool fence_on_silence = false;
};

// How one port of the leader answered a probe.
enum class Reach {
    ok,       // connected
    refused,  // the machine's kernel answered with a refusal: it runs, the service does not
    silent,   // no answer in time, or unreachable: a dead machine or a cut network
};
const char* to_string(Reach r);

// One probe of the leader by this agent.
struct Probe {
    std::string leader;  // the leader the DCS names; empty: none
    Reach postgres = Reach::silent;
    Reach patroni = Reach::silent;
    bool paused = false;  // Patroni's maintenance mode (the DCS /config "pause")
    bool answered() const { return postgres == Reach::ok || patroni == Reach::ok; }
    // The machine's kernel answered (a refusal) while nothing listens: its services are dead.
    bool machine_answers() const {
        return !answered() && (postgres == Reach::refused || patroni == Reach::refused);
    }
};

// What an agent publishes for the others.
struct Observation {
    std::string agent;
    std::string leader;
    TimePoint last_ok{};  // the last time the leader answered this agent (epoch: never)
    TimePoint at{};       // when this observation was made
    bool unreachable = false;
    bool machine_answers = false;  // the last probe got refusals (see Probe::machine_answers)
};

// Tracks, for one agent, when the current leader last answered.
class LeaderWatch {
  public:
    explicit LeaderWatch(std::string agent) : m_agent(std::move(agent)) {}
    // A probe at `now`. A new leader starts its clock at its first probe (never "unreachable"
    // for longer than it has been the leader).
    void on_probe(const Probe& probe, TimePoint now);
    Observation observation(TimePoint now, const GuardSettings& settings) const;

  private:
    std::string m_agent;
    std::string m_leader;
    TimePoint m_since{};
    TimePoint m_last_ok{};
    bool m_machine_answers = false;
};

struct Quorum {
    int agreeing = 0;  // fresh observations of this leader, unreachable
    int fresh = 0;     // fresh observations of this leader
    bool reached = false;
    // Every agreeing agent got refusals from the leader's machine (none found it silent).
    bool machine_answers = false;
    std::string reason;
};

Quorum quorum_of(const std::vector<Observation>& observations, const std::string& leader,
                 TimePoint now, const GuardSettings& settings);

enum class FenceOutcome { confirmed_off, not_confirmed, api_error };

// The effects, one call each. Every call may throw: Guard::step turns an exception into a
// "do nothing" decision with its message.
struct GuardSeams {
    std::function<Probe()> probe;
    std::function<void(const Observation&)> publish;
    std::function<std::vector<Observation>()> observations;  // every agent's, this one's too
    std::function<bool()> try_lock;                          // the fence lock; false: another
    std::function<void()> unlock;
    // The replica to promote, per the cluster's policy; nullopt: none is safe.
    std::function<std::optional<std::string>(const std::string& old_leader)> candidate;
    // What the provider says the leader's machine does (running, stopped; unknown while it
    // changes state). Throws when the provider cannot be asked.
    std::function<pgdr::MachineState(const std::string& leader)> machine_state;
    // Powers off or resets the leader's machine and waits (bounded) until the provider says it
    // is off or the reset was acknowledged.
    std::function<FenceOutcome(const std::string& leader, std::chrono::milliseconds timeout)> fence;
    std::function<void(const std::string& candidate)> write_failover;
    std::function<void(const std::string& old_leader)> revoke_leader_lease;
    // Optional. Readies the reset of a machine that still runs (its kernel refuses the ports):
    // hands etcd's leadership away from it. A failure costs time, not safety: it is ignored.
    std::function<void(const std::string& leader)> before_fence;
    // Optional. Waits between two attempts to release the key after a fence.
    std::function<void(std::chrono::milliseconds)> pause;
};

enum class Action {
    none,          // the leader answers, or not for long enough, or the cluster is paused
    suspect,       // unreachable for this agent; waiting for a quorum
    no_quorum,     // unreachable here, too few agents agree
    locked_out,    // another agent holds the fence lock
    no_candidate,  // nothing safe to promote: no fence
    not_fenced,    // the provider says the silent leader runs: a partition; no fence
    fence_failed,  // the provider failed, could not tell, or did not confirm: no key released
    failed_over,   // fenced, /failover written, the leader's lease revoked
    error,         // a seam threw: nothing released
};

const char* to_string(Action a);

struct Decision {
    Action action = Action::none;
    std::string leader;
    std::string candidate;
    std::string reason;
    TimePoint at{};
    // The moments of a failover, for the drill report's guard_phases.
    std::vector<std::pair<std::string, TimePoint>> phases;
};

class Guard {
  public:
    Guard(std::string agent, GuardSettings settings, GuardSeams seams);
    // One loop iteration at `now` (wall time; the caller sleeps probe_interval between steps).
    // `now_fn` gives the time after slow calls (the fence) for the phases.
    Decision step(TimePoint now, const std::function<TimePoint()>& now_fn);
    const GuardSettings& settings() const { return m_settings; }

  private:
    Decision fence_and_fail_over(const std::string& leader, bool machine_answers, Decision d,
                                 const std::function<TimePoint()>& now_fn);
    // Nothing when the leader's machine was found off or is fenced now; else the action and
    // why nothing may be released.
    std::optional<std::pair<Action, std::string>> fence(const std::string& leader,
                                                        bool machine_answers);
    // After a confirmed fence: /failover and the lease revoke, retried within
    // k_release_budget. Nothing when released; else the last failure.
    std::optional<std::string> release(const std::string& leader, const std::string& candidate,
                                       const std::function<TimePoint()>& now_fn);

    std::string m_agent;
    GuardSettings m_settings;
    GuardSeams m_seams;
    LeaderWatch m_watch;
    // The leader this agent fenced last, and when: not again within fence_timeout, while the
    // DCS may still name it (a lagging etcd member, Patroni's election under way).
    std::string m_fenced;
    TimePoint m_fenced_at{};
    // The silent leader the provider last reported running, and when (not asked again within
    // k_provider_backoff while the agents find it silent: a long partition does not become a
    // stream of API calls).
    std::string m_running;
    TimePoint m_running_at{};
    static constexpr std::chrono::milliseconds k_provider_backoff{10000};

  public:
    // Within the fence lock's lease (fence_timeout + 10 s, of which the fence used part).
    static constexpr std::chrono::milliseconds k_release_budget{8000};
    static constexpr int k_release_attempts = 40;
};

}  // namespace pgdr::guard
