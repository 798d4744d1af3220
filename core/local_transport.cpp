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
    Pipe() = default;
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
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

using Clock = std::chrono::steady_clock;

// The command's stdin, stdout and stderr.
struct Pipes {
    Pipe in, out, err;
    Pipes() {
        if (::pipe2(in.fd, O_CLOEXEC) != 0 || ::pipe2(out.fd, O_CLOEXEC) != 0 ||
            ::pipe2(err.fd, O_CLOEXEC) != 0) {
            throw Error(ExitCode::internal, std::string("pipe: ") + std::strerror(errno));
        }
    }
};

// Forks and executes argv (no shell) on the pipes, in a process group of its own so that a
// timeout kills the command and everything it started; the parent keeps its ends only.
pid_t spawn(const std::vector<std::string>& argv, Pipes& p) {
    std::vector<char*> cargv;
    for (const auto& a : argv) {
        cargv.push_back(const_cast<char*>(a.c_str()));
    }
    cargv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        throw Error(ExitCode::internal, std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        ::dup2(p.in.fd[0], 0);
        ::dup2(p.out.fd[1], 1);
        ::dup2(p.err.fd[1], 2);
        ::signal(SIGPIPE, SIG_DFL);
        ::execvp(cargv[0], cargv.data());
        const char* msg = "pgdr: cannot execute command\n";
        (void)!::write(2, msg, std::strlen(msg));
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    p.in.close_end(0);
    p.out.close_end(1);
    p.err.close_end(1);
    return pid;
}

// The command's end: at the deadline (or on cancel) SIGTERM first when a grace is given, then
// SIGKILL at the end of the grace; without a grace SIGKILL at the deadline. Always the whole
// process group.
class Escalation {
  public:
    Escalation(pid_t pid, const RunOptions& opts, Clock::time_point deadline)
        : m_pid(pid),
          m_opts(opts),
          m_deadline(deadline),
          m_kill_at(opts.kill_grace.count() > 0 ? Clock::time_point::max() : deadline) {}

    // Sends what is due at `now`; true once the command was killed.
    bool check(Clock::time_point now) {
        const bool cancelled = m_opts.cancel != nullptr && m_opts.cancel->load();
        if (now >= m_deadline) {
            m_timed_out = true;
        }
        if (!m_term_sent && m_opts.kill_grace.count() > 0 && (now >= m_deadline || cancelled)) {
            ::kill(-m_pid, SIGTERM);
            m_term_sent = true;
            m_kill_at = now + m_opts.kill_grace;
        }
        if (!m_killed && now >= m_kill_at) {
            ::kill(-m_pid, SIGKILL);
            m_killed = true;
        }
        return m_killed;
    }
    // How long a poll may wait: until the next signal is due, at most 100 ms with a cancel flag
    // to watch, else at most 1 s.
    int poll_ms(Clock::time_point now) const {
        const auto next = m_term_sent ? m_kill_at : m_deadline;
        auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now);
        const long long cap = m_opts.cancel != nullptr ? 100 : 1000;
        return static_cast<int>(
            std::max<long long>(0, std::min<long long>(wait_ms.count() + 1, cap)));
    }
    bool killed() const { return m_killed; }
    bool timed_out() const { return m_timed_out; }

  private:
    pid_t m_pid;
    const RunOptions& m_opts;
    Clock::time_point m_deadline;
    Clock::time_point m_kill_at;
    bool m_term_sent = false;
    bool m_killed = false;
    bool m_timed_out = false;
};

