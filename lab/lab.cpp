#include "lab/lab.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/poll.hpp"
#include "core/tcp.hpp"
#include "lab/bridge_link.hpp"
#include "lab/image.hpp"
#include "lab/proc.hpp"
#include "lab/twin_hosts.hpp"

namespace pgdr::lab {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_lock_file = "/run/pgdr-lab.lock";
constexpr const char* k_partition_table = "pgdr_partition";

// An open descriptor on the lock file that this process inherited, e.g. from
// `flock /run/pgdr-lab.lock <script>`: that caller holds the lock for us.
int inherited_lock_fd() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc/self/fd", ec)) {
        std::error_code link_ec;
        auto target = fs::read_symlink(e.path(), link_ec);
        if (!link_ec && target == k_lock_file) {
            return std::atoi(e.path().filename().c_str());
        }
    }
    return -1;
}

// Serialises lab operations on this machine (one lab at a time, no two `up`s racing). A
// script that holds the lock for a whole run (flock(1) on the same file) passes its descriptor
// to pgdr, which then works under that lock instead of waiting for itself.
class LabLock {
  public:
    LabLock() {
        if (int fd = inherited_lock_fd(); fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0) {
            return;  // the caller's lock (flock on the same open file succeeds at once)
        }
        m_fd = ::open(k_lock_file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (m_fd < 0 || ::flock(m_fd, LOCK_EX) != 0) {
            throw Error(ExitCode::internal, std::string("cannot lock ") + k_lock_file);
        }
    }
    ~LabLock() {
        if (m_fd >= 0) {
            ::flock(m_fd, LOCK_UN);
            ::close(m_fd);
        }
    }
    LabLock(const LabLock&) = delete;
    LabLock& operator=(const LabLock&) = delete;

  private:
    int m_fd = -1;
};

}  // namespace

Lab::Lab(LabPaths paths, Transport& local, Logger& log, Progress progress)
    : m_paths(std::move(paths)), m_local(local), m_log(log), m_progress(std::move(progress)) {}

CommandResult Lab::run(const std::vector<std::string>& argv, bool must,
                       std::chrono::seconds timeout) {
    RunOptions o;
    o.timeout = timeout;
    auto r = m_local.run(argv, o);
    m_log.debug("lab: " + argv[0] + (argv.size() > 1 ? " " + argv[1] : "") + " -> " +
                std::to_string(r.exit_status));
    if (must && !r.ok()) {
        std::string cmd;
        for (const auto& a : argv) {
            cmd += (cmd.empty() ? "" : " ") + a;
        }
        throw Error(
            ExitCode::internal,
            "lab: `" + cmd + "` failed" +
                (r.timed_out ? " (timed out)" : " (exit " + std::to_string(r.exit_status) + ")") +
                (r.err.empty() ? "" : ": " + r.err));
    }
    return r;
}

void Lab::check_root() const {
    if (::geteuid() != 0) {
        throw Error(ExitCode::usage, "pgdr lab needs root (containers, bridge, mounts)",
                    "run it as root, e.g. with sudo");
    }
}

bool Lab::exists() const {
    return fs::exists(m_paths.marker());
}

LabConfig Lab::config() const {
    LabConfig c;
    auto text = read_text_file(m_paths.marker());
    if (!text) {
        throw Error(ExitCode::usage, "no lab in " + m_paths.dir, "create one with `pgdr lab up`");
    }
    auto j = nlohmann::json::parse(*text);
    c.release = j.value("release", "trixie");
    c.hosts = j.value("hosts", 3);
    c.regions = j.value("regions", 1);
    c.region_latency_ms = j.value("region_latency_ms", 20);
    return c;
}

