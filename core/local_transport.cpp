#include "core/local_transport.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

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

    std::string input = opts.stdin_data.value_or("");
    size_t written = 0;
    if (input.empty()) {
        in.close_end(1);
    } else {
        ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
    }
    CommandResult res;
    const auto deadline = start + opts.timeout;
    char buf[65536];
    while (out.fd[0] >= 0 || err.fd[0] >= 0) {
        auto now = clock::now();
        if (now >= deadline) {
            res.timed_out = true;
            ::kill(-pid, SIGKILL);
            break;
        }
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
        auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
        int rc = ::poll(fds, static_cast<nfds_t>(n),
                        static_cast<int>(std::min<long long>(wait_ms.count() + 1, 1000)));
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
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
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
