#include "lab/layout.hpp"

#include <filesystem>

namespace pgdr::lab {

std::string region_bridge(int region) {
    return "pgdrbr" + std::to_string(region - 1);
}
std::string region_name(int region) {
    return "r" + std::to_string(region);
}
std::string host_name(int index) {
    return "pg" + std::to_string(index);
}
std::string host_address(int index) {
    return "198.18.0." + std::to_string(10 + index);
}
std::string machine_name(const std::string& host) {
    return "pgdr-" + host;
}
std::string veth_name(const std::string& host) {
    return "vb-" + machine_name(host);
}

std::vector<std::string> cgroup_dirs(const std::string& leaf) {
    std::string rel = std::string(k_cgroup_name) + (leaf.empty() ? "" : "/" + leaf);
    // A pure cgroup v2 machine (Debian 12's default with systemd) has one hierarchy; the hybrid
    // layout (this project's CI machines) has a named systemd one plus cgroup2 under
    // unified/. The container must be placed in each of them.
    if (std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers")) {
        return {"/sys/fs/cgroup/" + rel};
    }
    std::vector<std::string> out;
    for (const char* h : {"/sys/fs/cgroup/systemd/", "/sys/fs/cgroup/unified/"}) {
        if (std::filesystem::exists(h)) {
            out.push_back(h + rel);
        }
    }
    return out;
}

std::string join_cgroup_dirs(const std::vector<std::string>& dirs) {
    std::string out;
    for (const auto& d : dirs) {
        out += (out.empty() ? "" : ":") + d;
    }
    return out;
}

LabPaths::LabPaths(std::string d) : dir(std::filesystem::absolute(d).lexically_normal().string()) {
    while (dir.size() > 1 && dir.back() == '/') {
        dir.pop_back();
    }
}

}  // namespace pgdr::lab