std::vector<LabHost> Lab::plan_hosts(int count, bool monitor, int regions) {
    std::vector<LabHost> out;
    if (regions == 2) {
        out = plan_hosts(3, monitor);
        for (auto& h : out) {
            h.name = region_name(1) + "-" + h.name;
        }
        out.push_back(
            {region_name(2) + "-pg1", host_address(4), {"postgres", "etcd", "haproxy"}, 2});
        out.push_back({region_name(2) + "-pg2", host_address(5), {"postgres"}, 2});
        return out;
    }
    int etcd = count >= 5 ? 5 : 3;
    for (int i = 1; i <= count; ++i) {
        LabHost h{host_name(i), host_address(i), {"postgres"}};
        if (i <= etcd) {
            h.services.push_back("etcd");
        }
        if (i == count) {
            h.services.push_back("haproxy");
            if (monitor) {
                h.services.push_back("monitor");  // Prometheus + Alertmanager beside HAProxy
            }
        }
        out.push_back(h);
    }
    return out;
}

std::vector<LabHost> Lab::hosts() const {
    const auto c = config();
    return plan_hosts(c.hosts, true, c.regions);
}

LabHost Lab::find(const std::string& host) const {
    for (const auto& h : hosts()) {
        if (h.name == host) {
            return h;
        }
    }
    throw usage_error("no lab host '" + host + "'", "`pgdr lab status` lists the hosts");
}

std::string Lab::render_inventory(const LabPaths& paths, const LabConfig& config,
                                  const std::vector<LabHost>& hosts) {
    YAML::Emitter e;
    e << YAML::Comment("Written by `pgdr lab up`: a normal pgdr inventory for the local lab.");
    e << YAML::BeginMap;
    e << YAML::Key << "cluster" << YAML::Value << "lab";
    e << YAML::Key << "release" << YAML::Value << config.release;
    e << YAML::Key << "network" << YAML::Value << YAML::BeginMap << YAML::Key << "cidr"
      << YAML::Value << k_cidr << YAML::EndMap;
    e << YAML::Key << "ssh" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "user" << YAML::Value << "root";
    e << YAML::Key << "identity_file" << YAML::Value << paths.ssh_key();
    e << YAML::Key << "known_hosts" << YAML::Value << paths.known_hosts();
    e << YAML::EndMap;
    e << YAML::Key << "hosts" << YAML::Value << YAML::BeginSeq;
    for (const auto& h : hosts) {
        e << YAML::Flow << YAML::BeginMap;
        e << YAML::Key << "name" << YAML::Value << h.name;
        e << YAML::Key << "address" << YAML::Value << h.address;
        if (config.regions > 1) {
            e << YAML::Key << "region" << YAML::Value << region_name(h.region);
        }
        e << YAML::Key << "services" << YAML::Value << YAML::Flow << h.services;
        e << YAML::EndMap;
    }
    e << YAML::EndSeq;
    if (config.regions > 1) {
        // The hosts of the second region form the DR cluster, a standby of the first's.
        e << YAML::Key << "dr" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
          << "region" << YAML::Value << region_name(2) << YAML::EndMap;
    }
    e << YAML::Key << "provider" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "type" << YAML::Value << "lab";
    e << YAML::Key << "lab" << YAML::Value << YAML::BeginMap << YAML::Key << "dir" << YAML::Value
      << paths.dir << YAML::EndMap;
    e << YAML::EndMap;
    e << YAML::EndMap;
    return std::string(e.c_str()) + "\n";
}

std::string Lab::partition_ruleset() {
    // Silent drops on the host's only link, both ways: peers see timeouts, not resets, as with
    // a real network partition. Loopback is untouched.
    return std::string("table inet ") + k_partition_table +
           " {\n"
           "  chain input { type filter hook input priority -300; policy accept; "
           "iifname \"host0\" drop; }\n"
           "  chain output { type filter hook output priority -300; policy accept; "
           "oifname \"host0\" drop; }\n"
           "}\n";
}

