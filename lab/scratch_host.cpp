// The lab's scratch hosts (lab/lab.hpp): made the way `lab up` makes its hosts (overlay root on
// the cached image, identity files, the wrapper that boots it in its own cgroup, a veth on the
// lab bridge), at an address outside the cluster's hosts' 198.18.0.11-15.
#include <filesystem>
#include <sstream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/tcp.hpp"
#include "lab/image.hpp"
#include "lab/lab.hpp"

namespace pgdr::lab {

namespace fs = std::filesystem;

std::string Lab::scratch_name(int octet) {
    return "scr" + std::to_string(octet);
}

bool Lab::is_scratch_name(const std::string& name) {
    if (name.size() != 6 || name.rfind("scr", 0) != 0) {
        return false;
    }
    for (std::size_t i = 3; i < name.size(); ++i) {
        if (name[i] < '0' || name[i] > '9') {
            return false;
        }
    }
    const int octet = std::stoi(name.substr(3));
    return octet >= k_scratch_first && octet <= k_scratch_last;
}

int Lab::free_scratch_octet() const {
    for (int octet = k_scratch_first; octet <= k_scratch_last; ++octet) {
        const std::string name = scratch_name(octet);
        if (fs::exists(m_paths.host_dir(name))) {
            continue;  // another drill's, or one left behind (lab down removes it)
        }
        // Nothing else on the bridge answers there (a host of another tool, by accident).
        if (tcp_probe("198.18.0." + std::to_string(octet), 22, std::chrono::milliseconds(200))) {
            continue;
        }
        return octet;
    }
    throw Error(ExitCode::internal,
                "no free scratch address in 198.18.0." + std::to_string(k_scratch_first) + "-" +
                    std::to_string(k_scratch_last),
                "remove scratch hosts left behind with `pgdr lab down` (it removes the whole lab)");
}

ScratchHostInfo Lab::create_scratch_host() {
    check_root();
    if (!exists()) {
        throw usage_error("no lab in " + m_paths.dir, "create one with `pgdr lab up`");
    }
    const auto cfg = config();
    const int octet = free_scratch_octet();
    ScratchHostInfo info{scratch_name(octet), "198.18.0." + std::to_string(octet),
                         m_paths.host_dir(scratch_name(octet)) + "/known_hosts"};
    const LabHost h{info.name, info.address, {}};
    ensure_directory(m_paths.host_dir(info.name), 0700);
    try {
        const std::string image = ensure_image(recipe_for(cfg.release), m_local, m_progress);
        auto all = hosts();
        all.push_back(h);
        prepare_host(h, image, all);
        auto pub = read_text_file(m_paths.root(h.name) + "/etc/ssh/ssh_host_ed25519_key.pub");
        std::istringstream f(pub.value_or(""));
        std::string type, key;
        f >> type >> key;
        write_file_atomic(info.known_hosts, h.address + " " + type + " " + key + "\n", 0644);
        m_progress("booting the scratch host " + h.name + " (" + h.address + ")");
        boot_host(h);
        wait_ssh(h, std::chrono::seconds(120));
    } catch (...) {
        remove_host(info.name);
        throw;
    }
    return info;
}

void Lab::remove_scratch_host(const std::string& name) {
    check_root();
    if (!is_scratch_name(name)) {
        throw usage_error("'" + name + "' is not a scratch host of the lab");
    }
    if (!fs::exists(m_paths.host_dir(name))) {
        return;
    }
    m_progress("removing the scratch host " + name);
    remove_host(name);
    if (fs::exists(m_paths.host_dir(name))) {
        throw Error(ExitCode::internal, "the scratch host " + name + " was not removed completely",
                    "`pgdr lab down` removes what is left");
    }
}

ScratchMachine LabScratchHosts::create() {
    const auto info = m_lab.create_scratch_host();
    ScratchMachine m;
    m.provider = "lab";
    m.id = info.name;
    m.name = info.name;
    m.address = info.address;
    m.known_hosts = info.known_hosts;
    m.reach_like_members = false;  // the lab bridge: this machine is on it
    return m;
}

void LabScratchHosts::remove(const ScratchMachine& machine) {
    m_lab.remove_scratch_host(machine.id);
}

}  // namespace pgdr::lab