// Feeds the command's stdin and collects its stdout and stderr, one poll() at a time.
class Streams {
  public:
    Streams(Pipes& pipes, std::string input, CommandResult& res)
        : m_pipes(pipes), m_input(std::move(input)), m_res(res) {
        if (m_input.empty()) {
            m_pipes.in.close_end(1);
        } else {
            ::fcntl(m_pipes.in.fd[1], F_SETFL, O_NONBLOCK);
        }
    }
    // While the command may still write.
    bool open() const { return m_pipes.out.fd[0] >= 0 || m_pipes.err.fd[0] >= 0; }
    // Waits up to timeout_ms for the pipes, then moves what is ready; false when poll() failed.
    bool exchange(int timeout_ms) {
        pollfd fds[3];
        int n = 0;
        const int idx_out = watch(fds, n, m_pipes.out.fd[0], POLLIN);
        const int idx_err = watch(fds, n, m_pipes.err.fd[0], POLLIN);
        const int idx_in = watch(fds, n, m_pipes.in.fd[1], POLLOUT);
        int rc = ::poll(fds, static_cast<nfds_t>(n), timeout_ms);
        if (rc < 0 && errno != EINTR) {
            return false;
        }
        drain(fds, idx_out, m_pipes.out, m_res.out);
        drain(fds, idx_err, m_pipes.err, m_res.err);
        feed(fds, idx_in);
        return true;
    }

  private:
    // Adds fd to the poll set when it is open; its index there, or -1.
    static int watch(pollfd* fds, int& n, int fd, short events) {
        if (fd < 0) {
            return -1;
        }
        fds[n] = {fd, events, 0};
        return n++;
    }
    void drain(const pollfd* fds, int idx, Pipe& p, std::string& sink) {
        if (idx >= 0 && (fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = ::read(p.fd[0], m_buf, sizeof m_buf);
            if (r > 0) {
                sink.append(m_buf, static_cast<size_t>(r));
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                p.close_end(0);
            }
        }
    }
    void feed(const pollfd* fds, int idx) {
        if (idx < 0 || !(fds[idx].revents & (POLLOUT | POLLERR | POLLHUP))) {
            return;
        }
        ssize_t w =
            ::write(m_pipes.in.fd[1], m_input.data() + m_written, m_input.size() - m_written);
        if (w > 0) {
            m_written += static_cast<size_t>(w);
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            m_pipes.in.close_end(1);
        }
        if (m_written >= m_input.size()) {
            m_pipes.in.close_end(1);
        }
    }

    Pipes& m_pipes;
    std::string m_input;
    size_t m_written = 0;
    CommandResult& m_res;
    char m_buf[65536];
};

// Waits for the command to exit, still escalating: it may have closed its output and still run
// (a daemon, `exec >&-`), and the deadline applies until it exits. Its wait status.
int reap(pid_t pid, Escalation& escalation) {
    int status = 0;
    auto nap = std::chrono::milliseconds(1);
    for (;;) {
        pid_t waited = ::waitpid(pid, &status, escalation.killed() ? 0 : WNOHANG);
        if (waited == pid || (waited < 0 && errno != EINTR)) {
            break;
        }
        if (waited == 0) {
            if (escalation.check(Clock::now())) {
                continue;
            }
            std::this_thread::sleep_for(nap);
            nap = std::min(nap * 2, std::chrono::milliseconds(20));
        }
    }
    return status;
}
}  // namespace

CommandResult LocalTransport::run(const std::vector<std::string>& argv, const RunOptions& opts) {
    if (argv.empty()) {
        throw Error(ExitCode::internal, "LocalTransport: empty command");
    }
    Pipes pipes;
    const auto start = Clock::now();
    const pid_t pid = spawn(argv, pipes);
    SigpipeGuard sigpipe_guard;
    CommandResult res;
    Streams streams(pipes, opts.stdin_data.value_or(""), res);
    Escalation escalation(pid, opts, start + opts.timeout);
    while (streams.open()) {
        if (escalation.check(Clock::now()) || !streams.exchange(escalation.poll_ms(Clock::now()))) {
            break;
        }
    }
    const int status = reap(pid, escalation);
    res.timed_out = escalation.timed_out();
    res.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (!res.timed_out && WIFEXITED(status)) {
        res.exit_status = WEXITSTATUS(status);
    } else {
        res.exit_status = -1;
    }
    return res;
}

}  // namespace pgdr
