// pgBackRest on the members (issue 14): the pure renderers of what the bootstrap stage `backup`
// writes, and the command lines Patroni runs. Nothing here is used without the inventory's
// `backup` section.
//
//   /etc/pgbackrest/pgbackrest.conf       0640 root:postgres (S3 key and secret, cipher pass)
//   /etc/pgbackrest/repo-ca.crt           0644 root (backup.repo.ca_file, when set)
//   /etc/systemd/system/pgdr-pgbackrest-server.service
//                                         the pgBackRest TLS server, so that the member running a
//                                         backup reads the files of a standby (backup-standby)
//   /usr/local/sbin/pgdr-backup           0755 root: runs a backup on the leader only, from a
//                                         streaming standby when one streams
//   /etc/systemd/system/pgdr-backup-{full,diff}.{service,timer}
//                                         the inventory's schedule, on every member (only the
//                                         leader's run backs up)
//
// The stanza is the cluster's name; pg1 is the member itself, pg2.. the other members over the
// TLS server with the member's PostgreSQL certificate (pg/tls.hpp).
#pragma once

#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

inline constexpr const char* k_pgbackrest_conf = "/etc/pgbackrest/pgbackrest.conf";
inline constexpr const char* k_pgbackrest_repo_ca = "/etc/pgbackrest/repo-ca.crt";
inline constexpr const char* k_pgbackrest_server_unit = "pgdr-pgbackrest-server.service";
inline constexpr const char* k_backup_script = "/usr/local/sbin/pgdr-backup";
inline constexpr int k_pgbackrest_tls_port = 8432;

// The pgBackRest version each Debian release ships.
std::string pgbackrest_version(const std::string& release);  // 2.55.1 | 2.45

// archive_command, restore_command and the create_replica_methods command of patroni.yml.
std::string pgbackrest_archive_command(const Inventory& inv);
std::string pgbackrest_restore_command(const Inventory& inv);
std::string pgbackrest_replica_command(const Inventory& inv);

// /etc/pgbackrest/pgbackrest.conf for a member. Throws pgdr::Error (invalid_config) without a
// backup section, or when a secret it needs is missing or holds a line break.
std::string render_pgbackrest_conf(const Inventory& inv, const HostSpec& host,
                                   const Secrets& secrets);

// pgbackrest.conf for a host outside the cluster that a backup is restored onto (a scratch
// host): the repository and pg1 only (no TLS server, no other members).
std::string render_pgbackrest_restore_conf(const Inventory& inv, const Secrets& secrets);

// The TLS server's unit (runs as postgres with the member's PostgreSQL certificate).
std::string render_pgbackrest_server_unit(const Inventory& inv);

// The backup script: `pgdr-backup TYPE [--manual]`. As postgres on a member: not the leader
// exits 0 (the timers fire everywhere), or 3 with --manual; else pgbackrest backup of TYPE, with
// --backup-standby=n when no replica streams.
std::string render_backup_script(const Inventory& inv);

// The schedule's units; `type` is full or diff. Empty calendar: no units for that type.
std::string render_backup_service(const Inventory& inv, const std::string& type);
std::string render_backup_timer(const Inventory& inv, const std::string& type,
                                const std::string& calendar);
std::string backup_unit_name(const std::string& type, const std::string& suffix);

}  // namespace pgdr::pg
