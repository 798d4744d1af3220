// Moving a running cluster bootstrapped without TLS (by a pgdr before TLS) to TLS while it takes
// writes. `pgdr bootstrap` runs these plans before its own when some member's Patroni answers
// over plain HTTP (plain_http_members); its own plan then finishes the move (etcd serving TLS
// clients only, the DCS settings) and verifies the cluster as usual.
//
// 1. plan_tls_move_before_lock (a plain cluster's etcd cannot hold pgdr's lock yet), after the
//    packages and certificates stages:
//    - maintenance mode (PATCH /config pause) and a wait until every member reports it: from
//      then on Patroni neither fails over nor demotes a leader that loses its DCS, and it leaves
//      PostgreSQL running when it stops;
//    - HAProxy's health checks frozen on the admin socket (`disable health`) for the servers
//      that are UP (HAProxy counts a server without checks as UP; the DOWN ones keep checks that
//      keep failing): no server changes state while etcd and Patroni's REST API move to TLS, and
//      in maintenance mode no failover can make those states wrong;
//    - etcd one member at a time: its peer URL changed to https in the membership (`etcdctl
//      member update`), then a restart with peer TLS and TLS clients, still serving plain-HTTP
//      clients on the same ports (EtcdClients::tls_and_plain);
//      it must answer a quorum read over TLS before the next one moves. The two others keep
//      quorum throughout: a moved member reaches the others over plain HTTP and they reach it
//      through its own connections. A Patroni not restarted yet may lose its DCS (the members
//      advertise https URLs; etcd 3.4's plain gateway fails on a moved member): maintenance
//      mode makes that harmless, and the leader takes its key again when it restarts.
// 2. plan_tls_move_under_lock:
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

Plan plan_tls_move_before_lock(const Inventory& inv, const Secrets& secrets,
                               const std::string& leader);
Plan plan_tls_move_under_lock(const Inventory& inv, const Secrets& secrets,
                              const std::string& leader);

// Appends `from`'s steps to `into`, stage by stage (stages keep their execution order).
void append_plan(Plan& into, const Plan& from);

// What the move does, in a few lines, for --dry-run.
std::string tls_move_summary(const std::vector<std::string>& plain_members);

}  // namespace pgdr::pg
