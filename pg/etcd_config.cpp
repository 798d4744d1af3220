#include "pg/etcd_config.hpp"

#include "core/error.hpp"
#include "core/net_address.hpp"
#include "monitoring/config.hpp"
#include "pg/debian_paths.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

namespace {

// Values systemd's EnvironmentFile reads literally inside double quotes.
std::string env_value(const std::string& value, const std::string& what) {
    for (char c : value) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_' || c == ':' || c == '/' || c == ',' || c == '=';
        if (!ok) {
            throw config_error("etcd configuration: " + what +
                               " holds a character that /etc/default/etcd cannot carry safely");
        }
    }
    return "\"" + value + "\"";
}

const std::string& member_address(const HostSpec& h) {
    if (!parse_ipv4(h.address)) {
        throw config_error(
            "etcd member " + h.name + ": address '" + h.address + "' is not an IPv4 address",
            "etcd listens on IP addresses; give the host its IPv4 address");
    }
    return h.address;
}

std::string url(const std::string& address, int port, const char* scheme = "https") {
    return std::string(scheme) + "://" + address + ":" + std::to_string(port);
}

std::string initial_cluster(const Inventory& inv, const char* scheme) {
    std::string out;
    for (const auto* h : inv.hosts_with(Service::etcd)) {
        if (!out.empty()) {
            out += ',';
        }
        out += h->name + "=" + url(member_address(*h), inv.etcd.peer_port, scheme);
    }
    return out;
}

}  // namespace

std::string etcd_initial_cluster(const Inventory& inv) {
    return initial_cluster(inv, "https");
}

std::string etcd_membership(const Inventory& inv) {
    return initial_cluster(inv, "http");
}

std::string etcd_cluster_token(const Inventory& inv) {
    return "pgdr-" + inv.cluster;
}

std::string render_etcd_dropin(const Inventory& inv) {
    return "# Managed by pgdr (cluster " + inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n"
           "# A member that fails (its address not up yet at boot) is started again, without a\n"
           "# limit: Debian's unit restarts etcd only after a signal.\n"
           "[Unit]\n"
           "After=network-online.target\n"
           "Wants=network-online.target\n"
           "StartLimitIntervalSec=0\n"
           "\n"
           "[Service]\n"
           "Restart=on-failure\n"
           "RestartSec=2s\n";
}

std::string render_etcd_defaults(const Inventory& inv, const HostSpec& host, EtcdClients clients) {
    if (!host.runs(Service::etcd)) {
        throw config_error("host " + host.name + " does not run etcd");
    }
    const auto paths = debian_paths(inv);
    const std::string& address = member_address(host);
    const auto& release = debian_release(inv.release);
    auto line = [](const std::string& key, const std::string& value) {
        return key + "=" + env_value(value, key) + "\n";
    };
    std::string out = "# Managed by pgdr (cluster " + inv.cluster +
                      "): `pgdr bootstrap` rewrites this file.\n"
                      "# Static bootstrap of " +
                      std::to_string(inv.hosts_with(Service::etcd).size()) + " members.\n";
    out += line("ETCD_NAME", host.name);
    out += line("ETCD_DATA_DIR", paths.etcd_data_dir);
    out += line("ETCD_LISTEN_PEER_URLS", url(address, inv.etcd.peer_port));
    std::string listen_clients =
        url(address, inv.etcd.client_port) + "," + url("127.0.0.1", inv.etcd.client_port);
    if (clients == EtcdClients::tls_and_plain) {
        out +=
            "# Moving to TLS: plain-HTTP clients are served too until Patroni restarts on TLS.\n";
        listen_clients += "," + url(address, inv.etcd.client_port, "http") + "," +
                          url("127.0.0.1", inv.etcd.client_port, "http");
    }
    out += line("ETCD_LISTEN_CLIENT_URLS", listen_clients);
    out += line("ETCD_INITIAL_ADVERTISE_PEER_URLS", url(address, inv.etcd.peer_port));
    // TLS also while moving: Patroni's etcd client takes the members' advertised client URLs
    // over its configured hosts, and a plain URL sent Patroni 3.0.2, restarted on TLS, to etcd
    // 3.4's plain gateway, which fails where the port also serves TLS ("waiting on etcd").
    out += line("ETCD_ADVERTISE_CLIENT_URLS", url(address, inv.etcd.client_port));
    // /metrics and /health without a client certificate, for Prometheus (monitoring/config.hpp).
    if (!monitoring::monitor_hosts(inv).empty()) {
        out +=
            line("ETCD_LISTEN_METRICS_URLS", url(address, monitoring::k_etcd_metrics_port, "http"));
    }
    out += line("ETCD_INITIAL_CLUSTER", etcd_initial_cluster(inv));
    out += line("ETCD_INITIAL_CLUSTER_STATE", "new");
    out += line("ETCD_INITIAL_CLUSTER_TOKEN", etcd_cluster_token(inv));
    // TLS for clients and peers, and only certificates of the cluster CA get in (pg/tls.hpp).
    const auto& tls = tls_paths();
    out += line("ETCD_CERT_FILE", tls.etcd_cert);
    out += line("ETCD_KEY_FILE", tls.etcd_key);
    out += line("ETCD_TRUSTED_CA_FILE", tls.ca);
    out += line("ETCD_CLIENT_CERT_AUTH", "true");
    out += line("ETCD_PEER_CERT_FILE", tls.etcd_cert);
    out += line("ETCD_PEER_KEY_FILE", tls.etcd_key);
    out += line("ETCD_PEER_TRUSTED_CA_FILE", tls.ca);
    out += line("ETCD_PEER_CLIENT_CERT_AUTH", "true");
    // Bounded history and memory. Patroni rewrites its keys every loop; without compaction etcd
    // keeps every revision until its backend quota (2 GiB) raises the NOSPACE alarm, after which
    // no member can renew the leader key. etcd 3.4 and 3.5 also hold 100000 applied raft entries
    // in memory before a snapshot: 10000 bounds the memory a member grows with uptime.
    out += line("ETCD_AUTO_COMPACTION_MODE", "periodic");
    out += line("ETCD_AUTO_COMPACTION_RETENTION", "1h");
    out += line("ETCD_SNAPSHOT_COUNT", "10000");
    if (release.etcd_v2_needed) {
        out += line("ETCD_ENABLE_V2", "true");
    }
    return out;
}

std::string etcd_client_endpoints(const Inventory& inv) {
    std::string endpoints;
    for (const auto* h : inv.hosts_with(Service::etcd)) {
        endpoints += (endpoints.empty() ? "" : ",") + url(h->address, inv.etcd.client_port);
    }
    return endpoints;
}

}  // namespace pgdr::pg
