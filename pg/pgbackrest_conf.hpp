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
//
// With a repository host (backup.repo.type posix), pgBackRest's dedicated-repository-host shape
// over TLS instead:
//   members     repo1-host=<repository host> (tls, the cluster CA, the member's postgres pair),
//               pg1 only, no retention and no cipher passphrase; their TLS server authorizes
//               the repository host's certificate only;
//   repo host   /etc/pgbackrest/pgbackrest.conf 0640 root:pgbackrest: repo1-path (a directory
//               0750 owned by the user pgbackrest), retention, cipher passphrase (only there),
//               compression, pg1..pgN = every member over its TLS server, backup-standby; its
//               own TLS server (user pgbackrest, /etc/pgdr/tls/pgbackrest.{crt,key}) authorizes
//               the members and the restore client; pgdr-backup and the timers run there.
#pragma once

#include <string>
#include <vector>

#include "core/backup_repo.hpp"
#include "core/inventory.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

inline constexpr const char* k_pgbackrest_conf = "/etc/pgbackrest/pgbackrest.conf";
inline constexpr const char* k_pgbackrest_repo_ca = "/etc/pgbackrest/repo-ca.crt";
inline constexpr const char* k_pgbackrest_server_unit = "pgdr-pgbackrest-server.service";
inline constexpr const char* k_backup_script = "/usr/local/sbin/pgdr-backup";
// k_pgbackrest_tls_port (8432): core/backup_repo.hpp (the security groups open it too).
// The user pgBackRest runs as on the repository host, and a scratch host's restore client pair.
inline constexpr const char* k_pgbackrest_repo_user = "pgbackrest";
inline constexpr const char* k_pgbackrest_restore_ca = "/etc/pgbackrest/cluster-ca.crt";
inline constexpr const char* k_pgbackrest_restore_cert = "/etc/pgbackrest/restore.crt";
inline constexpr const char* k_pgbackrest_restore_key = "/etc/pgbackrest/restore.key";

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
// host): the repository and pg1 only (no TLS server, no other members). With a repository host,
// repo1-host with the restore client's pair (k_pgbackrest_restore_*).
std::string render_pgbackrest_restore_conf(const Inventory& inv, const Secrets& secrets);

// A DR cluster's members (inv.standby_of->archive): restore_command of its standby_cluster
// (the primary cluster's stanza, archive-get), and their pgbackrest.conf: the primary's S3
// repository (its cipher passphrase, no retention: they never expire nor write anything) and
// the local pg1. Throws pgdr::Error (invalid_config) without standby_of->archive or a secret.
std::string pgbackrest_dr_restore_command(const Inventory& inv);
std::string render_pgbackrest_dr_conf(const Inventory& inv, const Secrets& secrets);

// pgbackrest.conf of the repository host. Throws pgdr::Error (invalid_config) without a
// repository host, a member without an address, or a missing cipher passphrase.
std::string render_pgbackrest_repo_conf(const Inventory& inv, const Secrets& secrets);

// The TLS server's unit: on a member as postgres with the member's PostgreSQL certificate; on
// the repository host as pgbackrest.
std::string render_pgbackrest_server_unit(const Inventory& inv);
std::string render_pgbackrest_repo_server_unit(const Inventory& inv);

// The backup script: `pgdr-backup TYPE [--manual]`. As postgres on a member: not the leader
// exits 0 (the timers fire everywhere), or 3 with --manual; else pgbackrest backup of TYPE, with
// --backup-standby=n when no replica streams.
std::string render_backup_script(const Inventory& inv);
// The repository host's: `pgdr-backup TYPE [--manual]` as pgbackrest; pgBackRest finds the
// primary among pg1..pgN; from a standby, or from the primary when none is found.
std::string render_repo_backup_script(const Inventory& inv);

// The schedule's units; `type` is full or diff. Empty calendar: no units for that type. The
// service runs on the members as postgres, or on the repository host as pgbackrest.
std::string render_backup_service(const Inventory& inv, const std::string& type);
std::string render_backup_timer(const Inventory& inv, const std::string& type,
                                const std::string& calendar);
std::string backup_unit_name(const std::string& type, const std::string& suffix);

}  // namespace pgdr::pg
