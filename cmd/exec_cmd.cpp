// pgdr exec: one command on many hosts, in parallel, output grouped per host.
#include <iostream>

#include "cmd/context.hpp"
#include "cmd/wiring.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"

namespace pgdr::cmd {

namespace {

struct ExecOptions {
    std::string hosts;
    std::string service;
    bool sudo = false;
    int timeout_s = 600;
    int parallel = 10;
    std::vector<std::string> command;
};

struct HostOutcome {
    CommandResult result;
    std::string error;  // could not reach the host
};

int exec(Context& ctx, const ExecOptions& o) {
    if (o.command.empty()) {
        throw usage_error("no command given",
                          "usage: pgdr exec -i INV [--hosts a,b] -- CMD ARGS...");
    }
    auto inv = resolved_inventory(ctx);
    auto hosts = select_hosts(inv, o.hosts, o.service);
    if (hosts.empty()) {
        throw usage_error("no host matches the selection");
    }
    std::vector<HostOutcome> outcomes(hosts.size());
    parallel_for(hosts.size(), static_cast<size_t>(o.parallel), [&](size_t i) {
        try {
            auto t = ssh_transport(ctx, *hosts[i]);
            RunOptions ro;
            ro.sudo = o.sudo;
            ro.timeout = std::chrono::seconds(o.timeout_s);
            outcomes[i].result = t->run(o.command, ro);
        } catch (const Error& e) {
            outcomes[i].error = e.what();
            if (!e.hint().empty()) {
                outcomes[i].error += "\n  hint: " + e.hint();
            }
        } catch (const std::exception& e) {
            outcomes[i].error = e.what();
        }
    });

    int failed = 0;
    bool unreachable = false;
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < hosts.size(); ++i) {
        const auto& oc = outcomes[i];
        const auto& r = oc.result;
        bool ok = oc.error.empty() && r.ok();
        failed += ok ? 0 : 1;
        unreachable = unreachable || !oc.error.empty();
        if (ctx.json()) {
            nlohmann::json j = {{"host", hosts[i]->name}, {"ok", ok}};
            if (!oc.error.empty()) {
                j["error"] = oc.error;
            } else {
                j["exit_status"] = r.exit_status;
                j["timed_out"] = r.timed_out;
                j["stdout"] = r.out;
                j["stderr"] = r.err;
                j["elapsed_ms"] = r.elapsed.count();
            }
            out.push_back(j);
            continue;
        }
        std::cout << "==> " << hosts[i]->name << " (" << hosts[i]->address << ") ";
        if (!oc.error.empty()) {
            std::cout << "UNREACHABLE\n" << oc.error << "\n";
            continue;
        }
        if (r.timed_out) {
            std::cout << "TIMED OUT after " << o.timeout_s << " s\n";
        } else {
            std::cout << "exit " << r.exit_status << " (" << r.elapsed.count() << " ms)\n";
        }
        std::cout << r.out;
        if (!r.out.empty() && r.out.back() != '\n') {
            std::cout << '\n';
        }
        if (!r.err.empty()) {
            std::cout << "--- stderr\n" << r.err;
            if (r.err.back() != '\n') {
                std::cout << '\n';
            }
        }
    }
    if (ctx.json()) {
        std::cout << out.dump(2) << '\n';
    } else if (hosts.size() > 1) {
        std::cout << "\n"
                  << hosts.size() - static_cast<size_t>(failed) << " ok, " << failed << " failed\n";
    }
    if (failed == 0) {
        return 0;
    }
    return unreachable ? static_cast<int>(ExitCode::unreachable) : 1;
}

}  // namespace

int run_check(Context& ctx, const std::string& hosts, const std::string& service);

void register_exec_commands(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<ExecOptions>();
    auto* ex = app.add_subcommand("exec", "Run a command on the inventory's hosts in parallel");
    ex->add_option("--hosts", o->hosts, "Only these hosts (comma-separated names)");
    ex->add_option("--service", o->service, "Only hosts running this service")
        ->check(CLI::IsMember({"postgres", "etcd", "haproxy"}));
    ex->add_flag("--sudo", o->sudo, "Run as root (sudo -n) when the SSH user is not root");
    ex->add_option("--timeout", o->timeout_s, "Seconds before the command is killed")
        ->check(CLI::Range(1, 86400));
    ex->add_option("--parallel", o->parallel, "Hosts worked on at once")->check(CLI::Range(1, 100));
    ex->add_option("command", o->command, "The command and its arguments (after --)")->required();
    ex->callback([&ctx, o] { ctx.action = [&ctx, o] { return exec(ctx, *o); }; });

    auto hosts = std::make_shared<std::string>();
    auto service = std::make_shared<std::string>();
    auto* chk = app.add_subcommand(
        "check", "Preflight the inventory's hosts: SSH, OS, sudo, disk, clocks, cluster ports");
    chk->add_option("--hosts", *hosts, "Only these hosts (comma-separated names)");
    chk->add_option("--service", *service, "Only hosts running this service")
        ->check(CLI::IsMember({"postgres", "etcd", "haproxy"}));
    chk->callback([&ctx, hosts, service] {
        ctx.action = [&ctx, hosts, service] { return run_check(ctx, *hosts, *service); };
    });
}

}  // namespace pgdr::cmd
