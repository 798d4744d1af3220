// OvhProvider: makes the hosts of an inventory exist on OVH Public Cloud (DESIGN.md §2, §3).
//
// plan()    reads the project (never writes) and lists what apply() would create, update, keep
//           or delete, plus blockers (quota, missing flavor/image, conflicting resources) that
//           stop apply() before it changes anything.
// apply()   executes the plan: first the SSH key and, per region in parallel, network + subnet,
//           security group and anti-affinity group; then every instance in parallel; each waited
//           until READY. The state file is written as soon as instance ids are known and again
//           at the end (private and public addresses). Running it again creates nothing.
// destroy() deletes everything pgdr made for the cluster, in reverse order (instances, also a
//           restore drill's scratch instance a failed deletion left behind, then
//           groups and security groups, subnets, networks, the SSH key), waiting until each is
//           gone (404 counts as gone), and empties the state.
// Resources are identified by name (layout.hpp); instances removed from the inventory are
// deleted only when the state file records them, so pgdr never deletes what it did not make.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "core/log.hpp"
#include "core/state.hpp"
#include "ovh/resources.hpp"

namespace pgdr::ovh {

enum class ChangeAction { create, update, keep, wait, remove };
std::string to_string(ChangeAction a);

struct Change {
    ChangeAction action = ChangeAction::keep;
    std::string kind;  // "ssh key", "network", "subnet", "security group", "instance group",
                       // "instance"
    std::string name;
    std::string region;
    std::string id;      // when it exists
    std::string detail;  // why, or what changes
};

struct ProvisionPlan {
    std::vector<Change> changes;
    std::vector<std::string> blockers;  // apply refuses while any is present

    int count(ChangeAction a) const;
    // Creates, updates and removals (what "0 changes" counts).
    int change_count() const;
};

struct ProviderOptions {
    std::size_t max_parallel = 8;
    // Called with one line per step (created, READY, deleted); the command shows them on a TTY.
    std::function<void(const std::string&)> progress;
    // Delete the instances of hosts the inventory no longer has (provision --prune, after the
    // typed confirmation); without it they are blockers (ovh/prune.hpp).
    bool prune = false;
    std::string inventory_path = "INVENTORY";  // for the hints
    // destroy: also delete a backup bucket that holds objects (after the typed cluster name);
    // without it such a bucket, its S3 user and credential are kept (ovh/object_storage.hpp).
    bool delete_backups = false;
};

struct ApplyResult {
    ProvisionPlan plan;
    int created = 0;
    int updated = 0;
    int deleted = 0;
};

class OvhProvider {
  public:
    OvhProvider(ProjectApi& api, Logger& log, ProviderOptions options = {});

    ProvisionPlan plan(const Inventory& inv, const ClusterState& state);
    // Writes <state_dir>/state.json (through save_state) while it works.
    ApplyResult apply(const Inventory& inv, ClusterState& state, const std::string& state_dir);
    // What destroy() would delete (kind "instance", ..., action remove).
    std::vector<Change> destroy_plan(const Inventory& inv, const ClusterState& state);
    ApplyResult destroy(const Inventory& inv, ClusterState& state, const std::string& state_dir);

  private:
    void say(const std::string& line);

    ProjectApi& m_api;
    Logger& m_log;
    ProviderOptions m_options;
};

}  // namespace pgdr::ovh
