#include "net/ssh_transport.hpp"

#include <libssh/libssh.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/quote.hpp"

namespace pgdr::net {

namespace {

std::once_flag g_init_once;
// known_hosts files are rewritten by libssh when a new key is accepted; hosts connect in
// parallel, so writes to the file are serialised process-wide.
std::mutex g_known_hosts_mutex;

struct SessionDeleter {
    void operator()(ssh_session s) const {
        if (s != nullptr) {
            if (ssh_is_connected(s) != 0) {
                ssh_disconnect(s);
            }
            ssh_free(s);
        }
    }
};
struct ChannelDeleter {
    void operator()(ssh_channel c) const {
        if (c != nullptr) {
            if (ssh_channel_is_open(c) != 0) {
                ssh_channel_close(c);
            }
            ssh_channel_free(c);
        }
    }
};
struct KeyDeleter {
    void operator()(ssh_key k) const { ssh_key_free(k); }
};
using SessionPtr = std::unique_ptr<ssh_session_struct, SessionDeleter>;
using ChannelPtr = std::unique_ptr<ssh_channel_struct, ChannelDeleter>;
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyDeleter>;

std::string home_path(const std::string& rel) {
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr ? home : "/root") + "/" + rel;
}

}  // namespace

struct SshTransport::Session {
    SessionPtr handle;
};

