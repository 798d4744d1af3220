// The SSH session every libssh user in net/ opens the same way: no ~/.ssh/config, strict
// known_hosts (accept-new on request, a changed key always refused), the identity file or the
// agent and default keys, a connect timeout; through a bastion (ProxyJump) when the target
// names one. Internal to net/.
#pragma once

#include <libssh/libssh.h>

#include <memory>
#include <string>

#include "core/log.hpp"
#include "net/ssh_transport.hpp"

namespace pgdr::net {

struct SessionDeleter {
    void operator()(ssh_session s) const;
};
struct ChannelDeleter {
    void operator()(ssh_channel c) const;
};
using SessionPtr = std::unique_ptr<ssh_session_struct, SessionDeleter>;
using ChannelPtr = std::unique_ptr<ssh_channel_struct, ChannelDeleter>;

// Connects, checks the host key and authenticates. Throws pgdr::Error (ExitCode::unreachable)
// with a hint when any step fails.
SessionPtr open_ssh_session(const SshTarget& target, Logger& log);

// "name (user@address:port)" or "name (user@address:port via bastion)", for messages.
std::string describe_target(const SshTarget& target);

}  // namespace pgdr::net
