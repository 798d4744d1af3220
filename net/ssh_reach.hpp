// SshReach: the ClusterReach of real networks (DESIGN.md §11). Connects directly when this
// machine reaches a port; otherwise (or always, on OVH's network shape) forwards it over SSH
// from a vantage host inside the network.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/inventory.hpp"
#include "core/log.hpp"
#include "core/reach.hpp"
#include "net/ssh_forwarder.hpp"

namespace pgdr::net {

struct SshReachOptions {
    PortAccess access = PortAccess::automatic;
    // With automatic access: how long a direct connection may take before the port counts as
    // closed to this machine (a security group drops packets: no quick refusal).
    std::chrono::milliseconds probe_timeout{1000};
    // The vantages (by name) that are PostgreSQL members: inside() forwards from one of them,
    // since pg_hba admits the superuser only from loopback and the members' addresses, and
    // Patroni's allowlist admits members (a HAProxy-only host is not enough for SQL).
    std::vector<std::string> members;
};

class SshReach final : public ClusterReach {
  public:
    // vantages: the hosts to forward from, in order of preference; the first one that accepts
    // an SSH session is used for the whole life of this object.
    SshReach(std::vector<SshTarget> vantages, SshReachOptions options, Logger& log);

    Endpoint endpoint(const std::string& address, int port) override;
    std::string vantage() const override;
    Endpoint inside(const std::string& address, int port) override;

    // The forwarder in use (connecting one now if none is); throws when no vantage answers.
    SshForwarder& forwarder();

  private:
    SshForwarder& forwarder_locked();
    SshForwarder& member_forwarder_locked();
    bool is_member(const std::string& name) const;
    // The first of `vantages` that accepts an SSH session; throws when none does.
    std::unique_ptr<SshForwarder> connect_first(const std::vector<SshTarget>& vantages,
                                                const std::string& what);

    std::vector<SshTarget> m_vantages;
    SshReachOptions m_options;
    Logger& m_log;
    mutable std::mutex m_mutex;
    std::unique_ptr<SshForwarder> m_forwarder;
    std::unique_ptr<SshForwarder>
        m_member_forwarder;  // for inside(), when m_forwarder is no member
    bool m_closed = false;   // a port did not answer directly: forward everything from then on
    std::map<std::pair<std::string, int>, Endpoint> m_cache;
};

}  // namespace pgdr::net
