#include "pg/pgbackrest_conf.hpp"

#include "core/error.hpp"
#include "pg/debian_paths.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

namespace {

const BackupSettings& backup_of(const Inventory& inv) {
    if (!inv.backup) {
        throw config_error("the inventory has no backup section: no pgBackRest configuration");
    }
    return *inv.backup;
}

// One `key=value` line; a value with a line break would start another option.
std::string option(const std::string& key, const std::string& value) {
    if (value.find_first_of("\r\n") != std::string::npos) {
        throw config_error("pgbackrest.conf: the value of " + key + " holds a line break");
    }
    return key + "=" + value + "\n";
}

std::string required_secret(const std::string& key, const std::string& value,
                            const std::string& what) {
    if (value.empty()) {
        throw config_error("pgbackrest.conf: " + what + " is missing for " + key);
    }
    return option(key, value);
}

std::string header(const Inventory& inv) {
    return "# Managed by pgdr (cluster " + inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n";
}

// repo1: the S3 bucket (always verified TLS).
std::string s3_repo(const BackupSettings& b, const Secrets& secrets) {
    std::string out;
    out += option("repo1-type", "s3");
    out += option("repo1-s3-endpoint", b.repo.endpoint);
    out += option("repo1-s3-region", b.repo.region);
    out += option("repo1-s3-bucket", b.repo.bucket);
    out += option("repo1-s3-uri-style", b.repo.uri_style);
    out += required_secret("repo1-s3-key", secrets.backup.s3_key, "the S3 access key");
    out += required_secret("repo1-s3-key-secret", secrets.backup.s3_secret, "the S3 secret key");
    out += option("repo1-storage-verify-tls", "y");
    if (!b.repo.ca_file.empty()) {
        out += option("repo1-storage-ca-file", k_pgbackrest_repo_ca);
    }
    return out;
}

// repo1 on a repository host, over its pgBackRest TLS server.
std::string posix_repo(const Inventory& inv, const BackupSettings& b) {
    const auto* h = inv.find_host(b.repo.host);
    if (h == nullptr || h->address.empty()) {
        throw config_error("backup.repo.host " + b.repo.host + " has no address");
    }
    const auto& tls = tls_paths();
    std::string out;
    out += option("repo1-type", "posix");
    out += option("repo1-host", h->address);
    out += option("repo1-host-type", "tls");
    out += option("repo1-host-port", std::to_string(k_pgbackrest_tls_port));
    out += option("repo1-host-ca-file", tls.ca);
    out += option("repo1-host-cert-file", tls.postgres_cert);
    out += option("repo1-host-key-file", tls.postgres_key);
    return out;
}

// The client certificates' names (pki/cluster_certs.cpp) allowed to use this stanza.
std::string tls_server(const Inventory& inv, const HostSpec& host) {
    const auto& tls = tls_paths();
    std::string out;
    out += option("tls-server-address", host.address);
    out += option("tls-server-port", std::to_string(k_pgbackrest_tls_port));
    out += option("tls-server-ca-file", tls.ca);
    out += option("tls-server-cert-file", tls.postgres_cert);
    out += option("tls-server-key-file", tls.postgres_key);
    for (const auto* m : inv.hosts_with(Service::postgres)) {
        if (m->name != host.name) {
            out += option("tls-server-auth",
                          m->name + " postgres (" + inv.cluster + ")=" + inv.cluster);
        }
    }
    return out;
}

}  // namespace

std::string pgbackrest_version(const std::string& release) {
    return release == "bookworm" ? "2.45" : "2.55.1";
}

std::string pgbackrest_archive_command(const Inventory& inv) {
    return "pgbackrest --stanza=" + inv.cluster + " archive-push \"%p\"";
}

std::string pgbackrest_restore_command(const Inventory& inv) {
    return "pgbackrest --stanza=" + inv.cluster + " archive-get %f \"%p\"";
}

std::string pgbackrest_replica_command(const Inventory& inv) {
    return "/usr/bin/pgbackrest --stanza=" + inv.cluster + " --delta restore";
}

namespace {

// [global]: the repository, retention, cipher, compression and logging.
std::string global_section(const Inventory& inv, const BackupSettings& b, const Secrets& secrets) {
    std::string out = "[global]\n";
    out += b.repo.type == "s3" ? s3_repo(b, secrets) : posix_repo(inv, b);
    out += option("repo1-path", b.repo.path);
    out += option("repo1-retention-full", std::to_string(b.retention_full));
    out += option("repo1-retention-diff", std::to_string(b.retention_diff));
    if (b.cipher) {
        out += option("repo1-cipher-type", "aes-256-cbc");
        out += required_secret("repo1-cipher-pass", secrets.backup.cipher_pass,
                               "the cipher passphrase");
    }
    out += option("compress-type", b.compress);
    out += option("start-fast", "y");
    out += option("process-max", "2");
    out += option("log-level-console", "info");
    out += option("log-level-file", "detail");
    out += option("log-path", "/var/log/pgbackrest");
    return out;
}

}  // namespace

std::string render_pgbackrest_restore_conf(const Inventory& inv, const Secrets& secrets) {
    const auto& b = backup_of(inv);
    std::string out = header(inv) + global_section(inv, b, secrets);
    out += "\n[" + inv.cluster + "]\n";
    out += option("pg1-path", debian_paths(inv).data_dir);
    out += option("pg1-port", std::to_string(k_postgres_port));
    out += option("pg1-socket-path", "/var/run/postgresql");
    return out;
}

