#include "pg/pgbackrest_conf.hpp"

#include "core/backup_repo.hpp"
#include "core/error.hpp"
#include "pg/debian_paths.hpp"
#include "pg/tls.hpp"
#include "pki/cluster_certs.hpp"

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

// repo1 on the repository host, over its pgBackRest TLS server, with this client's pair.
struct ClientPair {
    std::string ca, cert, key;
};

std::string remote_repo(const Inventory& inv, const ClientPair& pair) {
    const auto* h = backup_repo_host(inv);
    if (h == nullptr || h->address.empty()) {
        throw config_error("backup.repo.host " + inv.backup->repo.host + " has no address");
    }
    std::string out;
    out += option("repo1-type", "posix");
    out += option("repo1-host", h->address);
    out += option("repo1-host-type", "tls");
    out += option("repo1-host-port", std::to_string(k_pgbackrest_tls_port));
    out += option("repo1-host-ca-file", pair.ca);
    out += option("repo1-host-cert-file", pair.cert);
    out += option("repo1-host-key-file", pair.key);
    return out;
}

ClientPair member_pair() {
    const auto& tls = tls_paths();
    return {tls.ca, tls.postgres_cert, tls.postgres_key};
}

// The TLS server's address, port and pair; then who may use the stanza: the common names of
// the client certificates (pki/cluster_certs.cpp).
std::string tls_server(const Inventory& inv, const std::string& address, const ClientPair& pair,
                       const std::vector<std::string>& clients) {
    std::string out;
    out += option("tls-server-address", address);
    out += option("tls-server-port", std::to_string(k_pgbackrest_tls_port));
    out += option("tls-server-ca-file", pair.ca);
    out += option("tls-server-cert-file", pair.cert);
    out += option("tls-server-key-file", pair.key);
    for (const auto& cn : clients) {
        out += option("tls-server-auth", cn + "=" + inv.cluster);
    }
    return out;
}

// A member's server: the other members (backup-standby), or only the repository host.
std::string member_tls_server(const Inventory& inv, const HostSpec& host) {
    std::vector<std::string> clients;
    if (const auto* repo = backup_repo_host(inv)) {
        clients.push_back(pki::cert_common_name(inv, repo->name, pki::k_pgbackrest_service));
    } else {
        for (const auto* m : inv.hosts_with(Service::postgres)) {
            if (m->name != host.name) {
                clients.push_back(pki::cert_common_name(inv, m->name, pki::k_postgres_service));
            }
        }
    }
    return tls_server(inv, host.address, member_pair(), clients);
}

// pgN-host..: a member reached over its TLS server with `pair`.
std::string remote_member(const Inventory& inv, int n, const HostSpec& m, const ClientPair& pair) {
    const auto paths = debian_paths(inv);
    const std::string pg = "pg" + std::to_string(n);
    std::string out;
    out += option(pg + "-host", m.address);
    out += option(pg + "-host-type", "tls");
    out += option(pg + "-host-port", std::to_string(k_pgbackrest_tls_port));
    out += option(pg + "-host-ca-file", pair.ca);
    out += option(pg + "-host-cert-file", pair.cert);
    out += option(pg + "-host-key-file", pair.key);
    out += option(pg + "-path", paths.data_dir);
    out += option(pg + "-port", std::to_string(k_postgres_port));
    out += option(pg + "-socket-path", "/var/run/postgresql");
    return out;
}

