// Moving a running cluster bootstrapped without TLS (by a pgdr before TLS) to TLS while it takes
// writes. `pgdr bootstrap` runs these plans before its own when some member's Patroni answers
// over plain HTTP (plain_http_members); its own plan then finishes the move (etcd serving TLS
// clients only, the DCS settings) and verifies the cluster as usual.
//
// 1. plan_tls_move_etcd (before the cluster lock: a plain cluster's etcd cannot hold it yet),
//    after the packages and certificates stages: one member at a time, its peer URL is changed
//    to https in the membership (`etcdctl member update`), then it restarts with peer TLS and
//    TLS clients, still serving plain-HTTP clients on the same ports (EtcdClients::
//    tls_and_plain) so that Patroni keeps its DCS; a member must answer a quorum read over TLS
//    before the next one moves. The other two members keep quorum throughout: a moved member
//    reaches the others over plain HTTP and they reach it through its own connections.
// 2. plan_tls_move_services (under the cluster lock):
//    - maintenance mode (PATCH /config pause) and a wait until every member reports it, since
//      Patroni stops PostgreSQL when it stops, except in maintenance mode;
//    - HAProxy's health checks frozen on the admin socket (`disable health`) for the servers
//      that are UP (HAProxy counts a server without checks as UP; the DOWN ones keep checks that
//      keep failing): no server changes state while Patroni's REST API moves from HTTP to HTTPS
//      under the old checks, and in maintenance mode no failover can make those states wrong;
//    - the new patroni.yml, then Patroni restarted on each member, the leader first (its
//      PostgreSQL then serves the CA's certificate, which the replicas' new primary_conninfo,
//      sslmode=verify-full, demands); PostgreSQL keeps running and takes the certificate and the
//      hostssl pg_hba on a reload;
//    - HAProxy's new configuration (checks over TLS), reloaded with the servers' states kept,
//      checks enabled again (`enable health`), then only the leader UP behind the write port;
//    - maintenance mode ends, and pg_hba and archive_command leave the DCS (Patroni's local
//      configuration holds them now: a DCS write is no code execution).
// No PostgreSQL stops and no server of HAProxy changes state, so writes go on; clients must
// negotiate TLS (libpq's default sslmode=prefer does) from the moment the member's pg_hba is
// reloaded. The old cluster's REST password crosses the network in plain HTTP once (the pause),
// as every call of the pgdr that built it did. A move cut off half-way leaves maintenance mode
// and the frozen checks in place: bootstrap run again completes it.
#pragma once

#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "core/plan.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

Plan plan_tls_move_etcd(const Inventory& inv);
Plan plan_tls_move_services(const Inventory& inv, const Secrets& secrets,
                            const std::string& leader);

// Appends `from`'s steps to `into`, stage by stage (stages keep their execution order).
void append_plan(Plan& into, const Plan& from);

// What the move does, in a few lines, for --dry-run.
std::string tls_move_summary(const std::vector<std::string>& plain_members);

}  // namespace pgdr::pg
