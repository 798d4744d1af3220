#include "guard/decision.hpp"

#include <exception>

namespace pgdr::guard {

namespace {

long long ms_between(TimePoint from, TimePoint to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

}  // namespace

const char* to_string(Reach r) {
    switch (r) {
        case Reach::ok:
            return "ok";
        case Reach::refused:
            return "refused";
        case Reach::silent:
            return "silent";
    }
    return "?";
}

void LeaderWatch::on_probe(const Probe& probe, TimePoint now) {
    if (probe.leader != m_leader) {
        m_leader = probe.leader;
        m_since = now;
        m_last_ok = now;  // a new leader's clock starts now
    }
    if (probe.answered()) {
        m_last_ok = now;  // the host is alive: Patroni's own checks decide, never a fence
    }
    m_machine_answers = probe.machine_answers();
}

Observation LeaderWatch::observation(TimePoint now, const GuardSettings& settings) const {
    Observation o;
    o.agent = m_agent;
    o.leader = m_leader;
    o.last_ok = m_last_ok;
    o.at = now;
    o.unreachable = !m_leader.empty() && now - m_last_ok >= settings.unreachable_after;
    o.machine_answers = m_machine_answers;
    return o;
}

Quorum quorum_of(const std::vector<Observation>& observations, const std::string& leader,
                 TimePoint now, const GuardSettings& settings) {
    Quorum q;
    q.machine_answers = true;
    for (const auto& o : observations) {
        if (o.leader != leader || now - o.at > settings.observation_ttl) {
            continue;
        }
        ++q.fresh;
        q.agreeing += o.unreachable ? 1 : 0;
        q.machine_answers = q.machine_answers && (!o.unreachable || o.machine_answers);
    }
    q.machine_answers = q.machine_answers && q.agreeing > 0;
    if (q.fresh > q.agreeing) {
        // Someone still reaches the leader: a partition of some agents, not a dead host.
        q.reason = std::to_string(q.fresh - q.agreeing) + " of " + std::to_string(q.fresh) +
                   " agents still reach " + leader;
    } else if (q.agreeing < settings.quorum) {
        q.reason = std::to_string(q.agreeing) + " agent(s) find " + leader + " unreachable, " +
                   std::to_string(settings.quorum) + " needed";
    } else {
        q.reached = true;
        q.reason = std::to_string(q.agreeing) + " agents find " + leader + " unreachable";
    }
    return q;
}

const char* to_string(Action a) {
    switch (a) {
        case Action::none:
            return "none";
        case Action::suspect:
            return "suspect";
        case Action::no_quorum:
            return "no_quorum";
        case Action::locked_out:
            return "locked_out";
        case Action::no_candidate:
            return "no_candidate";
        case Action::not_fenced:
            return "not_fenced";
        case Action::fence_failed:
            return "fence_failed";
        case Action::failed_over:
            return "failed_over";
        case Action::error:
            return "error";
    }
    return "?";
}

Guard::Guard(std::string agent, GuardSettings settings, GuardSeams seams)
    : m_agent(agent), m_settings(settings), m_seams(std::move(seams)), m_watch(std::move(agent)) {}

Decision Guard::step(TimePoint now, const std::function<TimePoint()>& now_fn) {
    Decision d;
    d.at = now;
    try {
        const Probe probe = m_seams.probe();
        const bool answered = probe.answered();
        m_watch.on_probe(probe, now);
        const Observation mine = m_watch.observation(now, m_settings);
        m_seams.publish(mine);
        d.leader = mine.leader;
        if (probe.paused) {
            d.reason = "maintenance mode (Patroni paused): the guard does nothing";
            return d;
        }
        if (mine.leader.empty()) {
            d.reason = "no leader in the DCS: Patroni's election is under way";
            return d;
        }
        if (!mine.unreachable) {
            d.action = answered ? Action::none : Action::suspect;
            d.reason = answered ? mine.leader + " answers"
                                : mine.leader + " silent for " +
                                      std::to_string(ms_between(mine.last_ok, now)) + " ms";
            return d;
        }
        if (mine.leader == m_fenced && now - m_fenced_at < m_settings.fence_timeout) {
            d.reason = mine.leader + " was fenced " + std::to_string(ms_between(m_fenced_at, now)) +
                       " ms ago; waiting for the new leader";
            return d;
        }
        const Quorum q = quorum_of(m_seams.observations(), mine.leader, now, m_settings);
        d.reason = q.reason;
        if (!q.reached) {
            d.action = Action::no_quorum;
            return d;
        }
        // The provider said this silent leader runs (a partition): it is not asked again for a
        // while, unless the agents now get refusals (its services died).
        if (mine.leader == m_running && !q.machine_answers &&
            now - m_running_at < k_provider_backoff) {
            d.action = Action::not_fenced;
            d.reason = "the provider reported " + mine.leader + "'s machine running " +
                       std::to_string(ms_between(m_running_at, now)) +
                       " ms ago and it is still silent: not fenced, Patroni's TTL decides";
            return d;
        }
        d.phases.emplace_back("detected", mine.last_ok + m_settings.unreachable_after);
        d.phases.emplace_back("quorum", now);
        Decision out = fence_and_fail_over(mine.leader, q.machine_answers, d, now_fn);
        if (out.action == Action::not_fenced) {
            m_running = mine.leader;
            m_running_at = now;
        }
        return out;
    } catch (const std::exception& e) {
        d.action = Action::error;
        d.reason = std::string("nothing released: ") + e.what();
        return d;
    }
}

Decision Guard::fence_and_fail_over(const std::string& leader, bool machine_answers, Decision d,
                                    const std::function<TimePoint()>& now_fn) {
    if (!m_seams.try_lock()) {
        d.action = Action::locked_out;
        d.reason = "another agent holds the fence lock";
        return d;
    }
    struct Unlock {
        const GuardSeams& seams;
        ~Unlock() {
            try {
                seams.unlock();
            } catch (...) {  // the lock's lease expires by itself
            }
        }
    } unlock{m_seams};
    const auto candidate = m_seams.candidate(leader);
    if (!candidate) {
        d.action = Action::no_candidate;
        d.reason = "no replica is safe to promote (none synchronous, or lag unknown): " + leader +
                   " is not fenced";
        return d;
    }
    d.candidate = *candidate;
    if (auto refusal = fence(leader, machine_answers)) {
        d.action = refusal->first;
        d.reason = refusal->second;
        return d;
    }
    d.phases.emplace_back("fenced", now_fn());
    m_fenced = leader;
    m_fenced_at = d.at;
    if (auto failure = release(leader, *candidate, now_fn)) {
        d.action = Action::error;
        d.reason = leader + " fenced, but its leader key could not be released within " +
                   std::to_string(k_release_budget.count()) + " ms (" + *failure +
                   "): Patroni's TTL decides";
        return d;
    }
    d.phases.emplace_back("key_released", now_fn());
    d.action = Action::failed_over;
    d.reason = leader + " fenced; " + *candidate + " named in /failover; the leader key released";
    return d;
}

std::optional<std::pair<Action, std::string>> Guard::fence(const std::string& leader,
                                                           bool machine_answers) {
    const pgdr::MachineState state = m_seams.machine_state(leader);
    if (state == pgdr::MachineState::stopped) {
        return std::nullopt;  // off already: nothing of it runs
    }
    if (state != pgdr::MachineState::running) {
        return std::pair{Action::fence_failed, "the provider reports " + leader + "'s machine " +
                                                   pgdr::to_string(state) + ": nothing released"};
    }
    if (!machine_answers && !m_settings.fence_on_silence) {
        return std::pair{Action::not_fenced,
                         "the provider reports " + leader +
                             "'s machine running and it is silent (a partition or a hung "
                             "machine): not fenced, Patroni's TTL decides"};
    }
    if (machine_answers && m_seams.before_fence) {
        try {
            m_seams.before_fence(leader);
        } catch (const std::exception&) {  // slower, not less safe
        }
    }
    switch (m_seams.fence(leader, m_settings.fence_timeout)) {
        case FenceOutcome::confirmed_off:
            return std::nullopt;
        case FenceOutcome::not_confirmed:
            return std::pair{Action::fence_failed,
                             "the provider did not confirm " + leader + " off within " +
                                 std::to_string(m_settings.fence_timeout.count()) +
                                 " ms: nothing released"};
        case FenceOutcome::api_error:
            break;
    }
    return std::pair{Action::fence_failed,
                     "the provider API failed to fence " + leader + ": nothing released"};
}

std::optional<std::string> Guard::release(const std::string& leader, const std::string& candidate,
                                          const std::function<TimePoint()>& now_fn) {
    const TimePoint until = now_fn() + k_release_budget;
    for (int attempt = 1;; ++attempt) {
        try {
            m_seams.write_failover(candidate);
            m_seams.revoke_leader_lease(leader);
            return std::nullopt;
        } catch (const std::exception& e) {
            if (attempt >= k_release_attempts || now_fn() >= until) {
                return std::to_string(attempt) + " attempts; the last: " + e.what();
            }
        }
        if (m_seams.pause) {
            m_seams.pause(m_settings.probe_interval);
        }
    }
}

}  // namespace pgdr::guard
