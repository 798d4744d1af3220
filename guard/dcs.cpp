#include "guard/dcs.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/strings.hpp"

namespace pgdr::guard {

namespace {

using nlohmann::json;

constexpr std::int64_t k_patroni_default_max_lag = 1048576;  // maximum_lag_on_failover

bool tag_true(const json& member, const char* tag) {
    if (!member.contains("tags") || !member["tags"].is_object() || !member["tags"].contains(tag)) {
        return false;
    }
    const json& v = member["tags"][tag];
    if (v.is_boolean()) {
        return v.get<bool>();
    }
    const std::string text = v.is_string() ? v.get<std::string>() : "";
    return text == "true" || text == "True" || text == "TRUE";
}

}  // namespace

DcsView parse_dcs(const std::vector<EtcdKv>& kvs, const std::string& prefix) {
    DcsView view;
    std::map<std::string, json> members;
    std::string sync_value;
    for (const auto& kv : kvs) {
        if (kv.key.rfind(prefix, 0) != 0) {
            continue;
        }
        const std::string rel = kv.key.substr(prefix.size());
        if (rel == "leader") {
            view.leader = trim(kv.value);
            view.leader_lease = kv.lease;
        } else if (rel == "sync") {
            sync_value = kv.value;
        } else if (rel == "failover") {
            view.failover = kv.value;
        } else if (rel == "config") {
            const json c = json::parse(kv.value, nullptr, false);
            if (c.is_object()) {
                view.paused = c.value("pause", false) == true;
                view.synchronous_mode = c.contains("synchronous_mode") &&
                                        c["synchronous_mode"].is_boolean() &&
                                        c["synchronous_mode"].get<bool>();
                view.maximum_lag_on_failover = int64_field(c, "maximum_lag_on_failover");
            }
        } else if (rel.rfind("members/", 0) == 0) {
            members[rel.substr(8)] = json::parse(kv.value, nullptr, false);
        }
    }
    if (!view.maximum_lag_on_failover) {
        view.maximum_lag_on_failover = k_patroni_default_max_lag;
    }
    const json sync = json::parse(sync_value, nullptr, false);
    if (sync.is_object() && sync.contains("sync_standby") && sync["sync_standby"].is_string() &&
        sync.value("leader", "") == view.leader) {
        for (const auto& name : split(sync["sync_standby"].get<std::string>(), ',')) {
            if (!trim(name).empty()) {
                view.sync_standbys.push_back(trim(name));
            }
        }
    }
    std::optional<std::int64_t> leader_wal;
    if (auto it = members.find(view.leader); it != members.end()) {
        leader_wal = int64_field(it->second, "xlog_location");
    }
    for (const auto& [name, m] : members) {
        if (!m.is_object()) {
            continue;
        }
        pg::ClusterMember member;
        member.name = name;
        member.state = m.value("state", "");
        member.timeline = int64_field(m, "timeline");
        member.nofailover = tag_true(m, "nofailover");
        if (name == view.leader) {
            member.role = pg::MemberRole::leader;
            member.role_text = "leader";
        } else if (std::find(view.sync_standbys.begin(), view.sync_standbys.end(), name) !=
                   view.sync_standbys.end()) {
            member.role = pg::MemberRole::sync_standby;
            member.role_text = "sync_standby";
        } else {
            member.role = pg::MemberRole::replica;
            member.role_text = "replica";
        }
        const auto wal = int64_field(m, "xlog_location");
        if (leader_wal && wal && member.role != pg::MemberRole::leader) {
            member.lag_bytes = std::max<std::int64_t>(0, *leader_wal - *wal);
        }
        view.members.push_back(member);
    }
    return view;
}

std::optional<std::string> failover_candidate(const DcsView& view, std::string& why) {
    pg::ClusterSnapshot snapshot;
    snapshot.patroni_answered = true;
    snapshot.patroni_source = "the DCS";
    snapshot.members = view.members;
    snapshot.leaders =
        view.leader.empty() ? std::vector<std::string>{} : std::vector<std::string>{view.leader};
    snapshot.leader = view.leader;
    pg::CandidatePolicy policy;
    policy.synchronous_mode = view.synchronous_mode;
    policy.max_lag_bytes = view.maximum_lag_on_failover;
    const auto choice = pg::pick_candidate(snapshot, policy);
    why = choice.why;
    if (choice.name.empty()) {
        return std::nullopt;
    }
    return choice.name;
}

std::string failover_value(const std::string& candidate) {
    return json{{"member", candidate}}.dump();
}

}  // namespace pgdr::guard
