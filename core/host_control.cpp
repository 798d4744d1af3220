#include "core/host_control.hpp"

namespace pgdr {

std::string to_string(HostState s) {
    switch (s) {
        case HostState::running:
            return "running";
        case HostState::stopped:
            return "stopped";
        case HostState::partitioned:
            return "partitioned";
        case HostState::unknown:
            break;
    }
    return "unknown";
}

}  // namespace pgdr
