// patroni.yml for one PostgreSQL host (/etc/patroni/V-main.yml, read by patroni@V-main).
//
// Rendered with yaml-cpp's emitter: every string is double-quoted by the emitter, so any value
// (a password with quotes, ':', '#', '\' or a line break) parses back to itself.
//
// Patroni adopts the cluster that the replication stage built (pg_createcluster on the leader,
// pg_basebackup on the replicas); it must never create a new one. Patroni bootstraps only a
// member whose data directory is empty while no member holds the DCS "initialize" key; the
// bootstrap method configured here then fails on purpose (/bin/false) instead of running
// initdb, so an empty node started too early stays empty and visibly failing rather than
// becoming the leader of a new, empty cluster. Replicas that lose their data are re-cloned from
// the leader with Patroni's basebackup.
#pragma once

#include <string>

#include "core/inventory.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

// The bootstrap method that refuses to create a cluster.
inline constexpr const char* k_refuse_bootstrap_method = "pgdr_refuse_new_cluster";

// A standby cluster's hosts to stream from: the primary's members, comma-separated (libpq's
// multi-host form, as Patroni's standby_cluster.host takes it).
std::string standby_hosts(const StandbyOf& of);

// Throws pgdr::Error (invalid_config) when `host` does not run postgres or has no address.
std::string render_patroni_yml(const Inventory& inv, const HostSpec& host, const Secrets& secrets);

}  // namespace pgdr::pg
