#include "pg/candidate.hpp"

#include <tuple>

#include "core/strings.hpp"

namespace pgdr::pg {

namespace {

// The timeline a candidate must be on: the leader's, or without a leader the highest a
// running replica reports.
std::optional<int> required_timeline(const ClusterSnapshot& s) {
    if (const auto* l = s.member(s.leader)) {
        return l->timeline;
    }
    std::optional<int> top;
    for (const auto& m : s.members) {
        if (!m.is_leader() && m.running() && m.timeline && (!top || *m.timeline > *top)) {
            top = m.timeline;
        }
    }
    return top;
}

std::optional<std::int64_t> lag_of(const ClusterSnapshot& s, const ClusterMember& m) {
    if (s.replication_read) {
        const auto* row = s.replication_of(m.name);
        return row != nullptr ? row->lag_bytes : std::nullopt;
    }
    return m.lag_bytes;
}

std::string refusal(const ClusterSnapshot& s, const CandidatePolicy& p, const ClusterMember& m) {
    if (m.is_leader()) {
        return m.name + " leads";
    }
    if (!m.running()) {
        return m.name + " is " + (m.state.empty() ? "in no state" : m.state);
    }
    if (m.nofailover) {
        return m.name + " is tagged nofailover";
    }
    const auto tl = required_timeline(s);
    if (tl && m.timeline && *m.timeline != *tl) {
        return m.name + " is on timeline " + std::to_string(*m.timeline) + ", not " +
               std::to_string(*tl);
    }
    if (!s.leader.empty() && s.replication_read) {
        const auto* row = s.replication_of(m.name);
        if (row == nullptr || row->state != "streaming") {
            return m.name + " is not streaming from " + s.leader + " (" +
                   (row == nullptr ? "absent from pg_stat_replication" : row->state) + ")";
        }
    }
    if (p.synchronous_mode && !m.is_sync_standby()) {
        const auto sync = s.sync_standbys();
        return m.name + " is " + (m.role_text.empty() ? "no standby" : m.role_text) +
               "; with synchronous_mode Patroni hands over to " +
               (sync.empty() ? "a synchronous standby only, and there is none yet"
                             : join(sync) + " only");
    }
    const auto lag = lag_of(s, m);
    if (!lag && !p.allow_unknown_lag) {
        return m.name + "'s lag is unknown";
    }
    if (lag && p.max_lag_bytes && *lag > *p.max_lag_bytes) {
        return m.name + " lags " + std::to_string(*lag) + " bytes, over the bound of " +
               std::to_string(*p.max_lag_bytes);
    }
    return "";
}

}  // namespace

std::string candidate_refusal(const ClusterSnapshot& snapshot, const CandidatePolicy& policy,
                              const std::string& name) {
    const auto* m = snapshot.member(name);
    if (m == nullptr) {
        return name + " is not registered with Patroni";
    }
    return refusal(snapshot, policy, *m);
}

CandidateChoice pick_candidate(const ClusterSnapshot& snapshot, const CandidatePolicy& policy) {
    const ClusterMember* best = nullptr;
    std::tuple<int, std::int64_t, std::string> best_key;
    std::vector<std::string> refused;
    for (const auto& m : snapshot.members) {
        if (m.is_leader()) {
            continue;
        }
        if (auto why = refusal(snapshot, policy, m); !why.empty()) {
            refused.push_back(why);
            continue;
        }
        const auto lag = lag_of(snapshot, m);
        std::tuple<int, std::int64_t, std::string> key{m.is_sync_standby() ? 0 : 1,
                                                       lag.value_or(INT64_MAX), m.name};
        if (best == nullptr || key < best_key) {
            best = &m;
            best_key = key;
        }
    }
    if (best == nullptr) {
        return {"", refused.empty() ? "no replica"
                                    : "no replica can take over: " + join(refused, "; ")};
    }
    const auto lag = lag_of(snapshot, *best);
    return {best->name, best->name + " (" +
                            (best->is_sync_standby() ? best->role_text : std::string("replica")) +
                            ", lag " + (lag ? std::to_string(*lag) + " bytes" : "unknown") +
                            "; synchronous first, then least lag)"};
}

}  // namespace pgdr::pg
