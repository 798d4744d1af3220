// A scratch host made ready for pg::run_restore (the restore drill, issue 14): a host outside the
// cluster (a temporary lab host or instance) with PostgreSQL of the cluster's major version and
// pgBackRest installed, Debian's own `main` cluster stopped, and the cluster's restore-only
// pgBackRest configuration (pg/pgbackrest_conf.hpp: repository, cipher, S3 credentials, pg1 = the
// host's own data directory) plus the repository's CA. The files travel through
// Transport::put_file (content on stdin, never in argv).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "core/plan.hpp"
#include "core/transport.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

// Waits (up to 10 minutes) until the host's boot has finished: systemd running or degraded. A
// fresh host is still starting its units when SSH answers (the lab's first-boot unit creates and
// starts Debian's cluster; on OVH cloud-init holds apt): a cluster started after
// scratch_prepare_argv stopped it makes the restore refuse a running server.
std::vector<std::string> scratch_boot_wait_argv();
// apt-get install of postgresql-<V> and pgbackrest (an update first when the lists are stale).
std::vector<std::string> scratch_install_argv(const Inventory& inv);
// Stops (and disables) Debian's `main` cluster, which the package started, and makes
// pgBackRest's log and configuration directories.
std::vector<std::string> scratch_prepare_argv(const Inventory& inv);
// conf.d/pgdr-restore.conf of Debian's cluster (archive_mode off: the restored copy never
// archives into the cluster's repository; max_wal_senders and max_replication_slots as the
// members' so that recovery accepts the primary's WAL), then /etc/pgbackrest/pgbackrest.conf
// (0640 root:postgres), with a repository host the cluster CA and the restore client's pair
// (secrets.tls, pg::load_restore_client: the key 0600 postgres), and, with a CA, repo-ca.crt
// (0644). Throws like render_pgbackrest_restore_conf.
std::string scratch_postgres_conf_path(const Inventory& inv);
std::string render_scratch_postgres_conf(const Inventory& inv);
std::vector<PutFile> scratch_files(const Inventory& inv, const Secrets& secrets);

// Runs the four on `host` as root, the boot wait first. Throws pgdr::Error (postgres) naming the
// step that failed.
void prepare_scratch_host(const Inventory& inv, Transport& host, const Secrets& secrets,
                          const std::function<void(const std::string&)>& progress);

}  // namespace pgdr::pg
