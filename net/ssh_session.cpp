#include "net/ssh_session.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "core/error.hpp"
#include "core/files.hpp"
#include "net/ssh_forwarder.hpp"

namespace pgdr::net {

namespace {

std::once_flag g_init_once;
// known_hosts files are rewritten by libssh when a new key is accepted; hosts connect in
// parallel, so writes to the file are serialised process-wide.
std::mutex g_known_hosts_mutex;

struct KeyDeleter {
    void operator()(ssh_key k) const { ssh_key_free(k); }
};
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyDeleter>;

std::string home_path(const std::string& rel) {
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr ? home : "/root") + "/" + rel;
}

[[noreturn]] void fail(const SshTarget& t, const std::string& what, const std::string& hint) {
    throw Error(ExitCode::unreachable, describe_target(t) + ": " + what, hint);
}

void check_host_key(const SshTarget& t, ssh_session s, const std::string& known_hosts,
                    Logger& log) {
    std::lock_guard kh_lock(g_known_hosts_mutex);
    switch (ssh_session_is_known_server(s)) {
        case SSH_KNOWN_HOSTS_OK:
            return;
        case SSH_KNOWN_HOSTS_CHANGED:
        case SSH_KNOWN_HOSTS_OTHER:
            fail(t,
                 "the host key has CHANGED since it was recorded in " + known_hosts +
                     " (someone may be intercepting the connection, or the host was "
                     "rebuilt); refusing to connect",
                 "if the host was really rebuilt, remove its old key with `ssh-keygen -R` on " +
                     known_hosts +
                     " and connect again; --accept-new-host-keys never overrides a changed key");
        case SSH_KNOWN_HOSTS_UNKNOWN:
        case SSH_KNOWN_HOSTS_NOT_FOUND:
            if (!t.accept_new_host_keys) {
                fail(t, "the host key is not in " + known_hosts + "; refusing to connect",
                     "verify the host's key out of band, or pass --accept-new-host-keys to "
                     "record it on first use");
            }
            if (auto parent = std::filesystem::path(known_hosts).parent_path(); !parent.empty()) {
                ensure_directory(parent.string(), 0700);
            }
            if (ssh_session_update_known_hosts(s) != SSH_OK) {
                fail(t,
                     std::string("cannot record the host key in ") + known_hosts + ": " +
                         ssh_get_error(s),
                     "check that the file is writable");
            }
            log.info("ssh: recorded the host key of " + t.name + " in " + known_hosts);
            return;
        case SSH_KNOWN_HOSTS_ERROR:
        default:
            fail(t, std::string("cannot check the host key: ") + ssh_get_error(s),
                 "check the known_hosts file " + known_hosts);
    }
}

void authenticate(const SshTarget& t, ssh_session s) {
    const auto& cfg = t.ssh;
    int rc = SSH_AUTH_DENIED;
    std::string method;
    if (!cfg.identity_file.empty()) {
        method = "the key " + cfg.identity_file;
        ssh_key raw = nullptr;
        if (ssh_pki_import_privkey_file(cfg.identity_file.c_str(), nullptr, nullptr, nullptr,
                                        &raw) != SSH_OK) {
            fail(t, "cannot read the identity file " + cfg.identity_file,
                 "check the path and its permissions (a passphrase-protected key must be "
                 "loaded in ssh-agent instead)");
        }
        KeyPtr key(raw);
        rc = ssh_userauth_publickey(s, nullptr, key.get());
    } else {
        method = "the SSH agent and the default keys in ~/.ssh";
        if (std::getenv("SSH_AUTH_SOCK") != nullptr) {
            rc = ssh_userauth_agent(s, nullptr);
        }
        if (rc != SSH_AUTH_SUCCESS) {
            rc = ssh_userauth_publickey_auto(s, nullptr, nullptr);
        }
    }
    if (rc != SSH_AUTH_SUCCESS) {
        fail(t,
             "authentication failed as user '" + cfg.user + "' with " + method +
                 " (the server refused the key)",
             "check the user name and that the public key is in ~" + cfg.user +
                 "/.ssh/authorized_keys on the host");
    }
}

}  // namespace

void SessionDeleter::operator()(ssh_session s) const {
    if (s != nullptr) {
        if (ssh_is_connected(s) != 0) {
            ssh_disconnect(s);
        }
        ssh_free(s);
    }
}

void ChannelDeleter::operator()(ssh_channel c) const {
    if (c != nullptr) {
        if (ssh_channel_is_open(c) != 0) {
            ssh_channel_close(c);
        }
        ssh_channel_free(c);
    }
}

std::string describe_target(const SshTarget& t) {
    std::string d = t.name + " (" + t.ssh.user + "@" + t.address + ":" + std::to_string(t.ssh.port);
    if (t.jump) {
        d += " via " + t.jump->host_name();
    }
    return d + ")";
}

SessionPtr open_ssh_session(const SshTarget& t, Logger& log) {
    std::call_once(g_init_once, [] { ssh_init(); });
    SessionPtr s(ssh_new());
    if (!s) {
        throw Error(ExitCode::internal, "libssh: cannot allocate a session");
    }
    const auto& cfg = t.ssh;
    const std::string known_hosts =
        cfg.known_hosts.empty() ? home_path(".ssh/known_hosts") : cfg.known_hosts;
    long timeout = cfg.connect_timeout_s;
    unsigned int port = static_cast<unsigned int>(cfg.port);
    int no = 0;
    // No ~/.ssh/config processing: the inventory is the whole truth about how to connect.
    ssh_options_set(s.get(), SSH_OPTIONS_PROCESS_CONFIG, &no);
    ssh_options_set(s.get(), SSH_OPTIONS_HOST, t.address.c_str());
    ssh_options_set(s.get(), SSH_OPTIONS_USER, cfg.user.c_str());
    ssh_options_set(s.get(), SSH_OPTIONS_PORT, &port);
    ssh_options_set(s.get(), SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(s.get(), SSH_OPTIONS_KNOWNHOSTS, known_hosts.c_str());
    ssh_options_set(s.get(), SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
    // Small request/response exchanges (commands, forwarded SQL) must not wait for Nagle.
    int yes = 1;
    ssh_options_set(s.get(), SSH_OPTIONS_NODELAY, &yes);
    if (t.jump) {
        // ProxyJump: the session runs over a direct-tcpip channel of the bastion's session,
        // carried through one end of a socket pair; libssh owns and closes the fd it is given.
        // The host key is still checked under the target's own address.
        socket_t fd = t.jump->open_socket(t.address, cfg.port);
        ssh_options_set(s.get(), SSH_OPTIONS_FD, &fd);
    }

    log.debug("ssh: connecting to " + describe_target(t));
    if (ssh_connect(s.get()) != SSH_OK) {
        fail(t, std::string("cannot connect: ") + ssh_get_error(s.get()),
             "check that the host is up, that sshd listens on port " + std::to_string(cfg.port) +
                 (t.jump ? " and that the bastion " + t.jump->host_name() + " reaches it"
                         : " and that nothing filters it") +
                 " (connect timeout " + std::to_string(cfg.connect_timeout_s) + " s)");
    }
    check_host_key(t, s.get(), known_hosts, log);
    authenticate(t, s.get());
    return s;
}

}  // namespace pgdr::net
