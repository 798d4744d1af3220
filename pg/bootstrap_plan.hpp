// The bootstrap planner (DESIGN.md §4): inventory + host facts + secrets → Plan. Pure.
//
// Stages, each idempotent (a converged cluster plans only actions that are skipped):
//   packages     the release's packages, installed when missing (Debian auto-starts a
//                single-node etcd, a V/main cluster and a stock HAProxy: each is taken over
//                deliberately by the later stages);
//   etcd         /etc/default/etcd on every member, Debian's single-node member reset once,
//                members started together, health-checked, then marked as formed;
//   replication  the seed's steps on the first primary: include file, pg_hba (scram, subnet),
//                roles with generated passwords, one physical slot per replica; on each replica
//                pg_basebackup with its slot, primary_conninfo through a 0600 passfile,
//                standby.signal; then every replica must stream (pg_stat_replication). Skipped
//                once Patroni manages the cluster (it then owns these files);
//   backup       with the inventory's backup section: pgBackRest on every member, its TLS
//                server and timers, the stanza on the leader (pg/stage_backup.hpp); verify
//                then runs `pgbackrest check`;
//   patroni      patroni.yml, PostgreSQL's own unit kept out of the way, Patroni started on the
//                leader first, then on each replica; every replica must stream again (Patroni
//                says "running" for a replica whose slot does not exist yet);
//   haproxy      haproxy.cfg checked with `haproxy -c`, then reloaded; until only the leader is
//                UP in the write backend (after a reload HAProxy counts every
//                server UP until its checks fail);
//   verify       a write through HAProxy's write port lands on the leader, a read through the
//                read port on a replica; then (cmd/bootstrap_cmd.cpp) the cluster snapshot must
//                have no finding (pg/assessment.hpp: one leader, replicas streaming, etcd
//                healthy, HAProxy routing writes to the leader alone, a synchronous standby).
#pragma once

#include <map>
#include <string>

#include "core/inventory.hpp"
#include "core/plan.hpp"
#include "pg/facts.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

using FactsMap = std::map<std::string, HostFacts>;

// The member that leads: Patroni's leader when one runs, else the first postgres host.
std::string choose_primary(const Inventory& inv, const FactsMap& facts);

// Refuses (pgdr::Error, ExitCode::postgres) to plan anything that could destroy data: a data
// directory that is not a cluster, a replica holding another cluster that is not Debian's empty
// auto-created one, a primary whose system identifier is not the one recorded in the state
// (expected_sysid, empty when unknown), an etcd member formed for another membership; and,
// unless adopt, a foreign etcd or Patroni cluster (pg/foreign_guard.hpp).
void check_data_safety(const Inventory& inv, const FactsMap& facts, const std::string& primary,
                       const std::string& expected_sysid, bool adopt = false,
                       const std::string& inventory_path = "INVENTORY");

// The members whose Patroni answers over plain HTTP: a cluster bootstrapped before pgdr used
// TLS, which bootstrap first moves to TLS while it runs (pg/tls_move.hpp).
std::vector<std::string> plain_http_members(const Inventory& inv, const FactsMap& facts);

Plan plan_bootstrap(const Inventory& inv, const FactsMap& facts, const Secrets& secrets,
                    const std::string& primary);

// One HAProxy host's part of the haproxy stage: its files, `haproxy -c`, a reload that keeps the
// servers' check states (when haproxy.cfg changed), a start, then a wait until only the leader
// is UP behind its write port. `primary` names the member the files are rendered for.
HostActions haproxy_host_actions(const Inventory& inv, const Secrets& secrets,
                                 const HostSpec& primary, const HostSpec& lb);

// Paths pgdr owns on the hosts besides the rendered configuration.
std::string probe_passfile_path();

}  // namespace pgdr::pg
