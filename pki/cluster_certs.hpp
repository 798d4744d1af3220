// The cluster's CA and one certificate per host and service, kept in the state directory.
//
// Layout of <state_dir>/pki/ (directory 0700, every file 0600):
//   ca.crt, ca.key                   the cluster CA (EC P-256, 10 years), made once
//   <host>.etcd.crt, .key            etcd member: server + client (peer TLS needs both)
//   <host>.postgres.crt, .key        Patroni REST, PostgreSQL and Patroni's own etcd and REST
//                                    client: server + client
//   <host>.pgbackrest.crt, .key      the pgBackRest repository host (backup.repo.type posix):
//                                    its TLS server, and its client to the members' servers
//   <host>.guard.crt, .key           pgdr-guard's etcd client on a guard host (guard.enabled)
//   operator.crt, .key               pgdr's own client certificate (REST calls from this
//                                    machine, libpq probes)
//   restore.crt, .key                with a repository host: the client certificate a scratch
//                                    host restores with (pgdr restore --target, drill --restore)
// Every host certificate names the host (inventory name, "localhost") and its addresses
// (cluster address, 127.0.0.1) as subjectAltNames: local clients connect to 127.0.0.1, and
// pgdr's connections through an SSH forward land on 127.0.0.1 too. A PostgreSQL certificate
// also names the HAProxy hosts (clients reach PostgreSQL through them).
//
// ensure_cluster_pki() is idempotent: a certificate is reused while it chains to the CA, its key
// matches, its subjectAltNames are the wanted ones and it has more than 30 days left; otherwise
// (or for every leaf with Renew::all, `pgdr certs rotate`) it is issued again.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "pki/certificate.hpp"

namespace pgdr::pki {

inline constexpr const char* k_etcd_service = "etcd";
inline constexpr const char* k_postgres_service = "postgres";
inline constexpr const char* k_pgbackrest_service = "pgbackrest";
inline constexpr const char* k_guard_service = "guard";
inline constexpr const char* k_operator_name = "operator";
inline constexpr const char* k_restore_client_name = "restore";

// The common names a pgBackRest TLS server authorizes (tls-server-auth): a member's postgres
// certificate, the repository host's, and the scratch hosts' restore client.
std::string cert_common_name(const Inventory& inv, const std::string& host,
                             const std::string& service);
std::string restore_client_common_name(const Inventory& inv);

// One certificate the cluster needs: its file stem ("pg1.etcd", "operator") and its request.
struct CertSpec {
    std::string host;     // inventory host name; "" for the operator's
    std::string service;  // k_etcd_service, k_postgres_service, k_pgbackrest_service or "" for
                          // the operator's and the restore client's
    std::string stem;
    CertRequest request;
};

// Every certificate the inventory's hosts need, in inventory order, then the operator's (and,
// with a repository host, the restore client's).
std::vector<CertSpec> cluster_cert_specs(const Inventory& inv);

struct ClusterPki {
    KeyPair ca;
    std::map<std::string, KeyPair> certs;  // by stem
    std::vector<std::string> issued;       // stems issued by this call (new or renewed)

    // The pair of `host` for `service`; throws pgdr::Error (internal) when it is missing.
    const KeyPair& of(const std::string& host, const std::string& service) const;
};

enum class Renew { when_needed, all };

// <state_dir>/pki
std::string pki_dir(const std::string& state_dir);

// Reads, makes or renews the CA and every certificate of cluster_cert_specs().
ClusterPki ensure_cluster_pki(const std::string& state_dir, const Inventory& inv,
                              std::chrono::system_clock::time_point now,
                              Renew renew = Renew::when_needed);

// Reads what the state directory holds: the CA and every certificate of cluster_cert_specs()
// that is there (a missing one is absent from certs). Changes nothing. Throws pgdr::Error
// (invalid_config) when there is no CA or its key does not belong to it.
ClusterPki read_cluster_pki(const std::string& state_dir, const Inventory& inv);

// New keys and certificates for every spec of cluster_cert_specs(), signed by `ca`, in memory
// (every stem in `issued`): `pgdr certs rotate`, whose --dry-run writes nothing.
ClusterPki issue_cluster_certs(const KeyPair& ca, const Inventory& inv);

// Writes every pair of pki.certs to <state_dir>/pki (0600 files, the key first).
void store_cluster_certs(const std::string& state_dir, const ClusterPki& pki);

// A certificate is renewed when it has less than this left.
inline constexpr std::chrono::hours k_renew_before{24 * 30};
// Lifetimes: the CA (made once, never replaced by pgdr) and every leaf.
inline constexpr std::chrono::hours k_ca_validity{24 * 3650};
inline constexpr std::chrono::hours k_leaf_validity{24 * 825};

}  // namespace pgdr::pki
