// What pgdr wants to exist in an OVH project for one inventory: names, regions, private
// addresses and firewall rules. Pure functions of the inventory, so they are tested alone.
//
// Names derive from the cluster: instances pgdr-<cluster>-<host>; per region r the shared
// resources pgdr-<cluster>-net-<r>, -subnet-<r>, -sg-<r>, -ag-<r> (anti-affinity group, made
// when the region holds two hosts or more); the project-wide SSH key pgdr-<cluster>.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/inventory.hpp"

namespace pgdr::ovh {

std::string instance_name(const Inventory& inv, const HostSpec& host);
std::string ssh_key_name(const Inventory& inv);
// what: "net", "subnet", "sg", "ag".
std::string regional_name(const Inventory& inv, const std::string& what, const std::string& region);

// The host's region: its own, else the first of provider.ovh.regions.
std::string host_region(const Inventory& inv, const HostSpec& host);
// Regions that hold hosts, in the order of provider.ovh.regions, then first use.
std::vector<std::string> regions_in_use(const Inventory& inv);
std::vector<const HostSpec*> hosts_in_region(const Inventory& inv, const std::string& region);

// The private address of every host: its inventory address, else the network address + 10 +
// its position in the inventory. Throws pgdr::Error (exit 3) when they do not fit below the
// DHCP pools (the upper half of network.cidr).
std::map<std::string, std::string> private_addresses(const Inventory& inv);
// The DHCP allocation pool of region number `index` of `count`: a slice of the upper half.
nlohmann::json allocation_pools(const Inventory& inv, std::size_t index, std::size_t count);

// Ingress rules, per role: the cluster ports (TCP 5432, the Patroni REST port, etcd
// client..peer) from each member's private address (/32) only; the HAProxy ports (write, read,
// stats) from network.cidr and each of haproxy.client_cidrs; TCP 22 from each of
// network.ssh_allowed_cidrs; nothing else. Throws like private_addresses().
nlohmann::json security_group_rules(const Inventory& inv);
// The rules as comparable text ("INGRESS TCP 5432-5432 10.0.0.0/24"), descriptions ignored.
std::vector<std::string> rule_keys(const nlohmann::json& rules);

// availabilityZone for the API: host.zone when it is a full zone name (contains '-', e.g.
// eu-west-par-a), else empty (a short zone such as "a" is a placement label only).
std::string availability_zone(const HostSpec& host);

}  // namespace pgdr::ovh
