#include "lab/twin_hosts.hpp"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "core/files.hpp"
#include "core/poll.hpp"
#include "lab/bridge_link.hpp"
#include "lab/image.hpp"
#include "lab/proc.hpp"
#include "twin/api.hpp"
#include "twin/s3.hpp"

namespace pgdr::lab {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_link_prefix = "pgdrv";  // vRack links between network bridges
constexpr const char* k_net_prefix = "pgdrn";   // private network bridges

// The cgroup directories of a twin host in the hierarchies that carry limits (cgroup v1
// memory and cpu controllers), besides the lab's own (layout.hpp).
std::vector<std::string> limit_dirs(const std::string& host) {
    std::vector<std::string> out;
    for (const char* c : {"memory", "cpu"}) {
        const std::string base = std::string("/sys/fs/cgroup/") + c;
        if (fs::exists(base + "/cgroup.procs")) {
            out.push_back(base + "/" + k_cgroup_name + "/twin-" + host);
        }
    }
    return out;
}

// Boots the host and boots it again after a reboot from inside (exit 133). Before each boot:
// the veth pairs; once the container's init exists: its firewall, then the interfaces moved
// in and renamed. A firewall that does not load leaves the host without network (closed).
const char* const k_wrapper = R"SH(set -u
host=$1 root=$2 cgs=$3 unified=$4 fw=$5 mem=$6 cpus=$7
shift 7
IFS=:; for d in $cgs; do mkdir -p "$d" && echo $$ > "$d/cgroup.procs" || exit 1; done; unset IFS
m=/sys/fs/cgroup/memory/pgdr-lab/twin-$host
if [ -e /sys/fs/cgroup/memory/cgroup.procs ] && mkdir -p "$m"; then
  echo "$mem" > "$m/memory.limit_in_bytes"; echo $$ > "$m/cgroup.procs"
fi
c=/sys/fs/cgroup/cpu/pgdr-lab/twin-$host
if [ -e /sys/fs/cgroup/cpu/cgroup.procs ] && mkdir -p "$c"; then
  echo 100000 > "$c/cpu.cfs_period_us"; echo $((cpus * 100000)) > "$c/cpu.cfs_quota_us"
  echo $$ > "$c/cgroup.procs"
fi
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
  echo "+memory +cpu" > /sys/fs/cgroup/pgdr-lab/cgroup.subtree_control 2>/dev/null
  echo "$mem" > "/sys/fs/cgroup/pgdr-lab/$host/memory.max" 2>/dev/null
  echo "$((cpus * 100000)) 100000" > "/sys/fs/cgroup/pgdr-lab/$host/cpu.max" 2>/dev/null
fi
[ "$unified" = 1 ] && export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
find_init() {
  local p c
  for p in $(pgrep -P "$1"); do
    if awk '/^NSpid:/ { exit !(NF >= 3 && $NF == 1) }' "/proc/$p/status" 2>/dev/null; then
      echo "$p"; return
    fi
    c=$(find_init "$p"); [ -n "$c" ] && { echo "$c"; return; }
  done
}
while :; do
  for nic in "$@"; do
    IFS=: read -r br hif tif inner mac <<<"$nic"
    ip link del "$hif" 2>/dev/null
    ip link add "$hif" type veth peer name "$tif" address "$mac" &&
      ip link set "$hif" master "$br" &&
      ip link set "$hif" up || exit 1
  done
  systemd-nspawn -q -D "$root" -M "pgdr-$host" --register=no --keep-unit --link-journal=no \
    --resolv-conf=off --timezone=off --private-network --console=pipe -b &
  npid=$!
  # The init only once it is in its own network namespace: the firewall must never load into
  # this machine's (every lab host would be cut off from it).
  init= said=
  for i in $(seq 1000); do
    init=$(find_init "$npid")
    ns=$(readlink "/proc/$init/ns/net" 2>/dev/null)
    [ -n "$init" ] && [ -n "$ns" ] && [ "$ns" != "$(readlink /proc/$$/ns/net)" ] && break
    [ -n "$init" ] && [ -z "$said" ] && said=1 &&
      echo "pgdr-twin: $host: init $init not in its own network namespace yet"
    init=
    kill -0 "$npid" 2>/dev/null || break
    sleep 0.01
  done
  if [ -n "$init" ] && nsenter -t "$init" -n nft -f "$fw"; then
    for nic in "$@"; do
      IFS=: read -r br hif tif inner mac <<<"$nic"
      ip link set "$tif" netns "$init" && nsenter -t "$init" -n ip link set "$tif" name "$inner"
    done
  else
    echo "pgdr-twin: $host: the firewall did not load; the host stays without network"
  fi
  wait "$npid"; rc=$?
  echo "pgdr-twin: $host: nspawn exited with $rc"
  [ "$rc" -eq 133 ] || exit "$rc"
done
)SH";