std::vector<std::string> Lab::wrapper_argv(const LabPaths& paths, const std::string& host,
                                           const std::string& release, const std::string& bridge) {
    // The wrapper joins a cgroup of its own first (nspawn --keep-unit puts every container in
    // the caller's cgroup, where their systemds manage each other's units: etcd fails with
    // status=219/CGROUP on the second boot, kills cross containers), then boots the container,
    // again after a reboot request (`systemctl reboot` inside makes nspawn exit with 133 and the
    // host would stay down), removing a lingering veth before each boot (the kernel tears a
    // hard-killed container's namespace down asynchronously, and nspawn then fails with "File
    // exists" for vb-<host>).
    static const std::string k_script =
        "set -u; host=$1 root=$2 bridge=$3 cgs=$4 unified=$5\n"
        "IFS=:; for d in $cgs; do mkdir -p \"$d\" && echo $$ > \"$d/cgroup.procs\" || "
        "exit 1; done; unset IFS\n"
        "if [ \"$unified\" = 1 ]; then export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1; fi\n"
        "while :; do\n"
        "  ip link del \"vb-pgdr-$host\" 2>/dev/null\n"
        "  systemd-nspawn -q -D \"$root\" -M \"pgdr-$host\" --register=no --keep-unit "
        "--link-journal=no --resolv-conf=off --timezone=off --network-bridge=\"$bridge\" "
        "--console=pipe -b\n"
        "  rc=$?\n"
        "  echo \"pgdr-lab: $host: nspawn exited with $rc\"\n"
        "  [ \"$rc\" -eq 133 ] || exit \"$rc\"\n"
        "done\n";
    return {"bash",
            "-c",
            k_script,
            "pgdr-lab-" + host,
            host,
            paths.root(host),
            bridge,
            join_cgroup_dirs(cgroup_dirs(host)),
            release == "trixie" ? "1" : "0"};
}

void Lab::ensure_prerequisites() {
    struct Need {
        const char* command;
        const char* package;
    };
    static const Need k_needs[] = {{"systemd-nspawn", "systemd-container"},
                                   {"debootstrap", "debootstrap"},
                                   {"apt-cacher-ng", "apt-cacher-ng"},
                                   {"ip", "iproute2"},
                                   {"nft", "nftables"},
                                   {"nsenter", "util-linux"},
                                   {"ssh-keygen", "openssh-client"}};
    std::vector<std::string> missing;
    for (const auto& n : k_needs) {
        auto r = run({"sh", "-c", "command -v \"$1\"", "pgdr-which", n.command}, false);
        if (!r.ok()) {
            missing.push_back(n.package);
        }
    }
    if (missing.empty()) {
        return;
    }
    std::string list;
    for (const auto& p : missing) {
        list += " " + p;
    }
    m_progress("installing lab prerequisites:" + list);
    std::vector<std::string> argv{
        "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y",
        "-q",  "--no-install-recommends"};
    argv.insert(argv.end(), missing.begin(), missing.end());
    auto r = run(argv, false, std::chrono::seconds(600));
    if (!r.ok()) {
        run({"apt-get", "update", "-q"}, true, std::chrono::seconds(300));
        run(argv, true, std::chrono::seconds(600));
    }
}

void Lab::ensure_ssh_key() {
    if (fs::exists(m_paths.ssh_key())) {
        return;
    }
    ensure_directory(m_paths.dir + "/ssh", 0700);
    run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pgdr-lab", "-f", m_paths.ssh_key()});
}

void Lab::ensure_bridge() {
    auto r = run({"ip", "link", "show", k_bridge}, false);
    if (!r.ok()) {
        run({"ip", "link", "add", k_bridge, "type", "bridge"});
    }
    auto addr = run({"ip", "-4", "addr", "show", "dev", k_bridge}, true);
    if (addr.out.find(std::string(k_gateway) + "/24") == std::string::npos) {
        run({"ip", "addr", "add", std::string(k_gateway) + "/24", "dev", k_bridge});
    }
    run({"ip", "link", "set", k_bridge, "up"});
}

