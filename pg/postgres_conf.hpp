// PostgreSQL configuration pgdr owns on each PostgreSQL host (DESIGN.md §4.4):
//   conf.d/pgdr.conf          the replication settings (include file, Debian's include_dir)
//   pg_hba.conf               the whole file: PostgreSQL 15 has no include in pg_hba
//   start.conf                "manual": Patroni, not postgresql@V-main, runs the cluster
//   conf.d/pgdr-standby.conf  on a replica built by pg_basebackup: primary_conninfo + slot
//   the replication passfile  the replica's password for primary_conninfo (0600, postgres)
// The same parameters and pg_hba rules go into patroni.yml, so Patroni carries them over when it
// adopts the cluster. Every renderer is pure; values that the file format cannot carry safely
// throw pgdr::Error (invalid_config).
#pragma once

#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

struct Parameter {
    std::string name;
    std::string value;
    bool number = false;  // written bare; strings are quoted
};

// Cluster-wide settings for streaming replication, WAL archiving and authentication:
// wal_level, max_wal_senders, max_replication_slots, wal_keep_size, hot_standby, wal_log_hints,
// archive_mode, archive_command (into inv.paths.archive_dir, never overwriting a segment, and
// bounded: see k_archive_keep_segments), password_encryption.
std::vector<Parameter> replication_parameters(const Inventory& inv);

// The local WAL archive keeps the newest this many segments (1 GiB with 16 MiB segments):
// after each copy, archive_command deletes older segment files (24 hex digits; .history and
// .backup files stay), so the leader's disk never fills with archived WAL. Nothing restores
// from this archive (slots and wal_keep_size serve the replicas); the backup work replaces it.
inline constexpr int k_archive_keep_segments = 64;

// The archive_command for archive directory dir.
std::string archive_command(const std::string& dir);

// ssl = on with the host's certificate and key and the cluster CA (pg/tls.hpp).
std::vector<Parameter> ssl_parameters();

// The include file conf.d/pgdr.conf for `host` (listen_addresses is per host).
std::string render_postgres_include(const Inventory& inv, const HostSpec& host);

// pg_hba rules, one formatted line each, all scram-sha-256 but the local socket (peer): from
// 127.0.0.1/32 and ::1/128 any role (Patroni 3.0.2 reads the local timeline over a replication
// connection to localhost = ::1); from the network only over TLS (hostssl):
// replication from the members' addresses only, the superuser from the members only (else
// rejected), every other role from inv.network_cidr.
std::vector<std::string> hba_rules(const Inventory& inv);
std::string render_pg_hba(const Inventory& inv);

// /etc/postgresql/V/main/start.conf.
std::string render_start_conf(const Inventory& inv);

// The physical slot a replica streams from: the name Patroni derives from the member name
// (lower case; '-' and '.' become '_'; other characters uNNNN; at most 63 characters), so that
// Patroni adopts the slot pgdr created instead of making another.
std::string slot_name(const std::string& member_name);

// primary_conninfo for `replica` streaming from `primary`: the password is in the replication
// passfile, never in the conninfo.
std::string primary_conninfo(const Inventory& inv, const HostSpec& primary,
                             const HostSpec& replica);
// A DR cluster's first member (inv.standby_of) streaming from whichever of the primary
// cluster's members is writable: every member's address, target_session_attrs=read-write.
std::string standby_leader_conninfo(const Inventory& inv, const HostSpec& standby_leader);
// conf.d/pgdr-standby.conf: primary_conninfo and primary_slot_name (for the first member of a
// DR cluster, `replica` == `primary`: the primary cluster's members and the DR slot).
std::string render_standby_conf(const Inventory& inv, const HostSpec& primary,
                                const HostSpec& replica);
// The replication passfile: the replication role's password for every PostgreSQL host.
std::string render_replication_passfile(const Inventory& inv, const Secrets& secrets);

// A postgresql.conf string literal: single quotes, ' doubled, \ doubled. Throws for a line
// break or NUL.
std::string conf_quote(const std::string& value);

}  // namespace pgdr::pg
