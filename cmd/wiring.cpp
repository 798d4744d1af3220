#include "cmd/wiring.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/files.hpp"
#include "core/state.hpp"
#include "drills/fault_journal.hpp"
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
    // The state directory holds the cluster's passwords: never readable by other users.
    for (const auto& dir : {inv.paths.state_dir, inv.paths.state_dir + "/secrets"}) {
        if (restrict_directory(dir)) {
            ctx.log->warn(dir + " was open to other users: its mode is now 0700");
        }
    }
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

namespace {
const HostSpec* dr_host(const Inventory& inv, const std::string& name) {
    if (inv.dr) {
        for (const auto& h : inv.dr->hosts) {
            if (h.name == name) {
                return &h;
            }
        }
    }
    return nullptr;
}
}  // namespace

std::vector<const HostSpec*> select_hosts(const Inventory& inv, const std::string& hosts_csv,
                                          const std::string& service) {
    std::vector<const HostSpec*> out;
    std::set<std::string> wanted;
    std::stringstream ss(hosts_csv);
    for (std::string name; std::getline(ss, name, ',');) {
        if (name.empty()) {
            continue;
        }
        if (inv.find_host(name) == nullptr && dr_host(inv, name) == nullptr) {
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
    // A DR cluster's hosts (the inventory's dr section) when named.
    if (inv.dr) {
        for (const auto& h : inv.dr->hosts) {
            if (wanted.count(h.name) != 0 && (!svc || h.runs(*svc))) {
                out.push_back(&h);
            }
        }
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
    net::SshReachOptions o;
    o.access = how;
    for (const bool postgres : {false, true}) {
        for (const auto& h : inv.hosts) {
            if (h.runs(Service::postgres) == postgres && avoid.count(h.name) == 0) {
                vantages.push_back(ssh_target(ctx, h));
                if (postgres) {
                    o.members.push_back(h.name);
                }
            }
        }
    }
    return std::make_unique<net::SshReach>(std::move(vantages), o, *ctx.log);
}

bool ask_terminal(const std::string& q) {
    std::cerr << q << " [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) {
        std::cerr << "\n";
        return false;
    }
    return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
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

namespace {

std::string machine_name() {
    char host[256] = {};
    return ::gethostname(host, sizeof host - 1) == 0 ? std::string(host) : std::string("?");
}

std::string user_name() {
    const auto* pw = ::getpwuid(::getuid());
    if (pw != nullptr && pw->pw_name != nullptr) {
        return pw->pw_name;
    }
    const char* env = std::getenv("USER");
    return env != nullptr ? env : "uid" + std::to_string(::getuid());
}

}  // namespace

std::unique_ptr<ClusterLock> take_cluster_lock(Context& ctx, const Inventory& inv,
                                               const std::string& break_lock) {
    if (!break_lock.empty() && break_lock != inv.cluster) {
        throw usage_error(
            "--break-lock " + break_lock + ": the inventory's cluster is " + inv.cluster,
            "type the cluster's name: --break-lock " + inv.cluster);
    }
    auto out = std::make_unique<ClusterLock>();
    out->hosts = connect_hosts(ctx, inv);
    out->etcd = std::make_unique<pg::EtcdCtl>(inv, out->hosts.by_name);
    pg::LockHolder me;
    me.host = machine_name();
    me.holder = user_name() + "@" + me.host;
    me.command = ctx.command_line;
    me.pid = static_cast<long>(::getpid());
    me.started_at = format_utc(std::chrono::system_clock::now());
    pg::LockOptions o;
    const char* parent = std::getenv(pg::k_lock_lease_env);
    o.join_lease = parent != nullptr ? parent : "";
    o.break_lock = !break_lock.empty();
    out->lock = std::make_unique<pg::OperationLock>(
        *out->etcd, inv.cluster, me, o, [&ctx](const std::string& m) { ctx.log->warn(m); });
    if (!out->lock->joined()) {
        out->lease_env.emplace(pg::k_lock_lease_env, out->lock->lease());
    }
    ctx.log->info("cluster lock " + pg::operation_lock_key(inv.cluster) +
                  (out->lock->joined() ? " joined (lease " : " taken (lease ") +
                  out->lock->lease() + ")");
    return out;
}

void add_break_lock_option(CLI::App* cmd, std::string& break_lock) {
    cmd->add_option("--break-lock", break_lock,
                    "Remove another command's cluster lock first (type the cluster's name); "
                    "only when that command is gone for good");
}

namespace {

std::optional<drills::FoundJournal> left_fault(const Inventory& inv,
                                               const TransportMap& transports) {
    const auto topology = drills::drill_topology(inv);
    return drills::find_fault_journal(
        inv.paths.state_dir, topology, [&transports](const std::string& host) -> Transport& {
            auto it = transports.find(host);
            if (it == transports.end() || it->second == nullptr) {
                throw Error(ExitCode::internal, "no transport for host " + host);
            }
            return *it->second;
        });
}

std::string restore_command(Context& ctx) {
    return "pgdr -i " + ctx.inventory_path + " drill --heal";
}

}  // namespace

void refuse_left_fault(Context& ctx, const Inventory& inv, const TransportMap& transports) {
    auto found = left_fault(inv, transports);
    if (!found) {
        return;
    }
    throw Error(ExitCode::verification_failed,
                "an interrupted drill left " + drills::describe(found->journal) + " in place (" +
                    found->where + "); the cluster is not as pgdr left it",
                "restore it first: " + restore_command(ctx));
}

std::string left_fault_notice(Context& ctx, const Inventory& inv, const TransportMap& transports) {
    auto found = left_fault(inv, transports);
    if (!found) {
        return {};
    }
    return drills::describe(found->journal) + " is in place (" + found->where +
           "): a drill still running, or one that was interrupted; `" + restore_command(ctx) +
           "` restores it once no drill holds the cluster lock";
}

}  // namespace pgdr::cmd
