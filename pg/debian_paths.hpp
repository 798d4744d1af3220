// Debian facts pgdr relies on: where each release puts PostgreSQL, Patroni, etcd and HAProxy,
// the systemd units, and the packages each service needs.
//
// Every path is derived from the PostgreSQL major version (inventory postgres_version), in
// Debian's layout for the cluster "main" (/etc/patroni/17-main.yml, patroni@17-main,
// /var/lib/postgresql/17/main, /usr/lib/postgresql/17/bin on trixie). pgdr never writes
// /etc/patroni/config.yml: Debian 13's patroni package ships a plain patroni.service that starts
// a second Patroni as soon as that file exists.
//
// systemd drop-ins: none. Debian's own units fit as they are:
//   - patroni@V-main reads /etc/patroni/V-main.yml, runs as postgres, Restart=no: after a crash
//     the operator (or a drill's restore step) decides, as on any Debian host;
//   - postgresql@V-main is kept out of the way by start.conf = manual (render_start_conf), the
//     postgresql-common mechanism, not by masking a unit;
//   - etcd.service reads /etc/default/etcd (EnvironmentFile= wins over the unit's
//     Environment=ETCD_NAME=%H);
//   - haproxy.service already runs `haproxy -c` before start and reload.
// Fewer files pgdr owns means fewer files that can drift from what Debian upgrades expect.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/inventory.hpp"

namespace pgdr::pg {

inline constexpr int k_postgres_port = 5432;

struct DebianPaths {
    int version = 0;
    std::string cluster;               // "17-main": Debian cluster id, Patroni scope, unit instance
    std::string data_dir;              // /var/lib/postgresql/17/main
    std::string bin_dir;               // /usr/lib/postgresql/17/bin
    std::string config_dir;            // /etc/postgresql/17/main
    std::string include_file;          // /etc/postgresql/17/main/conf.d/pgdr.conf
    std::string standby_file;          // /etc/postgresql/17/main/conf.d/pgdr-standby.conf
    std::string pg_hba;                // /etc/postgresql/17/main/pg_hba.conf
    std::string start_conf;            // /etc/postgresql/17/main/start.conf
    std::string patroni_config;        // /etc/patroni/17-main.yml
    std::string patroni_unit;          // patroni@17-main
    std::string postgres_unit;         // postgresql@17-main
    std::string patroni_pgpass;        // /var/lib/postgresql/17-main.pgpass (Patroni writes it)
    std::string replication_passfile;  // /var/lib/postgresql/pgdr-replication.pgpass (0600)
    std::string log_directory = "/var/log/postgresql";  // the logging collector's (Patroni's)
    std::string log_file;  // /var/log/postgresql/postgresql-17-main.log
    std::string etcd_defaults = "/etc/default/etcd";
    std::string etcd_data_dir = "/var/lib/etcd/default";
    std::string haproxy_config = "/etc/haproxy/haproxy.cfg";
};

// Throws pgdr::Error (invalid_config) for a version outside 10..99.
DebianPaths debian_paths(int postgres_version);
DebianPaths debian_paths(const Inventory& inv);

// The one way pgdr runs SQL on a member's own host: psql as the postgres OS user over the local
// socket (peer authentication), no psqlrc, unaligned tuples only, stopping at the first error:
//     runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 [-v name=value ...] -d DATABASE
// The statement follows as `-c SQL` or on stdin (where psql quotes the variables: :'name').
std::vector<std::string> local_psql_argv(
    const std::string& database, const std::vector<std::pair<std::string, std::string>>& vars = {});
// The same with the statement as `-c SQL`.
std::vector<std::string> local_psql_command(const std::string& sql,
                                            const std::string& database = "postgres");

// What a Debian release ships (DESIGN.md §4.2).
struct DebianRelease {
    std::string codename;         // trixie | bookworm
    int debian_version = 0;       // 13 | 12
    int postgres_version = 0;     // 17 | 15
    std::string patroni_version;  // 4.0.7 | 3.0.2
    std::string etcd_series;      // 3.5 | 3.4
    std::string haproxy_series;   // 3.0 | 2.6
    // Patroni reaches etcd through the v3 API (the etcd3 DCS) on both releases, so etcd's v2
    // API stays off (ETCD_ENABLE_V2 is not written).
    bool etcd_v2_needed = false;
};

// Throws pgdr::Error (invalid_config) for an unknown codename.
const DebianRelease& debian_release(const std::string& codename);

// The packages a host needs for its services, in install order. python3-etcd is named
// explicitly: on trixie apt satisfies Patroni's DCS dependency (python3-etcd | python3-consul
// | python3-kazoo | ...) with python3-consul otherwise, which it pulls in for another package.
std::vector<std::string> packages_for(const DebianRelease& release, const HostSpec& host);

}  // namespace pgdr::pg
