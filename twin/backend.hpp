// The seam between the OVH twin's API model (twin/api.hpp) and the machines behind it: what an
// instance, a private network and a security group become. `lab/twin_hosts.hpp` implements it
// with lab hosts (systemd-nspawn, bridges, nftables); unit tests use a recording fake.
//
// Every call may take seconds (booting a host, building an image) and is made from a worker
// thread of the model, never while the model's lock is held. Calls throw std::exception with a
// message for the operator when the operation failed; the model then marks the resource ERROR.
#pragma once

#include <string>
#include <vector>

namespace pgdr::twin {

// One ingress allowance, resolved from the security groups attached to an instance: traffic
// from `source` (a CIDR; "0.0.0.0/0" for any) with `protocol` ("tcp", "udp", "icmp", or "" for
// any) to ports port_min..port_max (0..0: every port). Only IPv4: the twin has no IPv6.
struct IngressRule {
    std::string protocol;
    int port_min = 0;
    int port_max = 0;
    std::string source;
    bool operator==(const IngressRule&) const = default;
};

// The firewall of an instance, as OpenStack applies its security groups to every port: ingress
// is denied unless a rule allows it (replies to the instance's own connections always pass),
// egress is allowed. allow_all models an instance with the project's default group.
struct Firewall {
    bool allow_all = false;
    std::vector<IngressRule> rules;
    bool operator==(const Firewall&) const = default;
};

struct PrivateNic {
    std::string network_id;
    std::string address;  // 198.18.x.y
    int prefix = 24;
};

// What one instance is made of.
struct HostSpec {
    std::string id;       // the instance id (the API's)
    std::string name;     // targetSpec.name
    std::string region;   // e.g. GRA11
    std::string release;  // Debian codename of the image: trixie | bookworm
    std::string login_user = "debian";
    std::string public_key;  // installed for login_user (authorized_keys)
    int vcpus = 1;
    int ram_gb = 1;
    std::string public_address;  // on the Ext-Net bridge
    int public_prefix = 16;
    std::vector<PrivateNic> private_nics;
    Firewall firewall;
};

class TwinBackend {
  public:
    virtual ~TwinBackend() = default;

    // A private network: an isolated segment that instances attach to (no address of this
    // machine on it). `latency_ms` > 0 joins it, with that added delay each way, to `peers`
    // (networks of the same project in other regions with the same subnet: OVH's vRack).
    virtual void create_network(const std::string& network_id, const std::string& region) = 0;
    virtual void delete_network(const std::string& network_id) = 0;
    virtual void link_networks(const std::string& a, const std::string& b, int latency_ms) = 0;

    // Boots the host; returns when it accepts SSH connections on its public address.
    virtual void create_host(const HostSpec& spec) = 0;
    // Removes the host and everything of it; no error when it is already gone.
    virtual void delete_host(const std::string& id) = 0;
    virtual void power_off(const std::string& id) = 0;  // a pulled plug
    virtual void power_on(const std::string& id) = 0;   // boots again, disk intact
    virtual void hard_reset(const std::string& id) = 0;
    // Replaces the host's firewall (also kept for its next boots).
    virtual void apply_firewall(const std::string& id, const Firewall& firewall) = 0;
};

}  // namespace pgdr::twin
