#include "pg/dr_link.hpp"

#include <cstdio>

namespace pgdr::pg {

std::string dr_link_sql(const std::string& slot) {
    return "SELECT s.active, pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint, "
           "coalesce(r.application_name, ''), coalesce(r.state, ''), "
           "pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint, "
           "extract(epoch from r.replay_lag)::float8 "
           "FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid "
           "WHERE s.slot_name = '" +
           slot + "'";
}

DrLink parse_dr_link(const QueryResult& result, const std::string& slot) {
    DrLink out;
    out.slot = slot;
    out.read = true;
    if (result.rows.empty()) {
        return out;
    }
    try {
        auto integer = [&](std::size_t col) -> std::optional<std::int64_t> {
            auto v = result.value(0, col);
            return v ? std::optional<std::int64_t>(std::stoll(*v)) : std::nullopt;
        };
        out.slot_exists = true;
        out.slot_active = result.value(0, 0).value_or("") == "t";
        out.retained_bytes = integer(1);
        out.standby = result.value(0, 2).value_or("");
        out.state = result.value(0, 3).value_or("");
        out.lag_bytes = integer(4);
        if (auto s = result.value(0, 5)) {
            out.lag_seconds = std::stod(*s);
        } else if (out.lag_bytes && *out.lag_bytes == 0) {
            out.lag_seconds = 0.0;  // caught up: PostgreSQL reports no replay_lag
        }
    } catch (const std::exception& e) {
        out.read = false;
        out.error = std::string("unexpected answer: ") + e.what();
    }
    return out;
}

DrLink read_dr_link(const ClusterTargets& targets, const ClusterAccess& access,
                    const std::string& leader, const std::string& slot,
                    std::chrono::milliseconds timeout) {
    DrLink out;
    out.slot = slot;
    const auto* node = targets.postgres_node(leader);
    if (node == nullptr || !access.sql) {
        out.error = "no leader to read the DR slot on";
        return out;
    }
    try {
        const QueryResult r = access.sql(access.reach.inside(node->address, targets.pg_port),
                                         dr_link_sql(slot), timeout);
        if (!r.ok) {
            out.error = "the DR slot on " + leader + ": " + r.error.describe();
            return out;
        }
        return parse_dr_link(r, slot);
    } catch (const Error& e) {
        out.error = "the DR slot on " + leader + ": " + e.what();
    }
    return out;
}

nlohmann::json dr_link_to_json(const DrLink& l) {
    auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    nlohmann::json j = {{"read", l.read},
                        {"slot", l.slot},
                        {"slot_exists", l.slot_exists},
                        {"slot_active", l.slot_active},
                        {"retained_bytes", opt(l.retained_bytes)},
                        {"standby", l.standby},
                        {"state", l.state},
                        {"streaming", l.streaming()},
                        {"lag_bytes", opt(l.lag_bytes)},
                        {"lag_seconds", opt(l.lag_seconds)}};
    if (!l.error.empty()) {
        j["error"] = l.error;
    }
    return j;
}

std::string dr_link_text(const DrLink& l) {
    if (!l.read) {
        return "unknown (" + l.error + ")";
    }
    if (!l.slot_exists) {
        return "the slot " + l.slot + " does not exist on the leader";
    }
    std::string out;
    if (l.slot_active && !l.state.empty()) {
        out = l.state + " to " + l.standby + ": ";
        out += l.lag_bytes ? std::to_string(*l.lag_bytes) + " B" : std::string("? B");
        if (l.lag_seconds) {
            char buf[32];
            std::snprintf(buf, sizeof buf, ", %.3f s", *l.lag_seconds);
            out += buf;
        } else {
            out += ", ? s";
        }
        out += " behind";
    } else {
        out = "NOT STREAMING (nothing uses the slot " + l.slot + ")";
    }
    if (l.retained_bytes) {
        out += "; slot " + l.slot + " retains " + std::to_string(*l.retained_bytes) + " B";
    }
    return out;
}

}  // namespace pgdr::pg
