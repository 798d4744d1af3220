// Building the real objects for a command: the inventory with the state's addresses applied,
// and one SSH transport per selected host.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "cmd/context.hpp"
#include "core/transport.hpp"

namespace pgdr::cmd {

// The inventory with addresses from the state directory; throws (exit 3) when a host still has
// no address (an OVH cluster that was not provisioned yet).
Inventory resolved_inventory(Context& ctx);

// Hosts picked by --hosts a,b (names) and/or --service S; all hosts when both are empty.
// Throws a usage error for an unknown host or service name.
std::vector<const HostSpec*> select_hosts(const Inventory& inv, const std::string& hosts_csv,
                                          const std::string& service);

std::unique_ptr<Transport> ssh_transport(Context& ctx, const HostSpec& host);

// One SSH transport per inventory host (connected lazily), owned, and looked up by name.
struct HostTransports {
    std::vector<std::unique_ptr<Transport>> owned;
    std::map<std::string, Transport*> by_name;
};
HostTransports connect_hosts(Context& ctx, const Inventory& inv);

}  // namespace pgdr::cmd
