#include "ovh/prune.hpp"

#include "core/error.hpp"
#include "ovh/resources.hpp"

namespace pgdr::ovh {

namespace {

std::string str(const nlohmann::json& j, const char* key) {
    return json_string(j, key);
}

const nlohmann::json* by_id(const nlohmann::json& list, const std::string& id) {
    if (!list.is_array()) {
        return nullptr;
    }
    for (const auto& r : list) {
        if (str(r, "id") == id && resource_status(r) != "DELETING") {
            return &r;
        }
    }
    return nullptr;
}

}  // namespace

PruneDecision plan_pruning(const Inventory& inv, const ClusterState& state,
                           const nlohmann::json& instances, bool prune,
                           const std::string& inventory_path) {
    PruneDecision out;
    for (const auto& [host, hs] : state.hosts) {
        if (inv.find_host(host) != nullptr || hs.instance_id.empty()) {
            continue;
        }
        const nlohmann::json* inst = by_id(instances, hs.instance_id);
        if (inst == nullptr) {
            continue;  // already gone: nothing to delete
        }
        const std::string name = resource_name(*inst);
        const std::string expected = "pgdr-" + inv.cluster + "-" + host;
        if (name != expected) {
            out.blockers.push_back(
                "state.json lists host " + host + " (not in the inventory) with instance " +
                hs.instance_id + ", but that instance is named '" + name + "', not '" + expected +
                "': the state directory belongs to another cluster or is stale; pgdr never "
                "deletes it. Check paths.state_dir, or remove host " +
                host + " from " + inv.paths.state_dir + "/state.json");
            continue;
        }
        if (!prune) {
            out.blockers.push_back(
                "host " + host + " (instance " + name + ", " + hs.instance_id +
                ") is in state.json but no longer in the inventory; provision deletes it (and its "
                "local disks) only when asked: if it was renamed, put its old name back; to "
                "delete it run `pgdr provision -i " +
                inventory_path + " --prune` and type the cluster name");
            continue;
        }
        out.removals.push_back({ChangeAction::remove, "instance", name, hs.region, hs.instance_id,
                                "host " + host + " is no longer in the inventory (--prune)"});
    }
    return out;
}

bool deletion_confirmed_by_flags(const Inventory& inv, bool yes, const std::string& yes_really,
                                 const std::string& command) {
    if (!yes_really.empty()) {
        if (yes_really != inv.cluster) {
            throw usage_error("--yes-really " + yes_really + " does not name this cluster (" +
                                  inv.cluster + "); nothing was deleted",
                              "run `" + command + " --yes-really " + inv.cluster + "`");
        }
        return true;
    }
    if (yes && inv.production) {
        throw usage_error(
            "cluster " + inv.cluster + " is marked production: true; --yes does not delete it",
            "type the cluster name when asked, or run `" + command + " --yes-really " +
                inv.cluster + "`");
    }
    return yes;
}

}  // namespace pgdr::ovh