std::string local_pg1(const Inventory& inv) {
    std::string out;
    out += option("pg1-path", debian_paths(inv).data_dir);
    out += option("pg1-port", std::to_string(k_postgres_port));
    out += option("pg1-socket-path", "/var/run/postgresql");
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

// Retention and the cipher: where the repository is managed (not on a repository host's
// clients: its passphrase lives only there).
std::string cipher_options(const BackupSettings& b, const Secrets& secrets) {
    if (!b.cipher) {
        return "";
    }
    return option("repo1-cipher-type", "aes-256-cbc") + required_secret("repo1-cipher-pass",
                                                                        secrets.backup.cipher_pass,
                                                                        "the cipher passphrase");
}
std::string repository_options(const BackupSettings& b, const Secrets& secrets) {
    std::string out;
    out += option("repo1-retention-full", std::to_string(b.retention_full));
    out += option("repo1-retention-diff", std::to_string(b.retention_diff));
    return out + cipher_options(b, secrets);
}

std::string process_options(const BackupSettings& b) {
    std::string out;
    out += option("compress-type", b.compress);
    out += option("start-fast", "y");
    out += option("process-max", "2");
    out += option("log-level-console", "info");
    out += option("log-level-file", "detail");
    out += option("log-path", "/var/log/pgbackrest");
    return out;
}

// [global]: the repository, retention, cipher, compression and logging; `client` reaches a
// repository host with that pair.
std::string global_section(const Inventory& inv, const BackupSettings& b, const Secrets& secrets,
                           const ClientPair& client) {
    std::string out = "[global]\n";
    if (b.repo.type == "s3") {
        out += s3_repo(b, secrets);
        out += option("repo1-path", b.repo.path);
        out += repository_options(b, secrets);
    } else {
        out += remote_repo(inv, client);
        out += option("repo1-path", b.repo.path);
    }
    return out + process_options(b);
}

}  // namespace

std::string render_pgbackrest_restore_conf(const Inventory& inv, const Secrets& secrets) {
    const auto& b = backup_of(inv);
    const ClientPair restore{k_pgbackrest_restore_ca, k_pgbackrest_restore_cert,
                             k_pgbackrest_restore_key};
    std::string out = header(inv) + global_section(inv, b, secrets, restore);
    out += "\n[" + inv.cluster + "]\n";
    return out + local_pg1(inv);
}

namespace {
const BackupSettings& dr_archive_of(const Inventory& inv) {
    if (!inv.standby_of || !inv.standby_of->archive) {
        throw config_error(
            "not a DR cluster fetching from the primary's repository: no "
            "pgBackRest configuration for it");
    }
    return *inv.standby_of->archive;
}
}  // namespace

std::string pgbackrest_dr_restore_command(const Inventory& inv) {
    dr_archive_of(inv);
    return "pgbackrest --stanza=" + inv.standby_of->cluster + " archive-get %f \"%p\"";
}

std::string render_pgbackrest_dr_conf(const Inventory& inv, const Secrets& secrets) {
    const auto& b = dr_archive_of(inv);
    std::string out = header(inv) + "# Read only: the WAL of " + inv.standby_of->cluster +
                      " that streaming no longer has, from its repository\n"
                      "# (archive-get). This cluster archives and backs up nothing.\n"
                      "[global]\n";
    out += s3_repo(b, secrets);
    out += option("repo1-path", b.repo.path);
    out += cipher_options(b, secrets);
    out += process_options(b);
    out += "\n[" + inv.standby_of->cluster + "]\n";
    return out + local_pg1(inv);
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
    std::string out = header(inv) + global_section(inv, b, secrets, member_pair());
    if (backup_repo_host(inv) != nullptr) {
        out +=
            "\n# The repository host's pgBackRest reaches this PostgreSQL through this server.\n";
        out += member_tls_server(inv, host);
        out += "\n[" + inv.cluster + "]\n";
        return out + local_pg1(inv);
    }
    out += "\n# The other members' pgBackRest reach this PostgreSQL through this server.\n";
    out += member_tls_server(inv, host);
    out += "\n[" + inv.cluster + "]\n";
    out += local_pg1(inv);
    int n = 1;
    for (const auto* m : inv.hosts_with(Service::postgres)) {
        if (m->name != host.name) {
            out += remote_member(inv, ++n, *m, member_pair());
        }
    }
    // The backup reads a standby's files (pgdr-backup passes --backup-standby=n when none
    // streams).
    out += option("backup-standby", "y");
    return out;
}

