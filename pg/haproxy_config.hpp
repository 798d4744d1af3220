// /etc/haproxy/haproxy.cfg for one HAProxy host (DESIGN.md §4.6).
//
// Debian's global section (with the admin stats socket pgdr reads backend states from), TCP
// defaults, a stats page on inv.haproxy.stats_port, and two proxies over every PostgreSQL host:
//   primary   on write_port: `OPTIONS /primary` on Patroni's REST port must answer 200
//             (`/leader` in a standby cluster: its standby leader);
//   replicas  on read_port:  `OPTIONS /replica`, round robin.
// Checks every check_interval_ms, fall/rise from the inventory, and on-marked-down
// shutdown-sessions so clients of a demoted primary are cut at once instead of writing into a
// read-only replica. Server names and addresses are written as they are; a value that is not a
// plain word is refused (HAProxy's parser splits on spaces and reads '#' as a comment).
#pragma once

#include <string>

#include "core/inventory.hpp"

namespace pgdr::pg {

// The health checks speak TLS to Patroni's REST API and verify its certificate against the
// cluster CA (pg/tls.hpp); the stats page asks for a password (user k_haproxy_stats_user).
//
// Throws pgdr::Error (invalid_config) when `host` does not run haproxy or a name, address or
// the stats password is not a plain word.
std::string render_haproxy_cfg(const Inventory& inv, const HostSpec& host,
                               const std::string& stats_password);

// Where HAProxy keeps its servers' states across a reload (haproxy.cfg's server-state-file).
inline constexpr const char* k_haproxy_server_state = "/var/lib/haproxy/server-state";
// The script every reload by pgdr goes through (bootstrap, certs rotate).
inline constexpr const char* k_haproxy_reload_script = "/usr/local/sbin/pgdr-haproxy-reload";

// /usr/local/sbin/pgdr-haproxy-reload: saves the running HAProxy's server states (`show servers
// state` on the admin socket) before `systemctl reload-or-restart haproxy`, so that the new
// process starts with the leader UP and the replicas DOWN behind the write port instead of
// every server UP until its first checks fail (a write may reach a replica in that second).
// Only servers the new haproxy.cfg names at the same address and port keep a state: HAProxy
// would otherwise apply a saved address over the configuration's.
std::string render_haproxy_reload_script(const Inventory& inv);

// A drop-in for haproxy.service: a start or restart (not a reload) begins without saved states,
// since a state saved at some earlier reload may name a former leader UP.
inline constexpr const char* k_haproxy_dropin =
    "/etc/systemd/system/haproxy.service.d/pgdr-server-state.conf";
std::string render_haproxy_dropin(const Inventory& inv);

}  // namespace pgdr::pg
