// The lab: lab hosts on this machine that look to pgdr like small Debian VMs reached over SSH
// (DESIGN.md §8; the pitfalls met on the way are in the comments where they are handled).
//
// Each host is a systemd-nspawn container booting the cached image with real systemd, on an
// overlay (copy-on-write) root, in its own cgroup, with a veth on the lab bridge. A small shell
// wrapper restarts nspawn when the host reboots itself (exit 133). Faults are operations from
// outside, as a hypervisor's: kill = SIGKILL of the container's PID 1 (the kernel kills the whole
// PID namespace), reboot = that kill followed at once by a new boot of the same root (a hard
// reset), partition = nftables drop rules in the host's network namespace.
//
// Needs root. Every operation is idempotent; up repairs a half-made lab; down removes every
// process, mount, link, cgroup and file the lab made, and nothing else.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/host_control.hpp"
#include "core/log.hpp"
#include "core/transport.hpp"
#include "lab/layout.hpp"

namespace pgdr::lab {

struct LabHost {
    std::string name;
    std::string address;
    std::vector<std::string> services;
};

struct LabConfig {
    std::string release = "trixie";
    int hosts = 3;
};

struct HostStatus {
    LabHost host;
    MachineState state = MachineState::unknown;
    int init_pid = 0;
};

class Lab final : public HostControl {
  public:
    using Progress = std::function<void(const std::string&)>;

    // `local` runs commands on this machine (a LocalTransport in production).
    Lab(LabPaths paths, Transport& local, Logger& log, Progress progress);

    // Creates or repairs the lab; returns when every host accepts SSH connections.
    void up(const LabConfig& config);
    // What the OVH twin (`lab up --ovh`) shares with the lab: prerequisites, the lab bridge
    // and apt proxy (image builds), the cached Debian 13 image; marks the directory as a twin's
    // (twin.json) and this machine's running lab. Refuses when another lab runs.
    void up_twin_base();
    bool twin_exists() const;
    // Removes everything the lab made; with purge also the cached images and apt cache.
    void down(bool purge);
    bool exists() const;
    LabConfig config() const;  // of an existing lab (from lab.json)
    std::vector<LabHost> hosts() const;
    std::vector<HostStatus> status();

    MachineState state(const std::string& host) override;
    void kill_host(const std::string& host) override;
    void start_host(const std::string& host) override;
    void reboot_host(const std::string& host) override;
    void partition_host(const std::string& host) override;
    void heal_host(const std::string& host) override;

    const LabPaths& paths() const { return m_paths; }

    // The lab's hosts for `count` hosts: etcd on the first three (five when there are five),
    // PostgreSQL on all, HAProxy on the last.
    static std::vector<LabHost> plan_hosts(int count);
    // The inventory `up` writes (YAML), for these hosts.
    static std::string render_inventory(const LabPaths& paths, const LabConfig& config,
                                        const std::vector<LabHost>& hosts);
    // The nftables ruleset that partitions a host (applied inside its network namespace).
    static std::string partition_ruleset();
    // The wrapper script that boots a host and reboots it on exit code 133.
    static std::vector<std::string> wrapper_argv(const LabPaths& paths, const std::string& host,
                                                 const std::string& release);

  private:
    void check_root() const;
    void ensure_prerequisites();
    void ensure_bridge();
    // extra_bind: another address of this machine the proxy also listens on (the twin's
    // Ext-Net gateway), empty for none.
    void ensure_proxy(const std::string& extra_bind = {});
    void ensure_ssh_key();
    void prepare_host(const LabHost& h, const std::string& image, const std::vector<LabHost>& all);
    void boot_host(const LabHost& h);
    void wait_ssh(const LabHost& h, std::chrono::seconds timeout);
    void write_known_hosts(const std::vector<LabHost>& hosts);
    void remove_host(const std::string& host);
    void kill_processes(const std::string& host);
    std::optional<int> init_pid(const std::string& host);
    LabHost find(const std::string& host) const;
    CommandResult run(const std::vector<std::string>& argv, bool must = true,
                      std::chrono::seconds timeout = std::chrono::seconds(120));

    LabPaths m_paths;
    Transport& m_local;
    Logger& m_log;
    Progress m_progress;
};

}  // namespace pgdr::lab
