#include "lab/proc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/poll.hpp"

namespace pgdr::lab {

std::optional<pid_t> read_pid_file(const std::string& path) {
    std::ifstream in(path);
    long pid = 0;
    if (!(in >> pid) || pid <= 1) {
        return std::nullopt;
    }
    return static_cast<pid_t>(pid);
}

namespace {
// Fields of /proc/PID/status we need.
struct Status {
    pid_t ppid = 0;
    char state = '?';
    std::vector<long> nspid;
};
std::optional<Status> read_status(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    if (!in) {
        return std::nullopt;
    }
    Status st;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("PPid:", 0) == 0) {
            st.ppid = static_cast<pid_t>(std::stol(line.substr(5)));
        } else if (line.rfind("State:", 0) == 0) {
            auto pos = line.find_first_not_of(" \t", 6);
            st.state = pos == std::string::npos ? '?' : line[pos];
        } else if (line.rfind("NSpid:", 0) == 0) {
            std::istringstream f(line.substr(6));
            for (long v; f >> v;) {
                st.nspid.push_back(v);
            }
        }
    }
    return st;
}
}  // namespace

bool process_alive(pid_t pid) {
    if (pid <= 1 || ::kill(pid, 0) != 0) {
        return false;
    }
    auto st = read_status(pid);
    return st && st->state != 'Z' && st->state != 'X';
}

std::string process_comm(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    std::getline(in, comm);
    return comm;
}

std::optional<pid_t> container_init(pid_t ancestor) {
    std::map<pid_t, Status> all;
    DIR* d = ::opendir("/proc");
    if (d == nullptr) {
        return std::nullopt;
    }
    while (auto* e = ::readdir(d)) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0') {
            continue;
        }
        if (auto st = read_status(static_cast<pid_t>(pid))) {
            all[static_cast<pid_t>(pid)] = *st;
        }
    }
    ::closedir(d);
    for (const auto& [pid, st] : all) {
        if (st.nspid.size() < 2 || st.nspid.back() != 1) {
            continue;
        }
        // Walk up the parents: is `ancestor` among them?
        pid_t p = st.ppid;
        for (int depth = 0; depth < 16 && p > 1; ++depth) {
            if (p == ancestor) {
                return pid;
            }
            auto it = all.find(p);
            if (it == all.end()) {
                break;
            }
            p = it->second.ppid;
        }
    }
    return std::nullopt;
}

bool in_other_netns(pid_t pid) {
    struct stat theirs {};
    struct stat ours {};
    if (::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &theirs) != 0 ||
        ::stat("/proc/self/ns/net", &ours) != 0) {
        return false;
    }
    return theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev;
}

std::optional<pid_t> container_net_init(pid_t ancestor) {
    auto init = container_init(ancestor);
    if (init && in_other_netns(*init)) {
        return init;
    }
    return std::nullopt;
}

pid_t spawn_detached(const std::vector<std::string>& argv, const std::string& log_path,
                     const std::vector<std::string>& env) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw Error(ExitCode::internal, std::string("pipe: ") + std::strerror(errno));
    }
    std::vector<char*> cargv;
    for (const auto& a : argv) {
        cargv.push_back(const_cast<char*>(a.c_str()));
    }
    cargv.push_back(nullptr);
    pid_t child = ::fork();
    if (child < 0) {
        throw Error(ExitCode::internal, std::string("fork: ") + std::strerror(errno));
    }
    if (child == 0) {
        ::close(fds[0]);
        ::setsid();
        pid_t grandchild = ::fork();
        if (grandchild != 0) {
            (void)!::write(fds[1], &grandchild, sizeof grandchild);
            ::_exit(grandchild > 0 ? 0 : 1);
        }
        int in = ::open("/dev/null", O_RDONLY);
        int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (in < 0 || out < 0) {
            ::_exit(126);
        }
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        // Nothing else of ours goes along: a wrapper started from a long-lived pgdr (a drill's
        // reboot) would otherwise keep its SSH, HTTP and database sockets open for its life.
        if (::close_range(3, ~0U, 0) != 0) {
            for (int fd = 3; fd < 4096; ++fd) {
                ::close(fd);
            }
        }
        for (const auto& kv : env) {
            ::putenv(const_cast<char*>(kv.c_str()));
        }
        ::signal(SIGPIPE, SIG_DFL);
        ::execvp(cargv[0], cargv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    pid_t grandchild = -1;
    if (::read(fds[0], &grandchild, sizeof grandchild) != sizeof grandchild) {
        grandchild = -1;
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (grandchild <= 0) {
        throw Error(ExitCode::internal, "could not start " + argv[0]);
    }
    return grandchild;
}

bool signal_and_wait(pid_t pid, int sig, std::chrono::milliseconds wait) {
    if (!process_alive(pid)) {
        return true;
    }
    ::kill(pid, sig);
    SystemClock clock;
    poll_until(clock, wait, std::chrono::milliseconds(50), nullptr,
               [pid] { return !process_alive(pid); });
    return !process_alive(pid);
}

bool is_mounted(const std::string& path) {
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string id, parent, devs, root, mount_point;
        f >> id >> parent >> devs >> root >> mount_point;
        if (mount_point == path) {
            return true;
        }
    }
    return false;
}

std::string random_hex(std::size_t n) {
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    std::string out;
    static const char* k_hex = "0123456789abcdef";
    while (out.size() < n) {
        unsigned char c = 0;
        rnd.read(reinterpret_cast<char*>(&c), 1);
        out += k_hex[c & 15];
    }
    return out;
}

std::string tail_of(const std::string& path, std::size_t max) {
    auto text = read_text_file(path).value_or("");
    return text.size() > max ? text.substr(text.size() - max) : text;
}

}  // namespace pgdr::lab