// The interface names in `ip -o link show` output ("7: name@peer: <...>").
std::vector<std::string> link_names(const std::string& ip_link_output) {
    std::vector<std::string> names;
    std::istringstream in(ip_link_output);
    for (std::string line; std::getline(in, line);) {
        auto colon = line.find(": ");
        auto end = colon == std::string::npos ? colon : line.find_first_of(":@", colon + 2);
        if (end != std::string::npos) {
            names.push_back(line.substr(colon + 2, end - colon - 2));
        }
    }
    return names;
}

}  // namespace

LabTwinBackend::LabTwinBackend(const std::string& lab_dir, Transport& local, Logger& log)
    : m_paths(lab_dir + "/twin"), m_local(local), m_log(log) {
    ensure_directory(m_paths.dir, 0700);
    ensure_directory(m_paths.dir + "/hosts", 0700);
}

CommandResult LabTwinBackend::run(const std::vector<std::string>& argv, bool must,
                                  std::chrono::seconds timeout) {
    return run_local(m_local, argv, must, timeout);
}

void LabTwinBackend::ensure_ext_bridge(Transport& local) {
    RunOptions o;
    o.timeout = std::chrono::seconds(10);
    if (!local.run({"ip", "link", "show", k_ext_bridge}, o).ok()) {
        local.run({"ip", "link", "add", k_ext_bridge, "type", "bridge"}, o);
    }
    auto addr = local.run({"ip", "-4", "addr", "show", "dev", k_ext_bridge}, o);
    if (addr.out.find(std::string(k_ext_gateway) + "/16") == std::string::npos) {
        local.run({"ip", "addr", "add", std::string(k_ext_gateway) + "/16", "dev", k_ext_bridge},
                  o);
    }
    auto up = local.run({"ip", "link", "set", k_ext_bridge, "up"}, o);
    if (!up.ok()) {
        throw std::runtime_error("cannot create the Ext-Net bridge " + std::string(k_ext_bridge) +
                                 ": " + up.err);
    }
}

std::string LabTwinBackend::render_firewall(const twin::Firewall& fw) {
    std::string out = std::string("table inet ") + k_twin_firewall_table + "\ndelete table inet " +
                      k_twin_firewall_table + "\ntable inet " + k_twin_firewall_table +
                      " {\n  chain input {\n    type filter hook input priority 0; policy " +
                      (fw.allow_all ? "accept" : "drop") +
                      ";\n    iifname \"lo\" accept\n    ct state established,related accept\n";
    for (const auto& r : fw.rules) {
        std::string line = "    ip saddr " + r.source;
        const bool ports = r.port_min > 0;
        const std::string range =
            r.port_min == r.port_max || r.port_max == 0
                ? std::to_string(r.port_min)
                : std::to_string(r.port_min) + "-" + std::to_string(r.port_max);
        if (r.protocol == "tcp" || r.protocol == "udp" || r.protocol == "sctp" ||
            r.protocol == "dccp" || r.protocol == "udplite") {
            line += ports ? " " + r.protocol + " dport " + range : " meta l4proto " + r.protocol;
        } else if (!r.protocol.empty()) {
            line += " meta l4proto " + r.protocol;
        }
        out += line + " accept\n";
    }
    out += "  }\n}\n";
    return out;
}

std::string LabTwinBackend::host_of(const std::string& id) {
    std::lock_guard lock(m_mutex);
    auto it = m_hosts.find(id);
    if (it == m_hosts.end()) {
        throw std::runtime_error("no twin host for instance " + id);
    }
    return it->second;
}

std::string LabTwinBackend::bridge_of(const std::string& network_id) {
    std::lock_guard lock(m_mutex);
    auto it = m_bridges.find(network_id);
    if (it == m_bridges.end()) {
        throw std::runtime_error("no bridge for network " + network_id);
    }
    return it->second;
}

void LabTwinBackend::create_network(const std::string& network_id, const std::string& region) {
    std::string bridge;
    {
        std::lock_guard lock(m_mutex);
        bridge = std::string(k_net_prefix) + std::to_string(m_next_bridge++);
        m_bridges[network_id] = bridge;
    }
    run({"ip", "link", "del", bridge}, false);
    run({"ip", "link", "add", bridge, "type", "bridge"});
    run({"ip", "link", "set", bridge, "up"});
    m_log.info("twin: network " + network_id + " (" + region + ") is bridge " + bridge);
}