std::string render_pgbackrest_repo_conf(const Inventory& inv, const Secrets& secrets) {
    const auto& b = backup_of(inv);
    const auto* repo = backup_repo_host(inv);
    if (repo == nullptr || repo->address.empty()) {
        throw config_error("backup.repo: no repository host with an address",
                           "set backup.repo.type posix and backup.repo.host to a host with an "
                           "address");
    }
    const auto& tls = tls_paths();
    const ClientPair own{tls.ca, tls.pgbackrest_cert, tls.pgbackrest_key};
    std::string out = header(inv) + "[global]\n";
    out += option("repo1-type", "posix");
    out += option("repo1-path", b.repo.path);
    out += repository_options(b, secrets);
    out += process_options(b);
    out +=
        "\n# The members (archive-push, archive-get, restore, check) and the scratch hosts'\n"
        "# restores reach the repository through this server.\n";
    std::vector<std::string> clients;
    for (const auto* m : inv.hosts_with(Service::postgres)) {
        clients.push_back(pki::cert_common_name(inv, m->name, pki::k_postgres_service));
    }
    clients.push_back(pki::restore_client_common_name(inv));
    out += tls_server(inv, repo->address, own, clients);
    out += "\n[" + inv.cluster + "]\n";
    int n = 0;
    for (const auto* m : inv.hosts_with(Service::postgres)) {
        if (m->address.empty()) {
            throw config_error("host " + m->name + " has no address yet",
                               "run `pgdr provision` first, or set its address in the inventory");
        }
        out += remote_member(inv, ++n, *m, own);
    }
    // pgBackRest finds the primary among them; pgdr-backup reads a standby's files when one is
    // found.
    out += option("backup-standby", "y");
    return out;
}

namespace {

// A unit's [Service] user and group.
std::string run_as(const std::string& user) {
    return "User=" + user + "\nGroup=" + user + "\n";
}

std::string server_unit(const Inventory& inv, const std::string& user, const std::string& what) {
    return "# Managed by pgdr (cluster " + inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n"
           "[Unit]\n"
           "Description=pgBackRest TLS server (pgdr cluster " +
           inv.cluster + ": " + what +
           ")\n"
           "After=network-online.target\n"
           "Wants=network-online.target\n"
           "\n"
           "[Service]\n" +
           run_as(user) +
           "ExecStart=/usr/bin/pgbackrest server\n"
           "ExecReload=/bin/kill -HUP $MAINPID\n"
           "Restart=always\n"
           "RestartSec=5\n"
           "\n"
           "[Install]\n"
           "WantedBy=multi-user.target\n";
}

}  // namespace

std::string render_pgbackrest_server_unit(const Inventory& inv) {
    return server_unit(inv, "postgres", "backups from a standby");
}

std::string render_pgbackrest_repo_server_unit(const Inventory& inv) {
    return server_unit(inv, k_pgbackrest_repo_user, "the repository host");
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

std::string render_repo_backup_script(const Inventory& inv) {
    return "#!/bin/sh\n"
           "# Managed by pgdr (cluster " +
           inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n"
           "# pgdr-backup TYPE [--manual]: a pgBackRest backup (full, diff or incr) of the\n"
           "# cluster, run as pgbackrest on its repository host. pgBackRest finds the primary\n"
           "# among the members (pg1..pgN) and reads a standby's files (backup-standby); when\n"
           "# no standby is found, the primary's. pgBackRest expires old backups after it.\n"
           "set -eu\n"
           "type=${1:?usage: pgdr-backup full|diff|incr [--manual]}\n"
           "case $type in full|diff|incr) ;; *) echo \"pgdr-backup: unknown type $type\" >&2; "
           "exit 2;; esac\n"
           "log=$(mktemp)\n"
           "trap 'rm -f \"$log\"' EXIT\n"
           "run() { pgbackrest --stanza=" +
           inv.cluster +
           " --type=\"$type\" --backup-standby=\"$1\" backup; }\n"
           "if run y >\"$log\" 2>&1; then cat \"$log\"; exit 0; else rc=$?; fi\n"
           "cat \"$log\"\n"
           "grep -q 'unable to find standby' \"$log\" || exit \"$rc\"\n"
           "echo \"pgdr-backup: no standby streams: backing up from the primary\" >&2\n"
           "run n\n";
}

std::string render_backup_service(const Inventory& inv, const std::string& type) {
    const bool repo_host = backup_repo_host(inv) != nullptr;
    const std::string user = repo_host ? k_pgbackrest_repo_user : "postgres";
    return "# Managed by pgdr (cluster " + inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n"
           "[Unit]\n"
           "Description=pgdr: " +
           type + " pgBackRest backup of cluster " + inv.cluster +
           (repo_host ? " (on its repository host)" : " (on the leader only)") +
           "\n"
           "After=network-online.target\n"
           "\n"
           "[Service]\n"
           "Type=oneshot\n" +
           run_as(user) + "ExecStart=" + std::string(k_backup_script) + " " + type + "\n";
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