void Lab::ensure_region_links(const LabConfig& config) {
    if (config.regions < 2) {
        return;
    }
    const std::string bridge = region_bridge(2);
    if (!run({"ip", "link", "show", bridge}, false).ok()) {
        run({"ip", "link", "add", bridge, "type", "bridge"});
    }
    run({"ip", "link", "set", bridge, "up"});
    const std::string port = "pgdrl1x2";
    const auto relay = read_pid_file(m_paths.region_link_pid());
    const bool relay_alive = relay && process_alive(*relay);
    if (run({"ip", "link", "show", port}, false).ok() &&
        (config.region_latency_ms <= 0 || relay_alive ||
         run({"tc", "qdisc", "show", "dev", port}, false).out.find("netem") != std::string::npos)) {
        return;  // made by an earlier `up`
    }
    const std::string how = join_bridges(m_local, {.bridge_a = k_bridge,
                                                   .bridge_b = bridge,
                                                   .port_a = port,
                                                   .port_b = "pgdrl2y1",
                                                   .free_a = "pgdrl1a2",
                                                   .free_b = "pgdrl2b1",
                                                   .latency_ms = config.region_latency_ms,
                                                   .pid_file = m_paths.region_link_pid(),
                                                   .log_file = m_paths.region_link_log()});
    m_progress("regions r1 and r2 joined with " + std::to_string(config.region_latency_ms) +
               " ms each way (" + how + ")");
}

// A lab host's nftables tables (the lab's partition, the twin's security groups) belong in the
// host's own network namespace. Found in this machine's, they cut every lab host off from it
// (its connections to the apt proxy time out): removed, and said.
void Lab::remove_stray_tables() {
    for (const char* table : {k_partition_table, k_twin_firewall_table}) {
        if (run({"nft", "list", "table", "inet", table}, false).ok()) {
            m_progress("removing the nftables table inet " + std::string(table) +
                       " from this machine's own network namespace: a lab host's, loaded here "
                       "by an earlier run");
            run({"nft", "delete", "table", "inet", table}, true);
        }
    }
}

void Lab::ensure_proxy(const std::string& extra_bind) {
    if (auto pid = read_pid_file(m_paths.proxy_pid());
        pid && process_alive(*pid) && process_comm(*pid) == "apt-cacher-ng") {
        return;
    }
    if (tcp_probe("127.0.0.1", k_proxy_port, std::chrono::milliseconds(500))) {
        throw Error(ExitCode::internal,
                    "port " + std::to_string(k_proxy_port) +
                        " on 127.0.0.1 is taken by another program; the lab's apt proxy needs it",
                    "stop that program, or the lab of another directory (`pgdr lab down --dir`)");
    }
    const std::string dir = m_paths.proxy_dir();
    const std::string cache = std::string(k_cache_root) + "/apt-cacher-ng";
    ensure_directory(dir + "/log", 0755);
    ensure_directory(cache, 0755);
    // A minimal configuration: Debian's stock one remaps deb.debian.org (Remap-debrep) to
    // mirrors that answer "503 Host not found" from a host without DNS, and apt inside then
    // hangs at "Reading package lists".
    write_file_atomic(
        dir + "/acng.conf",
        "CacheDir: " + cache + "\nLogDir: " + dir +
            "/log\nSupportDir: /usr/lib/apt-cacher-ng\nPort: " + std::to_string(k_proxy_port) +
            "\nBindAddress: 127.0.0.1 " + k_gateway +
            (extra_bind.empty() ? std::string() : " " + extra_bind) + "\nExThreshold: 30\n");
    pid_t pid = spawn_detached({"apt-cacher-ng", "-c", dir, "ForeGround=1"}, dir + "/proxy.log");
    write_file_atomic(m_paths.proxy_pid(), std::to_string(pid) + "\n");
    for (int i = 0; i < 100; ++i) {
        if (tcp_probe("127.0.0.1", k_proxy_port, std::chrono::milliseconds(200))) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw Error(ExitCode::internal,
                "the lab's apt proxy did not start:\n" + tail_of(dir + "/proxy.log", 1000));
}

void Lab::prepare_host(const LabHost& h, const std::string& image,
                       const std::vector<LabHost>& all) {
    const std::string root = m_paths.root(h.name);
    ensure_directory(m_paths.upper(h.name), 0755);
    ensure_directory(m_paths.work(h.name), 0755);
    ensure_directory(root, 0755);
    if (!is_mounted(root)) {
        run({"mount", "-t", "overlay", "overlay", "-o",
             "lowerdir=" + image + ",upperdir=" + m_paths.upper(h.name) +
                 ",workdir=" + m_paths.work(h.name),
             root});
    }
    // Per-host identity, written through the overlay into the host's own layer.
    write_file_atomic(root + "/etc/hostname", h.name + "\n");
    std::string hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n";
    for (const auto& o : all) {
        hosts += o.address + " " + o.name + "\n";
    }
    write_file_atomic(root + "/etc/hosts", hosts);
    write_file_atomic(root + "/etc/systemd/network/10-host0.network",
                      "[Match]\nName=host0\n\n[Network]\nAddress=" + h.address +
                          "/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n");
    // No nameserver: nothing on the host resolves names through this machine's resolver.
    write_file_atomic(root + "/etc/resolv.conf", "options timeout:1 attempts:1\n");
    auto machine_id = read_text_file(root + "/etc/machine-id").value_or("");
    if (machine_id.size() < 32) {
        write_file_atomic(root + "/etc/machine-id", random_hex(32) + "\n", 0444);
    }
    ensure_directory(root + "/root/.ssh", 0700);
    write_file_atomic(root + "/root/.ssh/authorized_keys",
                      read_text_file(m_paths.ssh_key() + ".pub").value_or(""), 0600);
    if (!fs::exists(root + "/etc/ssh/ssh_host_ed25519_key")) {
        run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@" + h.name, "-f",
             root + "/etc/ssh/ssh_host_ed25519_key"});
    }
}

