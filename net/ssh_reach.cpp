#include "net/ssh_reach.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/tcp.hpp"

namespace pgdr::net {

SshReach::SshReach(std::vector<SshTarget> vantages, SshReachOptions options, Logger& log)
    : m_vantages(std::move(vantages)), m_options(options), m_log(log) {}

SshForwarder& SshReach::forwarder() {
    std::lock_guard lock(m_mutex);
    return forwarder_locked();
}

SshForwarder& SshReach::forwarder_locked() {
    if (!m_forwarder) {
        m_forwarder = connect_first(m_vantages, "cluster ports");
    }
    return *m_forwarder;
}

bool SshReach::is_member(const std::string& name) const {
    return std::find(m_options.members.begin(), m_options.members.end(), name) !=
           m_options.members.end();
}

SshForwarder& SshReach::member_forwarder_locked() {
    if (m_forwarder && is_member(m_forwarder->host_name())) {
        return *m_forwarder;
    }
    if (!m_member_forwarder) {
        std::vector<SshTarget> members;
        for (const auto& v : m_vantages) {
            if (is_member(v.name)) {
                members.push_back(v);
            }
        }
        m_member_forwarder = connect_first(members, "members' ports");
    }
    return *m_member_forwarder;
}

std::unique_ptr<SshForwarder> SshReach::connect_first(const std::vector<SshTarget>& vantages,
                                                      const std::string& what) {
    std::string tried;
    for (const auto& v : vantages) {
        auto f = std::make_unique<SshForwarder>(v, m_log);
        try {
            f->connect();
        } catch (const Error& e) {
            m_log.debug(std::string("reach: vantage ") + v.name + " unusable: " + e.what());
            tried += (tried.empty() ? "" : ", ") + v.name;
            continue;
        }
        m_log.debug("reach: " + what + " through " + v.name + " (" + v.address + ")");
        return f;
    }
    throw Error(ExitCode::unreachable,
                "no host to forward " + what + " from: SSH failed on " +
                    (tried.empty() ? std::string("every candidate (none left)") : tried),
                "check SSH to the hosts with `pgdr check`");
}

Endpoint SshReach::endpoint(const std::string& address, int port) {
    std::lock_guard lock(m_mutex);
    const auto key = std::make_pair(address, port);
    if (auto it = m_cache.find(key); it != m_cache.end()) {
        return it->second;
    }
    Endpoint e{address, port};
    bool direct = m_options.access == PortAccess::direct;
    if (m_options.access == PortAccess::automatic && !m_closed) {
        direct = tcp_probe(address, port, m_options.probe_timeout);
        if (!direct) {
            m_closed = true;
            m_log.info("reach: " + e.authority() +
                       " does not answer from this machine; cluster ports go through SSH");
        }
    }
    if (!direct) {
        e = Endpoint{"127.0.0.1", forwarder_locked().local_port(address, port)};
    }
    m_cache[key] = e;
    return e;
}

Endpoint SshReach::inside(const std::string& address, int port) {
    std::lock_guard lock(m_mutex);
    auto& f = m_options.members.empty() ? forwarder_locked() : member_forwarder_locked();
    return Endpoint{"127.0.0.1", f.local_port(address, port)};
}

std::string SshReach::vantage() const {
    std::lock_guard lock(m_mutex);
    // A forwarder made only for inside() (Patroni's allowlist) leaves the rest direct.
    if (!m_forwarder || (m_options.access == PortAccess::automatic && !m_closed)) {
        return "this machine";
    }
    return "via " + m_forwarder->host_name() + " (" + m_forwarder->address() + ")";
}

}  // namespace pgdr::net
