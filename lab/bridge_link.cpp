#include "lab/bridge_link.hpp"

#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <tuple>

#include "core/files.hpp"
#include "lab/proc.hpp"

namespace fs = std::filesystem;

namespace pgdr::lab {

CommandResult run_local(Transport& local, const std::vector<std::string>& argv, bool must,
                        std::chrono::seconds timeout) {
    RunOptions o;
    o.timeout = timeout;
    auto r = local.run(argv, o);
    if (must && !r.ok()) {
        std::string cmd;
        for (const auto& a : argv) {
            cmd += (cmd.empty() ? "" : " ") + a;
        }
        throw std::runtime_error("`" + cmd + "` failed (exit " + std::to_string(r.exit_status) +
                                 ")" + (r.err.empty() ? "" : ": " + r.err));
    }
    return r;
}

std::string join_bridges(Transport& local, const BridgeLink& l) {
    run_local(local, {"ip", "link", "del", l.port_a}, false);
    run_local(local, {"ip", "link", "add", l.port_a, "type", "veth", "peer", "name", l.port_b});
    run_local(local, {"ip", "link", "set", l.port_a, "master", l.bridge_a, "up"});
    run_local(local, {"ip", "link", "set", l.port_b, "master", l.bridge_b, "up"});
    if (l.latency_ms <= 0) {
        return "direct";
    }
    const std::string delay = std::to_string(l.latency_ms) + "ms";
    if (run_local(local,
                  {"tc", "qdisc", "replace", "dev", l.port_a, "root", "netem", "delay", delay},
                  false)
            .ok() &&
        run_local(local,
                  {"tc", "qdisc", "replace", "dev", l.port_b, "root", "netem", "delay", delay},
                  false)
            .ok()) {
        return "netem";
    }
    // No netem in this kernel: two veth pairs, one in each bridge, and a relay in user space
    // between their free ends that holds every frame `latency_ms` (lab/delay_link.hpp).
    run_local(local, {"ip", "link", "del", l.port_a}, false);
    for (const auto& [port, free_end, bridge] :
         {std::tuple{l.port_a, l.free_a, l.bridge_a}, std::tuple{l.port_b, l.free_b, l.bridge_b}}) {
        run_local(local, {"ip", "link", "del", port}, false);
        run_local(local, {"ip", "link", "add", port, "type", "veth", "peer", "name", free_end});
        run_local(local, {"ip", "link", "set", port, "master", bridge, "up"});
        run_local(local, {"ip", "link", "set", free_end, "up"});
    }
    stop_bridge_relay(l.pid_file);
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    const pid_t pid =
        spawn_detached({ec ? std::string("pgdr") : exe.string(), "lab", "ovh-link", l.free_a,
                        l.free_b, "--delay-ms", std::to_string(l.latency_ms)},
                       l.log_file);
    write_file_atomic(l.pid_file, std::to_string(pid) + "\n");
    return "user-space relay, pid " + std::to_string(pid);
}

void stop_bridge_relay(const std::string& pid_file) {
    if (auto pid = read_pid_file(pid_file);
        pid && process_alive(*pid) && process_comm(*pid).rfind("pgdr", 0) == 0) {
        signal_and_wait(*pid, SIGKILL, std::chrono::seconds(5));
    }
    std::error_code ec;
    fs::remove(pid_file, ec);
}

}  // namespace pgdr::lab