void Lab::write_known_hosts(const std::vector<LabHost>& hosts) {
    // The host keys are known from their files: no trust on first use needed in the lab.
    std::string out;
    for (const auto& h : hosts) {
        auto pub = read_text_file(m_paths.root(h.name) + "/etc/ssh/ssh_host_ed25519_key.pub");
        if (!pub) {
            continue;
        }
        std::istringstream f(*pub);
        std::string type, key;
        f >> type >> key;
        out += h.address + " " + type + " " + key + "\n";
    }
    write_file_atomic(m_paths.known_hosts(), out, 0644);
}

std::optional<int> Lab::init_pid(const std::string& host) {
    auto wrapper = read_pid_file(m_paths.wrapper_pid(host));
    if (!wrapper || !process_alive(*wrapper)) {
        return std::nullopt;
    }
    // Every caller enters the host's network namespace (nsenter -n): never this machine's own.
    auto init = container_net_init(*wrapper);
    if (!init) {
        return std::nullopt;
    }
    return *init;
}

void Lab::boot_host(const LabHost& h) {
    if (auto wrapper = read_pid_file(m_paths.wrapper_pid(h.name));
        wrapper && process_alive(*wrapper)) {
        // A wrapper between two boots (reboot in progress) or a container still starting.
        return;
    }
    auto cfg = config();
    pid_t pid = spawn_detached(wrapper_argv(m_paths, h.name, cfg.release, region_bridge(h.region)),
                               m_paths.console_log(h.name));
    write_file_atomic(m_paths.wrapper_pid(h.name), std::to_string(pid) + "\n");
}

void Lab::wait_ssh(const LabHost& h, std::chrono::seconds timeout) {
    SystemClock clock;
    const auto sshd_answers = [&] {
        std::string greeting;
        if (tcp_probe(h.address, 22, std::chrono::milliseconds(500), &greeting) &&
            greeting.rfind("SSH-", 0) == 0) {
            return true;
        }
        auto wrapper = read_pid_file(m_paths.wrapper_pid(h.name));
        if (!wrapper || !process_alive(*wrapper)) {
            throw Error(ExitCode::unreachable,
                        "lab host " + h.name + " stopped while booting:\n" +
                            tail_of(m_paths.console_log(h.name), 2000),
                        "see " + m_paths.console_log(h.name));
        }
        return false;
    };
    if (poll_until(clock, timeout, std::chrono::milliseconds(100), nullptr, sshd_answers) ==
        PollOutcome::holds) {
        return;
    }
    throw Error(ExitCode::unreachable,
                "lab host " + h.name + " did not accept SSH connections within " +
                    std::to_string(timeout.count()) + " s",
                "see " + m_paths.console_log(h.name));
}

