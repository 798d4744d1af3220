// The ScratchHosts seam (core/scratch_host.hpp) on OVH (issue 14): one temporary Public Cloud
// instance for `pgdr drill --restore`, made the way `pgdr provision` makes the members
// (ovh/provider.cpp: v2 compute/instance) and deleted again:
//
//   create   GET v1 flavor?region= and image?region= (the members' flavor and image, by name),
//            POST /v2/publicCloud/project/{p}/compute/instance {"targetSpec": {name, flavor,
//            image, location {region}, networks [{autoAssignPublicIp}, {id, subnetId}] (the
//            cluster's private network, an address from its DHCP pool), sshKeyName (the
//            cluster's), securityGroups [{id}] (the cluster's: its rules apply), powerState
//            ACTIVE, volumes []}} (no anti-affinity group: it is not a member);
//            then polls GET v2 .../compute/instance/{id} until READY (ERROR fails), GET v1
//            /cloud/project/{p}/instance/{id} until ACTIVE, and `ssh_ready` until it holds.
//            Any failure or Ctrl-C (the `interrupted` flag) after the POST deletes the instance
//            before the error leaves create().
//   remove   DELETE v2 .../compute/instance/{id}, then GET until 404. A failure is an Error
//            naming the instance id and the API call that deletes it by hand (the instance is
//            billed until it is gone); `pgdr destroy` deletes such leftovers with the cluster.
//
// The instance is named pgdr-<cluster>-restore-drill-<UTC YYYYMMDD-HHMMSS>: pgdr's prefix, so
// that `pgdr destroy` finds one a failed deletion left (scratch_instance_prefix).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/inventory.hpp"
#include "core/scratch_host.hpp"
#include "core/state.hpp"
#include "ovh/resources.hpp"

namespace pgdr::ovh {

struct ScratchInstanceSpec {
    std::string name;
    std::string region;
    std::string flavor;  // names, as the inventory gives them
    std::string image;
    std::string ssh_key_name;
    std::string network_id;  // from the state `pgdr provision` wrote
    std::string subnet_id;
    std::string security_group_id;
};

// "pgdr-<cluster>-restore-drill-": the names of the drill's instances start with it.
std::string scratch_instance_prefix(const Inventory& inv);

// The drill's instance for `inv` at wall time `now`: in the cluster's region (the first of
// provider.ovh.regions that holds hosts), with the members' flavor and image, on the cluster's
// private network and security group of that region as the state records them. Throws
// pgdr::Error (invalid_config) when the state has no such record (not provisioned).
ScratchInstanceSpec scratch_instance_spec(const Inventory& inv, const ClusterState& state,
                                          std::chrono::system_clock::time_point now);

// The v2 targetSpec of the instance, with the flavor's and the image's ids.
nlohmann::json scratch_target_spec(const ScratchInstanceSpec& spec, const std::string& flavor_id,
                                   const std::string& image_id);

struct ScratchInstanceOptions {
    // True when the machine answers SSH (the caller's transport: the way pgdr reaches the
    // members). Empty: no SSH wait.
    std::function<bool(const ScratchMachine&)> ssh_ready;
    const std::atomic<bool>* interrupted = nullptr;  // Ctrl-C: stop waiting, delete, throw
    std::chrono::milliseconds active_timeout{std::chrono::minutes(30)};  // POST -> ACTIVE
    std::chrono::milliseconds ssh_timeout{std::chrono::minutes(10)};     // ACTIVE -> SSH
    std::chrono::milliseconds poll{std::chrono::seconds(5)};
    std::function<void(const std::string&)> progress;  // may be empty
};

class OvhScratchInstances final : public ScratchHosts {
  public:
    OvhScratchInstances(ProjectApi& api, ScratchInstanceSpec spec,
                        ScratchInstanceOptions options = {});

    // Throws pgdr::Error: cloud_api (flavor/image missing, quota, ERROR, a timeout),
    // interrupted (Ctrl-C), or the SSH wait's timeout (unreachable); the instance is deleted
    // first (when that fails too, the error says so and names it).
    ScratchMachine create() override;
    void remove(const ScratchMachine& machine) override;

  private:
    void say(const std::string& m) const;
    // Polls `holds` every options.poll until it is true; throws on timeout or Ctrl-C.
    void wait_for(const std::string& what, std::chrono::milliseconds timeout,
                  const std::function<bool()>& holds);
    // READY, ACTIVE, addresses, SSH.
    void wait_up(ScratchMachine& machine);
    // remove() after create() failed with `failure`: rethrows `failure`, or an Error that
    // carries both when the deletion fails too.
    [[noreturn]] void discard(const ScratchMachine& machine, std::exception_ptr failure);

    ProjectApi& m_api;
    ScratchInstanceSpec m_spec;
    ScratchInstanceOptions m_options;
};

}  // namespace pgdr::ovh
