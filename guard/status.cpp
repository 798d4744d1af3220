#include "guard/status.hpp"

#include <algorithm>
#include <map>
#include <sstream>
#include <stdexcept>

#include "core/base64.hpp"
#include "guard/agent.hpp"

namespace pgdr::guard {

namespace {

using nlohmann::json;

AgentStatus& agent_of(std::map<std::string, AgentStatus>& by_name, const std::string& name) {
    auto& a = by_name[name];
    a.agent = name;
    return a;
}

long long ms_since(TimePoint then, TimePoint now) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - then).count();
}

}  // namespace

std::vector<EtcdKv> etcdctl_kvs(const std::string& json_text) {
    const json j = json::parse(json_text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        throw std::invalid_argument("etcdctl's answer is not a JSON object");
    }
    std::vector<EtcdKv> out;
    if (!j.contains("kvs")) {
        return out;
    }
    for (const auto& kv : j["kvs"]) {
        EtcdKv e;
        e.key = base64_decode(kv.value("key", "")).value_or("");
        e.value = base64_decode(kv.value("value", "")).value_or("");
        if (kv.contains("lease") && kv["lease"].is_number_integer()) {
            e.lease = kv["lease"].get<std::int64_t>();
        }
        if (kv.contains("mod_revision") && kv["mod_revision"].is_number_integer()) {
            e.mod_revision = kv["mod_revision"].get<std::int64_t>();
        }
        out.push_back(e);
    }
    return out;
}

GuardStatus guard_status(const std::vector<EtcdKv>& kvs, const std::string& prefix) {
    GuardStatus s;
    std::map<std::string, AgentStatus> by_name;
    for (const auto& kv : kvs) {
        if (kv.key.rfind(prefix, 0) != 0) {
            continue;
        }
        const std::string rel = kv.key.substr(prefix.size());
        try {
            if (rel.rfind("agents/", 0) == 0) {
                auto& a = agent_of(by_name, rel.substr(7));
                a.last = observation_from_json(kv.value);
                a.live = true;
            } else if (rel.rfind("decisions/", 0) == 0) {
                const json d = json::parse(kv.value);
                agent_of(by_name, rel.substr(10)).decision = d;
            } else if (rel.rfind("failovers/", 0) == 0) {
                s.failovers.push_back(json::parse(kv.value));
            } else if (rel == "fence-lock") {
                s.fence_lock = kv.value;
            }
        } catch (const std::exception&) {
            // an unreadable value: skipped (status must still show the rest)
        }
    }
    for (auto& [name, a] : by_name) {
        s.agents.push_back(a);
    }
    std::sort(s.failovers.begin(), s.failovers.end(), [](const json& a, const json& b) {
        return a.value("at_ms", 0LL) < b.value("at_ms", 0LL);
    });
    return s;
}

json to_json(const GuardStatus& s) {
    json agents = json::array();
    for (const auto& a : s.agents) {
        json j = {{"agent", a.agent}, {"live", a.live}, {"decision", a.decision}};
        if (a.live) {
            j["leader"] = a.last.leader;
            j["unreachable"] = a.last.unreachable;
            j["observed_at"] = iso_ms(a.last.at);
            j["leader_last_answered_at"] = iso_ms(a.last.last_ok);
        }
        agents.push_back(j);
    }
    return {{"agents", agents}, {"failovers", s.failovers}, {"fence_lock", s.fence_lock}};
}

std::string render_text(const GuardStatus& s, const std::vector<std::string>& expected,
                        TimePoint now) {
    std::ostringstream out;
    out << "agents:\n";
    for (const auto& name : expected) {
        const auto it = std::find_if(s.agents.begin(), s.agents.end(),
                                     [&](const AgentStatus& a) { return a.agent == name; });
        if (it == s.agents.end() || !it->live) {
            out << "  " << name
                << "  NOT RUNNING (no observation: the agent or its host is down)\n";
        }
    }
    for (const auto& a : s.agents) {
        if (!a.live) {
            continue;
        }
        out << "  " << a.agent << "  watching "
            << (a.last.leader.empty() ? "(no leader)" : a.last.leader) << ", last probe "
            << ms_since(a.last.at, now) << " ms ago, leader "
            << (a.last.unreachable ? "UNREACHABLE" : "answers") << "\n";
        if (a.decision.is_object()) {
            out << "      last decision " << a.decision.value("action", "?") << " at "
                << iso_ms(TimePoint(std::chrono::milliseconds(a.decision.value("at_ms", 0LL))))
                << ": " << a.decision.value("reason", "") << "\n";
        }
    }
    out << "fence lock: " << (s.fence_lock.empty() ? "free" : "held by " + s.fence_lock) << "\n";
    out << "failovers: " << s.failovers.size() << "\n";
    for (const auto& f : s.failovers) {
        out << "  " << iso_ms(TimePoint(std::chrono::milliseconds(f.value("at_ms", 0LL)))) << "  "
            << f.value("leader", "?") << " -> " << f.value("candidate", "?") << " by "
            << f.value("agent", "?") << ":";
        const auto phases = f.value("phases", json::array());
        const long long base =
            phases.empty() ? f.value("at_ms", 0LL) : phases[0].value("at_ms", 0LL);
        for (const auto& p : f.value("phases", json::array())) {
            out << " " << p.value("name", "?") << " " << (p.value("at_ms", 0LL) - base) << " ms";
        }
        out << "\n";
    }
    return out.str();
}

}  // namespace pgdr::guard
