// SshTransport: the Transport seam over SSH (libssh). The only code that includes libssh.
//
// Host keys are checked against a known_hosts file: an unknown key is refused unless
// accept_new_host_keys is set (then it is recorded, like OpenSSH's StrictHostKeyChecking=
// accept-new); a changed key is always refused. Authentication: the identity file when one is
// given, else the SSH agent, else the default keys in ~/.ssh. One SSH session per transport,
// opened on first use and re-opened once if it was lost between commands; one channel per
// command. Safe to call from several threads (calls are serialised per host).
#pragma once

#include <memory>
#include <mutex>

#include "core/inventory.hpp"
#include "core/log.hpp"
#include "core/transport.hpp"

namespace pgdr::net {

class SshForwarder;

struct SshTarget {
    std::string name;     // inventory host name, for messages
    std::string address;  // what to connect to
    SshSettings ssh;
    bool accept_new_host_keys = false;
    // The bastion to reach the address through (a direct-tcpip channel of its session), or
    // null to connect directly.
    std::shared_ptr<SshForwarder> jump;
};

class SshTransport final : public Transport {
  public:
    SshTransport(SshTarget target, Logger& log);
    ~SshTransport() override;
    SshTransport(const SshTransport&) = delete;
    SshTransport& operator=(const SshTransport&) = delete;

    const std::string& host_name() const override { return m_target.name; }
    CommandResult run(const std::vector<std::string>& argv, const RunOptions& opts) override;

    // Connects and authenticates now (run() does it lazily). Throws like run().
    void connect();
    // Drops the connection (the next run reconnects).
    void disconnect();
    void reset_connection() override { disconnect(); }

  private:
    struct Session;
    void ensure_connected();
    [[noreturn]] void fail(const std::string& what, const std::string& hint);

    SshTarget m_target;
    Logger& m_log;
    std::mutex m_mutex;
    std::unique_ptr<Session> m_session;
};

// The login user's argv wrapped for root when needed: `sudo -n --` for a non-root user.
std::vector<std::string> with_sudo(const std::string& user, const std::vector<std::string>& argv);

}  // namespace pgdr::net
