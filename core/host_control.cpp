#include "core/host_control.hpp"

namespace pgdr {

std::string to_string(MachineState s) {
    switch (s) {
        case MachineState::running:
            return "running";
        case MachineState::stopped:
            return "stopped";
        case MachineState::partitioned:
            return "partitioned";
        case MachineState::unknown:
            break;
    }
    return "unknown";
}

}  // namespace pgdr
