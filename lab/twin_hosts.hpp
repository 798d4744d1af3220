// The OVH twin's machines (twin/backend.hpp) as lab hosts on this machine.
//
// An instance is a systemd-nspawn host like the lab's (cached image, overlay root, own cgroup,
// a wrapper that boots it again after a reboot from inside), with:
// - two interfaces instead of one: eth0 on the Ext-Net bridge pgdrext0 (198.19.0.0/16, this
//   machine is 198.19.0.1 on it, so the operator reaches public addresses directly) and eth1 on
//   the bridge of its private network (pgdrn<N>, no address of this machine: not reachable from
//   it). The wrapper makes the veth pairs before each boot and moves them into the container's
//   network namespace only after the firewall is loaded there: the host is never open, also
//   after `reboot` from inside.
// - the firewall: the instance's security groups as an nftables table `inet pgdr_sg` in its
//   network namespace (input policy drop, replies and loopback allowed, one accept per rule;
//   output open), the file kept in the host's directory for every boot;
// - the image's login user `debian` with the registered public key and passwordless sudo, as on
//   OVH; root has no key;
// - the flavor as cgroup limits (memory and CPU quota) where this machine's cgroups allow it.
// Private networks of two regions with the same subnet are joined by a veth pair with netem
// delay (the twin's vRack). Lives in <lab dir>/twin; `teardown` removes all of it.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "core/transport.hpp"
#include "lab/layout.hpp"
#include "twin/backend.hpp"

namespace pgdr::lab {

constexpr const char* k_ext_bridge = "pgdrext0";
constexpr const char* k_ext_gateway = "198.19.0.1";
constexpr const char* k_ext_cidr = "198.19.0.0/16";
constexpr const char* k_twin_firewall_table = "pgdr_sg";  // inet, in an instance's namespace

// One instance of the twin as `pgdr lab status` shows it.
struct TwinHostStatus {
    std::string host;  // i1, i2, ...: its directory, cgroup and link names
    std::string instance_id;
    std::string name;
    std::string region;
    std::string public_address;
    std::string private_addresses;  // space-separated
    bool running = false;
};

class LabTwinBackend final : public twin::TwinBackend {
  public:
    // `lab_dir` is the lab directory; the twin's files go to lab_dir/twin.
    LabTwinBackend(const std::string& lab_dir, Transport& local, Logger& log);

    void create_network(const std::string& network_id, const std::string& region) override;
    void delete_network(const std::string& network_id) override;
    void link_networks(const std::string& a, const std::string& b, int latency_ms) override;
    void create_host(const twin::HostSpec& spec) override;
    void delete_host(const std::string& id) override;
    void power_off(const std::string& id) override;
    void power_on(const std::string& id) override;
    void hard_reset(const std::string& id) override;
    void apply_firewall(const std::string& id, const twin::Firewall& firewall) override;

    // The nftables script that replaces the instance's table with this firewall.
    static std::string render_firewall(const twin::Firewall& firewall);
    // Creates the Ext-Net bridge with this machine's address on it (idempotent).
    static void ensure_ext_bridge(Transport& local);
    // The instances under lab_dir, from their files and processes.
    static std::vector<TwinHostStatus> list(const std::string& lab_dir);
    // Removes every instance, bridge and link the twin made under lab_dir (lab down).
    static void teardown(const std::string& lab_dir, Transport& local, Logger& log);

  private:
    std::string host_of(const std::string& id);  // "i3"; throws when unknown
    void boot(const std::string& host);
    void stop(const std::string& host);
    void wait_ready(const std::string& host, std::chrono::seconds timeout);
    void remove_host_files(const std::string& host);
    std::string bridge_of(const std::string& network_id);
    CommandResult run(const std::vector<std::string>& argv, bool must = true,
                      std::chrono::seconds timeout = std::chrono::seconds(60));

    LabPaths m_paths;  // <lab dir>/twin: hosts/<host>/... as the lab's
    Transport& m_local;
    Logger& m_log;
    std::mutex m_mutex;                            // the maps below and name allocation
    std::mutex m_image_mutex;                      // one image build at a time
    std::map<std::string, std::string> m_hosts;    // instance id -> host
    std::map<std::string, std::string> m_bridges;  // network id -> bridge
    int m_next_host = 1;
    int m_next_bridge = 1;
};

}  // namespace pgdr::lab
