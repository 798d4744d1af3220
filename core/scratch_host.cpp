#include "core/scratch_host.hpp"

#include "core/error.hpp"

namespace pgdr {

std::string ScratchMachine::describe() const {
    if (provider == "lab") {
        return "lab host " + name + " (" + address + ")";
    }
    std::string where = flavor;
    for (const auto& part : {region, address}) {
        if (!part.empty()) {
            where += (where.empty() ? "" : ", ") + part;
        }
    }
    return (provider == "ovh" ? std::string("OVH") : provider) + " instance " + id + " " + name +
           (where.empty() ? "" : " (" + where + ")");
}

ScratchMachineGuard::~ScratchMachineGuard() {
    if (m_removed) {
        return;
    }
    try {
        remove();
    } catch (const Error& e) {
        m_log.error(std::string(e.what()) + (e.hint().empty() ? "" : " (" + e.hint() + ")"));
    } catch (const std::exception& e) {
        m_log.error(e.what());
    }
}

void ScratchMachineGuard::remove() {
    if (!m_removed) {
        m_removed = true;
        m_hosts.remove(m_machine);
    }
}

}  // namespace pgdr
