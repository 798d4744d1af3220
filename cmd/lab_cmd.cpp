// pgdr lab: a local multi-host lab that behaves like small Debian VMs.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cmd/context.hpp"
#include "cmd/table.hpp"
#include "core/clock.hpp"
#include "core/files.hpp"
#include "core/local_transport.hpp"
#include "core/quote.hpp"
#include "lab/delay_link.hpp"
#include "lab/lab.hpp"
#include "lab/proc.hpp"
#include "lab/s3_endpoint.hpp"
#include "lab/twin_hosts.hpp"
#include "net/ssh_transport.hpp"
#include "twin/api.hpp"
#include "twin/server.hpp"

namespace pgdr::cmd {

namespace {

struct LabOptions {
    std::string dir;
    int hosts = 0;  // 0: 3, or 5 with --regions 2
    int regions = 1;
    int region_latency_ms = 20;
    std::string release = "trixie";
    bool purge = false;
    bool ovh = false;
    bool backup = false;  // the S3 endpoint and the backup section
    bool no_monitor = false;
    std::string s3_address = lab::k_gateway;
    int s3_port = lab::k_s3_port;
    std::string project = "0123456789abcdef0123456789abcdef";
    int quota = 6;
    int latency_ms = 0;
    std::string link_a, link_b;
    std::string host;
    std::vector<std::string> command;
};

std::string default_lab_dir() {
    const char* env = std::getenv("PGDR_LAB_DIR");
    return env != nullptr && env[0] != '\0' ? env : "/var/lib/pgdr/lab";
}

struct LabSession {
    LocalTransport local;
    lab::Lab lab;
    LabSession(Context& ctx, const std::string& dir)
        : lab(lab::LabPaths(dir.empty() ? default_lab_dir() : dir), local, *ctx.log,
              [&ctx](const std::string& msg) {
                  if (::isatty(STDERR_FILENO) != 0) {
                      std::cerr << "pgdr lab: " << msg << "...\n";
                  } else {
                      ctx.log->info("lab: " + msg);
                  }
              }) {}
};

void require_lab(const lab::Lab& lab) {
    if (!lab.exists()) {
        throw Error(ExitCode::usage, "no lab in " + lab.paths().dir,
                    "create one with `pgdr lab up` (or pass --dir)");
    }
}

SshSettings lab_ssh(const lab::LabPaths& paths) {
    SshSettings s;
    s.user = "root";
    s.identity_file = paths.ssh_key();
    s.known_hosts = paths.known_hosts();
    s.connect_timeout_s = 5;
    return s;
}

// Waits until systemd inside the host says the boot is finished (running or degraded),
// through the same SSH path every other command uses.
void wait_booted(Context& ctx, const lab::LabPaths& paths, const lab::LabHost& h) {
    net::SshTransport t({h.name, h.address, lab_ssh(paths), false, nullptr}, *ctx.log);
    RunOptions o;
    o.timeout = std::chrono::seconds(90);
    auto r = t.run({"systemctl", "is-system-running", "--wait"}, o);
    std::string state = r.out.substr(0, r.out.find('\n'));
    if (state != "running" && state != "degraded") {
        throw Error(ExitCode::unreachable,
                    "lab host " + h.name + " did not finish booting (systemd: '" + state + "')",
                    "inspect it with `pgdr lab ssh " + h.name + " -- systemctl --failed`");
    }
    if (state == "degraded") {
        ctx.log->warn("lab host " + h.name + " booted with failed units (systemctl --failed)");
    }
}

// ---- the OVH twin (lab up --ovh) ---------------------------------------------------------

std::string random_token(std::size_t n) {
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    static const char* k_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string out;
    while (out.size() < n) {
        unsigned char c = 0;
        rnd.read(reinterpret_cast<char*>(&c), 1);
        if (c < 248) {  // 62 * 4: no modulo bias
            out += k_chars[c % 62];
        }
    }
    return out;
}

struct TwinFiles {
    std::string dir;
    std::string config() const { return dir + "/twin/config.json"; }
    std::string pid() const { return dir + "/twin/api.pid"; }
    std::string port() const { return dir + "/twin/api.port"; }
    std::string log() const { return dir + "/twin/api.log"; }
    std::string ovh_conf() const { return dir + "/ovh.conf"; }
};

std::string self_exe() {
    std::error_code ec;
    auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("pgdr") : p.string();
}

void stop_twin_api(const TwinFiles& f) {
    if (auto pid = lab::read_pid_file(f.pid()); pid && lab::process_alive(*pid)) {
        const auto exe = lab::process_comm(*pid);
        if (exe.rfind("pgdr", 0) == 0) {
            if (!lab::signal_and_wait(*pid, SIGTERM, std::chrono::seconds(5))) {
                lab::signal_and_wait(*pid, SIGKILL, std::chrono::seconds(5));
            }
        }
    }
    std::error_code ec;
    std::filesystem::remove(f.pid(), ec);
    std::filesystem::remove(f.port(), ec);
}

// Starts the twin's API server (`pgdr lab ovh-serve`, detached) unless it runs; returns the
// loopback port it listens on, waiting up to 10 s for it.
std::string start_twin_api(const TwinFiles& f) {
    if (auto pid = lab::read_pid_file(f.pid()); !pid || !lab::process_alive(*pid)) {
        std::error_code ec;
        std::filesystem::remove(f.port(), ec);
        pid_t p =
            lab::spawn_detached({self_exe(), "-v", "lab", "ovh-serve", "--dir", f.dir}, f.log());
        write_file_atomic(f.pid(), std::to_string(p) + "\n");
    }
    std::string port;
    for (int i = 0; i < 100 && port.empty(); ++i) {
        port = read_text_file(f.port()).value_or("");
        while (!port.empty() && (port.back() == '\n' || port.back() == ' ')) {
            port.pop_back();
        }
        if (port.empty()) {
            auto pid = lab::read_pid_file(f.pid());
            if (!pid || !lab::process_alive(*pid)) {
                throw Error(ExitCode::internal, "the OVH twin's API did not start",
                            "see " + f.log());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    if (port.empty()) {
        throw Error(ExitCode::internal, "the OVH twin's API did not listen within 10 s",
                    "see " + f.log());
    }
    return port;
}

int up_ovh(Context& ctx, const LabOptions& o) {
    LabSession s(ctx, o.dir);
    const auto start = std::chrono::steady_clock::now();
    s.lab.up_twin_base();
    const TwinFiles f{s.lab.paths().dir};
    ensure_directory(f.dir + "/twin", 0700);
    lab::LabTwinBackend::ensure_ext_bridge(s.local);
    // The twin's keys: made once, kept 0600 in the directory, never printed.
    if (!read_text_file(f.config())) {
        twin::TwinConfig c;
        c.application_key = random_token(16);
        c.application_secret = random_token(32);
        c.consumer_key = random_token(32);
        c.projects = {o.project};
        c.quota_per_region = o.quota;
        c.region_latency_ms = o.latency_ms;
        write_file_atomic(f.config(), c.to_json().dump(2) + "\n", 0600);
    }
    auto config = twin::TwinConfig::from_json(nlohmann::json::parse(*read_text_file(f.config())));
    // A rehearsal key for the operator (inventories/ovh-twin.yaml uses it): nothing of the
    // operator's own ~/.ssh is needed or touched.
    if (!std::filesystem::exists(f.dir + "/id_ed25519")) {
        RunOptions ro;
        ro.timeout = std::chrono::seconds(30);
        auto r = s.local.run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pgdr-ovh-twin",
                              "-f", f.dir + "/id_ed25519"},
                             ro);
        if (!r.ok()) {
            throw Error(ExitCode::internal, "ssh-keygen failed: " + r.err);
        }
    }
    const std::string port = start_twin_api(f);
    const std::string endpoint = "http://127.0.0.1:" + port + "/1.0";
    write_file_atomic(f.ovh_conf(),
                      "; Written by `pgdr lab up --ovh`: the local OVH twin (this machine only).\n"
                      "[default]\nendpoint=" +
                          endpoint + "\n\n[" + endpoint +
                          "]\napplication_key=" + config.application_key +
                          "\napplication_secret=" + config.application_secret +
                          "\nconsumer_key=" + config.consumer_key + "\n",
                      0600);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (ctx.json()) {
        std::cout << nlohmann::json{{"dir", f.dir},
                                    {"endpoint", endpoint},
                                    {"ovh_conf", f.ovh_conf()},
                                    {"projects", config.projects},
                                    {"regions", config.regions},
                                    {"ext_net", lab::k_ext_cidr},
                                    {"seconds", secs}}
                         .dump(2)
                  << '\n';
        return 0;
    }
    char took[32];
    std::snprintf(took, sizeof took, "%.1f", secs);
    std::string regions;
    for (const auto& r : config.regions) {
        regions += (regions.empty() ? "" : ", ") + r;
    }
    std::cout << "lab up --ovh: the OVH twin in " << f.dir << " (" << took << " s)\n\n"
              << "  endpoint:   " << endpoint << "\n"
              << "  ovh.conf:   " << f.ovh_conf() << " (keys of the twin, 0600)\n"
              << "  project:    " << config.projects.front() << "\n"
              << "  regions:    " << regions << "\n"
              << "  S3:         https://s3.<region>.io.cloud.ovh.net on " << lab::k_ext_gateway
              << ":443 (CA " << lab::LabS3Paths(f.dir + "/twin").ca_cert() << ")\n"
              << "  Ext-Net:    " << lab::k_ext_cidr << " (this machine is " << lab::k_ext_gateway
              << ")\n"
              << "  for hosts:  https://" << lab::k_ext_gateway << ":" << twin::k_api_tls_port
              << "/1.0 (the API as the twin's hosts reach it: pgdr-guard)\n"
              << "  next:       cd " << f.dir
              << " && pgdr provision -i ovh-twin.yaml (inventories/ovh-twin.yaml)\n"
              << "  remove it:  pgdr lab down" << (o.dir.empty() ? "" : " --dir " + f.dir) << "\n";
    return 0;
}

int ovh_serve(Context& ctx, const LabOptions& o) {
    const TwinFiles f{lab::LabPaths(o.dir.empty() ? default_lab_dir() : o.dir).dir};
    auto text = read_text_file(f.config());
    if (!text) {
        throw Error(ExitCode::usage, "no OVH twin in " + f.dir,
                    "start it with `pgdr lab up --ovh`");
    }
    auto config = twin::TwinConfig::from_json(nlohmann::json::parse(*text));
    LocalTransport local;
    SystemClock clock;
    lab::LabTwinBackend backend(f.dir, local, *ctx.log);
    twin::TwinApi api(config, clock, backend,
                      [](std::function<void()> job) { std::thread(std::move(job)).detach(); });
    // Object Storage (issue 14): the API's containers, S3 users and credentials, and their
    // S3 endpoints s3.<region>.io.cloud.ovh.net over HTTPS on the Ext-Net gateway (the twin's
    // hosts resolve those names to it), with a certificate of the twin's own CA.
    std::vector<std::string> s3_regions, s3_hosts;
    for (const auto& r : config.regions) {
        const auto s3 = twin::s3_region_of(r);
        if (std::find(s3_regions.begin(), s3_regions.end(), s3) == s3_regions.end()) {
            s3_regions.push_back(s3);
            s3_hosts.push_back(twin::s3_endpoint_host(s3));
        }
    }
    const lab::LabS3Paths s3p(f.dir + "/twin");
    lab::ensure_s3_certificate(s3p, {lab::k_ext_gateway}, s3_hosts);
    twin::S3Regions storage(s3p.data(), clock, s3_regions);
    api.set_object_storage(&storage);
    std::thread([&] {
        try {
            twin::serve_s3(
                storage, lab::k_ext_gateway, 443, s3p.server_cert(), s3p.server_key(),
                [&](int port) { write_file_atomic(s3p.port(), std::to_string(port) + "\n", 0600); },
                std::cerr);
        } catch (const std::exception& e) {
            std::cerr << "the twin's S3 endpoint did not start: " << e.what() << std::endl;
        }
    }).detach();
    // The API for the twin's hosts (pgdr-guard), over HTTPS on the Ext-Net gateway.
    std::thread([&] {
        try {
            twin::serve_tls(
                api, lab::k_ext_gateway, twin::k_api_tls_port, s3p.server_cert(), s3p.server_key(),
                [](int) {}, std::cerr);
        } catch (const std::exception& e) {
            std::cerr << "the twin's API for its hosts did not start: " << e.what() << std::endl;
        }
    }).detach();
    twin::serve(
        api, "127.0.0.1", 0,
        [&](int port) { write_file_atomic(f.port(), std::to_string(port) + "\n", 0600); },
        std::cerr);
    return 0;
}

void down_ovh(Context& ctx, LabSession& s) {
    const TwinFiles f{s.lab.paths().dir};
    stop_twin_api(f);
    lab::LabTwinBackend::teardown(f.dir, s.local, *ctx.log);
    std::error_code ec;
    for (const char* name : {"ovh.conf", "id_ed25519", "id_ed25519.pub"}) {
        std::filesystem::remove(f.dir + "/" + name, ec);
    }
}

// ---- the lab's S3 endpoint (issue 14) ------------------------------------------------------

void stop_lab_s3(const lab::LabS3Paths& p) {
    if (auto pid = lab::read_pid_file(p.pid()); pid && lab::process_alive(*pid)) {
        if (lab::process_comm(*pid).rfind("pgdr", 0) == 0) {
            if (!lab::signal_and_wait(*pid, SIGTERM, std::chrono::seconds(5))) {
                lab::signal_and_wait(*pid, SIGKILL, std::chrono::seconds(5));
            }
        }
    }
    std::error_code ec;
    std::filesystem::remove(p.pid(), ec);
    std::filesystem::remove(p.port(), ec);
}

// Starts `pgdr lab s3-serve` unless it runs; returns once it listens.
void start_lab_s3(const lab::LabPaths& paths) {
    const lab::LabS3Paths p(paths.dir);
    ensure_directory(p.dir, 0700);
    if (auto pid = lab::read_pid_file(p.pid());
        pid && lab::process_alive(*pid) && std::filesystem::exists(p.port())) {
        return;
    }
    stop_lab_s3(p);
    pid_t child =
        lab::spawn_detached({self_exe(), "-v", "lab", "s3-serve", "--dir", paths.dir}, p.log());
    write_file_atomic(p.pid(), std::to_string(child) + "\n");
    for (int i = 0; i < 100; ++i) {
        if (std::filesystem::exists(p.port())) {
            return;
        }
        if (!lab::process_alive(child)) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw Error(ExitCode::internal, "the lab's S3 endpoint did not start",
                "see " + p.log() + ": " + lab::tail_of(p.log(), 400));
}

// The lab inventory with (or without) the backup section for the lab's endpoint.
void write_backup_section(const lab::LabPaths& paths, bool with) {
    std::string text = read_text_file(paths.inventory()).value_or("");
    const auto at = text.find("# Written by `pgdr lab up`: the lab's S3 endpoint");
    if (at != std::string::npos) {
        text.erase(at);
    }
    if (with) {
        text += lab::render_lab_backup_section(lab::LabS3Paths(paths.dir), lab::k_gateway,
                                               lab::k_s3_port);
    }
    write_file_atomic(paths.inventory(), text, 0644);
}

int s3_serve(Context& ctx, const LabOptions& o) {
    const lab::LabPaths paths(o.dir.empty() ? default_lab_dir() : o.dir);
    const lab::LabS3Paths p(paths.dir);
    ensure_directory(paths.dir, 0755);
    const auto keys = lab::ensure_lab_s3_files(p, o.s3_address);
    SystemClock clock;
    twin::S3Config config;
    config.region = lab::k_s3_region;
    twin::S3Api api(config, p.data(), clock);
    api.ensure_bucket(lab::k_s3_bucket);
    api.add_credential({keys.access_key, keys.secret_key, {lab::k_s3_bucket}, false});
    std::error_code ec;
    std::filesystem::remove(p.port(), ec);
    ctx.log->info("lab s3-serve: https://" + o.s3_address + ":" + std::to_string(o.s3_port) +
                  ", bucket " + lab::k_s3_bucket);
    twin::serve_s3(
        api, o.s3_address, o.s3_port, p.server_cert(), p.server_key(),
        [&](int port) { write_file_atomic(p.port(), std::to_string(port) + "\n", 0600); },
        std::cerr);
    return 0;
}

int up(Context& ctx, const LabOptions& o) {
    if (o.ovh) {
        return up_ovh(ctx, o);
    }
    LabSession s(ctx, o.dir);
    const auto start = std::chrono::steady_clock::now();
    const int hosts = o.hosts != 0 ? o.hosts : o.regions == 2 ? 5 : 3;
    s.lab.up(lab::LabConfig{o.release, hosts, !o.no_monitor, o.regions, o.region_latency_ms});
    for (const auto& h : s.lab.hosts()) {
        wait_booted(ctx, s.lab.paths(), h);
    }
    if (!o.backup) {
        stop_lab_s3(lab::LabS3Paths(s.lab.paths().dir));
    } else {
        start_lab_s3(s.lab.paths());
    }
    write_backup_section(s.lab.paths(), o.backup);
    const std::string s3_endpoint =
        !o.backup ? ""
                  : "https://" + std::string(lab::k_gateway) + ":" + std::to_string(lab::k_s3_port);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto& p = s.lab.paths();
    if (ctx.json()) {
        std::cout << nlohmann::json{{"dir", p.dir},         {"inventory", p.inventory()},
                                    {"hosts", hosts},       {"regions", o.regions},
                                    {"release", o.release}, {"s3_endpoint", s3_endpoint},
                                    {"seconds", secs}}
                         .dump(2)
                  << '\n';
        return 0;
    }
    char took[32];
    std::snprintf(took, sizeof took, "%.1f", secs);
    std::cout << "lab up: " << hosts << " Debian " << o.release << " hosts"
              << (o.regions > 1 ? " in " + std::to_string(o.regions) + " regions (" +
                                      std::to_string(o.region_latency_ms) + " ms apart)"
                                : std::string())
              << " in " << p.dir << " (" << took << " s)\n\n"
              << "  inventory:  " << p.inventory() << "\n";
    if (o.backup) {
        std::cout << "  backups:    " << s3_endpoint << " (bucket " << lab::k_s3_bucket << ", CA "
                  << lab::LabS3Paths(p.dir).ca_cert() << ")\n";
    }
    std::cout << "  next:       pgdr -i " << p.inventory() << " bootstrap\n"
              << "  a shell:    pgdr lab ssh " << s.lab.hosts().front().name
              << (o.dir.empty() ? "" : " --dir " + p.dir) << "\n"
              << "  OpenSSH:    ssh -i " << p.ssh_key()
              << " -o UserKnownHostsFile=" << p.known_hosts() << " root@" << lab::host_address(1)
              << "\n"
              << "  remove it:  pgdr lab down" << (o.dir.empty() ? "" : " --dir " + p.dir) << "\n";
    return 0;
}

// The OVH twin's API and instances (a directory of `lab up --ovh`).
int status_ovh(Context& ctx, LabSession& s) {
    const TwinFiles f{s.lab.paths().dir};
    auto pid = lab::read_pid_file(f.pid());
    const bool api = pid && lab::process_alive(*pid);
    std::string port = read_text_file(f.port()).value_or("");
    while (!port.empty() && port.back() == '\n') {
        port.pop_back();
    }
    const std::string endpoint = port.empty() ? "" : "http://127.0.0.1:" + port + "/1.0";
    const auto rows = lab::LabTwinBackend::list(f.dir);
    if (ctx.json()) {
        nlohmann::json hosts = nlohmann::json::array();
        for (const auto& r : rows) {
            hosts.push_back({{"name", r.name},
                             {"instance_id", r.instance_id},
                             {"region", r.region},
                             {"public_address", r.public_address},
                             {"private_addresses", r.private_addresses},
                             {"host", r.host},
                             {"state", r.running ? "running" : "stopped"}});
        }
        std::cout << nlohmann::json{{"dir", f.dir},
                                    {"ovh", true},
                                    {"api", api ? "running" : "stopped"},
                                    {"endpoint", endpoint},
                                    {"ovh_conf", f.ovh_conf()},
                                    {"instances", hosts}}
                         .dump(2)
                  << '\n';
        return 0;
    }
    std::cout << "OVH twin in " << f.dir << ": API " << (api ? "running" : "stopped") << " at "
              << endpoint << " (" << f.ovh_conf() << ")\n\n";
    Table t({"INSTANCE", "REGION", "PUBLIC", "PRIVATE", "STATE", "HOST"});
    for (const auto& r : rows) {
        t.add({r.name, r.region, r.public_address, r.private_addresses,
               r.running ? "running" : "stopped", r.host});
    }
    t.print(std::cout);
    return 0;
}

int status(Context& ctx, const LabOptions& o) {
    LabSession s(ctx, o.dir);
    if (!s.lab.exists() && s.lab.twin_exists()) {
        return status_ovh(ctx, s);
    }
    require_lab(s.lab);
    auto rows = s.lab.status();
    const auto& p = s.lab.paths();
    if (ctx.json()) {
        nlohmann::json hosts = nlohmann::json::array();
        for (const auto& r : rows) {
            hosts.push_back({{"name", r.host.name},
                             {"address", r.host.address},
                             {"ssh_port", 22},
                             {"user", "root"},
                             {"identity_file", p.ssh_key()},
                             {"known_hosts", p.known_hosts()},
                             {"state", to_string(r.state)},
                             {"services", r.host.services}});
        }
        std::cout << nlohmann::json{{"dir", p.dir},
                                    {"release", s.lab.config().release},
                                    {"inventory", p.inventory()},
                                    {"hosts", hosts}}
                         .dump(2)
                  << '\n';
        return 0;
    }
    Table t({"HOST", "ADDRESS", "SSH", "STATE", "SERVICES"});
    for (const auto& r : rows) {
        std::string services;
        for (const auto& sv : r.host.services) {
            services += (services.empty() ? "" : ",") + sv;
        }
        t.add({r.host.name, r.host.address, "root@:22", to_string(r.state), services});
    }
    t.print(std::cout);
    std::cout << "\nidentity: " << p.ssh_key() << "\nknown_hosts: " << p.known_hosts()
              << "\ninventory: " << p.inventory() << "\n";
    return 0;
}

int ssh(Context& ctx, const LabOptions& o) {
    LabSession s(ctx, o.dir);
    require_lab(s.lab);
    std::string address;
    for (const auto& h : s.lab.hosts()) {
        if (h.name == o.host) {
            address = h.address;
        }
    }
    if (address.empty()) {
        throw usage_error("no lab host '" + o.host + "'", "`pgdr lab status` lists the hosts");
    }
    const auto& p = s.lab.paths();
    std::vector<std::string> argv{"ssh",
                                  "-i",
                                  p.ssh_key(),
                                  "-o",
                                  "UserKnownHostsFile=" + p.known_hosts(),
                                  "-o",
                                  "StrictHostKeyChecking=yes",
                                  "-o",
                                  "ConnectTimeout=5",
                                  "-o",
                                  "LogLevel=ERROR",
                                  "root@" + address};
    if (!o.command.empty()) {
        // ssh hands one string to the remote shell: quote each word exactly once.
        argv.push_back("--");
        argv.push_back(shell_join(o.command));
    }
    std::vector<char*> cargv;
    for (auto& a : argv) {
        cargv.push_back(a.data());
    }
    cargv.push_back(nullptr);
    std::cout.flush();
    ::execvp("ssh", cargv.data());
    throw Error(ExitCode::internal, "cannot run ssh (install openssh-client)");
}

int host_op(Context& ctx, const LabOptions& o, const std::string& op) {
    LabSession s(ctx, o.dir);
    require_lab(s.lab);
    const auto start = std::chrono::steady_clock::now();
    if (op == "kill") {
        s.lab.kill_host(o.host);
    } else if (op == "start") {
        s.lab.start_host(o.host);
        for (const auto& h : s.lab.hosts()) {
            if (h.name == o.host) {
                wait_booted(ctx, s.lab.paths(), h);
            }
        }
    } else if (op == "partition") {
        s.lab.partition_host(o.host);
    } else {
        s.lab.heal_host(o.host);
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    std::cout << o.host << ": " << to_string(s.lab.state(o.host)) << " (" << op << " took " << ms
              << " ms)\n";
    return 0;
}

int down(Context& ctx, const LabOptions& o) {
    LabSession s(ctx, o.dir);
    if (s.lab.twin_exists() || std::filesystem::exists(s.lab.paths().dir + "/twin")) {
        down_ovh(ctx, s);
    }
    if (const lab::LabS3Paths p(s.lab.paths().dir); std::filesystem::exists(p.dir)) {
        stop_lab_s3(p);
        std::error_code ec;
        std::filesystem::remove_all(p.dir, ec);
    }
    s.lab.down(o.purge);
    std::cout << "lab down: removed " << s.lab.paths().dir << (o.purge ? " and the caches" : "")
              << "\n";
    return 0;
}

}  // namespace

void register_lab_commands(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<LabOptions>();
    auto* lab = app.add_subcommand("lab", "A local multi-host lab of Debian hosts (needs root)");
    lab->require_subcommand(1);
    auto add_dir = [o](CLI::App* sub) {
        sub->add_option("--dir", o->dir,
                        "Lab directory (default: $PGDR_LAB_DIR or /var/lib/pgdr/lab)");
    };
    auto* up_cmd = lab->add_subcommand("up", "Create (or repair) the lab and boot its hosts");
    add_dir(up_cmd);
    up_cmd->add_option("--hosts", o->hosts, "Number of hosts (default 3; 5 with --regions 2)")
        ->check(CLI::Range(3, 5));
    up_cmd
        ->add_option("--regions", o->regions,
                     "Regions: 2 puts 3 hosts in r1 (the primary cluster) and 2 in r2 (the DR "
                     "cluster, the inventory's dr section)")
        ->check(CLI::Range(1, 2));
    up_cmd
        ->add_option("--region-latency-ms", o->region_latency_ms,
                     "Added delay each way between the regions (with --regions 2; default 20)")
        ->check(CLI::Range(0, 1000));
    up_cmd->add_option("--release", o->release, "Debian release of the hosts")
        ->check(CLI::IsMember({"trixie", "bookworm"}));
    up_cmd->add_flag("--ovh", o->ovh,
                     "Start the local OVH twin instead: an OVH API on 127.0.0.1 whose instances "
                     "are lab hosts; writes DIR/ovh.conf");
    up_cmd->add_flag("--backup", o->backup,
                     "Also start the lab's S3 endpoint and write the inventory's backup section");
    up_cmd->add_flag("--no-monitor", o->no_monitor,
                     "No monitor service in the written inventory (no Prometheus or "
                     "Alertmanager; drills then time no alerts)");
    up_cmd->add_option("--ovh-project", o->project, "The twin's project id (with --ovh)");
    up_cmd->add_option("--ovh-quota", o->quota, "Instances per region the twin allows (with --ovh)")
        ->check(CLI::Range(1, 20));
    up_cmd
        ->add_option("--ovh-latency-ms", o->latency_ms,
                     "Added delay each way between the twin's regions (with --ovh)")
        ->check(CLI::Range(0, 1000));
    up_cmd->callback([&ctx, o] { ctx.action = [&ctx, o] { return up(ctx, *o); }; });

    auto* st = lab->add_subcommand("status", "Show the lab's hosts and their state");
    add_dir(st);
    st->callback([&ctx, o] { ctx.action = [&ctx, o] { return status(ctx, *o); }; });

    auto* sh = lab->add_subcommand("ssh", "A shell, or one command, on a lab host");
    add_dir(sh);
    sh->add_option("host", o->host, "Lab host name (pg1, ...)")->required();
    sh->add_option("command", o->command, "Command and arguments (after --)");
    sh->callback([&ctx, o] { ctx.action = [&ctx, o] { return ssh(ctx, *o); }; });

    struct Op {
        const char* name;
        const char* help;
    };
    static const Op k_ops[] = {
        {"kill", "Kill a host at once (every process, nothing shut down cleanly)"},
        {"start", "Boot a stopped host again, its disk intact"},
        {"partition", "Cut a host's network link while it keeps running"},
        {"heal", "Restore a partitioned host's network link"}};
    for (const auto& op : k_ops) {
        auto* c = lab->add_subcommand(op.name, op.help);
        add_dir(c);
        c->add_option("host", o->host, "Lab host name (pg1, ...)")->required();
        std::string name = op.name;
        c->callback(
            [&ctx, o, name] { ctx.action = [&ctx, o, name] { return host_op(ctx, *o, name); }; });
    }

    auto* serve =
        lab->add_subcommand("ovh-serve", "The OVH twin's API server (started by up --ovh)");
    serve->group("");  // internal: `lab up --ovh` runs it as a daemon
    add_dir(serve);
    serve->callback([&ctx, o] { ctx.action = [&ctx, o] { return ovh_serve(ctx, *o); }; });

    auto* s3 = lab->add_subcommand("s3-serve", "The lab's S3 endpoint over HTTPS (started by up)");
    s3->group("");  // internal: `lab up` runs it as a daemon
    add_dir(s3);
    s3->add_option("--address", o->s3_address, "Address to listen on (default: the lab bridge's)");
    s3->add_option("--port", o->s3_port, "Port to listen on (0: any free port)")
        ->check(CLI::Range(0, 65535));
    s3->callback([&ctx, o] { ctx.action = [&ctx, o] { return s3_serve(ctx, *o); }; });

    auto* link = lab->add_subcommand("ovh-link", "A delayed link between two interfaces");
    link->group("");  // internal: the twin's regions on kernels without netem
    link->add_option("a", o->link_a, "Interface")->required();
    link->add_option("b", o->link_b, "Interface")->required();
    link->add_option("--delay-ms", o->latency_ms, "Delay each way")->required();
    link->callback([&ctx, o] {
        ctx.action = [o] {
            lab::run_delay_link(o->link_a, o->link_b, std::chrono::milliseconds(o->latency_ms));
            return 0;
        };
    });

    auto* dn = lab->add_subcommand("down", "Remove every host, process, mount and link of the lab");
    add_dir(dn);
    dn->add_flag("--purge", o->purge, "Also remove the cached images and apt cache");
    dn->callback([&ctx, o] { ctx.action = [&ctx, o] { return down(ctx, *o); }; });
}

}  // namespace pgdr::cmd
