// Where the lab lives: names, addresses and paths shared by every lab operation.
//
// One lab at a time per machine: bridge pgdrbr0 = 198.18.0.1/24 (RFC 2544 benchmark range; no
// route out, no NAT), lab host i (1-based) = 198.18.0.(10 + i), machine name pgdr-<host>,
// veth vb-pgdr-<host>. Images and the apt cache are shared by all lab directories.
#pragma once

#include <string>
#include <vector>

namespace pgdr::lab {

constexpr int k_max_hosts = 5;
constexpr const char* k_bridge = "pgdrbr0";
constexpr const char* k_gateway = "198.18.0.1";
constexpr const char* k_cidr = "198.18.0.0/24";
constexpr int k_proxy_port = 3149;  // not 3142: a system apt-cacher-ng may hold it
constexpr const char* k_cache_root = "/var/cache/pgdr";
constexpr const char* k_owner_file = "/run/pgdr-lab.owner";  // the directory of the running lab
constexpr const char* k_cgroup_name = "pgdr-lab";

// Regions (`lab up --regions 2`): region 1 on k_bridge, region r on pgdrbr<r-1> (no address
// of this machine), joined to k_bridge by a link with latency (lab/bridge_link.hpp); one
// subnet, so this machine reaches every host, those of region 2 through the link.
std::string region_bridge(int region);              // 1: "pgdrbr0"
std::string region_name(int region);                // "r1"
std::string host_name(int index);                   // "pg1"
std::string host_address(int index);                // "198.18.0.11"
std::string machine_name(const std::string& host);  // "pgdr-pg1"
std::string veth_name(const std::string& host);     // "vb-pgdr-pg1" (nspawn's naming)
// The lab's cgroup directories for `leaf` in every hierarchy the machine has.
std::vector<std::string> cgroup_dirs(const std::string& leaf);
// Joined with ':' for the shell wrappers (cgroup paths hold no ':').
std::string join_cgroup_dirs(const std::vector<std::string>& dirs);

struct LabPaths {
    explicit LabPaths(std::string dir);
    std::string dir;
    std::string marker() const { return dir + "/lab.json"; }
    std::string ssh_key() const { return dir + "/ssh/id_ed25519"; }
    std::string known_hosts() const { return dir + "/known_hosts"; }
    std::string inventory() const { return dir + "/inventory.yaml"; }
    std::string host_dir(const std::string& h) const { return dir + "/hosts/" + h; }
    std::string root(const std::string& h) const { return host_dir(h) + "/root"; }
    std::string upper(const std::string& h) const { return host_dir(h) + "/upper"; }
    std::string work(const std::string& h) const { return host_dir(h) + "/work"; }
    std::string wrapper_pid(const std::string& h) const { return host_dir(h) + "/wrapper.pid"; }
    std::string console_log(const std::string& h) const { return host_dir(h) + "/console.log"; }
    std::string proxy_dir() const { return dir + "/apt-proxy"; }
    std::string region_link_pid() const { return dir + "/region-link.pid"; }
    std::string region_link_log() const { return dir + "/region-link.log"; }
    std::string proxy_pid() const { return proxy_dir() + "/pid"; }
};

}  // namespace pgdr::lab
