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

Readiness readiness_of(const GuardStatus& s, const std::vector<std::string>& expected, int quorum) {
    Readiness r;
    r.quorum = quorum;
    r.expected = static_cast<int>(expected.size());
    for (const auto& a : s.agents) {
        if (a.live && std::find(expected.begin(), expected.end(), a.agent) != expected.end()) {
            ++r.live;
        }
    }
    return r;
}

std::string render_readiness(const Readiness& r) {
    const std::string counts = std::to_string(r.live) + " of " + std::to_string(r.expected) +
                               " agents live, quorum " + std::to_string(r.quorum);
    if (!r.armed()) {
        return "fenced failover: NOT ARMED (" + counts +
               "): a dead leader waits for Patroni's TTL until the agents are back\n";
    }
    const int spare = r.live - r.quorum;
    return "fenced failover: armed (" + counts + "; " +
           (spare == 0 ? std::string("the loss of one agent host disarms it")
                       : "survives the loss of " + std::to_string(spare) + " agent host(s)") +
           ")\n";
}

json summary_json(const GuardStatus& s, const std::vector<std::string>& expected, int quorum) {
    const Readiness r = readiness_of(s, expected, quorum);
    json agents = json::array();
    for (const auto& name : expected) {
        const auto it = std::find_if(s.agents.begin(), s.agents.end(),
                                     [&](const AgentStatus& a) { return a.agent == name; });
        const bool live = it != s.agents.end() && it->live;
        json a = {{"agent", name}, {"live", live}, {"last_decision", nullptr}};
        if (it != s.agents.end() && it->decision.is_object()) {
            a["last_decision"] = {{"action", it->decision.value("action", "")},
                                  {"at_ms", it->decision.value("at_ms", 0LL)},
                                  {"reason", it->decision.value("reason", "")}};
        }
        agents.push_back(a);
    }
    return {{"armed", r.armed()},
            {"live_agents", r.live},
            {"quorum", r.quorum},
            {"agents", agents},
            {"failovers", s.failovers.size()},
            {"last_failover", s.failovers.empty() ? json(nullptr) : s.failovers.back()}};
}

std::string render_summary(const json& summary) {
    Readiness r;
    r.live = summary.value("live_agents", 0);
    r.quorum = summary.value("quorum", 0);
    r.expected = static_cast<int>(summary.value("agents", json::array()).size());
    std::string out = "guard: " + render_readiness(r);
    for (const auto& a : summary.value("agents", json::array())) {
        out += "  " + a.value("agent", "?") + (a.value("live", false) ? "" : " (NOT RUNNING)");
        const json& d = a.contains("last_decision") ? a["last_decision"] : json(nullptr);
        if (d.is_object()) {
            out += ": " + iso_ms(TimePoint(std::chrono::milliseconds(d.value("at_ms", 0LL)))) +
                   " " + d.value("action", "?") + ": " + d.value("reason", "");
        }
        out += "\n";
    }
    const json& f = summary.contains("last_failover") ? summary["last_failover"] : json(nullptr);
    if (f.is_object()) {
        out += "  last failover: " +
               iso_ms(TimePoint(std::chrono::milliseconds(f.value("at_ms", 0LL)))) + " " +
               f.value("leader", "?") + " -> " + f.value("candidate", "?") + " by " +
               f.value("agent", "?") + "\n";
    }
    return out;
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