std::string render_pgbackrest_conf(const Inventory& inv, const HostSpec& host,
                                   const Secrets& secrets) {
    const auto& b = backup_of(inv);
    if (!host.runs(Service::postgres)) {
        throw config_error("host " + host.name + " does not run postgres: no pgbackrest.conf");
    }
    if (host.address.empty()) {
        throw config_error("host " + host.name + " has no address yet",
                           "run `pgdr provision` first, or set its address in the inventory");
    }
    const auto paths = debian_paths(inv);
    const auto& tls = tls_paths();
    std::string out = header(inv) + global_section(inv, b, secrets);
    out += "\n# The other members' pgBackRest reach this PostgreSQL through this server.\n";
    out += tls_server(inv, host);
    out += "\n[" + inv.cluster + "]\n";
    out += option("pg1-path", paths.data_dir);
    out += option("pg1-port", std::to_string(k_postgres_port));
    out += option("pg1-socket-path", "/var/run/postgresql");
    int n = 1;
    for (const auto* m : inv.hosts_with(Service::postgres)) {
        if (m->name == host.name) {
            continue;
        }
        const std::string pg = "pg" + std::to_string(++n);
        out += option(pg + "-host", m->address);
        out += option(pg + "-host-type", "tls");
        out += option(pg + "-host-port", std::to_string(k_pgbackrest_tls_port));
        out += option(pg + "-host-ca-file", tls.ca);
        out += option(pg + "-host-cert-file", tls.postgres_cert);
        out += option(pg + "-host-key-file", tls.postgres_key);
        out += option(pg + "-path", paths.data_dir);
        out += option(pg + "-port", std::to_string(k_postgres_port));
        out += option(pg + "-socket-path", "/var/run/postgresql");
    }
    // The backup reads a standby's files (pgdr-backup passes --backup-standby=n when none
    // streams).
    out += option("backup-standby", "y");
    return out;
}

std::string render_pgbackrest_server_unit(const Inventory& inv) {
    return "# Managed by pgdr (cluster " + inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n"
           "[Unit]\n"
           "Description=pgBackRest TLS server (pgdr cluster " +
           inv.cluster +
           ": backups from a standby)\n"
           "After=network-online.target\n"
           "Wants=network-online.target\n"
           "\n"
           "[Service]\n"
           "User=postgres\n"
           "Group=postgres\n"
           "ExecStart=/usr/bin/pgbackrest server\n"
           "ExecReload=/bin/kill -HUP $MAINPID\n"
           "Restart=always\n"
           "RestartSec=5\n"
           "\n"
           "[Install]\n"
           "WantedBy=multi-user.target\n";
}

std::string render_backup_script(const Inventory& inv) {
    return "#!/bin/sh\n"
           "# Managed by pgdr (cluster " +
           inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n"
           "# pgdr-backup TYPE [--manual]: a pgBackRest backup (full, diff or incr) of the\n"
           "# cluster, run as postgres. The timers fire on every member: only the leader backs\n"
           "# up (the others exit 0, or 3 with --manual), reading a streaming standby's files\n"
           "# when one streams (backup-standby), else its own.\n"
           "set -eu\n"
           "type=${1:?usage: pgdr-backup full|diff|incr [--manual]}\n"
           "case $type in full|diff|incr) ;; *) echo \"pgdr-backup: unknown type $type\" >&2; "
           "exit 2;; esac\n"
           "q() { psql -XAtq -d postgres -c \"$1\"; }\n"
           "if [ \"$(q 'select pg_is_in_recovery()')\" != f ]; then\n"
           "    echo \"pgdr-backup: $(hostname) is not the leader: no backup here\"\n"
           "    [ \"${2:-}\" = --manual ] && exit 3\n"
           "    exit 0\n"
           "fi\n"
           "standby=y\n"
           "[ \"$(q \"select count(*) from pg_stat_replication where state = "
           "'streaming'\")\" -gt 0 ] || standby=n\n"
           "exec pgbackrest --stanza=" +
           inv.cluster + " --type=\"$type\" --backup-standby=\"$standby\" backup\n";
}

std::string backup_unit_name(const std::string& type, const std::string& suffix) {
    return "pgdr-backup-" + type + "." + suffix;
}

std::string render_backup_service(const Inventory& inv, const std::string& type) {
    return "# Managed by pgdr (cluster " + inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n"
           "[Unit]\n"
           "Description=pgdr: " +
           type + " pgBackRest backup of cluster " + inv.cluster +
           " (on the leader only)\n"
           "After=network-online.target\n"
           "\n"
           "[Service]\n"
           "Type=oneshot\n"
           "User=postgres\n"
           "Group=postgres\n"
           "ExecStart=" +
           std::string(k_backup_script) + " " + type + "\n";
}

std::string render_backup_timer(const Inventory& inv, const std::string& type,
                                const std::string& calendar) {
    return "# Managed by pgdr (cluster " + inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n"
           "[Unit]\n"
           "Description=pgdr: " +
           type + " backups of cluster " + inv.cluster +
           "\n"
           "\n"
           "[Timer]\n"
           "OnCalendar=" +
           calendar +
           "\n"
           "# Not caught up at boot: a member starting after a failover is not the one that\n"
           "# missed the run.\n"
           "Persistent=false\n"
           "\n"
           "[Install]\n"
           "WantedBy=timers.target\n";
}

}  // namespace pgdr::pg