void LabTwinBackend::delete_network(const std::string& network_id) {
    std::string bridge;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_bridges.find(network_id);
        if (it == m_bridges.end()) {
            return;
        }
        bridge = it->second;
        m_bridges.erase(it);
    }
    // Its vRack links go with it (a veth pair goes when one end does).
    for (const auto& name :
         link_names(run({"ip", "-o", "link", "show", "master", bridge}, false).out)) {
        if (name.rfind(k_link_prefix, 0) == 0) {
            run({"ip", "link", "del", name}, false);
        }
    }
    run({"ip", "link", "del", bridge}, false);
}

void LabTwinBackend::link_networks(const std::string& a, const std::string& b, int latency_ms) {
    const std::string ba = bridge_of(a);
    const std::string bb = bridge_of(b);
    const std::string na = ba.substr(std::string(k_net_prefix).size());
    const std::string nb = bb.substr(std::string(k_net_prefix).size());
    const std::string left = std::string(k_link_prefix) + na + "x" + nb;
    ensure_directory(m_paths.dir + "/links", 0700);
    const std::string how =
        join_bridges(m_local, {.bridge_a = ba,
                               .bridge_b = bb,
                               .port_a = left,
                               .port_b = std::string(k_link_prefix) + nb + "y" + na,
                               .free_a = std::string(k_link_prefix) + na + "a" + nb,
                               .free_b = std::string(k_link_prefix) + nb + "b" + na,
                               .latency_ms = latency_ms,
                               .pid_file = m_paths.dir + "/links/" + left + ".pid",
                               .log_file = m_paths.dir + "/links/" + left + ".log"});
    if (latency_ms > 0) {
        m_log.info("twin: networks " + a + " and " + b + " joined with " +
                   std::to_string(latency_ms) + "ms each way (" + how + ")");
    }
}

namespace {

// The host's records beside its root: the instance (id, name, region, addresses), its NICs
// (one per port, on the Ext-Net bridge and the private networks' bridges) and its limits.
void write_host_records(const std::string& dir, const twin::HostSpec& spec,
                        const std::vector<std::string>& bridges) {
    std::string privates;
    for (const auto& nic : spec.private_nics) {
        privates += (privates.empty() ? "" : " ") + nic.address;
    }
    write_file_atomic(dir + "/instance",
                      spec.id + "\n" + spec.name + "\n" + spec.region + "\n" + spec.public_address +
                          "\n" + privates + "\n",
                      0600);
    // A fixed MAC address per port, as OpenStack's (fa:16:3e:...): a rebooted instance keeps
    // it, so peers' neighbour caches stay right.
    auto mac = [&](std::size_t port) {
        const auto h = std::hash<std::string>{}(spec.id + "/" + std::to_string(port));
        char buf[20];
        std::snprintf(buf, sizeof buf, "fa:16:3e:%02x:%02x:%02x",
                      static_cast<unsigned>((h >> 16) & 0xff),
                      static_cast<unsigned>((h >> 8) & 0xff), static_cast<unsigned>(h & 0xff));
        return std::string(buf);
    };
    std::string nics = "eth0:" + std::string(k_ext_bridge) + ":" + mac(0);
    for (std::size_t i = 0; i < bridges.size(); ++i) {
        nics += " eth" + std::to_string(i + 1) + ":" + bridges[i] + ":" + mac(i + 1);
    }
    write_file_atomic(dir + "/nics", nics + "\n", 0600);
    write_file_atomic(dir + "/limits",
                      std::to_string(static_cast<long long>(spec.ram_gb) << 30) + " " +
                          std::to_string(spec.vcpus) + " " + spec.release + "\n",
                      0600);
}

// Name, addresses of its ports, resolver and apt proxy inside the instance's root.
void write_guest_network(const std::string& root, const twin::HostSpec& spec) {
    write_file_atomic(root + "/etc/hostname", spec.name + "\n");
    // The twin's Object Storage endpoints (s3.<region>.io.cloud.ovh.net) are served on the
    // Ext-Net gateway (cmd/lab_cmd.cpp, ovh-serve).
    std::string s3_names;
    for (const auto& r : twin::TwinConfig{}.regions) {
        const auto host = twin::s3_endpoint_host(twin::s3_region_of(r));
        if (s3_names.find(host) == std::string::npos) {
            s3_names += " " + host;
        }
    }
    write_file_atomic(root + "/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 " + spec.name +
                                               "\n::1 localhost ip6-localhost ip6-loopback\n" +
                                               std::string(k_ext_gateway) + s3_names + "\n");
    fs::remove(root + "/etc/systemd/network/10-host0.network");
    write_file_atomic(root + "/etc/systemd/network/10-eth0.network",
                      "[Match]\nName=eth0\n\n[Network]\nAddress=" + spec.public_address + "/" +
                          std::to_string(spec.public_prefix) +
                          "\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n");
    for (std::size_t i = 0; i < spec.private_nics.size(); ++i) {
        const auto& nic = spec.private_nics[i];
        write_file_atomic(
            root + "/etc/systemd/network/20-eth" + std::to_string(i + 1) + ".network",
            "[Match]\nName=eth" + std::to_string(i + 1) + "\n\n[Network]\nAddress=" + nic.address +
                "/" + std::to_string(nic.prefix) + "\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n");
    }
    write_file_atomic(root + "/etc/resolv.conf", "options timeout:1 attempts:1\n");
    // apt through the lab's proxy on the Ext-Net gateway, as the lab's hosts use it on theirs.
    write_file_atomic(root + "/etc/apt/apt.conf.d/01pgdr-lab-proxy",
                      "Acquire::http::Proxy \"http://" + std::string(k_ext_gateway) + ":" +
                          std::to_string(k_proxy_port) + "\";\n");
}

}  // namespace

