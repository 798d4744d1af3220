// /etc/default/etcd for one etcd member, read by Debian's etcd.service (EnvironmentFile=).
//
// Static bootstrap of every etcd host of the inventory: ETCD_INITIAL_CLUSTER lists all members,
// the member listens on its own address and on 127.0.0.1 (local etcdctl and Patroni), over
// TLS for clients and peers with client-certificate authentication (pg/tls.hpp), the
// cluster token is derived from the cluster name so two clusters' members never join each other.
// With a monitor host in the inventory, each member also serves /metrics on a plain-HTTP
// metrics-only listener on its own address (ETCD_LISTEN_METRICS_URLS, monitoring/config.hpp).
// ETCD_ENABLE_V2 is written only when the release's Patroni needs etcd's v2 API (it does not on
// Debian 12 or 13: Patroni uses the etcd3 DCS).
//
// systemd parses the file, not a shell: values are double-quoted, and a value that needs any
// escaping is refused instead (etcd names and URLs never do).
#pragma once

#include <string>

#include "core/inventory.hpp"

namespace pgdr::pg {

// "pg1=https://198.18.0.11:2380,pg2=..." for every etcd host, in inventory order.
std::string etcd_initial_cluster(const Inventory& inv);
// The same with http:// URLs, as pgdr recorded the membership in its etcd marker before
// TLS (pg/facts.hpp): kept so that a member formed then is still recognised.
std::string etcd_membership(const Inventory& inv);
// "pgdr-<cluster>".
std::string etcd_cluster_token(const Inventory& inv);
// Every member's client URL, comma-separated, as etcdctl --endpoints takes them.
std::string etcd_client_endpoints(const Inventory& inv);

// Which clients a member serves. `tls_and_plain` is the member's file while `pgdr bootstrap` moves
// a cluster bootstrapped without TLS (pg/tls_move.hpp): the same TLS listeners, and beside each a
// plain-HTTP one on the same address and port (etcd tells the two apart on one socket), so that
// a Patroni not restarted yet may keep its DCS (it reaches a member through its configured
// hosts; once it reads the advertised https URLs it loses it, which maintenance mode makes
// harmless). Peers speak TLS in both.
enum class EtcdClients { tls_only, tls_and_plain };

// Throws pgdr::Error (invalid_config) when `host` does not run etcd, when an etcd member's
// address is not an IPv4 address (etcd binds to IPs, not names) or a value needs escaping.
// A drop-in for Debian's etcd unit. That unit restarts etcd only after a signal
// (Restart=on-abnormal) and orders it after network.target only: a member that starts before
// its address is configured (a reboot, a host back after a loss) exits with "cannot assign
// requested address" and stays down for good. With the drop-in it starts after
// network-online.target and is started again after any failure, every 2 s, without a limit.
// Its name sorts before a drill's hold (pgdr-drill-hold.conf, Restart=no): systemd applies
// drop-ins in the order of their names, so the drill's hold wins while it lasts.
inline constexpr const char* k_etcd_dropin = "/etc/systemd/system/etcd.service.d/10-pgdr.conf";
std::string render_etcd_dropin(const Inventory& inv);

std::string render_etcd_defaults(const Inventory& inv, const HostSpec& host,
                                 EtcdClients clients = EtcdClients::tls_only);

}  // namespace pgdr::pg
