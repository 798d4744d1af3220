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
#include "core/scratch_host.hpp"
#include "core/transport.hpp"
#include "lab/layout.hpp"

namespace pgdr::lab {

struct LabHost {
    std::string name;
    std::string address;
    std::vector<std::string> services;
    int region = 1;  // 1-based; its bridge is region_bridge(region)
};

struct LabConfig {
    std::string release = "trixie";
    int hosts = 3;
    bool monitor = true;  // the written inventory's HAProxy host also runs the monitor service
    // `--regions 2`: 3 hosts in region r1 (the primary cluster) and 2 in r2 (the DR cluster,
    // the written inventory's `dr` section), joined by a link with region_latency_ms each way.
    int regions = 1;
    int region_latency_ms = 20;
};

struct HostStatus {
    LabHost host;
    MachineState state = MachineState::unknown;
    int init_pid = 0;
};

// A temporary lab host (`pgdr drill --restore`): booted from the lab's image on the lab bridge,
// not in the inventory. Its directory is under <lab>/hosts like the others', so `lab down`
// removes one that an interrupted drill left.
struct ScratchHostInfo {
    std::string name;         // scr<N>, N = the last octet of its address
    std::string address;      // 198.18.0.N, N in k_scratch_first..k_scratch_last
    std::string known_hosts;  // a known_hosts file with its host key only
};
constexpr int k_scratch_first = 100;
constexpr int k_scratch_last = 199;

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

    // A new scratch host at the lowest free address; returns when it accepts SSH connections.
    // Removes what it made when it fails. Needs root and a running lab.
    ScratchHostInfo create_scratch_host();
    // Removes a scratch host (processes, mounts, cgroups, files); nothing when it is gone.
    // Throws a usage error for a name that is not a scratch host's.
    void remove_scratch_host(const std::string& name);
    // The scratch name for an address octet, and whether a host name is a scratch host's.
    static std::string scratch_name(int octet);
    static bool is_scratch_name(const std::string& name);

    // The lab's hosts for `count` hosts: etcd on the first three (five when there are five),
    // PostgreSQL on all, HAProxy on the last. With two regions (count 5): r1-pg1..3 as a
    // 3-host lab, then r2-pg1 (postgres, etcd, haproxy) and r2-pg2 (postgres): the DR cluster.
    static std::vector<LabHost> plan_hosts(int count, bool monitor = true, int regions = 1);
    // The inventory `up` writes (YAML), for these hosts.
    static std::string render_inventory(const LabPaths& paths, const LabConfig& config,
                                        const std::vector<LabHost>& hosts);
    // The nftables ruleset that partitions a host (applied inside its network namespace).
    static std::string partition_ruleset();
    // The wrapper script that boots a host and reboots it on exit code 133.
    static std::vector<std::string> wrapper_argv(const LabPaths& paths, const std::string& host,
                                                 const std::string& release,
                                                 const std::string& bridge = k_bridge);

  private:
    void check_root() const;
    void ensure_prerequisites();
    void remove_stray_tables();
    void ensure_bridge();
    // The bridges of regions 2.. and their links to the lab bridge (lab/bridge_link.hpp).
    void ensure_region_links(const LabConfig& config);
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
    int free_scratch_octet() const;
    CommandResult run(const std::vector<std::string>& argv, bool must = true,
                      std::chrono::seconds timeout = std::chrono::seconds(120));

    LabPaths m_paths;
    Transport& m_local;
    Logger& m_log;
    Progress m_progress;
};

// The ScratchHosts seam (core/scratch_host.hpp) on the lab: create_scratch_host and
// remove_scratch_host of a Lab (root needed), machines reached directly on the lab bridge with
// their host key known from the image.
class LabScratchHosts final : public ScratchHosts {
  public:
    explicit LabScratchHosts(Lab& lab) : m_lab(lab) {}
    ScratchMachine create() override;
    // Throws with the hint `pgdr lab down` (it removes what is left).
    void remove(const ScratchMachine& machine) override;

  private:
    Lab& m_lab;
};

}  // namespace pgdr::lab
