// SshForwarder: TCP connections carried over SSH (libssh direct-tcpip channels), as OpenSSH's
// `ssh -L` and ProxyJump do, from one "vantage" host inside the cluster's network.
//
// One SSH session to the vantage host, owned by one pump thread that moves bytes between local
// sockets and channels (poll() on every socket and the session, no per-connection thread).
// local_port() gives a listener on 127.0.0.1 per forwarded address:port; open_socket() gives one
// end of a socket pair (a bastion for another SSH session). A channel that the vantage host
// cannot open (refused, or no answer within open_timeout: a host that is off) closes its local
// connection, which the client sees as a failed connection, as it would directly.
//
// Thread-safe. The session is opened on first use; when it is lost (the vantage host went
// away), open connections close and the next new connection reconnects once.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/log.hpp"
#include "net/ssh_transport.hpp"

namespace pgdr::net {

struct ForwarderStats {
    long long connections = 0;      // local connections accepted
    long long failed_channels = 0;  // channels the vantage host could not open
    long long bytes_to_remote = 0;  // bytes carried to forwarded ports
    long long bytes_from_remote = 0;
};

class SshForwarder {
  public:
    // open_timeout bounds how long the vantage host may take to connect a forwarded port.
    SshForwarder(SshTarget vantage, Logger& log,
                 std::chrono::milliseconds open_timeout = std::chrono::seconds(5));
    ~SshForwarder();
    SshForwarder(const SshForwarder&) = delete;
    SshForwarder& operator=(const SshForwarder&) = delete;

    const std::string& host_name() const;
    const std::string& address() const;

    // Connects to the vantage host now (otherwise done on first use). Throws pgdr::Error
    // (ExitCode::unreachable) like SshTransport.
    void connect();

    // A port on 127.0.0.1 whose connections reach address:port from the vantage host; one
    // listener per address:port, made on first use. Throws like connect().
    int local_port(const std::string& address, int port);

    // A connected stream socket (the caller owns it) whose peer is address:port as seen from
    // the vantage host. Throws like connect().
    int open_socket(const std::string& address, int port);

    ForwarderStats stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace pgdr::net
