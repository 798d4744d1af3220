// Building the real objects for a command: the inventory with the state's addresses applied,
// one SSH transport per selected host, and the OVH API of a project.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "cmd/context.hpp"
#include "core/apply.hpp"
#include "core/clock.hpp"
#include "core/reach.hpp"
#include "core/scoped_env.hpp"
#include "core/transport.hpp"
#include "net/curl_http_client.hpp"
#include "net/ssh_transport.hpp"
#include "ovh/client.hpp"
#include "ovh/resources.hpp"
#include "pg/cluster_snapshot.hpp"
#include "pg/operation_lock.hpp"

namespace pgdr::cmd {

// The inventory with addresses from the state directory; throws (exit 3) when a host still has
// no address (an OVH cluster that was not provisioned yet).
Inventory resolved_inventory(Context& ctx);

// Hosts picked by --hosts a,b (names) and/or --service S; all hosts when both are empty. The
// hosts of a DR cluster (the inventory's dr section) only when named.
// Throws a usage error for an unknown host or service name.
std::vector<const HostSpec*> select_hosts(const Inventory& inv, const std::string& hosts_csv,
                                          const std::string& service);

// How pgdr logs in to a host: its SSH address (public address when it has one), through the
// inventory's bastion when one is named.
net::SshTarget ssh_target(Context& ctx, const HostSpec& host);
std::unique_ptr<Transport> ssh_transport(Context& ctx, const HostSpec& host);

// The one way this command reaches cluster ports (DESIGN.md §11): directly or forwarded over
// SSH from a vantage host, per the inventory's network.port_access. `avoid` names hosts the
// command is about to disturb (a drill's target): they are never the vantage. Vantage order:
// hosts without PostgreSQL (HAProxy hosts) first, then the others in inventory order.
// `access` overrides the inventory's network.port_access (e.g. ssh once a port was found closed).
std::unique_ptr<ClusterReach> cluster_reach(Context& ctx, const Inventory& inv,
                                            const std::set<std::string>& avoid = {},
                                            std::optional<PortAccess> access = std::nullopt);

// The operator's side of the cluster's TLS (pki/cluster_certs.hpp): https calls verify the
// cluster CA and present the operator's certificate; every libpq connection requires TLS and
// verifies the server (verify-full). Nothing when the state directory has no CA yet.
void use_cluster_tls(net::CurlHttpClient& http, const Inventory& inv);
// "Basic ..." for HAProxy's statistics page ("" before bootstrap made its password); the
// password is registered with the log's redaction.
std::string haproxy_authorization(Context& ctx, const Inventory& inv);

// Asks on the terminal (stderr, answer on stdin); anything but y/yes (or EOF) is no.
bool ask_terminal(const std::string& question);

// One SSH transport per inventory host (connected lazily), owned, and looked up by name.
struct HostTransports {
    std::vector<std::unique_ptr<Transport>> owned;
    std::map<std::string, Transport*> by_name;
};
HostTransports connect_hosts(Context& ctx, const Inventory& inv);

// Everything that reads the cluster through the snapshot (status, drills, switchover,
// runbooks, bootstrap's verification): the reach, an HTTP client and SQL as the superuser
// (password from the state directory, registered with the log's redaction).
struct ClusterWiring {
    std::unique_ptr<ClusterReach> reach;
    net::CurlHttpClient http;
    pg::SqlRunner sql;

    std::string haproxy_auth;

    ClusterWiring(Context& ctx, const Inventory& inv);
    pg::ClusterAccess access() { return {*reach, http, sql, haproxy_auth}; }
};

// The cluster-wide operation lock (pg/operation_lock.hpp) held for the command's lifetime, over
// its own SSH sessions to the etcd members (a renewal never waits behind the command's own
// commands on a host). While held, PGDR_LOCK_LEASE names its lease, so child pgdr commands (a
// runbook's drill and bootstrap steps) join it.
struct ClusterLock {
    HostTransports hosts;
    std::unique_ptr<pg::EtcdCtl> etcd;
    std::unique_ptr<pg::OperationLock> lock;
    // PGDR_LOCK_LEASE for child processes while a lock of its own is held; the parent's value
    // (or none) again once it is released (a pair's bootstrap locks two clusters in turn).
    std::optional<ScopedEnv> lease_env;
};
// `break_lock`: the cluster name typed after --break-lock ("" = none); any other name is a
// usage error. Throws like pg::OperationLock.
std::unique_ptr<ClusterLock> take_cluster_lock(Context& ctx, const Inventory& inv,
                                               const std::string& break_lock);
// Adds --break-lock CLUSTER to a command that takes the lock.
void add_break_lock_option(CLI::App* cmd, std::string& break_lock);

// A fault an interrupted drill left in place (drills/fault_journal.hpp: the state directory's
// journal or a member's copy): throws pgdr::Error (verification_failed) naming it and the
// command that restores it (`pgdr -i INVENTORY drill --heal`). Call with the cluster lock
// held, before changing anything.
void refuse_left_fault(Context& ctx, const Inventory& inv, const TransportMap& transports);
// The same journal as a sentence for `pgdr status`; "" when there is none.
std::string left_fault_notice(Context& ctx, const Inventory& inv, const TransportMap& transports);

struct OvhTimeouts {
    std::chrono::seconds api{30};     // per request
    std::chrono::seconds wait{1800};  // per wait for a resource (READY, gone, a status)
};

// The OVH API of one project (DESIGN.md §3): credentials from the environment and ovh.conf
// over the inventory's endpoint, checked complete before any call (exit 3 otherwise).
struct OvhWiring {
    net::CurlHttpClient http;
    SystemClock clock;
    std::unique_ptr<ovh::Client> client;
    std::unique_ptr<ovh::ProjectApi> api;

    OvhWiring(Context& ctx, const std::string& inventory_endpoint, const std::string& project,
              OvhTimeouts timeouts = {}, bool need_consumer_key = true);
};

}  // namespace pgdr::cmd