std::vector<std::string> with_sudo(const std::string& user, const std::vector<std::string>& argv) {
    if (user == "root") {
        return argv;
    }
    std::vector<std::string> out{"sudo", "-n", "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

SshTransport::SshTransport(SshTarget target, Logger& log)
    : m_target(std::move(target)), m_log(log) {
    std::call_once(g_init_once, [] { ssh_init(); });
}

SshTransport::~SshTransport() = default;

void SshTransport::fail(const std::string& what, const std::string& hint) {
    m_session.reset();
    throw Error(ExitCode::unreachable,
                m_target.name + " (" + m_target.ssh.user + "@" + m_target.address + ":" +
                    std::to_string(m_target.ssh.port) + "): " + what,
                hint);
}

void SshTransport::connect() {
    std::lock_guard lock(m_mutex);
    ensure_connected();
}

void SshTransport::disconnect() {
    std::lock_guard lock(m_mutex);
    m_session.reset();
}

void SshTransport::ensure_connected() {
    if (m_session && ssh_is_connected(m_session->handle.get()) != 0) {
        return;
    }
    m_session.reset();
    SessionPtr s(ssh_new());
    if (!s) {
        throw Error(ExitCode::internal, "libssh: cannot allocate a session");
    }
    const auto& cfg = m_target.ssh;
    const std::string known_hosts =
        cfg.known_hosts.empty() ? home_path(".ssh/known_hosts") : cfg.known_hosts;
    long timeout = cfg.connect_timeout_s;
    unsigned int port = static_cast<unsigned int>(cfg.port);
    int no = 0;
    // No ~/.ssh/config processing: the inventory is the whole truth about how to connect.
    ssh_options_set(s.get(), SSH_OPTIONS_PROCESS_CONFIG, &no);
    ssh_options_set(s.get(), SSH_OPTIONS_HOST, m_target.address.c_str());
    ssh_options_set(s.get(), SSH_OPTIONS_USER, cfg.user.c_str());
    ssh_options_set(s.get(), SSH_OPTIONS_PORT, &port);
    ssh_options_set(s.get(), SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(s.get(), SSH_OPTIONS_KNOWNHOSTS, known_hosts.c_str());
    ssh_options_set(s.get(), SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");

    m_log.debug("ssh: connecting to " + m_target.name + " (" + m_target.address + ":" +
                std::to_string(cfg.port) + ")");
    if (ssh_connect(s.get()) != SSH_OK) {
        std::string e = ssh_get_error(s.get());
        m_session.reset();
        throw Error(ExitCode::unreachable,
                    m_target.name + " (" + m_target.address + ":" + std::to_string(cfg.port) +
                        "): cannot connect: " + e,
                    "check that the host is up, that sshd listens on port " +
                        std::to_string(cfg.port) +
                        " and that nothing filters it (connect timeout " +
                        std::to_string(cfg.connect_timeout_s) + " s)");
    }

    // Host key: unknown → refuse or record (accept-new); changed → always refuse.
    {
        std::lock_guard kh_lock(g_known_hosts_mutex);
        auto state = ssh_session_is_known_server(s.get());
        switch (state) {
            case SSH_KNOWN_HOSTS_OK:
                break;
            case SSH_KNOWN_HOSTS_CHANGED:
            case SSH_KNOWN_HOSTS_OTHER:
                fail("the host key has CHANGED since it was recorded in " + known_hosts +
                         " (someone may be intercepting the connection, or the host was "
                         "rebuilt); refusing to connect",
                     "if the host was really rebuilt, remove its old key with `ssh-keygen -R` "
                     "on " +
                         known_hosts +
                         " and connect again; --accept-new-host-keys never overrides a "
                         "changed key");
            case SSH_KNOWN_HOSTS_UNKNOWN:
            case SSH_KNOWN_HOSTS_NOT_FOUND:
                if (!m_target.accept_new_host_keys) {
                    fail("the host key is not in " + known_hosts + "; refusing to connect",
                         "verify the host's key out of band, or pass --accept-new-host-keys to "
                         "record it on first use");
                }
                if (auto parent = std::filesystem::path(known_hosts).parent_path();
                    !parent.empty()) {
                    ensure_directory(parent.string(), 0700);
                }
                if (ssh_session_update_known_hosts(s.get()) != SSH_OK) {
                    fail(std::string("cannot record the host key in ") + known_hosts + ": " +
                             ssh_get_error(s.get()),
                         "check that the file is writable");
                }
                m_log.info("ssh: recorded the host key of " + m_target.name + " in " + known_hosts);
                break;
            case SSH_KNOWN_HOSTS_ERROR:
            default:
                fail(std::string("cannot check the host key: ") + ssh_get_error(s.get()),
                     "check the known_hosts file " + known_hosts);
        }
    }

    // Authentication.
    int rc = SSH_AUTH_DENIED;
    std::string method;
    if (!cfg.identity_file.empty()) {
        method = "the key " + cfg.identity_file;
        ssh_key raw = nullptr;
        if (ssh_pki_import_privkey_file(cfg.identity_file.c_str(), nullptr, nullptr, nullptr,
                                        &raw) != SSH_OK) {
            fail("cannot read the identity file " + cfg.identity_file,
                 "check the path and its permissions (a passphrase-protected key must be "
                 "loaded in ssh-agent instead)");
        }
        KeyPtr key(raw);
        rc = ssh_userauth_publickey(s.get(), nullptr, key.get());
    } else {
        method = "the SSH agent and the default keys in ~/.ssh";
        if (std::getenv("SSH_AUTH_SOCK") != nullptr) {
            rc = ssh_userauth_agent(s.get(), nullptr);
        }
        if (rc != SSH_AUTH_SUCCESS) {
            rc = ssh_userauth_publickey_auto(s.get(), nullptr, nullptr);
        }
    }
    if (rc != SSH_AUTH_SUCCESS) {
        fail("authentication failed as user '" + cfg.user + "' with " + method +
                 " (the server refused the key)",
             "check the user name and that the public key is in ~" + cfg.user +
                 "/.ssh/authorized_keys on the host");
    }
    m_session = std::make_unique<Session>(Session{std::move(s)});
}

CommandResult SshTransport::run(const std::vector<std::string>& argv, const RunOptions& opts) {
    using clock = std::chrono::steady_clock;
    std::lock_guard lock(m_mutex);
    const std::string command = shell_join(opts.sudo ? with_sudo(m_target.ssh.user, argv) : argv);
    // One reconnect attempt when the session died between commands (host rebooted, idle drop).
    for (int attempt = 0;; ++attempt) {
        ensure_connected();
        ssh_session s = m_session->handle.get();
        ChannelPtr ch(ssh_channel_new(s));
        if (!ch || ssh_channel_open_session(ch.get()) != SSH_OK) {
            if (attempt == 0) {
                // The channel goes first: ssh_free() frees a session's channels too, and the
                // ChannelPtr would free it a second time (a crash seen on a rebooted lab host).
                ch.reset();
                m_session.reset();
                continue;
            }
            fail(std::string("cannot open a channel: ") + ssh_get_error(s),
                 "the connection was lost; check the host");
        }
        m_log.trace("ssh " + m_target.name + ": " + command);
        const auto start = clock::now();
        if (ssh_channel_request_exec(ch.get(), command.c_str()) != SSH_OK) {
            fail(std::string("cannot start the command: ") + ssh_get_error(s),
                 "the connection was lost; check the host");
        }
        if (opts.stdin_data && !opts.stdin_data->empty()) {
            const std::string& data = *opts.stdin_data;
            size_t off = 0;
            while (off < data.size()) {
                int n = ssh_channel_write(
                    ch.get(), data.data() + off,
                    static_cast<uint32_t>(std::min<size_t>(data.size() - off, 32768)));
                if (n <= 0) {
                    break;
                }
                off += static_cast<size_t>(n);
            }
        }
        ssh_channel_send_eof(ch.get());

        CommandResult res;
        const auto deadline = start + opts.timeout;
        char buf[16384];
        for (;;) {
            if (clock::now() >= deadline) {
                res.timed_out = true;
                // Ask sshd to kill the command (OpenSSH >= 7.9 honours "signal" requests).
                ssh_channel_request_send_signal(ch.get(), "KILL");
                break;
            }
            int n = ssh_channel_read_timeout(ch.get(), buf, sizeof buf, 0, 100);
            if (n > 0) {
                res.out.append(buf, static_cast<size_t>(n));
            }
            int e;
            while ((e = ssh_channel_read_nonblocking(ch.get(), buf, sizeof buf, 1)) > 0) {
                res.err.append(buf, static_cast<size_t>(e));
            }
            if (n == SSH_ERROR || e == SSH_ERROR) {
                fail(std::string("connection lost while running a command: ") + ssh_get_error(s),
                     "the host may have rebooted or dropped off the network; re-run when it is "
                     "back (pgdr's steps are idempotent)");
            }
            if (ssh_channel_is_eof(ch.get()) != 0 && n <= 0) {
                // Drain what is left on both streams.
                while ((n = ssh_channel_read_nonblocking(ch.get(), buf, sizeof buf, 0)) > 0) {
                    res.out.append(buf, static_cast<size_t>(n));
                }
                while ((e = ssh_channel_read_nonblocking(ch.get(), buf, sizeof buf, 1)) > 0) {
                    res.err.append(buf, static_cast<size_t>(e));
                }
                break;
            }
        }
        if (!res.timed_out) {
            // The exit status arrives with or just after EOF.
            ssh_channel_close(ch.get());
            res.exit_status = ssh_channel_get_exit_status(ch.get());
        }
        res.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
        m_log.trace("ssh " + m_target.name + ": exit " + std::to_string(res.exit_status) + " in " +
                    std::to_string(res.elapsed.count()) + " ms");
        return res;
    }
}

}  // namespace pgdr::net
