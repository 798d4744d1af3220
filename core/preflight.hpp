// Preflight of an inventory's hosts (pgdr check): SSH, OS release, sudo, free disk, clock skew
// between hosts, and TCP reachability of every cluster port from each host to the others.
//
// Port reachability is checked before anything listens: a TCP connect that is answered (open,
// or refused with a RST) proves the path is open; one that times out means a filter drops it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/inventory.hpp"
#include "core/transport.hpp"

namespace pgdr {

struct PortTarget {
    std::string host;  // destination host name
    std::string address;
    int port = 0;
    std::string service;  // "postgres", "patroni", "etcd-client", "etcd-peer", "haproxy-write"...
};

struct PortCheck {
    std::string from;
    PortTarget target;
    std::string result;  // open | closed | filtered | unreachable | error
    bool ok() const { return result == "open" || result == "closed"; }
};

struct HostCheck {
    std::string host;
    std::string address;
    bool reachable = false;
    std::string error;  // why SSH failed
    std::string os_id, os_codename, os_pretty;
    bool os_ok = false;
    bool sudo_ok = false;
    long long free_disk_mb = -1;  // on /var/lib
    bool disk_ok = false;
    double clock_offset_s = 0;  // host clock minus local clock, midpoint-corrected
    double clock_uncertainty_s = 0;
    std::vector<PortCheck> ports;
};

struct PreflightReport {
    std::vector<HostCheck> hosts;
    double max_skew_s = 0;  // largest difference between two hosts' clocks
    std::vector<std::string> problems;
    bool ok() const { return problems.empty(); }
};

// Minimum free disk under /var/lib, and maximum clock skew between hosts.
constexpr long long k_min_free_disk_mb = 2048;
constexpr double k_max_clock_skew_s = 1.0;

// The ports that other cluster hosts must reach on `dst`, by the services it runs.
std::vector<PortTarget> cluster_ports(const Inventory& inv, const HostSpec& dst);

// Parses /etc/os-release content into (ID, VERSION_CODENAME, PRETTY_NAME).
void parse_os_release(const std::string& text, std::string& id, std::string& codename,
                      std::string& pretty);
// Parses `df -Pk PATH` output; -1 when it cannot.
long long parse_df_available_mb(const std::string& text);
// The argv that probes many address:port pairs from one host, printing "addr port result".
std::vector<std::string> port_probe_argv(const std::vector<PortTarget>& targets, int timeout_s);
// Parses that output into results keyed like the targets.
std::vector<std::string> parse_port_probe(const std::string& out,
                                          const std::vector<PortTarget>& targets);

using TransportFactory = std::function<std::unique_ptr<Transport>(const HostSpec&)>;

// Runs every check; hosts in parallel. Never throws for a host's failure: it is reported.
PreflightReport run_preflight(const Inventory& inv, const std::vector<const HostSpec*>& hosts,
                              const TransportFactory& connect, Clock& clock);

}  // namespace pgdr
