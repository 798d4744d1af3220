#include "pg/stage_guard.hpp"

#include "core/error.hpp"
#include "pg/plan_actions.hpp"

namespace pgdr::pg {

namespace {

using Argv = std::vector<std::string>;

}  // namespace

bool is_guard_host(const Inventory& inv, const std::string& host) {
    if (!inv.guard.enabled) {
        return false;
    }
    for (const auto* h : inv.guard_hosts()) {
        if (h->name == host) {
            return true;
        }
    }
    return false;
}

std::vector<std::string> guard_packages(const Inventory& inv, const HostSpec& host) {
    if (!is_guard_host(inv, host.name)) {
        return {};
    }
    return {inv.release == "bookworm" ? "libcurl4" : "libcurl4t64"};
}

RunCommand guard_user_action() {
    return plan_command({"useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                         "/nonexistent", "--shell", "/usr/sbin/nologin", k_guard_user},
                        "the pgdr-guard system user", Argv{"id", "-u", k_guard_user});
}

std::string render_guard_unit(const Inventory& inv) {
    return "# Written by pgdr bootstrap (the guard stage): pgdr-guard, fenced fast failover.\n"
           "[Unit]\n"
           "Description=pgdr-guard: fenced fast failover of PostgreSQL cluster " +
           inv.cluster +
           "\n"
           "After=network-online.target\n"
           "Wants=network-online.target\n"
           "\n"
           "[Service]\n"
           "User=pgdr-guard\n"
           "Group=pgdr-guard\n"
           "ExecStart=" +
           std::string(k_guard_binary) + " --config " + k_guard_config +
           "\n"
           "Restart=always\n"
           "RestartSec=2\n"
           "NoNewPrivileges=yes\n"
           "\n"
           "[Install]\n"
           "WantedBy=multi-user.target\n";
}

std::vector<PutFile> guard_files(const Inventory& inv, const HostSpec& host,
                                 const Secrets& secrets) {
    std::vector<PutFile> out;
    if (!is_guard_host(inv, host.name)) {
        return out;
    }
    const auto& g = secrets.guard;
    auto config = g.agent_configs.find(host.name);
    if (config == g.agent_configs.end() || g.agent_binary.empty() || g.credentials.empty()) {
        throw Error(ExitCode::internal, "the guard stage's inputs are missing for " + host.name);
    }
    // A binary: --dry-run names it changed, never prints it.
    out.push_back(plan_file(k_guard_binary, g.agent_binary, "0755", "", "the pgdr-guard agent",
                            Secrecy::whole_file));
    out.push_back(
        plan_file(k_guard_config, config->second, "0644", "", "pgdr-guard's configuration"));
    out.push_back(plan_file(k_guard_credentials, g.credentials, "0640", "root:pgdr-guard",
                            "the agents' provider key (power routes only)", Secrecy::whole_file));
    if (!g.provider_ca_pem.empty()) {
        out.push_back(plan_file(k_guard_provider_ca, g.provider_ca_pem, "0644", "",
                                "the CA of the provider's API as the hosts reach it"));
    }
    out.push_back(plan_file(k_guard_unit, render_guard_unit(inv), "0644", "", "pgdr-guard's unit"));
    return out;
}

void plan_guard(Plan& plan, const Inventory& inv, const Secrets& secrets) {
    if (!inv.guard.enabled) {
        return;
    }
    auto& step = plan.add_step(Stage::guard, "pgdr-guard on the guard hosts");
    for (const auto* h : inv.guard_hosts()) {
        HostActions ha{h->name, {}};
        std::vector<std::string> written;
        ha.actions.emplace_back(plan_command({"mkdir", "-p", "-m", "0755", "/etc/pgdr-guard"},
                                             "pgdr-guard's directory",
                                             Argv{"test", "-d", "/etc/pgdr-guard"}));
        for (auto& f : guard_files(inv, *h, secrets)) {
            written.push_back(f.path);
            ha.actions.emplace_back(std::move(f));
        }
        auto units = plan_command({"systemctl", "daemon-reload"}, "reload systemd's units");
        units.when_changed = {k_guard_unit};
        ha.actions.emplace_back(units);
        ha.actions.emplace_back(
            plan_command({"systemctl", "enable", "--quiet", "pgdr-guard"}, "enable pgdr-guard",
                         Argv{"systemctl", "is-enabled", "--quiet", "pgdr-guard"}));
        auto restart = plan_command({"systemctl", "restart", "pgdr-guard"}, "restart pgdr-guard");
        restart.when_changed = written;
        ha.actions.emplace_back(restart);
        ha.actions.emplace_back(
            plan_command({"systemctl", "start", "pgdr-guard"}, "start pgdr-guard",
                         Argv{"systemctl", "is-active", "--quiet", "pgdr-guard"}));
        ha.actions.emplace_back(
            plan_wait({"runuser", "-u", k_guard_user, "--", k_guard_binary, "--config",
                       k_guard_config, "--check"},
                      "pgdr-guard reaches etcd and the provider's API for every member",
                      std::chrono::seconds(60)));
        step.hosts.push_back(std::move(ha));
    }
}

}  // namespace pgdr::pg
