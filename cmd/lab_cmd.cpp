// pgdr lab: a local multi-host lab that behaves like small Debian VMs.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "cmd/context.hpp"
#include "cmd/table.hpp"
#include "core/local_transport.hpp"
#include "core/quote.hpp"
#include "lab/lab.hpp"
#include "net/ssh_transport.hpp"

namespace pgdr::cmd {

namespace {

struct LabOptions {
    std::string dir;
    int hosts = 3;
    std::string release = "trixie";
    bool purge = false;
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

int up(Context& ctx, const LabOptions& o) {
    LabSession s(ctx, o.dir);
    const auto start = std::chrono::steady_clock::now();
    s.lab.up(lab::LabConfig{o.release, o.hosts});
    for (const auto& h : s.lab.hosts()) {
        wait_booted(ctx, s.lab.paths(), h);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto& p = s.lab.paths();
    if (ctx.json()) {
        std::cout << nlohmann::json{{"dir", p.dir},
                                    {"inventory", p.inventory()},
                                    {"hosts", o.hosts},
                                    {"release", o.release},
                                    {"seconds", secs}}
                         .dump(2)
                  << '\n';
        return 0;
    }
    char took[32];
    std::snprintf(took, sizeof took, "%.1f", secs);
    std::cout << "lab up: " << o.hosts << " Debian " << o.release << " hosts in " << p.dir << " ("
              << took << " s)\n\n"
              << "  inventory:  " << p.inventory() << "\n"
              << "  next:       pgdr -i " << p.inventory() << " bootstrap\n"
              << "  a shell:    pgdr lab ssh pg1" << (o.dir.empty() ? "" : " --dir " + p.dir)
              << "\n"
              << "  OpenSSH:    ssh -i " << p.ssh_key()
              << " -o UserKnownHostsFile=" << p.known_hosts() << " root@" << lab::host_address(1)
              << "\n"
              << "  remove it:  pgdr lab down" << (o.dir.empty() ? "" : " --dir " + p.dir) << "\n";
    return 0;
}

int status(Context& ctx, const LabOptions& o) {
    LabSession s(ctx, o.dir);
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
    up_cmd->add_option("--hosts", o->hosts, "Number of hosts")->check(CLI::Range(3, 5));
    up_cmd->add_option("--release", o->release, "Debian release of the hosts")
        ->check(CLI::IsMember({"trixie", "bookworm"}));
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

    auto* dn = lab->add_subcommand("down", "Remove every host, process, mount and link of the lab");
    add_dir(dn);
    dn->add_flag("--purge", o->purge, "Also remove the cached images and apt cache");
    dn->callback([&ctx, o] { ctx.action = [&ctx, o] { return down(ctx, *o); }; });
}

}  // namespace pgdr::cmd
