// HostControl: what a provider can do to a whole host from outside it, as a hypervisor or a
// cloud API would. The drill engine injects host-level faults through it (partition, hard
// reset), and restores through it. Implemented by the lab (lab/lab.hpp) and by OVH (the API's
// power actions, ovh/host_control.hpp).
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
    // A hard reset: every process dies at once, as with kill_host, and the machine boots again
    // by itself, its disk intact. Returns as soon as the reset is issued, without waiting for
    // the boot (the caller waits for SSH and services as it needs).
    virtual void reboot_host(const std::string& host) = 0;
    // Cuts / restores the host's network link while it keeps running (silent drops).
    virtual void partition_host(const std::string& host) = 0;
    virtual void heal_host(const std::string& host) = 0;
};

}  // namespace pgdr
