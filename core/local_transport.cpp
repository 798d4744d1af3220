#include "core/local_transport.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.hpp"

namespace pgdr {

namespace {
struct Pipe {
    int fd[2] = {-1, -1};
    ~Pipe() {
        for (int f : fd) {
            if (f >= 0) {
                ::close(f);
            }
        }
    }
    void close_end(int i) {
        if (fd[i] >= 0) {
            ::close(fd[i]);
            fd[i] = -1;
        }
    }
};

// Writing to a command that closed its stdin raises SIGPIPE, whose default action would kill
// pgdr (a library cannot count on the process ignoring it). The signal is blocked in this
// thread while stdin is fed and a SIGPIPE left pending by our own write is discarded; the
// write then fails with EPIPE, which closes stdin like any other write error. The child is
// forked before the guard exists, so it keeps the caller's mask.
class SigpipeGuard {
  public:
    SigpipeGuard() {
        ::sigemptyset(&m_pipe);
        ::sigaddset(&m_pipe, SIGPIPE);
        sigset_t pending;
        ::sigpending(&pending);
        m_was_pending = ::sigismember(&pending, SIGPIPE) == 1;
        ::pthread_sigmask(SIG_BLOCK, &m_pipe, &m_old);
    }
    ~SigpipeGuard() {
        if (!m_was_pending) {
            const timespec zero{0, 0};
            while (::sigtimedwait(&m_pipe, nullptr, &zero) == SIGPIPE) {
            }
        }
        ::pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

  private:
    sigset_t m_pipe{};
    sigset_t m_old{};
    bool m_was_pending = false;
};
}  // namespace

CommandResult LocalTransport::run(const std::vector<std::string>& argv, const RunOptions& opts) {
    using clock = std::chrono::steady_clock;
    if (argv.empty()) {
        throw Error(ExitCode::internal, "LocalTransport: empty command");
    }
    Pipe in, out, err;
    if (::pipe2(in.fd, O_CLOEXEC) != 0 || ::pipe2(out.fd, O_CLOEXEC) != 0 ||
        ::pipe2(err.fd, O_CLOEXEC) != 0) {
        throw Error(ExitCode::internal, std::string("pipe: ") + std::strerror(errno));
    }
    std::vector<char*> cargv;
    for (const auto& a : argv) {
        cargv.push_back(const_cast<char*>(a.c_str()));
    }
    cargv.push_back(nullptr);

    const auto start = clock::now();
    pid_t pid = ::fork();
    if (pid < 0) {
        throw Error(ExitCode::internal, std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        // Own process group, so that a timeout kills the command and everything it started.
        ::setpgid(0, 0);
        ::dup2(in.fd[0], 0);
        ::dup2(out.fd[1], 1);
        ::dup2(err.fd[1], 2);
        ::signal(SIGPIPE, SIG_DFL);
        ::execvp(cargv[0], cargv.data());
        const char* msg = "pgdr: cannot execute command\n";
        (void)!::write(2, msg, std::strlen(msg));
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    in.close_end(0);
    out.close_end(1);
    err.close_end(1);

    SigpipeGuard sigpipe_guard;
    std::string input = opts.stdin_data.value_or("");
    size_t written = 0;
    if (input.empty()) {
        in.close_end(1);
    } else {
        ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
    }
    CommandResult res;
    const auto deadline = start + opts.timeout;
    // At the deadline (or on cancel): SIGTERM first when a grace is given, SIGKILL at kill_at.
    auto kill_at = opts.kill_grace.count() > 0 ? clock::time_point::max() : deadline;
    bool term_sent = false;
    bool killed = false;
    auto escalate = [&](clock::time_point now) {
        const bool cancelled = opts.cancel != nullptr && opts.cancel->load();
        if (now >= deadline) {
            res.timed_out = true;
        }
        if (!term_sent && opts.kill_grace.count() > 0 && (now >= deadline || cancelled)) {
            ::kill(-pid, SIGTERM);
            term_sent = true;
            kill_at = now + opts.kill_grace;
        }
        if (!killed && now >= kill_at) {
            ::kill(-pid, SIGKILL);
            killed = true;
        }
        return killed;
    };
    char buf[65536];
    while (out.fd[0] >= 0 || err.fd[0] >= 0) {
        if (escalate(clock::now())) {
            break;
        }
        auto now = clock::now();
        pollfd fds[3];
        int n = 0;
        int idx_out = -1, idx_err = -1, idx_in = -1;
        if (out.fd[0] >= 0) {
            idx_out = n;
            fds[n++] = {out.fd[0], POLLIN, 0};
        }
        if (err.fd[0] >= 0) {
            idx_err = n;
            fds[n++] = {err.fd[0], POLLIN, 0};
        }
        if (in.fd[1] >= 0) {
            idx_in = n;
            fds[n++] = {in.fd[1], POLLOUT, 0};
        }
        const auto next = term_sent ? kill_at : deadline;
        auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now);
        // At most 100 ms with a cancel flag to watch, else at most 1 s.
        const long long cap = opts.cancel != nullptr ? 100 : 1000;
        int rc = ::poll(fds, static_cast<nfds_t>(n),
                        static_cast<int>(
                            std::max<long long>(0, std::min<long long>(wait_ms.count() + 1, cap))));
        if (rc < 0 && errno != EINTR) {
            break;
        }
        auto drain = [&](int idx, Pipe& p, std::string& sink) {
            if (idx >= 0 && (fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t r = ::read(p.fd[0], buf, sizeof buf);
                if (r > 0) {
                    sink.append(buf, static_cast<size_t>(r));
                } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                    p.close_end(0);
                }
            }
        };
        drain(idx_out, out, res.out);
        drain(idx_err, err, res.err);
        if (idx_in >= 0 && (fds[idx_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = ::write(in.fd[1], input.data() + written, input.size() - written);
            if (w > 0) {
                written += static_cast<size_t>(w);
            }
            if (w < 0 && errno != EAGAIN && errno != EINTR) {
                in.close_end(1);
            }
            if (written >= input.size()) {
                in.close_end(1);
            }
        }
    }
    // The command may have closed its output and still run (a daemon, `exec >&-`): the
    // deadline applies until it exits, not only while there is output to read.
    int status = 0;
    auto nap = std::chrono::milliseconds(1);
    for (;;) {
        pid_t waited = ::waitpid(pid, &status, killed ? 0 : WNOHANG);
        if (waited == pid || (waited < 0 && errno != EINTR)) {
            break;
        }
        if (waited == 0) {
            if (escalate(clock::now())) {
                continue;
            }
            std::this_thread::sleep_for(nap);
            nap = std::min(nap * 2, std::chrono::milliseconds(20));
        }
    }
    res.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    if (!res.timed_out && WIFEXITED(status)) {
        res.exit_status = WEXITSTATUS(status);
    } else {
        res.exit_status = -1;
    }
    return res;
}

}  // namespace pgdr
