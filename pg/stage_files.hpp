// The files pgdr owns on each host, per bootstrap stage, as PutFile actions (core/plan.hpp):
// the pure half of the bootstrap planner. The planner that inspects the live hosts (which
// member is the primary, what the data directory holds, what is installed and running) adds
// the commands and waits around these; it does not render anything itself.
//
//   certificates /etc/pgdr/tls/ca.crt                       0644 root (every host)
//                /etc/pgdr/tls/etcd.{crt,key}               0644/0600 etcd:etcd (secret key)
//                /etc/pgdr/tls/postgres.{crt,key}           0644/0600 postgres:postgres (secret)
//   etcd         /etc/default/etcd                          0644 root
//   replication  conf.d/pgdr.conf                           0644 postgres:postgres
//                pg_hba.conf                                0640 postgres:postgres
//                on a replica: the replication passfile     0600 postgres:postgres (secret)
//                on a replica: conf.d/pgdr-standby.conf     0644 postgres:postgres
//   patroni      /etc/patroni/V-main.yml                    0600 postgres:postgres (secret)
//                start.conf ("manual")                      0644 postgres:postgres
//   haproxy      /etc/haproxy/haproxy.cfg                   0640 root:haproxy (stats password)
//   backup       with a backup section, on members: /etc/pgbackrest/pgbackrest.conf 0640
//                root:postgres (S3 secret, cipher pass), the repository's CA, the pgBackRest TLS
//                server's unit, /usr/local/sbin/pgdr-backup and the timers (pgbackrest_conf.hpp);
//                with a repository host, the script and the timers are its own, with its
//                pgbackrest.conf 0640 root:pgbackrest and its TLS server's unit
//   packages, verify: none.
#pragma once

#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "core/plan.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

// The files of `host` for `stage`, in the order they should be written. `primary` is the
// member the replication stage streams from (the standby files are only for the others).
// Throws pgdr::Error (invalid_config) as the renderers do.
std::vector<PutFile> stage_files(const Inventory& inv, const HostSpec& host,
                                 const HostSpec& primary, const Secrets& secrets, Stage stage);

// /etc/pgbackrest/repo-ca.crt (0644) when the backup repository has a CA of its own
// (backup.repo.ca_file): on the members, a DR cluster's members and a scratch host.
void add_repo_ca_file(std::vector<PutFile>& out, const Secrets& secrets);

}  // namespace pgdr::pg
