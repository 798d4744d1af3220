// Where the cluster's certificates live on the hosts, and the one way pgdr runs etcdctl there.
//
//   /etc/pgdr/tls/ca.crt          0644 root               the cluster CA (pki/), every host
//   /etc/pgdr/tls/etcd.crt, .key  0600 etcd:etcd          etcd members: server, peer, client
//   /etc/pgdr/tls/postgres.crt,   0600 postgres:postgres  Patroni REST, PostgreSQL, Patroni's
//                 postgres.key                            etcd and REST client, patronictl
//   /etc/pgdr/tls/pgbackrest.crt, 0600 pgbackrest:        the repository host (backup.repo.type
//                 pgbackrest.key      pgbackrest          posix): pgBackRest's TLS server and
//                                                         its client to the members
// They are written by the bootstrap stage `certificates` (pg/stage_files.cpp), as secrets are:
// 0600 files over stdin, never argv or logs.
#pragma once

#include <string>
#include <vector>

#include "core/inventory.hpp"

namespace pgdr::pg {

struct TlsPaths {
    std::string dir = "/etc/pgdr/tls";
    std::string ca = "/etc/pgdr/tls/ca.crt";
    std::string etcd_cert = "/etc/pgdr/tls/etcd.crt";
    std::string etcd_key = "/etc/pgdr/tls/etcd.key";
    std::string postgres_cert = "/etc/pgdr/tls/postgres.crt";
    std::string postgres_key = "/etc/pgdr/tls/postgres.key";
    std::string pgbackrest_cert = "/etc/pgdr/tls/pgbackrest.crt";
    std::string pgbackrest_key = "/etc/pgdr/tls/pgbackrest.key";
    std::string guard_cert = "/etc/pgdr/tls/guard.crt";  // pgdr-guard's etcd client
    std::string guard_key = "/etc/pgdr/tls/guard.key";
};
const TlsPaths& tls_paths();

// One certificate the certificates stage installs on a host, with its key when it has one.
inline constexpr const char* k_ca_service = "ca";
struct HostCertificate {
    std::string service;    // k_ca_service or a pki:: service (etcd, postgres, pgbackrest)
    std::string cert_path;  // 0644
    std::string key_path;   // 0600; "" for the CA
    std::string owner;      // "user:group"; "" = root
};
// What `host` holds, in the order the stage writes it: the CA (every host), etcd's pair (etcd
// members), the postgres pair (PostgreSQL hosts), the pgbackrest pair (the repository host),
// pgdr-guard's client pair (the guard hosts, guard.enabled).
// `pgdr certs status` reads the same list.
std::vector<HostCertificate> host_certificates(const Inventory& inv, const HostSpec& host);

// etcdctl on an etcd member, as root, over TLS with the member's own client certificate:
// `etcdctl --endpoints=ENDPOINTS --cacert=... --cert=... --key=... --dial-timeout=2s
// --command-timeout=3s` followed by `args`. The one place that builds an etcdctl command line.
std::vector<std::string> etcdctl_argv(const std::string& endpoints,
                                      const std::vector<std::string>& args);
// "https://127.0.0.1:PORT": the local member.
std::string local_etcd_endpoint(int client_port);

// A Python preamble that defines CTX, an ssl context trusting the cluster CA, and (with
// client_cert) presenting the host's postgres certificate: for the REST calls bootstrap makes
// on a PostgreSQL host (urlopen(url, context=CTX)).
std::string python_tls_preamble(bool client_cert);

}  // namespace pgdr::pg
