// pgdr inventory check | show
#include <iostream>

#include "cmd/context.hpp"
#include "cmd/table.hpp"
#include "core/inventory_json.hpp"

namespace pgdr::cmd {

namespace {

int check(Context& ctx, const std::string& file) {
    const std::string path = file.empty() ? ctx.inventory_path : file;
    if (path.empty()) {
        throw usage_error("no inventory to check", "pass FILE, -i FILE or set PGDR_INVENTORY");
    }
    try {
        auto inv = load_inventory(path);
        if (ctx.json()) {
            std::cout << nlohmann::json{{"file", path}, {"valid", true}, {"problems", {}}}.dump(2)
                      << '\n';
        } else {
            std::cout << path << ": ok (cluster " << inv.cluster << ", " << inv.hosts.size()
                      << " hosts, PostgreSQL " << inv.postgres_version << " on Debian "
                      << inv.release << ")\n";
        }
        return 0;
    } catch (const InventoryError& e) {
        if (ctx.json()) {
            nlohmann::json problems = nlohmann::json::array();
            for (const auto& d : e.diagnostics()) {
                problems.push_back({{"file", d.file},
                                    {"line", d.line},
                                    {"column", d.column},
                                    {"message", d.message}});
            }
            std::cout
                << nlohmann::json{{"file", path}, {"valid", false}, {"problems", problems}}.dump(2)
                << '\n';
        } else {
            for (const auto& d : e.diagnostics()) {
                std::cout << d.format() << '\n';
            }
            std::cout << e.diagnostics().size() << " problem"
                      << (e.diagnostics().size() == 1 ? "" : "s") << " found\n";
        }
        return static_cast<int>(ExitCode::invalid_config);
    }
}

std::string services_list(const HostSpec& h) {
    std::string out;
    for (auto s : h.services) {
        out += (out.empty() ? "" : ",") + to_string(s);
    }
    return out;
}

int show(Context& ctx) {
    const auto& inv = ctx.inventory();
    if (ctx.json()) {
        std::cout << inventory_to_json(inv).dump(2) << '\n';
        return 0;
    }
    std::cout << "cluster " << inv.cluster << (inv.production ? " (production)" : "")
              << ": PostgreSQL " << inv.postgres_version << " on Debian " << inv.release
              << ", network " << inv.network_cidr << "\n\n";
    Table t({"HOST", "ADDRESS", "ZONE", "SERVICES", "SSH"});
    for (const auto& h : inv.hosts) {
        std::string zone =
            h.region.empty() ? h.zone : h.region + (h.zone.empty() ? "" : "/") + h.zone;
        t.add({h.name, h.address.empty() ? "(not provisioned)" : h.address,
               zone.empty() ? "-" : zone, services_list(h),
               h.ssh.user + "@:" + std::to_string(h.ssh.port)});
    }
    t.print(std::cout);
    const auto& p = inv.patroni;
    std::cout << "\npatroni: timing " << p.timing << " (ttl " << p.ttl << "s, loop_wait "
              << p.loop_wait << "s, retry_timeout " << p.retry_timeout << "s), synchronous_mode "
              << (p.synchronous_mode ? "on" : "off") << ", maximum_lag_on_failover "
              << p.maximum_lag_on_failover << " bytes\n";
    std::cout << "haproxy: writes :" << inv.haproxy.write_port
              << ", reads :" << inv.haproxy.read_port << ", stats :" << inv.haproxy.stats_port
              << " (check every " << inv.haproxy.check_interval_ms << " ms, "
              << inv.haproxy.fast_check_interval_ms << " ms when down or changing, fall "
              << inv.haproxy.fall << ", rise " << inv.haproxy.rise << ")\n";
    std::cout << "state: " << inv.paths.state_dir << "\n";
    return 0;
}

}  // namespace

void register_inventory_commands(CLI::App& app, Context& ctx) {
    auto* inv = app.add_subcommand("inventory", "Validate or show an inventory");
    inv->require_subcommand(1);
    auto* chk = inv->add_subcommand("check", "Validate an inventory and list every problem");
    auto file = std::make_shared<std::string>();
    chk->add_option("file", *file, "Inventory file (default: -i)");
    chk->callback([&ctx, file] { ctx.action = [&ctx, file] { return check(ctx, *file); }; });
    auto* sh = inv->add_subcommand("show", "Print the resolved topology of an inventory");
    sh->callback([&ctx] { ctx.action = [&ctx] { return show(ctx); }; });
}

}  // namespace pgdr::cmd
