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
#include "net/ssh_session.hpp"

namespace pgdr::net {

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
    : m_target(std::move(target)), m_log(log) {}

SshTransport::~SshTransport() = default;

void SshTransport::fail(const std::string& what, const std::string& hint) {
    m_session.reset();
    throw Error(ExitCode::unreachable, describe_target(m_target) + ": " + what, hint);
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
    m_session = std::make_unique<Session>(Session{open_ssh_session(m_target, m_log)});
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
        // Bounded buffers: past k_max_command_output the command is killed and pgdr errs.
        auto append = [&](std::string& to, int n, const char* stream) {
            try {
                append_capped(to, buf, static_cast<size_t>(n), m_target.name, stream);
            } catch (const Error&) {
                ssh_channel_request_send_signal(ch.get(), "KILL");
                throw;
            }
        };
        for (;;) {
            if (clock::now() >= deadline) {
                res.timed_out = true;
                // Ask sshd to kill the command (OpenSSH >= 7.9 honours "signal" requests).
                ssh_channel_request_send_signal(ch.get(), "KILL");
                break;
            }
            int n = ssh_channel_read_timeout(ch.get(), buf, sizeof buf, 0, 100);
            if (n > 0) {
                append(res.out, n, "stdout");
            }
            int e;
            while ((e = ssh_channel_read_nonblocking(ch.get(), buf, sizeof buf, 1)) > 0) {
                append(res.err, e, "stderr");
            }
            if (n == SSH_ERROR || e == SSH_ERROR) {
                fail(std::string("connection lost while running a command: ") + ssh_get_error(s),
                     "the host may have rebooted or dropped off the network; re-run when it is "
                     "back (pgdr's steps are idempotent)");
            }
            if (ssh_channel_is_eof(ch.get()) != 0 && n <= 0) {
                // Drain what is left on both streams.
                while ((n = ssh_channel_read_nonblocking(ch.get(), buf, sizeof buf, 0)) > 0) {
                    append(res.out, n, "stdout");
                }
                while ((e = ssh_channel_read_nonblocking(ch.get(), buf, sizeof buf, 1)) > 0) {
                    append(res.err, e, "stderr");
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
