// Which instances provision may delete: those of hosts that state.json lists but the inventory no
// longer has. Deleting one removes a machine and its local disks (maybe the Patroni leader), so
// it is never a default: without --prune each such host is a blocker that names the command to
// proceed, and an instance whose name is not pgdr's for this cluster and host (a stale or shared
// state directory) is never deleted at all.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "core/state.hpp"
#include "ovh/provider.hpp"

namespace pgdr::ovh {

struct PruneDecision {
    std::vector<Change> removals;       // action remove, kind "instance"
    std::vector<std::string> blockers;  // provision refuses while any is present
};

// instances: the project's v2 compute/instance list. prune: the operator gave --prune (the typed
// confirmation is the command's job). inventory_path is only used in the hints.
PruneDecision plan_pruning(const Inventory& inv, const ClusterState& state,
                           const nlohmann::json& instances, bool prune,
                           const std::string& inventory_path = "INVENTORY");

// Whether a deletion (destroy, provision --prune) may go ahead without the typed cluster name:
// --yes-really naming the cluster always may; --yes may only on a cluster not marked
// `production: true`. Returns false when the operator must type the name. Throws a usage Error
// when --yes-really names another cluster, or when --yes alone is given for a production cluster
// (the message names `--yes-really CLUSTER`).
bool deletion_confirmed_by_flags(const Inventory& inv, bool yes, const std::string& yes_really,
                                 const std::string& command);

}  // namespace pgdr::ovh
