// pgdr check: preflight of the inventory's hosts.
#include <iostream>

#include "cmd/context.hpp"
#include "cmd/table.hpp"
#include "cmd/wiring.hpp"
#include "core/preflight.hpp"

namespace pgdr::cmd {

namespace {
std::string mark(bool ok) {
    return ok ? "ok" : "FAIL";
}

nlohmann::json to_json(const PreflightReport& rep) {
    nlohmann::json hosts = nlohmann::json::array();
    for (const auto& h : rep.hosts) {
        nlohmann::json ports = nlohmann::json::array();
        for (const auto& p : h.ports) {
            ports.push_back({{"to", p.target.host},
                             {"address", p.target.address},
                             {"port", p.target.port},
                             {"service", p.target.service},
                             {"result", p.result},
                             {"ok", p.ok()}});
        }
        hosts.push_back({{"host", h.host},
                         {"address", h.address},
                         {"reachable", h.reachable},
                         {"error", h.error},
                         {"os", h.os_pretty},
                         {"os_codename", h.os_codename},
                         {"os_ok", h.os_ok},
                         {"sudo_ok", h.sudo_ok},
                         {"free_disk_mb", h.free_disk_mb},
                         {"disk_ok", h.disk_ok},
                         {"clock_offset_s", h.clock_offset_s},
                         {"ports", ports}});
    }
    return {{"ok", rep.ok()},
            {"hosts", hosts},
            {"max_clock_skew_s", rep.max_skew_s},
            {"problems", rep.problems}};
}
}  // namespace

int run_check(Context& ctx, const std::string& hosts_csv, const std::string& service) {
    auto inv = resolved_inventory(ctx);
    auto hosts = select_hosts(inv, hosts_csv, service);
    SystemClock clock;
    auto rep = run_preflight(
        inv, hosts, [&ctx](const HostSpec& h) { return ssh_transport(ctx, h); }, clock);
    if (ctx.json()) {
        std::cout << to_json(rep).dump(2) << '\n';
    } else {
        Table t({"HOST", "ADDRESS", "SSH", "OS", "SUDO", "DISK /var/lib", "CLOCK", "PORTS"});
        for (const auto& h : rep.hosts) {
            if (!h.reachable) {
                t.add({h.host, h.address, "FAIL", "-", "-", "-", "-", "-"});
                continue;
            }
            size_t ok_ports = 0;
            for (const auto& p : h.ports) {
                ok_ports += p.ok() ? 1 : 0;
            }
            char clock_buf[32];
            std::snprintf(clock_buf, sizeof clock_buf, "%+.3fs", h.clock_offset_s);
            t.add({h.host, h.address, "ok",
                   mark(h.os_ok) + " (" + (h.os_codename.empty() ? "?" : h.os_codename) + ")",
                   mark(h.sudo_ok),
                   mark(h.disk_ok) + " (" + std::to_string(h.free_disk_mb) + " MiB)", clock_buf,
                   std::to_string(ok_ports) + "/" + std::to_string(h.ports.size()) +
                       (ok_ports == h.ports.size() ? " ok" : " FAIL")});
        }
        t.print(std::cout);
        char skew[64];
        std::snprintf(skew, sizeof skew, "%.3f s", rep.max_skew_s);
        std::cout << "\nclock skew between hosts: " << skew << "\n";
        if (rep.ok()) {
            std::cout << "all checks passed\n";
        } else {
            std::cout << rep.problems.size() << " problem" << (rep.problems.size() == 1 ? "" : "s")
                      << ":\n";
            for (const auto& p : rep.problems) {
                std::cout << "  - " << p << '\n';
            }
        }
    }
    return rep.ok() ? 0 : static_cast<int>(ExitCode::verification_failed);
}

}  // namespace pgdr::cmd
