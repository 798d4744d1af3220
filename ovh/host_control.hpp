// OvhHostControl: the HostControl seam (core/host_control.hpp) over the OVH API v1 power actions
// (ovh-api.md §3.5.4), for drills on a provisioned OVH cluster. An inventory host maps to its
// instance through the id `pgdr provision` records in the state (state.json, hosts.<name>.
// instance_id); a host without one is an error, never a guess by name.
//
//   Before reboot_host and kill_host, GET .../instance/{id} must show the expected name and
//   private address (options.expected), so a stale id never resets another machine.
//   reboot_host      POST /cloud/project/{p}/instance/{id}/reboot {"type":"hard"}: OpenStack's
//                    hard reboot, a reset of the VM with no clean shutdown. Returns once OVH has
//                    accepted it; the status goes HARD_REBOOT -> ACTIVE while the guest boots.
//   kill_host        POST .../stop, then waits for SHUTOFF. Not as abrupt as the lab's kill:
//                    OpenStack stops an instance by asking the guest to power off and forcing it
//                    after a grace time.
//   start_host       POST .../start, waits for ACTIVE, then for `ssh_ready` (when given).
//   state            GET .../instance/{id}: ACTIVE running; SHUTOFF, SHELVED, SHELVED_OFFLOADED,
//                    SUSPENDED, PAUSED stopped; anything else (BUILD, HARD_REBOOT, ...) unknown.
//   partition_host   not available through the OVH API (no per-instance network cut):
//   heal_host        pgdr::Error; drills partition OVH hosts with nftables on the host instead.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "core/clock.hpp"
#include "core/host_control.hpp"
#include "core/inventory.hpp"
#include "core/state.hpp"
#include "ovh/resources.hpp"

namespace pgdr::ovh {

// What an inventory host's instance must look like before pgdr resets or stops it: its OVH
// name (pgdr-<cluster>-<host>) and its private address. A stale or shared state.json could
// otherwise name another machine's id.
struct ExpectedMachine {
    std::string name;
    std::string private_address;
};

// pgdr-<cluster>-<host> and the host's address, for every inventory host.
std::map<std::string, ExpectedMachine> expected_machines(const Inventory& inv);

struct OvhHostControlOptions {
    // True when the host answers SSH; start_host waits for it. Empty: no wait.
    std::function<bool(const std::string& host)> ssh_ready;
    std::chrono::milliseconds ssh_timeout{std::chrono::minutes(5)};
    std::chrono::milliseconds ssh_poll{std::chrono::seconds(2)};
    // reboot_host and kill_host GET the instance first and refuse (pgdr::Error, invalid_config)
    // when its name or private addresses do not match; a host without an entry is refused too
    // unless the map is empty (no check configured).
    std::map<std::string, ExpectedMachine> expected;
};

// The instance id of every host the state records one for, by inventory host name.
std::map<std::string, std::string> instance_ids(const ClusterState& state);

// OVH instance status -> MachineState (see above).
MachineState machine_state(const std::string& ovh_status);

class OvhHostControl final : public HostControl {
  public:
    OvhHostControl(ProjectApi& api, Clock& clock, std::map<std::string, std::string> instance_ids,
                   OvhHostControlOptions options = {});

    MachineState state(const std::string& host) override;
    void kill_host(const std::string& host) override;
    void start_host(const std::string& host) override;
    void reboot_host(const std::string& host) override;
    void partition_host(const std::string& host) override;
    void heal_host(const std::string& host) override;

    // The host's instance id; throws pgdr::Error (invalid_config) when the state has none.
    const std::string& instance_id(const std::string& host) const;
    // GETs the host's instance and throws (as reboot_host would) unless it has the expected
    // name and private address (pgdr-guard --check).
    void verify(const std::string& host) { checked_instance(host, "fence"); }

  private:
    // The host's instance id, after checking the instance is that host's machine.
    const std::string& checked_instance(const std::string& host, const std::string& action);

    ProjectApi& m_api;
    Clock& m_clock;
    std::map<std::string, std::string> m_ids;
    OvhHostControlOptions m_options;
};

}  // namespace pgdr::ovh
