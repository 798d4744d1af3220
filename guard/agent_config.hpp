// The configuration of one pgdr-guard agent: /etc/pgdr-guard/guard.json, written by
// `pgdr bootstrap` (render_agent_config) and read by the agent (parse_agent_config). JSON, so the
// agent needs no YAML library on the hosts. Secrets are not in it: the OVH credentials are a
// separate 0600 file (`provider.credentials_file`, ovh.conf's format) and the etcd client key
// is a file too.
//
//   {"agent": "lb1", "cluster": "shop-db", "dcs_prefix": "/postgresql-common/17-main/",
//    "guard_prefix": "/pgdr/shop-db/guard/",
//    "etcd": {"endpoints": ["https://198.18.64.11:2379", ...],
//             "ca_file": "...", "cert_file": "...", "key_file": "..."},
//    "members": [{"name": "pg1", "address": "198.18.64.11", "pg_port": 5432,
//                 "rest_port": 8008}, ...],
//    "settings": {"probe_interval_ms": 300, "probe_timeout_ms": 500,
//                 "unreachable_after_ms": 2000, "quorum": 2, "observation_ttl_ms": 3000,
//                 "fence_timeout_ms": 20000, "fence_on_silence": false,
//                 "fence_action": "reboot"},
//    "provider": {"type": "ovh", "endpoint": "https://eu.api.ovh.com/1.0", "ca_file": "",
//                 "credentials_file": "/etc/pgdr-guard/ovh.conf", "project_id": "...",
//                 "instances": {"pg1": {"id": "...", "name": "pgdr-shop-db-pg1",
//                                       "address": "198.18.64.11"}, ...}}}
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "guard/decision.hpp"

namespace pgdr::guard {

struct GuardMember {
    std::string name;
    std::string address;
    int pg_port = 5432;
    int rest_port = 8008;
};

struct GuardInstance {
    std::string id;
    std::string name;     // the provider's name for it (checked before a fence)
    std::string address;  // its private address (checked before a fence)
};

enum class FenceAction { reboot, stop };

struct GuardProvider {
    std::string type;  // "ovh"
    std::string endpoint;
    std::string ca_file;  // "" : the system's CA store
    std::string credentials_file;
    std::string project_id;
    std::map<std::string, GuardInstance> instances;  // by member name
};

struct AgentConfig {
    std::string agent;
    std::string cluster;
    std::string dcs_prefix;    // Patroni's namespace + scope + "/"
    std::string guard_prefix;  // the guards' own keys
    std::vector<std::string> etcd_endpoints;
    std::string etcd_ca_file;
    std::string etcd_cert_file;
    std::string etcd_key_file;
    std::vector<GuardMember> members;
    GuardSettings settings;
    std::chrono::milliseconds probe_timeout{500};
    FenceAction fence_action = FenceAction::reboot;
    GuardProvider provider;
};

// Throws std::invalid_argument naming the field.
AgentConfig parse_agent_config(const std::string& json_text);
std::string render_agent_config(const AgentConfig& config);

}  // namespace pgdr::guard
