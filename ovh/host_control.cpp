#include "ovh/host_control.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/poll.hpp"

namespace pgdr::ovh {

std::map<std::string, std::string> instance_ids(const ClusterState& state) {
    std::map<std::string, std::string> out;
    for (const auto& [host, hs] : state.hosts) {
        if (!hs.instance_id.empty()) {
            out[host] = hs.instance_id;
        }
    }
    return out;
}

std::map<std::string, ExpectedMachine> expected_machines(const Inventory& inv) {
    std::map<std::string, ExpectedMachine> out;
    for (const auto& h : inv.hosts) {
        out[h.name] = {"pgdr-" + inv.cluster + "-" + h.name, h.address};
    }
    return out;
}

MachineState machine_state(const std::string& s) {
    if (s == "ACTIVE") {
        return MachineState::running;
    }
    if (s == "SHUTOFF" || s == "SHELVED" || s == "SHELVED_OFFLOADED" || s == "SUSPENDED" ||
        s == "PAUSED") {
        return MachineState::stopped;
    }
    return MachineState::unknown;
}

OvhHostControl::OvhHostControl(ProjectApi& api, Clock& clock,
                               std::map<std::string, std::string> instance_ids,
                               OvhHostControlOptions options)
    : m_api(api), m_clock(clock), m_ids(std::move(instance_ids)), m_options(std::move(options)) {}

const std::string& OvhHostControl::instance_id(const std::string& host) const {
    auto it = m_ids.find(host);
    if (it == m_ids.end()) {
        throw config_error(
            "no OVH instance is recorded for host '" + host + "' in the state (state.json)",
            "`pgdr provision` creates the instances and records their ids; "
            "`pgdr provision --plan` shows what is missing");
    }
    return it->second;
}

MachineState OvhHostControl::state(const std::string& host) {
    return machine_state(m_api.instance_status(instance_id(host)));
}

const std::string& OvhHostControl::checked_instance(const std::string& host,
                                                    const std::string& action) {
    const auto& id = instance_id(host);
    if (m_options.expected.empty()) {
        return id;
    }
    auto want = m_options.expected.find(host);
    if (want == m_options.expected.end()) {
        throw Error(ExitCode::invalid_config,
                    "refusing to " + action + " " + host + ": it is not an inventory host");
    }
    const auto inst = m_api.instance(id);
    const std::string name =
        inst.contains("name") && inst["name"].is_string() ? inst["name"].get<std::string>() : "";
    std::vector<std::string> addresses;
    if (inst.contains("ipAddresses") && inst["ipAddresses"].is_array()) {
        for (const auto& a : inst["ipAddresses"]) {
            if (a.is_object() && a.contains("ip") && a["ip"].is_string()) {
                addresses.push_back(a["ip"].get<std::string>());
            }
        }
    }
    const bool address_ok = want->second.private_address.empty() ||
                            std::find(addresses.begin(), addresses.end(),
                                      want->second.private_address) != addresses.end();
    if (name != want->second.name || !address_ok) {
        std::string seen;
        for (const auto& a : addresses) {
            seen += (seen.empty() ? "" : ", ") + a;
        }
        throw Error(ExitCode::invalid_config,
                    "refusing to " + action + " instance " + id + " for host " + host +
                        ": OVH names it '" + name + "' with addresses [" + seen + "], expected '" +
                        want->second.name + "' with " + want->second.private_address +
                        "; nothing was sent",
                    "state.json (" + host +
                        ".instance_id) is stale or belongs to another cluster: check "
                        "paths.state_dir and run `pgdr provision --plan`");
    }
    return id;
}

void OvhHostControl::kill_host(const std::string& host) {
    const auto& id = checked_instance(host, "stop");
    m_api.stop(id);
    m_api.wait_instance_status(id, "SHUTOFF");
}

void OvhHostControl::start_host(const std::string& host) {
    const auto& id = instance_id(host);
    m_api.start(id);
    m_api.wait_instance_status(id, "ACTIVE");
    if (!m_options.ssh_ready) {
        return;
    }
    if (poll_until(m_clock, m_options.ssh_timeout, m_options.ssh_poll, nullptr,
                   [&] { return m_options.ssh_ready(host); }) != PollOutcome::holds) {
        throw Error(ExitCode::unreachable,
                    host + " is ACTIVE on OVH but did not answer SSH within " +
                        std::to_string(
                            std::chrono::duration_cast<std::chrono::seconds>(m_options.ssh_timeout)
                                .count()) +
                        " s",
                    "see the instance's console in the OVHcloud Control Panel");
    }
}

void OvhHostControl::reboot_host(const std::string& host) {
    m_api.reboot_hard(checked_instance(host, "hard-reboot"));
}

void OvhHostControl::partition_host(const std::string& host) {
    throw Error(ExitCode::usage,
                "cannot cut " + host +
                    " off the network through the OVH API: it has no per-instance network cut",
                "pgdr drill --partition-primary uses nftables rules on the host itself on OVH");
}

void OvhHostControl::heal_host(const std::string& host) {
    throw Error(ExitCode::usage,
                "cannot heal a partition of " + host +
                    " through the OVH API: partitions on OVH are nftables rules on the host",
                "delete them on the host: nft delete table inet pgdr_partition");
}

}  // namespace pgdr::ovh
