// Two bridges joined by a link that carries `latency_ms` each way: the twin's vRack between the
// private networks of two regions, and the lab's link between its regions (`lab up --regions`).
//
// netem on a veth pair when the kernel has sch_netem; otherwise two veth pairs, one in each
// bridge, and a relay in user space between their free ends (`pgdr lab ovh-link`,
// lab/delay_link.hpp) started detached, its PID in `pid_file`. latency_ms 0: a plain veth pair.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/transport.hpp"

namespace pgdr::lab {

struct BridgeLink {
    std::string bridge_a, bridge_b;  // the bridges to join (they exist)
    std::string port_a, port_b;      // the veth ends in bridge_a and bridge_b
    std::string free_a, free_b;      // the relay's ends (only without netem)
    int latency_ms = 0;
    std::string pid_file, log_file;  // the relay's
};

// Runs argv on this machine (bounded by `timeout`); with `must`, a failure throws
// std::runtime_error naming the command, its exit status and stderr.
CommandResult run_local(Transport& local, const std::vector<std::string>& argv, bool must = true,
                        std::chrono::seconds timeout = std::chrono::seconds(60));

// Makes the link (replacing one of the same names); returns how: "direct", "netem" or
// "user-space relay, pid N". Throws std::runtime_error when a command fails.
std::string join_bridges(Transport& local, const BridgeLink& link);

// Ends the relay whose PID is in pid_file (only a pgdr process) and removes the file.
void stop_bridge_relay(const std::string& pid_file);

}  // namespace pgdr::lab
