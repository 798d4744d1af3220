#include "drills/timeline.hpp"

#include "pg/patroni_api.hpp"

namespace pgdr::drills {

std::string to_string(NodeRole role) {
    switch (role) {
        case NodeRole::primary:
            return "primary";
        case NodeRole::replica:
            return "replica";
        case NodeRole::standby_leader:
            return "standby_leader";
        case NodeRole::unknown:
            break;
    }
    return "unknown";
}

NodeRole parse_patroni_role(const std::string& role) {
    // Patroni's vocabulary is pg::parse_member_role's; every kind of standby is a replica for
    // the drill.
    switch (pg::parse_member_role(role)) {
        case pg::MemberRole::leader:
            return NodeRole::primary;
        case pg::MemberRole::standby_leader:
            return NodeRole::standby_leader;
        case pg::MemberRole::sync_standby:
        case pg::MemberRole::quorum_standby:
        case pg::MemberRole::replica:
            return NodeRole::replica;
        case pg::MemberRole::unknown:
            break;
    }
    return NodeRole::unknown;
}

Timeline::Timeline(Clock& clock)
    : m_clock(clock), m_started(clock.steady_now()), m_started_wall(clock.wall_now()) {}

Millis Timeline::now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(m_clock.steady_now() - m_started)
        .count();
}

std::chrono::system_clock::time_point Timeline::wall_at(Millis at_ms) const {
    return m_started_wall + std::chrono::milliseconds(at_ms);
}

Millis Timeline::record(EventData data) {
    // The clock is read under the lock so that the stored order is the stamp order even when
    // several probe threads append at once.
    std::lock_guard<std::mutex> lock(m_mutex);
    Millis at = now_ms();
    m_events.push_back(Event{at, wall_at(at), std::move(data)});
    return at;
}

std::vector<Event> Timeline::events() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_events;
}

std::size_t Timeline::size() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_events.size();
}

}  // namespace pgdr::drills
