// `pgdr guard status`: what the agents store under /pgdr/<cluster>/guard/ (guard/agent.hpp),
// read with etcdctl on an etcd member and judged here. Pure.
//   agents/<agent>      each live agent's last observation (gone with its lease when the agent
//                       or its host is);
//   decisions/<agent>   each agent's last decision that differed from the one before;
//   failovers/<t>-<a>   every failover an agent carried out, with its phases;
//   fence-lock          the agent fencing right now, if any.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "guard/decision.hpp"
#include "guard/etcd_gateway.hpp"

namespace pgdr::guard {

struct AgentStatus {
    std::string agent;
    bool live = false;        // its observation key exists (its lease is kept alive)
    Observation last;         // when live
    nlohmann::json decision;  // its last recorded decision (null: none)
};

struct GuardStatus {
    std::vector<AgentStatus> agents;        // every agent named in a key, by name
    std::vector<nlohmann::json> failovers;  // oldest first
    std::string fence_lock;                 // the holder; "" when free
};

// `prefix` is /pgdr/<cluster>/guard/; keys outside it are ignored, unreadable values skipped.
GuardStatus guard_status(const std::vector<EtcdKv>& kvs, const std::string& prefix);
// etcdctl get --prefix -w json's output as key/values (base64 decoded); throws
// std::invalid_argument when it is not that.
std::vector<EtcdKv> etcdctl_kvs(const std::string& json_text);

// Whether a fence can happen now: as many live agents as the quorum.
struct Readiness {
    int live = 0;
    int quorum = 0;
    int expected = 0;
    bool armed() const { return live >= quorum; }
};
Readiness readiness_of(const GuardStatus& s, const std::vector<std::string>& expected, int quorum);
// "fenced failover: armed (...)" or "fenced failover: NOT ARMED (...)", with what one more lost
// agent host would do.
std::string render_readiness(const Readiness& r);

// `pgdr status`'s guard section: readiness, each expected agent's last decision (the decision
// log's newest line per agent) and the last failover. JSON, and its text.
nlohmann::json summary_json(const GuardStatus& s, const std::vector<std::string>& expected,
                            int quorum);
std::string render_summary(const nlohmann::json& summary);

nlohmann::json to_json(const GuardStatus& s);
// `expected`: the inventory's guard hosts (an expected agent that is not live is named).
std::string render_text(const GuardStatus& s, const std::vector<std::string>& expected,
                        TimePoint now);

}  // namespace pgdr::guard
