// pgdr guard status: the agents, their last probe and decision, the fence lock and the
// failovers, from /pgdr/<cluster>/guard/ in etcd (guard/status.hpp).
#include "cmd/guard_cmd.hpp"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "cmd/wiring.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "guard/agent_config.hpp"
#include "guard/inventory_config.hpp"
#include "guard/status.hpp"
#include "ovh/credentials.hpp"
#include "ovh/host_control.hpp"
#include "pg/etcdctl.hpp"

namespace pgdr::cmd {

namespace {

std::string guard_binary() {
    if (const char* env = std::getenv("PGDR_GUARD_BINARY"); env != nullptr && *env != '\0') {
        return env;
    }
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        for (const auto& candidate : {self.parent_path() / "pgdr-guard",
                                      self.parent_path() / "../guard/agent/pgdr-guard"}) {
            if (std::filesystem::exists(candidate, ec)) {
                return candidate.lexically_normal().string();
            }
        }
    }
    throw config_error("cannot find the pgdr-guard binary beside pgdr",
                       "install pgdr with `cmake --install` (it installs pgdr-guard beside it), "
                       "or name it in PGDR_GUARD_BINARY");
}

// The agents' key file, read as the official clients read ovh.conf, rewritten for `endpoint`.
std::string agents_credentials(Context& ctx, const Inventory& inv, const std::string& endpoint) {
    const std::string file = inv.guard.credentials_file.empty()
                                 ? inv.paths.state_dir + "/secrets/guard-ovh.conf"
                                 : inv.guard.credentials_file;
    read_private_file(file, "pgdr-guard's provider key",
                      "`pgdr ovh credential --guard` requests one limited to the power routes; "
                      "write it there (ovh.conf's format), mode 0600");
    ovh::CredentialSources sources;
    sources.files = {file};
    const ovh::Credentials c = ovh::load_credentials(sources, endpoint);
    if (c.application_key.empty() || c.application_secret.empty() || c.consumer_key.empty()) {
        throw config_error(file +
                               " has no application_key, application_secret and consumer_key "
                               "in its [" +
                               endpoint + "] section",
                           "the section is named by the endpoint the hosts use "
                           "(guard.provider_endpoint)");
    }
    ctx.log->add_secret(c.application_secret);
    ctx.log->add_secret(c.consumer_key);
    return "; Written by pgdr bootstrap (the guard stage): pgdr-guard's provider key.\n"
           "[default]\nendpoint=" +
           endpoint + "\n\n[" + endpoint + "]\napplication_key=" + c.application_key +
           "\napplication_secret=" + c.application_secret + "\nconsumer_key=" + c.consumer_key +
           "\n";
}

guard::GuardStatus read_guard_status(const Inventory& inv, TransportMap transports) {
    pg::EtcdCtl etcd(inv, std::move(transports));
    const std::string prefix = "/pgdr/" + inv.cluster + "/guard/";
    const auto r = etcd.run({"get", "--prefix", prefix, "-w", "json"});
    if (!r.ok()) {
        throw Error(ExitCode::unreachable, "etcdctl get " + prefix + " failed: " + r.err);
    }
    return guard::guard_status(guard::etcdctl_kvs(r.out), prefix);
}

int guard_status(Context& ctx) {
    Inventory inv = resolved_inventory(ctx);
    HostTransports hosts = connect_hosts(ctx, inv);
    const auto status = read_guard_status(inv, hosts.by_name);
    std::vector<std::string> expected;
    if (inv.guard.enabled) {
        for (const auto* h : inv.guard_hosts()) {
            expected.push_back(h->name);
        }
    }
    const auto ready = guard::readiness_of(status, expected, inv.guard.quorum);
    if (ctx.json()) {
        auto j = guard::to_json(status);
        j["enabled"] = inv.guard.enabled;
        j["expected_agents"] = expected;
        j["live_agents"] = ready.live;
        j["quorum"] = ready.quorum;
        j["armed"] = inv.guard.enabled && ready.armed();
        std::cout << j.dump(2) << std::endl;
    } else {
        if (!inv.guard.enabled) {
            std::cout << "guard: not enabled in the inventory (guard: {enabled: true})\n";
        } else {
            std::cout << guard::render_readiness(ready);
        }
        std::cout << guard::render_text(status, expected, std::chrono::system_clock::now());
    }
    return inv.guard.enabled && ready.live < ready.expected ? 1 : 0;
}

}  // namespace

pg::GuardInputs load_guard_inputs(Context& ctx, const Inventory& inv, const ClusterState& state) {
    pg::GuardInputs in;
    const auto ids = ovh::instance_ids(state);
    for (const auto* h : inv.guard_hosts()) {
        in.agent_configs[h->name] =
            guard::render_agent_config(guard::agent_config_for(inv, *h, ids));
    }
    in.credentials = agents_credentials(ctx, inv, guard::agent_endpoint(inv));
    if (!inv.guard.provider_ca_file.empty()) {
        auto pem = read_text_file(inv.guard.provider_ca_file);
        if (!pem || pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
            throw config_error("guard.provider_ca_file " + inv.guard.provider_ca_file +
                               " is not a readable PEM certificate");
        }
        in.provider_ca_pem = *pem;
    }
    const std::string binary = guard_binary();
    auto bytes = read_text_file(binary);
    if (!bytes || bytes->empty()) {
        throw config_error("cannot read the pgdr-guard binary " + binary);
    }
    in.agent_binary = std::move(*bytes);
    return in;
}

nlohmann::json guard_summary(const Inventory& inv, TransportMap transports) {
    if (!inv.guard.enabled) {
        return nullptr;
    }
    std::vector<std::string> expected;
    for (const auto* h : inv.guard_hosts()) {
        expected.push_back(h->name);
    }
    try {
        return guard::summary_json(read_guard_status(inv, std::move(transports)), expected,
                                   inv.guard.quorum);
    } catch (const std::exception& e) {
        return {{"error", e.what()}};
    }
}

std::vector<drills::GuardFailoverRecord> guard_failover_records(const Inventory& inv,
                                                                TransportMap transports) {
    std::vector<drills::GuardFailoverRecord> out;
    for (const auto& f : read_guard_status(inv, std::move(transports)).failovers) {
        drills::GuardFailoverRecord r;
        r.agent = f.value("agent", "");
        for (const auto& p : f.value("phases", nlohmann::json::array())) {
            r.phases.emplace_back(p.value("name", ""),
                                  std::chrono::system_clock::time_point(
                                      std::chrono::milliseconds(p.value("at_ms", 0LL))));
        }
        out.push_back(std::move(r));
    }
    return out;
}

void register_guard_commands(CLI::App& app, Context& ctx) {
    auto* guard = app.add_subcommand(
        "guard", "pgdr-guard, fenced fast failover: the agents, their decisions, failovers");
    guard->require_subcommand(1);
    auto* st = guard->add_subcommand(
        "status", "Every agent's last probe and decision, the fence lock and the failovers");
    st->callback([&ctx] { ctx.action = [&ctx] { return guard_status(ctx); }; });
}

}  // namespace pgdr::cmd
