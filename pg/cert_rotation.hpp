// `pgdr certs rotate`: new leaf certificates (new keys) from the existing CA, installed the way
// the certificates stage installs them (0600 keys over stdin, never argv or logs), and the
// services reloaded in an order that keeps etcd's quorum and replication:
//
//   1 install     every host: its new etcd and postgres pairs (the CA is unchanged); every
//                 certificate old or new chains to the same CA, so peers accept both meanwhile
//   2 etcd        one member at a time: restart it, wait until it answers `endpoint health`
//                 (a quorum read), then until every member does, before the next member
//   3 postgres    one host at a time, replicas first and the leader last: SIGHUP to Patroni
//                 (`systemctl kill --signal=HUP --kill-whom=main`; Patroni 3.0.2 and 4.0.7
//                 alike re-read restapi.certfile when its serial changed on disk, see
//                 reload_local_certificate() in patroni/api.py, and reload PostgreSQL on
//                 SIGHUP), then
//                 `SELECT pg_reload_conf()` (PostgreSQL re-reads ssl_cert_file on reload);
//                 neither restarts PostgreSQL, so no connection or replication stream drops
//   4 haproxy     one host at a time: `haproxy -c`, then `systemctl reload haproxy` (seamless)
//   5 pgbackrest  with a backup section, one host at a time (the members, the repository host):
//                 `systemctl try-restart pgdr-pgbackrest-server.service` (its TLS server loads
//                 its pair when it starts)
// Then verify_served() proves that every service serves its new certificate (serial), from
// this machine through the ClusterReach with pgdr's own TLS client (pki::served_certificate).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/inventory.hpp"
#include "core/plan.hpp"
#include "core/reach.hpp"
#include "pki/cluster_certs.hpp"
#include "pki/served.hpp"

namespace pgdr::pg {

// The rotation as a plan (core/plan.hpp: --dry-run shows it, apply() runs it), every step in
// Stage::certificates. `leader`: the current Patroni leader ("" when unknown: inventory order).
Plan plan_rotation(const Inventory& inv, const pki::ClusterPki& fresh, const std::string& leader);

// One service port and the certificate it must serve.
struct ServedCheck {
    std::string host;
    std::string service;  // "etcd", "patroni", "postgresql"
    std::string address;
    int port = 0;
    pki::TlsStart start = pki::TlsStart::immediate;
    std::string expected_serial;
    std::string served_serial;  // "" when never read
    bool ok = false;
    std::string error;  // the last failure
};

// Every TLS port of the cluster and the serial it must serve after a rotation to `fresh`:
// etcd's client port, Patroni's REST port and PostgreSQL's port on each host that runs them.
std::vector<ServedCheck> served_checks(const Inventory& inv, const pki::ClusterPki& fresh);

// The certificate served at an endpoint (pki::served_certificate in production).
using CertFetcher = std::function<std::optional<std::string>(
    const Endpoint& at, pki::TlsStart start, std::string* error)>;

// Polls each check (endpoint from `reach`) until it serves the expected serial or `timeout`
// passes (Patroni applies a SIGHUP on its next loop, up to loop_wait later). Returns the checks
// with ok, served_serial and error filled. Throws nothing for a failed read; an endpoint that
// cannot be set up is a failed check.
std::vector<ServedCheck> verify_served(std::vector<ServedCheck> checks, ClusterReach& reach,
                                       const CertFetcher& fetch, Clock& clock,
                                       std::chrono::milliseconds timeout,
                                       std::chrono::milliseconds poll = std::chrono::seconds(1));

}  // namespace pgdr::pg
