// The state directory: what pgdr learns about a cluster, kept beside the inventory (which pgdr
// never rewrites). Layout of <state_dir> (mode 0700):
//   state.json          hosts' provider facts (addresses, instance ids), written atomically
//   secrets/<name>      generated secrets, one per file, mode 0600, reused on re-runs
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/inventory.hpp"

namespace pgdr {

struct HostState {
    std::string address;         // private address the cluster uses
    std::string public_address;  // where SSH reaches it, when different
    std::string instance_id;     // provider id (OVH instance id, lab machine name)
    std::string region;
};

struct ClusterState {
    // Whose state this is: recorded by provision and bootstrap; "" in an older state file.
    std::string cluster;
    std::string project;                     // OVH project id (ovh provider only)
    std::string secrets_fingerprint;         // of secrets/ when bootstrap last ran (pg/secrets.hpp)
    std::map<std::string, HostState> hosts;  // by inventory host name
    nlohmann::json provider = nlohmann::json::object();  // provider-specific ids (network, ...)
};

// Reads <state_dir>/state.json; an empty state when it does not exist.
ClusterState load_state(const std::string& state_dir);
// The content of a state.json (`path` for messages); throws pgdr::Error (invalid_config).
ClusterState parse_state(const std::string& text, const std::string& path);
void save_state(const std::string& state_dir, const ClusterState& state);

// Throws pgdr::Error (invalid_config) when the state records another cluster name or another
// OVH project than the inventory: two inventories sharing a state directory, or a copied one.
void check_state_identity(const Inventory& inv, const ClusterState& state);

// A pair of clusters (the inventory's `dr` section) after `pgdr dr promote`: the state's
// provider["dr"]["primary"] names the cluster that is primary now.
inline constexpr const char* k_dr_state_key = "dr";
// The name of the pair's primary cluster per the state; "" when no promotion is recorded.
std::string dr_primary(const ClusterState& state);

// Fills the addresses the inventory leaves empty from the state; returns the hosts still
// without an address. Calls check_state_identity() first. For a pair whose DR cluster was
// promoted, swaps the roles (swap_dr_roles()).
std::vector<std::string> apply_state(Inventory& inv, const ClusterState& state);

// The secret named `name` (e.g. "replication-password"): read from secrets/<name>, or generated
// (32 random characters from a URL-safe alphabet, from /dev/urandom) and stored 0600.
std::string ensure_secret(const std::string& state_dir, const std::string& name);
// The secret if it exists.
std::optional<std::string> read_secret(const std::string& state_dir, const std::string& name);

}  // namespace pgdr
