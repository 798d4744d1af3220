#include "pg/debian_paths.hpp"

#include "core/error.hpp"

namespace pgdr::pg {

std::vector<std::string> local_psql_argv(
    const std::string& database, const std::vector<std::pair<std::string, std::string>>& vars) {
    std::vector<std::string> argv{"runuser", "-u",    "postgres", "--",
                                  "psql",    "-XAtq", "-v",       "ON_ERROR_STOP=1"};
    for (const auto& [name, value] : vars) {
        argv.push_back("-v");
        argv.push_back(name + "=" + value);
    }
    argv.push_back("-d");
    argv.push_back(database);
    return argv;
}

std::vector<std::string> local_psql_command(const std::string& sql, const std::string& database) {
    auto argv = local_psql_argv(database);
    argv.push_back("-c");
    argv.push_back(sql);
    return argv;
}

DebianPaths debian_paths(int postgres_version) {
    if (postgres_version < 10 || postgres_version > 99) {
        throw config_error("unsupported PostgreSQL version " + std::to_string(postgres_version));
    }
    const std::string v = std::to_string(postgres_version);
    DebianPaths p;
    p.version = postgres_version;
    p.cluster = v + "-main";
    p.data_dir = "/var/lib/postgresql/" + v + "/main";
    p.bin_dir = "/usr/lib/postgresql/" + v + "/bin";
    p.config_dir = "/etc/postgresql/" + v + "/main";
    p.include_file = p.config_dir + "/conf.d/pgdr.conf";
    p.standby_file = p.config_dir + "/conf.d/pgdr-standby.conf";
    p.pg_hba = p.config_dir + "/pg_hba.conf";
    p.start_conf = p.config_dir + "/start.conf";
    p.patroni_config = "/etc/patroni/" + p.cluster + ".yml";
    p.patroni_unit = "patroni@" + p.cluster;
    p.log_file = p.log_directory + "/postgresql-" + p.cluster + ".log";
    p.postgres_unit = "postgresql@" + p.cluster;
    p.patroni_pgpass = "/var/lib/postgresql/" + p.cluster + ".pgpass";
    p.replication_passfile = "/var/lib/postgresql/pgdr-replication.pgpass";
    return p;
}

DebianPaths debian_paths(const Inventory& inv) {
    return debian_paths(inv.postgres_version);
}

const DebianRelease& debian_release(const std::string& codename) {
    static const DebianRelease k_trixie{"trixie", 13, 17, "4.0.7", "3.5", "3.0", false};
    static const DebianRelease k_bookworm{"bookworm", 12, 15, "3.0.2", "3.4", "2.6", false};
    if (codename == "trixie") {
        return k_trixie;
    }
    if (codename == "bookworm") {
        return k_bookworm;
    }
    throw config_error("unsupported Debian release '" + codename + "'",
                       "use trixie (Debian 13) or bookworm (Debian 12)");
}

std::vector<std::string> packages_for(const DebianRelease& release, const HostSpec& host) {
    std::vector<std::string> out;
    const std::string v = std::to_string(release.postgres_version);
    if (host.runs(Service::postgres)) {
        for (const auto& p : {"postgresql-" + v, "postgresql-client-" + v, std::string("patroni"),
                              std::string("python3-etcd"), std::string("python3-psycopg2")}) {
            out.push_back(p);
        }
    }
    if (host.runs(Service::etcd)) {
        out.push_back("etcd-server");
        out.push_back("etcd-client");
    }
    if (host.runs(Service::haproxy)) {
        out.push_back("haproxy");
    }
    return out;
}

}  // namespace pgdr::pg
