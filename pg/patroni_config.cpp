#include "pg/patroni_config.hpp"

#include <yaml-cpp/yaml.h>

#include "core/error.hpp"
#include "pg/debian_paths.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/postgres_conf.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

namespace {

// Strings always double-quoted: YAML 1.1 readers (Patroni's PyYAML) turn plain `on`, `yes`,
// `null` or `0777` into other types, and a password must stay a string byte for byte.
void str(YAML::Emitter& e, const std::string& key, const std::string& value) {
    e << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
}
template <typename T>
void val(YAML::Emitter& e, const std::string& key, T value) {
    e << YAML::Key << key << YAML::Value << value;
}
std::string host_port(const std::string& host, int port) {
    return host + ":" + std::to_string(port);
}

void credentials_plain(YAML::Emitter& e, const std::string& key, const std::string& user,
                       const std::string& password) {
    e << YAML::Key << key << YAML::Value << YAML::BeginMap;
    str(e, "username", user);
    str(e, "password", password);
    e << YAML::EndMap;
}

// A role's connection settings: every network connection verifies the server's certificate
// against the cluster CA and its address (replication, pg_rewind; the superuser connects over
// the local socket).
void credentials(YAML::Emitter& e, const std::string& key, const std::string& user,
                 const std::string& password) {
    e << YAML::Key << key << YAML::Value << YAML::BeginMap;
    str(e, "username", user);
    str(e, "password", password);
    str(e, "sslmode", "verify-full");
    str(e, "sslrootcert", tls_paths().ca);
    e << YAML::EndMap;
}

// The DCS over TLS with this host's certificate (etcd requires a client certificate).
void etcd3_section(YAML::Emitter& e, const Inventory& inv) {
    const auto& tls = tls_paths();
    e << YAML::Key << "etcd3" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "hosts" << YAML::Value << YAML::BeginSeq;
    for (const auto* member : inv.hosts_with(Service::etcd)) {
        e << YAML::DoubleQuoted << host_port(member->address, inv.etcd.client_port);
    }
    e << YAML::EndSeq;
    str(e, "protocol", "https");
    str(e, "cacert", tls.ca);
    str(e, "cert", tls.postgres_cert);
    str(e, "key", tls.postgres_key);
    e << YAML::EndMap;
}

// HTTPS with the cluster CA. Safe GETs (HAProxy's /primary and /replica checks) need no
// client certificate; the unsafe endpoints (switchover, restart, reinit, PATCH /config) need
// one of the cluster CA (verify_client: optional), the password, and a source address among
// the members and HAProxy hosts.
void restapi_section(YAML::Emitter& e, const Inventory& inv, const HostSpec& host,
                     const Secrets& secrets) {
    const auto& tls = tls_paths();
    const auto& p = inv.patroni;
    e << YAML::Key << "restapi" << YAML::Value << YAML::BeginMap;
    str(e, "listen", host_port(host.address, p.rest_port));
    str(e, "connect_address", host_port(host.address, p.rest_port));
    credentials_plain(e, "authentication", k_rest_api_user, secrets.rest_api_password);
    str(e, "certfile", tls.postgres_cert);
    str(e, "keyfile", tls.postgres_key);
    str(e, "cafile", tls.ca);
    str(e, "verify_client", "optional");
    e << YAML::Key << "allowlist" << YAML::Value << YAML::BeginSeq;
    for (const auto& h : inv.hosts) {
        if (h.runs(Service::postgres) || h.runs(Service::haproxy)) {
            e << YAML::DoubleQuoted << h.address;
        }
    }
    e << YAML::EndSeq;
    val(e, "allowlist_include_members", true);
    e << YAML::EndMap;
    // patronictl on this host (and Patroni's own calls to other members) present the same
    // certificate.
    e << YAML::Key << "ctl" << YAML::Value << YAML::BeginMap;
    str(e, "cacert", tls.ca);
    str(e, "certfile", tls.postgres_cert);
    str(e, "keyfile", tls.postgres_key);
    e << YAML::EndMap;
}

// bootstrap.dcs.postgresql.
void dcs_postgresql_section(YAML::Emitter& e, const Inventory& inv) {
    e << YAML::Key << "postgresql" << YAML::Value << YAML::BeginMap;
    val(e, "use_pg_rewind", inv.patroni.use_pg_rewind);
    val(e, "use_slots", inv.patroni.use_slots);
    // No remove_data_directory_on_*: a member whose rewind fails or whose timeline diverged
    // keeps its data (it may hold the only copy of acknowledged writes) until an operator
    // decides (`patronictl reinit`).
    // Not archive_command (a shell command) nor pg_hba: they live in the local section below,
    // so that a write to the DCS cannot run code on the members or open PostgreSQL.
    e << YAML::Key << "parameters" << YAML::Value << YAML::BeginMap;
    for (const auto& param : replication_parameters(inv)) {
        if (param.name == "archive_command") {
            continue;
        } else if (param.number) {
            val(e, param.name, std::stoll(param.value));
        } else {
            str(e, param.name, param.value);
        }
    }
    e << YAML::EndMap;
    e << YAML::EndMap;  // dcs.postgresql
}

// A pair of clusters (issue 16): the primary keeps a permanent physical slot for the DR
// cluster's standby leader (Patroni drops slots it does not know); the DR cluster is a standby
// cluster streaming from whichever of the primary's members is writable (Patroni adds
// target_session_attrs=read-write to a list of hosts; the replication role's verify-full
// checks each member's certificate).
void dcs_dr_section(YAML::Emitter& e, const Inventory& inv) {
    if (inv.dr) {
        e << YAML::Key << "slots" << YAML::Value << YAML::BeginMap;
        e << YAML::Key << inv.dr->slot << YAML::Value << YAML::BeginMap;
        str(e, "type", "physical");
        e << YAML::EndMap << YAML::EndMap;
    }
    if (inv.standby_of) {
        const auto& of = *inv.standby_of;
        e << YAML::Key << "standby_cluster" << YAML::Value << YAML::BeginMap;
        str(e, "host", standby_hosts(of));
        val(e, "port", of.port);
        str(e, "primary_slot_name", of.slot);
        if (of.archive) {
            // What streaming no longer has, from the primary's repository.
            str(e, "restore_command", pgbackrest_dr_restore_command(inv));
        }
        e << YAML::Key << "create_replica_methods" << YAML::Value << YAML::BeginSeq << "basebackup"
          << YAML::EndSeq;
        e << YAML::EndMap;
    }
}

// The bootstrap section: Patroni never initialises a cluster itself (pgdr's seed does), and the
// DCS settings it writes once, when it adopts the cluster; later changes go through PATCH /config.
void bootstrap_section(YAML::Emitter& e, const Inventory& inv) {
    const auto& p = inv.patroni;
    e << YAML::Key << "bootstrap" << YAML::Value << YAML::BeginMap;
    str(e, "method", k_refuse_bootstrap_method);
    e << YAML::Key << k_refuse_bootstrap_method << YAML::Value << YAML::BeginMap;
    str(e, "command", "/bin/false");
    val(e, "no_params", true);
    e << YAML::EndMap;
    e << YAML::Key << "dcs" << YAML::Value << YAML::BeginMap;
    val(e, "ttl", p.ttl);
    val(e, "loop_wait", p.loop_wait);
    val(e, "retry_timeout", p.retry_timeout);
    val(e, "maximum_lag_on_failover", p.maximum_lag_on_failover);
    val(e, "synchronous_mode", p.synchronous_mode);
    val(e, "synchronous_mode_strict", p.synchronous_mode_strict);
    val(e, "check_timeline", true);
    // A leader that loses etcd keeps leading while every member still answers it (POST
    // /failsafe), instead of demoting the whole cluster during an etcd outage.
    val(e, "failsafe_mode", true);
    dcs_postgresql_section(e, inv);
    dcs_dr_section(e, inv);
    e << YAML::EndMap;  // dcs
    e << YAML::EndMap;  // bootstrap
}

// postgresql.parameters: archiving, TLS, the socket and the logging collector.
void local_parameters(YAML::Emitter& e, const Inventory& inv, const DebianPaths& paths) {
    e << YAML::Key << "parameters" << YAML::Value << YAML::BeginMap;
    str(e, "archive_command",
        inv.backup ? pgbackrest_archive_command(inv) : archive_command(inv.paths.archive_dir));
    for (const auto& param : ssl_parameters()) {
        str(e, param.name, param.value);
    }
    str(e, "unix_socket_directories", "/var/run/postgresql");
    // Under Patroni nothing redirects stderr to Debian's log file; the collector writes it.
    str(e, "logging_collector", "on");
    str(e, "log_directory", paths.log_directory);
    str(e, "log_filename", paths.log_file.substr(paths.log_directory.size() + 1));
    e << YAML::EndMap;
}

// The local postgresql section: where the cluster lives, its credentials, pg_hba and the
// parameters no DCS write may change.
void postgresql_section(YAML::Emitter& e, const Inventory& inv, const HostSpec& host,
                        const Secrets& secrets) {
    const auto paths = debian_paths(inv);
    e << YAML::Key << "postgresql" << YAML::Value << YAML::BeginMap;
    // The host's own address for the cluster, localhost for local tools (and Patroni 3.0.2's
    // replication connection to ::1); not '*': an OVH instance also has a public interface.
    str(e, "listen", host.address + ",localhost:" + std::to_string(k_postgres_port));
    str(e, "connect_address", host_port(host.address, k_postgres_port));
    val(e, "use_unix_socket", true);
    str(e, "data_dir", paths.data_dir);
    str(e, "bin_dir", paths.bin_dir);
    str(e, "config_dir", paths.config_dir);
    str(e, "pgpass", paths.patroni_pgpass);
    e << YAML::Key << "create_replica_methods" << YAML::Value << YAML::BeginSeq;
    if (inv.backup) {
        // A rebuilt replica comes from the repository (its WAL from the archive), not from the
        // leader; basebackup when the repository has no backup yet.
        e << "pgbackrest";
    }
    e << "basebackup" << YAML::EndSeq;
    if (inv.backup) {
        e << YAML::Key << "pgbackrest" << YAML::Value << YAML::BeginMap;
        str(e, "command", pgbackrest_replica_command(inv));
        val(e, "keep_data", true);
        val(e, "no_params", true);
        e << YAML::EndMap;
        // Replicas fetch from the archive what streaming no longer has.
        e << YAML::Key << "recovery_conf" << YAML::Value << YAML::BeginMap;
        str(e, "restore_command", pgbackrest_restore_command(inv));
        e << YAML::EndMap;
    }
    e << YAML::Key << "basebackup" << YAML::Value << YAML::BeginMap;
    str(e, "checkpoint", "fast");
    e << YAML::EndMap;
    e << YAML::Key << "authentication" << YAML::Value << YAML::BeginMap;
    credentials(e, "replication", k_replication_user, secrets.replication_password);
    credentials(e, "superuser", k_superuser, secrets.superuser_password);
    credentials(e, "rewind", k_rewind_user, secrets.rewind_password);
    e << YAML::EndMap;
    e << YAML::Key << "pg_hba" << YAML::Value << YAML::BeginSeq;
    for (const auto& rule : hba_rules(inv)) {
        e << YAML::DoubleQuoted << rule;
    }
    e << YAML::EndSeq;
    local_parameters(e, inv, paths);
    e << YAML::EndMap;  // postgresql
}

}  // namespace

