// `pgdr restore --cluster [--to TIME|LSN|latest]` (issue 14): the whole cluster rebuilt from the
// repository, e.g. after a region loss, or to get a dropped table back "to the second". A plan
// of named steps, each on one host, run in order:
//
//   check_repository    the repository answers and holds a backup (nothing is stopped before)
//   reach_members       every member not excluded answers over SSH (nothing is stopped before:
//                       an unreachable member is exit 5, naming --exclude); an excluded member
//                       that answers with Patroni running is refused (exit 2): it would take
//                       over the cleared DCS with the old data
//   stop_member         Patroni and PostgreSQL stopped on every member, the leader last (a
//                       replica whose Patroni still ran would take over a stopped leader)
//   clear_dcs           the cluster's keys in etcd removed (Patroni's /<namespace>/<scope>/:
//                       leader, initialize with the system id, the last leader LSN in /status,
//                       history, members). Patroni refuses to lead with data behind the LSN the
//                       DCS remembers (maximum_lag_on_failover), and a restored cluster is behind
//   restore_first       run_restore (pg/restore.hpp) on the first member: pgbackrest restore to the
//                       target, PostgreSQL started by hand until it is promoted (a new timeline)
//   hand_over_first     PostgreSQL's own unit stopped, Patroni started: with an empty DCS and a
//                       data directory with a valid system id, Patroni takes the initialize key
//                       and the leader lock (ha.py), as when `pgdr bootstrap` first started it;
//                       it drops pgBackRest's recovery_target* from postgresql.auto.conf itself
//                       (_sanitize_auto_conf)
//   wait_leader         the snapshot names the first member leader
//   backup_new_timeline a full backup of the restored cluster (TIME/LSN targets only; on the
//                       repository host when there is one, else on the first member): the
//                       replicas are cloned from the repository (create_replica_methods:
//                       pgbackrest first), and its newest backup may hold data past the target,
//                       on the old timeline
//   empty_member        each other member's data directory emptied ...
//   start_member        ... and Patroni started: it re-creates the replica from the repository
//   wait_healthy        the one assessment (pg/assessment.hpp) says healthy
//
// --exclude HOST (ClusterRestoreRequest::exclude): members lost with their host are left out of
// every step (never stopped, emptied or started), so that a cluster that lost a minority of its
// members is restored on the rest. Refused (usage, exit 2) unless they are a minority of the
// members and the etcd members left keep a quorum; `pgdr reinit HOST` rebuilds one once it is
// back (its data is of the old timeline).
//
// Refused (usage, exit 2) unless the cluster's name was typed (confirm_cluster). Throws what the
// steps throw: pgBackRest's failures as throw_pgbackrest_failure (3 credentials, 5 unreachable,
// 6 other), an unreachable member 5, a wait that ran out 7.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/apply.hpp"
#include "core/clock.hpp"
#include "core/inventory.hpp"
#include "pg/assessment.hpp"
#include "pg/backup.hpp"
#include "pg/etcdctl.hpp"
#include "pg/restore.hpp"

namespace pgdr::pg {

struct ClusterRestoreRequest {
    RestoreTarget target;
    std::string first;                 // the member restored first; "" = the first postgres host
    std::string leader;                // the leader before (stopped last); "" = unknown
    std::string confirm_cluster;       // the cluster's name, typed
    std::vector<std::string> exclude;  // members left out (lost with their host)
    std::chrono::milliseconds restore_timeout{std::chrono::hours(6)};
    std::chrono::milliseconds wait_timeout{std::chrono::minutes(30)};  // each wait
    std::chrono::milliseconds poll{std::chrono::seconds(2)};
};

struct ClusterRestoreStep {
    std::string name;  // one of the names above
    std::string host;  // "" for clear_dcs (on the etcd members)
    std::string what;  // one line for the operator
};

// The steps for the request, in order (pure). Throws a usage error for a `first` that is not
// a postgres member or is excluded, an exclusion that is not a minority of the members or
// leaves etcd without a quorum, or an inventory without a backup section.
std::vector<ClusterRestoreStep> plan_cluster_restore(const Inventory& inv,
                                                     const ClusterRestoreRequest& req);

// Patroni's keys of this cluster in etcd: /postgresql-common/<scope>/ (pg/patroni_config.cpp).
std::string patroni_dcs_prefix(const Inventory& inv);

// What the cluster looks like now, from the one snapshot and assessment (cmd/ wires it).
struct ClusterView {
    std::string leader;  // "" when none
    bool healthy = false;
    std::vector<std::string> problems;
};
// The view judged without the findings about the excluded members (they are not back yet).
ClusterView judge_without(const std::string& leader, const std::vector<Finding>& findings,
                          const std::vector<std::string>& excluded);

struct ClusterRestoreSeams {
    const Inventory& inv;
    TransportMap hosts;  // every postgres member by name, and the repository host if any
    EtcdCtl& etcd;
    Clock& clock;
    std::function<ClusterView()> observe;
    std::function<void(const std::string&)> progress;  // one line per step; may be empty
    // Around the pgbackrest restore on a host (true before, false after), for a progress watch.
    std::function<void(const std::string& host, bool running)> restoring;
    const std::atomic<bool>* interrupted = nullptr;
};

struct ClusterRestoreResult {
    struct Done {
        std::string step;
        std::string host;
        std::chrono::milliseconds elapsed{0};
    };
    std::vector<Done> steps;
    std::string leader;
    RestoreResult restore;
    std::optional<BackupRecord> backup;  // backup_new_timeline's
    std::vector<std::string> excluded;   // the request's: each needs `pgdr reinit` once back
    std::chrono::milliseconds total{0};
};

ClusterRestoreResult run_cluster_restore(const ClusterRestoreSeams& seams,
                                         const ClusterRestoreRequest& req);

}  // namespace pgdr::pg
