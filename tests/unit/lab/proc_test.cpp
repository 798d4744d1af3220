// The lab's view of a container's init (lab/proc.hpp): the PID that `nsenter -t PID -n` may
// enter must be in a network namespace of its own. CI once saw a twin instance's firewall
// (input policy drop) loaded into this machine's namespace: every lab host's connection to the
// apt proxy timed out from then on. The namespaces are real (unshare(1)); root only.
#include "lab/proc.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace pgdr::lab;

namespace {

// unshare ARGS... sleep 30, as our child; killed (with its PID namespace) when it goes.
struct Unshared {
    pid_t pid = -1;
    explicit Unshared(const std::vector<std::string>& flags) {
        std::vector<std::string> argv{"unshare"};
        argv.insert(argv.end(), flags.begin(), flags.end());
        argv.insert(argv.end(), {"sleep", "30"});
        pid = ::fork();
        if (pid == 0) {
            std::vector<char*> args;
            for (auto& a : argv) {
                args.push_back(a.data());
            }
            args.push_back(nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
    }
    ~Unshared() {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    Unshared(const Unshared&) = delete;
    Unshared& operator=(const Unshared&) = delete;
};

// The container_init() of `ancestor` once it exists (unshare forks it), within 5 s.
std::optional<pid_t> wait_init(pid_t ancestor) {
    for (int i = 0; i < 500; ++i) {
        if (auto init = container_init(ancestor)) {
            return init;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("lab proc: this process is in its own network namespace", "[lab][proc]") {
    CHECK_FALSE(in_other_netns(::getpid()));
    CHECK_FALSE(in_other_netns(999999999));  // gone: never "other"
}

TEST_CASE("lab proc: the init nsenter -n may enter has a network namespace of its own",
          "[lab][proc]") {
    if (::geteuid() != 0) {
        WARN("not root: namespaces cannot be made");
        return;
    }
    SECTION("a PID namespace with its own network namespace: entered") {
        Unshared u({"--pid", "--fork", "--net", "--mount-proc"});
        auto init = wait_init(u.pid);
        REQUIRE(init);
        CHECK(in_other_netns(*init));
        CHECK(container_net_init(u.pid) == init);
    }
    SECTION("a PID namespace in this machine's network namespace: never entered") {
        // container_init() alone finds it: loading a host's firewall there is what cut the lab
        // hosts off from this machine.
        Unshared u({"--pid", "--fork", "--mount-proc"});
        auto init = wait_init(u.pid);
        REQUIRE(init);
        CHECK_FALSE(in_other_netns(*init));
        CHECK_FALSE(container_net_init(u.pid).has_value());
    }
}
