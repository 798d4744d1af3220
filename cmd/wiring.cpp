#include "cmd/wiring.hpp"

#include <sstream>

#include "core/state.hpp"
#include "net/ssh_transport.hpp"
#include "ovh/credentials.hpp"
#include "pg/secrets.hpp"

namespace pgdr::cmd {

Inventory resolved_inventory(Context& ctx) {
    Inventory inv = ctx.inventory();
    auto missing = apply_state(inv, load_state(inv.paths.state_dir));
    if (!missing.empty()) {
        std::string names;
        for (const auto& n : missing) {
            names += (names.empty() ? "" : ", ") + n;
        }
        throw config_error("no address known for " + names,
                           "run `pgdr provision` first, or give each host an address");
    }
    return inv;
}

std::unique_ptr<ClusterReach> cluster_reach(Context&, const Inventory&) {
    return std::make_unique<DirectReach>();
}

ClusterWiring::ClusterWiring(Context& ctx, const Inventory& inv) : reach(cluster_reach(ctx, inv)) {
    auto password = read_secret(inv.paths.state_dir, pg::k_superuser_secret);
    if (!password) {
        // The snapshot still reads Patroni, etcd and HAProxy; the assessment names the gap.
        sql = [dir = inv.paths.state_dir](const Endpoint&, const std::string&,
                                          std::chrono::milliseconds) {
            pg::QueryResult r;
            r.error.message = std::string("no ") + pg::k_superuser_secret + " in " + dir +
                              " (run `pgdr bootstrap` first)";
            return r;
        };
        return;
    }
    ctx.log->add_secret(*password);
    sql = pg::libpq_sql(pg::k_superuser, *password);
}

std::vector<const HostSpec*> select_hosts(const Inventory& inv, const std::string& hosts_csv,
                                          const std::string& service) {
    std::vector<const HostSpec*> out;
    std::set<std::string> wanted;
    std::stringstream ss(hosts_csv);
    for (std::string name; std::getline(ss, name, ',');) {
        if (name.empty()) {
            continue;
        }
        if (inv.find_host(name) == nullptr) {
            throw usage_error("no host '" + name + "' in the inventory",
                              "`pgdr inventory show` lists the hosts");
        }
        wanted.insert(name);
    }
    std::optional<Service> svc;
    if (!service.empty()) {
        if (service == "postgres") {
            svc = Service::postgres;
        } else if (service == "etcd") {
            svc = Service::etcd;
        } else if (service == "haproxy") {
            svc = Service::haproxy;
        } else {
            throw usage_error("unknown service '" + service + "'", "use postgres, etcd or haproxy");
        }
    }
    for (const auto& h : inv.hosts) {
        if (!wanted.empty() && wanted.count(h.name) == 0) {
            continue;
        }
        if (svc && !h.runs(*svc)) {
            continue;
        }
        out.push_back(&h);
    }
    return out;
}

std::unique_ptr<Transport> ssh_transport(Context& ctx, const HostSpec& host) {
    net::SshTarget target{host.name, host.address, host.ssh, ctx.accept_new_host_keys};
    return std::make_unique<net::SshTransport>(target, *ctx.log);
}

HostTransports connect_hosts(Context& ctx, const Inventory& inv) {
    HostTransports t;
    for (const auto& h : inv.hosts) {
        t.owned.push_back(ssh_transport(ctx, h));
        t.by_name[h.name] = t.owned.back().get();
    }
    return t;
}

OvhWiring::OvhWiring(Context& ctx, const std::string& inventory_endpoint,
                     const std::string& project, OvhTimeouts timeouts, bool need_consumer_key) {
    auto creds = ovh::load_credentials(ovh::CredentialSources::from_system(), inventory_endpoint);
    ovh::require_complete(creds, need_consumer_key);
    ovh::ClientOptions co;
    co.timeout = timeouts.api;
    co.user_agent = std::string("pgdr/") + PGDR_VERSION;
    client = std::make_unique<ovh::Client>(http, clock, *ctx.log, std::move(creds), co);
    ovh::WaitOptions wo;
    wo.timeout = timeouts.wait;
    api = std::make_unique<ovh::ProjectApi>(*client, clock, *ctx.log, project, wo);
}

}  // namespace pgdr::cmd
