// HostControl: what a provider can do to a whole host from outside it, as a hypervisor or a
// cloud API would. The drill engine injects host-level faults through it (kill, partition),
// and restores through it. Implemented by the lab (lab/lab.hpp) and by OVH (power actions).
#pragma once

#include <string>

namespace pgdr {

enum class MachineState { running, stopped, partitioned, unknown };
std::string to_string(MachineState s);

class HostControl {
  public:
    virtual ~HostControl() = default;
    virtual MachineState state(const std::string& host) = 0;
    // The machine dies at once: every process killed, nothing shut down cleanly.
    virtual void kill_host(const std::string& host) = 0;
    // Boots a stopped host again, its disk intact; returns when it accepts SSH connections.
    virtual void start_host(const std::string& host) = 0;
    // Cuts / restores the host's network link while it keeps running (silent drops).
    virtual void partition_host(const std::string& host) = 0;
    virtual void heal_host(const std::string& host) = 0;
};

}  // namespace pgdr
