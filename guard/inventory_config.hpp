// pgdr-guard's configuration for one agent host, from the inventory (the guard section, the
// etcd members, the PostgreSQL members and their OVH instances). `pgdr bootstrap` renders it
// (render_agent_config) into the guard stage's /etc/pgdr-guard/guard.json.
#pragma once

#include <map>
#include <string>

#include "core/inventory.hpp"
#include "guard/agent_config.hpp"

namespace pgdr::guard {

// The endpoint the agents sign their calls for: guard.provider_endpoint, else
// provider.ovh.endpoint, else ovh-eu.
std::string agent_endpoint(const Inventory& inv);

// `instance_ids`: each PostgreSQL member's OVH instance (state.json); a member without one is
// an error (pgdr::Error, invalid_config: `pgdr provision` records them).
AgentConfig agent_config_for(const Inventory& inv, const HostSpec& agent,
                             const std::map<std::string, std::string>& instance_ids);

}  // namespace pgdr::guard
