#include "lab/layout.hpp"

#include <filesystem>

namespace pgdr::lab {

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
    return {"/sys/fs/cgroup/systemd/" + rel, "/sys/fs/cgroup/unified/" + rel};
}

LabPaths::LabPaths(std::string d) : dir(std::filesystem::absolute(d).lexically_normal().string()) {
    while (dir.size() > 1 && dir.back() == '/') {
        dir.pop_back();
    }
}

}  // namespace pgdr::lab