std::string standby_hosts(const StandbyOf& of) {
    std::string out;
    for (const auto& a : of.addresses) {
        out += (out.empty() ? "" : ",") + a;
    }
    return out;
}

std::string render_patroni_yml(const Inventory& inv, const HostSpec& host, const Secrets& secrets) {
    if (!host.runs(Service::postgres)) {
        throw config_error("host " + host.name + " does not run postgres: no patroni.yml");
    }
    if (host.address.empty()) {
        throw config_error("host " + host.name + " has no address yet",
                           "run `pgdr provision` first, or set its address in the inventory");
    }
    YAML::Emitter e;
    e.SetIndent(2);
    e << YAML::Comment("Managed by pgdr (cluster " + inv.cluster +
                       "): `pgdr bootstrap` rewrites this file.");
    e << YAML::Newline;
    e << YAML::BeginMap;
    // Debian's layout: scope and namespace as pg_createconfig_patroni writes them, so Debian's
    // tools (patronictl with this file) find the cluster.
    str(e, "scope", debian_paths(inv).cluster);
    str(e, "namespace", "/postgresql-common/");
    str(e, "name", host.name);
    etcd3_section(e, inv);
    restapi_section(e, inv, host, secrets);
    bootstrap_section(e, inv);
    postgresql_section(e, inv, host, secrets);
    e << YAML::EndMap;
    if (!e.good()) {
        throw Error(ExitCode::internal, "patroni.yml: YAML emitter error: " + e.GetLastError());
    }
    return std::string(e.c_str()) + "\n";
}

}  // namespace pgdr::pg
