#include "cmd/wiring.hpp"

#include <filesystem>
#include <sstream>

#include "core/state.hpp"
#include "net/ssh_forwarder.hpp"
#include "net/ssh_reach.hpp"
#include "net/ssh_transport.hpp"
#include "ovh/credentials.hpp"
#include "pg/libpq.hpp"
#include "pg/patroni_api.hpp"
#include "pg/secrets.hpp"
#include "pki/cluster_certs.hpp"

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

void use_cluster_tls(net::CurlHttpClient& http, const Inventory& inv) {
    const std::string dir = pki::pki_dir(inv.paths.state_dir);
    if (!std::filesystem::exists(dir + "/ca.crt")) {
        return;
    }
    http.use_tls({dir + "/ca.crt", dir + "/" + pki::k_operator_name + ".crt",
                  dir + "/" + pki::k_operator_name + ".key"});
    pg::use_cluster_ca(dir + "/ca.crt");
}

std::string haproxy_authorization(Context& ctx, const Inventory& inv) {
    auto password = read_secret(inv.paths.state_dir, pg::k_haproxy_stats_secret);
    if (!password) {
        return {};
    }
    ctx.log->add_secret(*password);
    return "Basic " + pg::base64(std::string(pg::k_haproxy_stats_user) + ":" + *password);
}

ClusterWiring::ClusterWiring(Context& ctx, const Inventory& inv) : reach(cluster_reach(ctx, inv)) {
    use_cluster_tls(http, inv);
    haproxy_auth = haproxy_authorization(ctx, inv);
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

namespace {

// "[user@]host[:port]" (validated by the inventory parser) as an SSH target with the host's
// other SSH settings (key, known_hosts, timeouts).
net::SshTarget jump_target(Context& ctx, const SshSettings& from) {
    std::string spec = from.jump_host;
    net::SshTarget t;
    t.ssh = from;
    t.ssh.jump_host.clear();
    t.ssh.address.clear();
    t.ssh.port = 22;
    t.accept_new_host_keys = ctx.accept_new_host_keys;
    if (auto at = spec.find('@'); at != std::string::npos) {
        t.ssh.user = spec.substr(0, at);
        spec = spec.substr(at + 1);
    }
    const auto close = spec.find(']');
    const auto colon = spec.rfind(':');
    if (colon != std::string::npos && (close == std::string::npos || colon > close)) {
        t.ssh.port = std::stoi(spec.substr(colon + 1));
        spec = spec.substr(0, colon);
    }
    if (!spec.empty() && spec.front() == '[') {
        spec = spec.substr(1, spec.size() - 2);
    }
    t.name = "bastion " + spec;
    t.address = spec;
    return t;
}

}  // namespace

net::SshTarget ssh_target(Context& ctx, const HostSpec& host) {
    net::SshTarget target{host.name, host.ssh_address(), host.ssh, ctx.accept_new_host_keys,
                          nullptr};
    if (!host.ssh.jump_host.empty()) {
        auto& jump = ctx.jump_hosts[host.ssh.jump_host];
        if (!jump) {
            jump = std::make_shared<net::SshForwarder>(
                jump_target(ctx, host.ssh), *ctx.log,
                std::chrono::seconds(host.ssh.connect_timeout_s));
        }
        target.jump = jump;
    }
    return target;
}

std::unique_ptr<Transport> ssh_transport(Context& ctx, const HostSpec& host) {
    return std::make_unique<net::SshTransport>(ssh_target(ctx, host), *ctx.log);
}

std::unique_ptr<ClusterReach> cluster_reach(Context& ctx, const Inventory& inv,
                                            const std::set<std::string>& avoid,
                                            std::optional<PortAccess> access) {
    const PortAccess how = access.value_or(inv.port_access());
    if (how == PortAccess::direct) {
        return std::make_unique<DirectReach>();
    }
    std::vector<net::SshTarget> vantages;
    for (const bool postgres : {false, true}) {
        for (const auto& h : inv.hosts) {
            if (h.runs(Service::postgres) == postgres && avoid.count(h.name) == 0) {
                vantages.push_back(ssh_target(ctx, h));
            }
        }
    }
    net::SshReachOptions o;
    o.access = how;
    return std::make_unique<net::SshReach>(std::move(vantages), o, *ctx.log);
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