void LabTwinBackend::create_host(const twin::HostSpec& spec) {
    if (spec.release.empty()) {
        throw std::runtime_error("instance " + spec.name + " has no known image");
    }
    std::string image;
    {
        // Debian 12 is built on its first use: the instance stays CREATING meanwhile.
        std::lock_guard lock(m_image_mutex);
        image = ensure_image(recipe_for(spec.release), m_local,
                             [this](const std::string& m) { m_log.info("twin: " + m); });
    }
    std::string host;
    std::vector<std::string> bridges;
    for (const auto& nic : spec.private_nics) {
        bridges.push_back(bridge_of(nic.network_id));
    }
    {
        std::lock_guard lock(m_mutex);
        host = "i" + std::to_string(m_next_host++);
        m_hosts[spec.id] = host;
    }
    const std::string dir = m_paths.host_dir(host);
    const std::string root = m_paths.root(host);
    ensure_directory(m_paths.upper(host), 0755);
    ensure_directory(m_paths.work(host), 0755);
    ensure_directory(root, 0755);
    write_host_records(dir, spec, bridges);
    run({"mount", "-t", "overlay", "overlay", "-o",
         "lowerdir=" + image + ",upperdir=" + m_paths.upper(host) +
             ",workdir=" + m_paths.work(host),
         root});
    // The machine an OVH image boots into: its name, the addresses of its ports, the login
    // user with the project's key and passwordless sudo (cloud-init's doing on OVH).
    write_guest_network(root, spec);
    write_file_atomic(root + "/etc/machine-id", random_hex(32) + "\n", 0444);
    fs::remove(root + "/root/.ssh/authorized_keys");
    run({"chroot", root, "sh", "-c",
         "id \"$1\" >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo -c 'Debian' \"$1\"",
         "pgdr-useradd", spec.login_user});
    const std::string home = root + "/home/" + spec.login_user;
    ensure_directory(home + "/.ssh", 0700);
    write_file_atomic(home + "/.ssh/authorized_keys", spec.public_key + "\n", 0600);
    run({"chroot", root, "chown", "-R", spec.login_user + ":" + spec.login_user,
         "/home/" + spec.login_user + "/.ssh"});
    write_file_atomic(root + "/etc/sudoers.d/90-cloud-init-users",
                      "# Created by the pgdr OVH twin, as cloud-init does on OVH\n" +
                          spec.login_user + " ALL=(ALL) NOPASSWD:ALL\n",
                      0440);
    if (!fs::exists(root + "/etc/ssh/ssh_host_ed25519_key")) {
        run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@" + spec.name, "-f",
             root + "/etc/ssh/ssh_host_ed25519_key"});
    }
    write_file_atomic(dir + "/firewall.nft", render_firewall(spec.firewall), 0600);
    boot(host);
    wait_ready(host, std::chrono::seconds(120));
    m_log.info("twin: instance " + spec.name + " is host " + host + " at " + spec.public_address);
}

