// The "temporary scratch host" seam (issue 14): a machine outside the cluster that a provider
// makes for one job (the restore drill restores the repository onto it) and removes again.
// Two implementations: lab::LabScratchHosts (a temporary lab host, lab/lab.hpp) and
// ovh::OvhScratchInstances (a temporary Public Cloud instance, ovh/scratch_instance.hpp). The
// drill code sees only this interface: what to connect to, and how to get rid of it.
#pragma once

#include <string>

#include "core/log.hpp"

namespace pgdr {

// What a provider made. `id` is what the provider removes it by.
struct ScratchMachine {
    std::string provider;        // "lab" | "ovh"
    std::string id;              // lab: the host name; OVH: the instance id
    std::string name;            // lab: scr100; OVH: pgdr-<cluster>-restore-drill-<UTC time>
    std::string address;         // on the cluster's network (lab bridge, OVH private network)
    std::string public_address;  // where SSH connects when it is not `address` ("": address)
    std::string flavor;          // OVH: the flavor name ("" on the lab)
    std::string region;          // OVH: the region ("" on the lab)
    // A known_hosts file that already holds its host key (the lab writes it from the image);
    // "" when the key is new (a fresh instance): the caller accepts it on first use.
    std::string known_hosts;
    // SSH goes the way it goes to the members (the inventory's bastion, when it names one);
    // false: directly (the lab bridge, which this machine is on).
    bool reach_like_members = true;

    // "lab host scr100 (198.18.0.100)", "OVH instance <id> (b3-8, GRA11, 10.0.0.130)".
    std::string describe() const;
};

class ScratchHosts {
  public:
    virtual ~ScratchHosts() = default;
    // Makes one and returns once it is up (lab: its SSH port answers; OVH: the instance is
    // ACTIVE and answers SSH). Throws pgdr::Error; what it made before failing (or before an
    // interruption, ExitCode::interrupted) is removed first, or the error names it.
    virtual ScratchMachine create() = 0;
    // Removes it and waits until it is gone. Throws pgdr::Error whose message names the
    // machine (id) and whose hint says how to remove it by hand.
    virtual void remove(const ScratchMachine& machine) = 0;
};

// Owns a made machine: removes it when destroyed (also while an exception unwinds, and after
// Ctrl-C, which pgdr turns into a flag and an orderly return); a failure there is logged with
// its hint. remove() does it earlier and throws.
class ScratchMachineGuard {
  public:
    ScratchMachineGuard(ScratchHosts& hosts, ScratchMachine machine, Logger& log)
        : m_hosts(hosts), m_machine(std::move(machine)), m_log(log) {}
    ~ScratchMachineGuard();
    ScratchMachineGuard(const ScratchMachineGuard&) = delete;
    ScratchMachineGuard& operator=(const ScratchMachineGuard&) = delete;

    const ScratchMachine& machine() const { return m_machine; }
    void remove();

  private:
    ScratchHosts& m_hosts;
    ScratchMachine m_machine;
    Logger& m_log;
    bool m_removed = false;
};

}  // namespace pgdr
