// Processes on this machine, by PID: the lab's wrappers, containers and apt proxy.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pgdr::lab {

std::optional<pid_t> read_pid_file(const std::string& path);
// Alive and not a zombie.
bool process_alive(pid_t pid);
// The process's command name (/proc/PID/comm), empty when it is gone.
std::string process_comm(pid_t pid);
// The descendant of `ancestor` that is PID 1 of a nested PID namespace (a container's init).
std::optional<pid_t> container_init(pid_t ancestor);
// Whether `pid` lives in another network namespace than this process (false when it is gone).
bool in_other_netns(pid_t pid);
// container_init() when its network namespace is not this machine's: the only PID that
// `nsenter -t PID -n` may enter. A container's firewall loaded into this machine's own namespace
// cut every lab host off from it (the apt proxy), and CI saw it happen.
std::optional<pid_t> container_net_init(pid_t ancestor);
// Starts argv in a new session, detached (double fork: it is not our child), stdin from
// /dev/null, stdout+stderr appended to log_path and no other file descriptor. Returns its PID.
pid_t spawn_detached(const std::vector<std::string>& argv, const std::string& log_path,
                     const std::vector<std::string>& env = {});
// Sends sig and waits up to `wait` for the process to be gone; true when it is.
bool signal_and_wait(pid_t pid, int sig, std::chrono::milliseconds wait);

// Whether `path` is a mount point of this process's mount namespace (/proc/self/mountinfo).
bool is_mounted(const std::string& path);
// n random lowercase hex digits from /dev/urandom (machine ids).
std::string random_hex(std::size_t n);
// The last `max` bytes of a file ("" when it cannot be read), for error messages.
std::string tail_of(const std::string& path, std::size_t max);

}  // namespace pgdr::lab