void Lab::up(const LabConfig& config) {
    check_root();
    if (config.hosts < 3 || config.hosts > k_max_hosts) {
        throw usage_error("a lab has 3 to " + std::to_string(k_max_hosts) + " hosts, not " +
                          std::to_string(config.hosts));
    }
    if (config.regions < 1 || config.regions > 2 || (config.regions == 2 && config.hosts != 5)) {
        throw usage_error("a lab has one region, or two with 5 hosts (3 + 2), not " +
                          std::to_string(config.regions) + " with " + std::to_string(config.hosts) +
                          " hosts");
    }
    auto recipe = recipe_for(config.release);
    LabLock lock;
    if (twin_exists()) {
        throw usage_error("the directory " + m_paths.dir + " holds an OVH twin",
                          "use another --dir for a lab of hosts, or `pgdr lab down` first");
    }
    if (exists()) {
        auto have = this->config();
        if (have.release != config.release || have.hosts != config.hosts ||
            have.regions != config.regions) {
            throw usage_error("the lab in " + m_paths.dir + " has " + std::to_string(have.hosts) +
                                  " " + have.release + " hosts in " + std::to_string(have.regions) +
                                  " region(s), not " + std::to_string(config.hosts) + " " +
                                  config.release + " in " + std::to_string(config.regions),
                              "run `pgdr lab down` first to change its shape");
        }
    }
    if (auto owner = read_text_file(k_owner_file)) {
        std::string other = *owner;
        while (!other.empty() && other.back() == '\n') {
            other.pop_back();
        }
        if (other != m_paths.dir &&
            (fs::exists(other + "/lab.json") || fs::exists(other + "/twin.json"))) {
            throw Error(ExitCode::usage, "another lab is running on this machine, from " + other,
                        "only one lab may run at a time: `pgdr lab down --dir " + other + "`");
        }
    }
    ensure_prerequisites();
    remove_stray_tables();
    ensure_directory(m_paths.dir, 0700);
    ensure_directory(m_paths.dir + "/hosts", 0700);
    // The marker first: a half-made lab is then known to `down` and repaired by `up`.
    nlohmann::json marker = {{"version", 1},
                             {"release", config.release},
                             {"hosts", config.hosts},
                             {"regions", config.regions},
                             {"region_latency_ms", config.region_latency_ms},
                             {"image", recipe.path()}};
    if (!exists()) {
        write_file_atomic(m_paths.marker(), marker.dump(2) + "\n", 0600);
    }
    write_file_atomic(k_owner_file, m_paths.dir + "\n", 0644);
    ensure_ssh_key();
    ensure_bridge();
    ensure_region_links(config);
    ensure_proxy();
    const std::string image = ensure_image(recipe, m_local, m_progress);
    auto hosts = plan_hosts(config.hosts, config.monitor, config.regions);
    for (const auto& h : hosts) {
        prepare_host(h, image, hosts);
    }
    write_known_hosts(hosts);
    m_progress("booting " + std::to_string(hosts.size()) + " hosts");
    for (const auto& h : hosts) {
        if (state(h.name) == MachineState::stopped) {
            boot_host(h);
        }
    }
    for (const auto& h : hosts) {
        if (state(h.name) != MachineState::partitioned) {
            wait_ssh(h, std::chrono::seconds(120));
        }
    }
    write_file_atomic(m_paths.inventory(), render_inventory(m_paths, config, hosts), 0644);
}

bool Lab::twin_exists() const {
    return fs::exists(m_paths.dir + "/twin.json");
}