void LabTwinBackend::boot(const std::string& host) {
    if (auto wrapper = read_pid_file(m_paths.wrapper_pid(host));
        wrapper && process_alive(*wrapper)) {
        return;
    }
    const std::string dir = m_paths.host_dir(host);
    std::istringstream limits(read_text_file(dir + "/limits").value_or("1073741824 1 trixie"));
    std::string mem, cpus, release;
    limits >> mem >> cpus >> release;
    std::vector<std::string> argv{"bash",
                                  "-c",
                                  k_wrapper,
                                  "pgdr-twin-" + host,
                                  host,
                                  m_paths.root(host),
                                  join_cgroup_dirs(cgroup_dirs(host)),
                                  release == "trixie" ? "1" : "0",
                                  dir + "/firewall.nft",
                                  mem,
                                  cpus};
    std::istringstream nics(read_text_file(dir + "/nics").value_or(""));
    for (std::string nic; nics >> nic;) {
        // inner:bridge:mac (the MAC holds colons: split at the first two only).
        const auto first = nic.find(':');
        const auto second = nic.find(':', first + 1);
        const std::string inner = nic.substr(0, first);
        const std::string bridge = nic.substr(first + 1, second - first - 1);
        const std::string address = nic.substr(second + 1);
        // Host-side and temporary container-side names, unique on this machine (<= 15 chars).
        argv.push_back(bridge + ":pgdr-" + host + "-" + inner.substr(3) + ":pgdc-" + host + "-" +
                       inner.substr(3) + ":" + inner + ":" + address);
    }
    pid_t pid = spawn_detached(argv, m_paths.console_log(host));
    write_file_atomic(m_paths.wrapper_pid(host), std::to_string(pid) + "\n");
}

void LabTwinBackend::wait_ready(const std::string& host, std::chrono::seconds timeout) {
    // Ready when sshd answers inside the host (over its loopback, so that a security group
    // without SSH does not keep the instance CREATING: OVH does not look at the groups either).
    SystemClock clock;
    const auto sshd_answers = [&] {
        auto wrapper = read_pid_file(m_paths.wrapper_pid(host));
        if (!wrapper || !process_alive(*wrapper)) {
            throw std::runtime_error("host " + host + " stopped while booting: " +
                                     tail_of(m_paths.console_log(host), 1500));
        }
        auto init = container_net_init(*wrapper);
        if (!init) {
            return false;
        }
        auto r = run({"nsenter", "-t", std::to_string(*init), "-n", "bash", "-c",
                      "exec 3<>/dev/tcp/127.0.0.1/22 && head -c 4 <&3"},
                     false, std::chrono::seconds(5));
        return r.ok() && r.out.rfind("SSH-", 0) == 0;
    };
    if (poll_until(clock, timeout, std::chrono::milliseconds(200), nullptr, sshd_answers) ==
        PollOutcome::holds) {
        return;
    }
    throw std::runtime_error("host " + host + " did not start sshd within " +
                             std::to_string(timeout.count()) + " s");
}

void LabTwinBackend::stop(const std::string& host) {
    auto wrapper = read_pid_file(m_paths.wrapper_pid(host));
    if (!wrapper || !process_alive(*wrapper)) {
        return;
    }
    if (auto init = container_init(*wrapper)) {
        ::kill(*init, SIGKILL);  // the whole PID namespace: a pulled plug
    }
    if (!signal_and_wait(*wrapper, 0, std::chrono::seconds(15))) {
        ::kill(-*wrapper, SIGKILL);
        signal_and_wait(*wrapper, SIGKILL, std::chrono::seconds(5));
    }
}

void LabTwinBackend::power_off(const std::string& id) {
    stop(host_of(id));
}

void LabTwinBackend::power_on(const std::string& id) {
    const std::string host = host_of(id);
    boot(host);
    wait_ready(host, std::chrono::seconds(120));
}

void LabTwinBackend::hard_reset(const std::string& id) {
    const std::string host = host_of(id);
    stop(host);
    boot(host);
    wait_ready(host, std::chrono::seconds(120));
}

void LabTwinBackend::apply_firewall(const std::string& id, const twin::Firewall& firewall) {
    const std::string host = host_of(id);
    const std::string file = m_paths.host_dir(host) + "/firewall.nft";
    write_file_atomic(file, render_firewall(firewall), 0600);
    auto wrapper = read_pid_file(m_paths.wrapper_pid(host));
    if (!wrapper || !process_alive(*wrapper)) {
        return;  // applied at the next boot
    }
    if (auto init = container_net_init(*wrapper)) {
        run({"nsenter", "-t", std::to_string(*init), "-n", "nft", "-f", file});
    }
}

