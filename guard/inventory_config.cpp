#include "guard/inventory_config.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "pg/debian_paths.hpp"
#include "pg/stage_guard.hpp"
#include "pg/tls.hpp"

namespace pgdr::guard {

std::string agent_endpoint(const Inventory& inv) {
    if (!inv.guard.provider_endpoint.empty()) {
        return inv.guard.provider_endpoint;
    }
    return inv.ovh.endpoint.empty() ? "ovh-eu" : inv.ovh.endpoint;
}

AgentConfig agent_config_for(const Inventory& inv, const HostSpec& agent,
                             const std::map<std::string, std::string>& instance_ids) {
    const auto& tls = pg::tls_paths();
    AgentConfig c;
    c.agent = agent.name;
    c.cluster = inv.cluster;
    c.dcs_prefix = "/postgresql-common/" + pg::debian_paths(inv).cluster + "/";
    c.guard_prefix = "/pgdr/" + inv.cluster + "/guard/";
    for (const auto* e : inv.hosts_with(Service::etcd)) {
        c.etcd_endpoints.push_back("https://" + e->address + ":" +
                                   std::to_string(inv.etcd.client_port));
    }
    c.etcd_ca_file = tls.ca;
    c.etcd_cert_file = tls.guard_cert;
    c.etcd_key_file = tls.guard_key;
    const auto& g = inv.guard;
    c.settings.probe_interval = std::chrono::milliseconds(g.probe_interval_ms);
    c.probe_timeout = std::chrono::milliseconds(std::min(1000, 2 * g.probe_interval_ms));
    c.settings.unreachable_after = std::chrono::milliseconds(g.unreachable_after_ms);
    c.settings.quorum = g.quorum;
    // Fresh enough: ten probes, at least three seconds (an agent's etcd write may lag).
    c.settings.observation_ttl =
        std::chrono::milliseconds(std::max(3000, 10 * g.probe_interval_ms));
    c.settings.fence_timeout = std::chrono::seconds(g.fence_timeout_s);
    c.settings.fence_on_silence = g.fence_on_silence;
    c.fence_action = g.fence_action == "stop" ? FenceAction::stop : FenceAction::reboot;
    c.provider.type = "ovh";
    c.provider.endpoint = agent_endpoint(inv);
    c.provider.ca_file = g.provider_ca_file.empty() ? "" : pg::k_guard_provider_ca;
    c.provider.credentials_file = pg::k_guard_credentials;
    c.provider.project_id = inv.ovh.project_id;
    for (const auto* m : inv.hosts_with(Service::postgres)) {
        c.members.push_back({m->name, m->address, 5432, inv.patroni.rest_port});
        auto id = instance_ids.find(m->name);
        if (id == instance_ids.end() || id->second.empty()) {
            throw config_error("no OVH instance is recorded for " + m->name +
                                   " in the state: pgdr-guard could not fence it",
                               "`pgdr provision` creates the instances and records their ids");
        }
        c.provider.instances[m->name] = {id->second, "pgdr-" + inv.cluster + "-" + m->name,
                                         m->address};
    }
    return c;
}

}  // namespace pgdr::guard