void Lab::up_twin_base() {
    check_root();
    LabLock lock;
    if (exists()) {
        throw usage_error("the directory " + m_paths.dir + " holds a lab of hosts already",
                          "use another --dir for the OVH twin, or `pgdr lab down` first");
    }
    if (auto owner = read_text_file(k_owner_file)) {
        std::string other = *owner;
        while (!other.empty() && other.back() == '\n') {
            other.pop_back();
        }
        if (other != m_paths.dir &&
            (fs::exists(other + "/lab.json") || fs::exists(other + "/twin.json"))) {
            throw Error(ExitCode::usage, "another lab is running on this machine, from " + other,
                        "only one lab may run at a time: `pgdr lab down --dir " + other + "`");
        }
    }
    ensure_prerequisites();
    remove_stray_tables();
    ensure_directory(m_paths.dir, 0700);
    const auto recipe = recipe_for("trixie");
    if (!twin_exists()) {
        write_file_atomic(m_paths.dir + "/twin.json",
                          nlohmann::json{{"version", 1}, {"image", recipe.path()}}.dump(2) + "\n",
                          0600);
    }
    write_file_atomic(k_owner_file, m_paths.dir + "\n", 0644);
    ensure_bridge();
    // The instances reach the apt proxy on their Ext-Net gateway (they have no other route).
    LabTwinBackend::ensure_ext_bridge(m_local);
    ensure_proxy(k_ext_gateway);
    ensure_image(recipe, m_local, m_progress);
}

MachineState Lab::state(const std::string& host) {
    auto init = init_pid(host);
    if (!init) {
        return MachineState::stopped;
    }
    auto r = run({"nsenter", "-t", std::to_string(*init), "-n", "nft", "list", "table", "inet",
                  k_partition_table},
                 false, std::chrono::seconds(10));
    return r.ok() ? MachineState::partitioned : MachineState::running;
}

std::vector<HostStatus> Lab::status() {
    std::vector<HostStatus> out;
    for (const auto& h : hosts()) {
        HostStatus s;
        s.host = h;
        s.state = state(h.name);
        s.init_pid = init_pid(h.name).value_or(0);
        out.push_back(s);
    }
    return out;
}

void Lab::kill_host(const std::string& host) {
    check_root();
    find(host);
    kill_processes(host);
}

void Lab::kill_processes(const std::string& host) {
    auto wrapper = read_pid_file(m_paths.wrapper_pid(host));
    if (auto init = init_pid(host)) {
        // The kernel kills every process of the PID namespace with its init: a crashed machine.
        ::kill(*init, SIGKILL);
    }
    if (wrapper && !signal_and_wait(*wrapper, 0, std::chrono::seconds(15))) {
        // nspawn did not exit after its container died: end the wrapper's whole group (a
        // SIGKILLed nspawn alone leaves the container's processes running, orphaned).
        ::kill(-*wrapper, SIGKILL);
        signal_and_wait(*wrapper, SIGKILL, std::chrono::seconds(5));
    }
    run({"ip", "link", "del", veth_name(host)}, false);
}

void Lab::start_host(const std::string& host) {
    check_root();
    auto h = find(host);
    if (state(host) != MachineState::stopped) {
        return;
    }
    LabLock lock;
    auto cfg = config();
    auto recipe = recipe_for(cfg.release);
    prepare_host(h, recipe.path(), hosts());
    boot_host(h);
    wait_ssh(h, std::chrono::seconds(120));
}

void Lab::reboot_host(const std::string& host) {
    check_root();
    auto h = find(host);
    if (state(host) == MachineState::stopped) {
        throw Error(ExitCode::unreachable, "lab host " + host + " is not running",
                    "start it with `pgdr lab start " + host + "`");
    }
    // The kill of kill_host (every process of the PID namespace at once, then the wrapper and
    // the veth gone), then the boot of start_host on the same overlay root, which stays
    // mounted, untouched, without start_host's wait for SSH. Not the wrapper's own reboot path
    // (nspawn exit 133): that needs a reboot() from inside the container; a SIGKILL of its
    // init from outside makes nspawn exit with another code and the wrapper stop.
    LabLock lock;
    kill_processes(host);
    boot_host(h);
}

void Lab::partition_host(const std::string& host) {
    check_root();
    find(host);
    auto init = init_pid(host);
    if (!init) {
        throw Error(ExitCode::unreachable, "lab host " + host + " is not running",
                    "start it with `pgdr lab start " + host + "`");
    }
    if (state(host) == MachineState::partitioned) {
        return;
    }
    RunOptions o;
    o.stdin_data = partition_ruleset();
    o.timeout = std::chrono::seconds(10);
    auto r = m_local.run({"nsenter", "-t", std::to_string(*init), "-n", "nft", "-f", "-"}, o);
    if (!r.ok()) {
        throw Error(ExitCode::internal, "cannot partition " + host + ": " + r.err);
    }
}

