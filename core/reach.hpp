// ClusterReach: the one way pgdr reaches a cluster port (DESIGN.md §11).
//
// Every connection pgdr makes to a port of a cluster host (libpq, Patroni REST, HAProxy stats,
// etcd) asks a ClusterReach where to connect. On a network where this machine reaches the port,
// that is the host's address itself; on OVH's network shape (only SSH is open to the operator),
// it is a local port that net::SshForwarder carries over SSH (direct-tcpip) to the address, from
// a "vantage" host inside the network that the current operation does not disturb.
#pragma once

#include <optional>
#include <string>

namespace pgdr {

// Where this process connects to reach address:port inside the cluster's network.
struct Endpoint {
    std::string host;  // an address to connect to from this process
    int port = 0;

    // "host:port", with brackets around an IPv6 address.
    std::string authority() const;
    // "http://host:port" (scheme given), for URL building.
    std::string url(const std::string& scheme = "http") const;
};

class ClusterReach {
  public:
    virtual ~ClusterReach() = default;

    // The endpoint to connect to for address:port. Throws pgdr::Error (ExitCode::unreachable)
    // when neither a direct connection nor a forwarded one can be set up.
    virtual Endpoint endpoint(const std::string& address, int port) = 0;

    // Where connections start from, for reports: "this machine" or "via HOST (address)".
    virtual std::string vantage() const = 0;

    // An endpoint whose connections come from a host inside the cluster (forwarded over SSH):
    // for Patroni's unsafe endpoints, which accept only the members' and HAProxy hosts'
    // addresses (restapi.allowlist). The default connects as endpoint() does.
    virtual Endpoint inside(const std::string& address, int port) {
        return endpoint(address, port);
    }
};

// Connects directly, always (tests, and a machine inside the cluster's network).
class DirectReach final : public ClusterReach {
  public:
    Endpoint endpoint(const std::string& address, int port) override { return {address, port}; }
    std::string vantage() const override { return "this machine"; }
};

}  // namespace pgdr
