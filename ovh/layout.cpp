#include "ovh/layout.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "core/backup_repo.hpp"
#include "core/error.hpp"
#include "core/net_address.hpp"
#include "monitoring/config.hpp"

namespace pgdr::ovh {

std::string instance_name(const Inventory& inv, const HostSpec& host) {
    return "pgdr-" + inv.cluster + "-" + host.name;
}

std::string ssh_key_name(const Inventory& inv) {
    return "pgdr-" + inv.cluster;
}

std::string regional_name(const Inventory& inv, const std::string& what,
                          const std::string& region) {
    return "pgdr-" + inv.cluster + "-" + what + "-" + region;
}

std::string host_region(const Inventory& inv, const HostSpec& host) {
    if (!host.region.empty()) {
        return host.region;
    }
    return inv.ovh.regions.empty() ? std::string() : inv.ovh.regions.front();
}

std::vector<std::string> regions_in_use(const Inventory& inv) {
    std::vector<std::string> used;
    for (const auto& h : inv.hosts) {
        auto r = host_region(inv, h);
        if (std::find(used.begin(), used.end(), r) == used.end()) {
            used.push_back(r);
        }
    }
    std::vector<std::string> ordered;
    for (const auto& r : inv.ovh.regions) {
        if (std::find(used.begin(), used.end(), r) != used.end()) {
            ordered.push_back(r);
        }
    }
    for (const auto& r : used) {
        if (std::find(ordered.begin(), ordered.end(), r) == ordered.end()) {
            ordered.push_back(r);
        }
    }
    return ordered;
}

std::vector<const HostSpec*> hosts_in_region(const Inventory& inv, const std::string& region) {
    std::vector<const HostSpec*> out;
    for (const auto& h : inv.hosts) {
        if (host_region(inv, h) == region) {
            out.push_back(&h);
        }
    }
    return out;
}

namespace {

Cidr cluster_cidr(const Inventory& inv) {
    auto c = parse_cidr(inv.network_cidr);
    if (!c) {
        throw config_error("network.cidr '" + inv.network_cidr + "' is not a CIDR block");
    }
    return *c;
}

std::uint32_t block_size(const Cidr& c) {
    return c.prefix == 0 ? 0xffffffffu : (1u << (32 - c.prefix));
}

}  // namespace

std::map<std::string, std::string> private_addresses(const Inventory& inv) {
    const Cidr c = cluster_cidr(inv);
    const std::uint32_t size = block_size(c);
    std::map<std::string, std::string> out;
    std::uint32_t index = 0;
    for (const auto& h : inv.hosts) {
        std::string ip = h.address;
        if (ip.empty()) {
            const std::uint32_t offset = 10 + index;
            if (offset >= size / 2) {
                throw config_error("network.cidr " + inv.network_cidr + " is too small for " +
                                       std::to_string(inv.hosts.size()) + " hosts",
                                   "use a /24 (pgdr gives hosts .10 upwards and leaves the upper "
                                   "half to DHCP)");
            }
            ip = format_ipv4(c.network + offset);
        }
        out[h.name] = ip;
        ++index;
    }
    return out;
}

nlohmann::json allocation_pools(const Inventory& inv, std::size_t index, std::size_t count) {
    const Cidr c = cluster_cidr(inv);
    const std::uint32_t size = block_size(c);
    const std::uint32_t first = size / 2;
    const std::uint32_t last = size - 2;  // below the broadcast address
    const std::uint32_t span = last >= first ? (last - first + 1) : 0;
    const auto n = static_cast<std::uint32_t>(std::max<std::size_t>(1, count));
    const std::uint32_t slice = span / n;
    if (slice == 0) {
        return nlohmann::json::array();
    }
    const std::uint32_t start = first + slice * static_cast<std::uint32_t>(index);
    return nlohmann::json::array({{{"start", format_ipv4(c.network + start)},
                                   {"end", format_ipv4(c.network + start + slice - 1)}}});
}

nlohmann::json security_group_rules(const Inventory& inv) {
    struct Range {
        int min, max;
        std::string what;
    };
    // Cluster ports: only the members talk on them (replication, Patroni, etcd, HAProxy's
    // checks), so only the members' own addresses may, not every machine of the subnet.
    std::vector<Range> cluster{{5432, 5432, "PostgreSQL"},
                               {inv.patroni.rest_port, inv.patroni.rest_port, "Patroni REST API"}};
    const int lo = std::min(inv.etcd.client_port, inv.etcd.peer_port);
    const int hi = std::max(inv.etcd.client_port, inv.etcd.peer_port);
    if (hi - lo == 1) {
        cluster.push_back({lo, hi, "etcd client and peer"});
    } else {
        cluster.push_back({inv.etcd.client_port, inv.etcd.client_port, "etcd client"});
        cluster.push_back({inv.etcd.peer_port, inv.etcd.peer_port, "etcd peer"});
    }
    // Monitoring (monitoring/config.hpp): Prometheus scrapes every host's exporters and etcd's
    // metrics listener, pgdr and Prometheus reach Alertmanager; only from the members too.
    if (!monitoring::monitor_hosts(inv).empty()) {
        for (const auto& [port, what] : std::vector<std::pair<int, const char*>>{
                 {monitoring::k_node_exporter_port, "node exporter"},
                 {monitoring::k_postgres_exporter_port, "PostgreSQL exporter"},
                 {monitoring::k_haproxy_exporter_port, "HAProxy exporter"},
                 {monitoring::k_etcd_metrics_port, "etcd metrics"},
                 {monitoring::k_prometheus_port, "Prometheus"},
                 {monitoring::k_alertmanager_port, "Alertmanager"}}) {
            cluster.push_back({port, port, what});
        }
    }
    // HAProxy's ports serve the applications: the subnet and haproxy.client_cidrs.
    std::vector<Range> clients;
    if (!inv.hosts_with(Service::haproxy).empty()) {
        clients.push_back({inv.haproxy.write_port, inv.haproxy.write_port, "HAProxy writes"});
        clients.push_back({inv.haproxy.read_port, inv.haproxy.read_port, "HAProxy reads"});
        clients.push_back({inv.haproxy.stats_port, inv.haproxy.stats_port, "HAProxy stats"});
    }
    std::vector<std::string> client_sources{inv.network_cidr};
    for (const auto& c : inv.haproxy.client_cidrs) {
        if (std::find(client_sources.begin(), client_sources.end(), c) == client_sources.end()) {
            client_sources.push_back(c);
        }
    }
    nlohmann::json rules = nlohmann::json::array();
    std::set<std::tuple<int, int, std::string>> seen;
    auto add = [&](int min, int max, const std::string& from, const std::string& what) {
        if (!seen.insert({min, max, from}).second) {
            return;
        }
        rules.push_back({{"direction", "INGRESS"},
                         {"ethernetType", "IPV4"},
                         {"protocol", "TCP"},
                         {"portRangeMin", min},
                         {"portRangeMax", max},
                         {"remoteIpPrefix", from},
                         {"description", "pgdr: " + what}});
    };
    const auto addresses = private_addresses(inv);
    for (const auto& r : cluster) {
        for (const auto& h : inv.hosts) {
            add(r.min, r.max, addresses.at(h.name) + "/32", r.what + " from " + h.name);
        }
    }
    // pgBackRest's TLS server (pg/pgbackrest_conf.hpp): only between the members (backups from
    // a standby) and the repository host.
    if (inv.backup) {
        for (const auto& h : inv.hosts) {
            if (h.runs(Service::postgres) || is_backup_repo_host(inv, h.name)) {
                add(k_pgbackrest_tls_port, k_pgbackrest_tls_port, addresses.at(h.name) + "/32",
                    "pgBackRest TLS server from " + h.name);
            }
        }
    }
    for (const auto& r : clients) {
        for (const auto& from : client_sources) {
            add(r.min, r.max, from, r.what);
        }
    }
    for (const auto& cidr : inv.ssh_allowed_cidrs) {
        add(22, 22, cidr, "SSH");
    }
    return rules;
}

std::vector<std::string> rule_keys(const nlohmann::json& rules) {
    std::vector<std::string> keys;
    if (!rules.is_array()) {
        return keys;
    }
    auto text = [](const nlohmann::json& r, const char* k) {
        if (!r.contains(k) || r[k].is_null()) {
            return std::string("*");
        }
        return r[k].is_string() ? r[k].get<std::string>() : r[k].dump();
    };
    for (const auto& r : rules) {
        keys.push_back(text(r, "direction") + " " + text(r, "ethernetType") + " " +
                       text(r, "protocol") + " " + text(r, "portRangeMin") + "-" +
                       text(r, "portRangeMax") + " " + text(r, "remoteIpPrefix"));
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

std::string availability_zone(const HostSpec& host) {
    return host.zone.find('-') != std::string::npos ? host.zone : std::string();
}

}  // namespace pgdr::ovh