void LabTwinBackend::remove_host_files(const std::string& host) {
    const std::string root = m_paths.root(host);
    for (int i = 0; i < 20 && is_mounted(root); ++i) {
        if (!run({"umount", root}, false).ok()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
    }
    if (is_mounted(root)) {
        run({"umount", "-l", root}, false);
    }
    auto dirs = cgroup_dirs(host);
    for (const auto& d : limit_dirs(host)) {
        dirs.push_back(d);
    }
    for (const auto& d : dirs) {
        for (int i = 0; i < 20 && fs::exists(d); ++i) {
            run({"find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", "+"}, false);
            if (fs::exists(d)) {
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
            }
        }
    }
    if (!is_mounted(root)) {
        fs::remove_all(m_paths.host_dir(host));
    }
}

void LabTwinBackend::delete_host(const std::string& id) {
    std::string host;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_hosts.find(id);
        if (it == m_hosts.end()) {
            return;
        }
        host = it->second;
    }
    stop(host);
    // Its NICs: a veth normally goes with the host's network namespace, but a namespace that
    // the kernel still holds (orphaned sockets of the killed host) keeps them for minutes.
    const std::string nic_prefix = "pgdr-" + host + "-";
    for (const auto& name : link_names(run({"ip", "-o", "link", "show"}, false).out)) {
        if (name.rfind(nic_prefix, 0) == 0) {
            run({"ip", "link", "del", name}, false);
        }
    }
    remove_host_files(host);
    std::lock_guard lock(m_mutex);
    m_hosts.erase(id);
}

std::vector<TwinHostStatus> LabTwinBackend::list(const std::string& lab_dir) {
    const LabPaths paths(lab_dir + "/twin");
    std::vector<TwinHostStatus> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(paths.dir + "/hosts", ec)) {
        TwinHostStatus st;
        st.host = e.path().filename().string();
        std::istringstream in(read_text_file(paths.host_dir(st.host) + "/instance").value_or(""));
        std::getline(in, st.instance_id);
        std::getline(in, st.name);
        std::getline(in, st.region);
        std::getline(in, st.public_address);
        std::getline(in, st.private_addresses);
        auto wrapper = read_pid_file(paths.wrapper_pid(st.host));
        st.running = wrapper && process_alive(*wrapper) && container_init(*wrapper).has_value();
        out.push_back(st);
    }
    std::sort(out.begin(), out.end(),
              [](const TwinHostStatus& a, const TwinHostStatus& b) { return a.name < b.name; });
    return out;
}

void LabTwinBackend::teardown(const std::string& lab_dir, Transport& local, Logger& log) {
    LabTwinBackend b(lab_dir, local, log);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(b.m_paths.dir + "/hosts", ec)) {
        const std::string host = e.path().filename().string();
        b.stop(host);
        b.remove_host_files(host);
    }
    // The user-space delay relays between regions (each checked to be ours by its name).
    std::vector<std::string> relays;
    for (const auto& e : fs::directory_iterator(b.m_paths.dir + "/links", ec)) {
        if (e.path().extension() == ".pid") {
            relays.push_back(e.path().string());
        }
    }
    for (const auto& pid_file : relays) {
        stop_bridge_relay(pid_file);
    }
    // Every twin link: instance veths (gone with their hosts), vRack links, network bridges,
    // the Ext-Net bridge.
    std::vector<std::string> doomed;
    for (const auto& name : link_names(b.run({"ip", "-o", "link", "show"}, false).out)) {
        if (name.rfind(k_link_prefix, 0) == 0 || name.rfind(k_net_prefix, 0) == 0 ||
            name.rfind("pgdr-i", 0) == 0 || name.rfind("pgdc-i", 0) == 0 || name == k_ext_bridge) {
            doomed.push_back(name);
        }
    }
    for (const auto& name : doomed) {
        b.run({"ip", "link", "del", name}, false);
    }
    // The limit cgroups: a cgroup whose last task is still exiting cannot be removed yet.
    for (const char* c : {"memory", "cpu"}) {
        const std::string d = std::string("/sys/fs/cgroup/") + c + "/" + k_cgroup_name;
        for (int i = 0; i < 20 && fs::exists(d); ++i) {
            b.run({"find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", "+"}, false);
            if (fs::exists(d)) {
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
            }
        }
    }
    fs::remove_all(b.m_paths.dir, ec);
}

}  // namespace pgdr::lab