void Lab::heal_host(const std::string& host) {
    check_root();
    find(host);
    auto init = init_pid(host);
    if (!init || state(host) != MachineState::partitioned) {
        return;
    }
    run({"nsenter", "-t", std::to_string(*init), "-n", "nft", "delete", "table", "inet",
         k_partition_table},
        true, std::chrono::seconds(10));
}

void Lab::remove_host(const std::string& host) {
    kill_processes(host);
    // Anything left in the host's cgroups is the lab's own: end it before removing them.
    for (const auto& d : cgroup_dirs(host)) {
        if (!fs::exists(d)) {
            continue;
        }
        run({"sh", "-c",
             "find \"$1\" -name cgroup.procs -exec cat {} + | while read -r p; do kill -9 \"$p\"; "
             "done; sleep 0.2; find \"$1\" -depth -type d -exec rmdir {} + 2>/dev/null; true",
             "pgdr-cg", d},
            false);
    }
    const std::string root = m_paths.root(host);
    for (int i = 0; i < 20 && is_mounted(root); ++i) {
        if (!run({"umount", root}, false).ok()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
    }
    if (is_mounted(root)) {
        run({"umount", "-l", root}, false);
    }
    if (!is_mounted(root)) {
        fs::remove_all(m_paths.host_dir(host));
    } else {
        m_log.warn("lab: " + root + " is still mounted; left in place");
    }
}

void Lab::down(bool purge) {
    check_root();
    LabLock lock;
    std::error_code ec;
    if (fs::exists(m_paths.dir + "/hosts")) {
        for (const auto& e : fs::directory_iterator(m_paths.dir + "/hosts", ec)) {
            m_progress("removing " + e.path().filename().string());
            remove_host(e.path().filename().string());
        }
    }
    for (const auto& d : cgroup_dirs("")) {
        if (fs::exists(d)) {
            run({"find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", "+"}, false);
        }
    }
    auto owner = read_text_file(k_owner_file).value_or("");
    const bool ours = owner.empty() || owner == m_paths.dir + "\n";
    // The regions' link (its relay, checked to be ours by its name) and bridge.
    stop_bridge_relay(m_paths.region_link_pid());
    fs::remove(m_paths.region_link_log(), ec);
    if (ours) {
        remove_stray_tables();
        for (const char* link : {"pgdrl1x2", "pgdrl2y1", "pgdrl1a2", "pgdrl2b1"}) {
            if (run({"ip", "link", "show", link}, false).ok()) {
                run({"ip", "link", "del", link}, false);
            }
        }
        if (run({"ip", "link", "show", region_bridge(2)}, false).ok()) {
            run({"ip", "link", "del", region_bridge(2)}, false);
        }
        run({"ip", "link", "del", k_bridge}, false);
        fs::remove(k_owner_file, ec);
    }
    if (auto pid = read_pid_file(m_paths.proxy_pid());
        pid && process_comm(*pid) == "apt-cacher-ng") {
        if (!signal_and_wait(*pid, SIGTERM, std::chrono::seconds(5))) {
            signal_and_wait(*pid, SIGKILL, std::chrono::seconds(5));
        }
    }
    // Only what the lab made; the directory itself goes when nothing else is in it.
    for (const char* name : {"hosts", "ssh", "apt-proxy", "inventory.state"}) {
        fs::remove_all(m_paths.dir + "/" + name, ec);
    }
    for (const char* name : {"known_hosts", "inventory.yaml", "lab.json", "twin.json"}) {
        fs::remove(m_paths.dir + "/" + name, ec);
    }
    fs::remove(m_paths.dir, ec);  // fails (kept) when not empty
    if (purge) {
        m_progress("removing the cached images and apt cache");
        fs::remove_all(std::string(k_cache_root) + "/images", ec);
        fs::remove_all(std::string(k_cache_root) + "/apt-cacher-ng", ec);
    }
}

}  // namespace pgdr::lab
