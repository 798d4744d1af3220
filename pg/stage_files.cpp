#include "pg/stage_files.hpp"

#include "core/backup_repo.hpp"
#include "monitoring/config.hpp"
#include "pg/debian_paths.hpp"
#include "pg/etcd_config.hpp"
#include "pg/haproxy_config.hpp"
#include "pg/patroni_config.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/plan_actions.hpp"
#include "pg/postgres_conf.hpp"
#include "pg/stage_guard.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

namespace {
const char* const k_postgres_owner = "postgres:postgres";

// Every host: its node exporter; members: the PostgreSQL exporter; monitor hosts: Prometheus,
// its rules, Alertmanager. Nothing when no host runs the monitor service.
std::vector<PutFile> monitoring_files(const Inventory& inv, const HostSpec& host) {
    std::vector<PutFile> out;
    if (monitoring::monitor_hosts(inv).empty()) {
        return out;
    }
    out.push_back(plan_file("/etc/default/prometheus-node-exporter",
                            monitoring::node_exporter_defaults(host), "0644", "",
                            "node exporter settings"));
    if (host.runs(Service::postgres)) {
        out.push_back(plan_file("/etc/default/prometheus-postgres-exporter",
                                monitoring::postgres_exporter_defaults(host), "0644", "",
                                "PostgreSQL exporter settings"));
    }
    if (host.runs(Service::monitor)) {
        out.push_back(plan_file("/etc/default/prometheus",
                                monitoring::prometheus_defaults(inv, host), "0644", "",
                                "Prometheus settings"));
        out.push_back(plan_file(monitoring::k_prometheus_config,
                                monitoring::render_prometheus_config(inv), "0644", "",
                                "Prometheus scrape targets"));
        out.push_back(plan_file(monitoring::k_alert_rules_path, monitoring::alert_rules(), "0644",
                                "", "pgdr's alert rules"));
        out.push_back(plan_file("/etc/default/prometheus-alertmanager",
                                monitoring::alertmanager_defaults(inv, host), "0644", "",
                                "Alertmanager settings"));
        out.push_back(plan_file(monitoring::k_alertmanager_config,
                                monitoring::render_alertmanager_config(inv), "0644", "",
                                "Alertmanager routes"));
    }
    return out;
}

// The backup script and the schedule's units: on the members, or on the repository host.
void backup_schedule_files(std::vector<PutFile>& out, const Inventory& inv, bool repo_host) {
    out.push_back(plan_file(k_backup_script,
                            repo_host ? render_repo_backup_script(inv) : render_backup_script(inv),
                            "0755", "", "the backup script of the timers and `pgdr backup run`"));
    const std::pair<const char*, const std::string*> schedule[] = {
        {"full", &inv.backup->schedule.full}, {"diff", &inv.backup->schedule.diff}};
    for (const auto& [type, calendar] : schedule) {
        if (calendar->empty()) {
            continue;
        }
        out.push_back(plan_file("/etc/systemd/system/" + backup_unit_name(type, "service"),
                                render_backup_service(inv, type), "0644", "",
                                std::string(type) + " backup service"));
        out.push_back(plan_file("/etc/systemd/system/" + backup_unit_name(type, "timer"),
                                render_backup_timer(inv, type, *calendar), "0644", "",
                                std::string(type) + " backup schedule (" + *calendar + ")"));
    }
}

// The repository host's (backup.repo.type posix): 0640 root:pgbackrest, the cipher passphrase.
std::vector<PutFile> repo_host_files(const Inventory& inv, const Secrets& secrets) {
    std::vector<PutFile> out;
    out.push_back(plan_file(k_pgbackrest_conf, render_pgbackrest_repo_conf(inv, secrets), "0640",
                            std::string("root:") + k_pgbackrest_repo_user,
                            "pgBackRest configuration (the repository host)",
                            Secrecy::password_lines));
    out.push_back(plan_file(std::string("/etc/systemd/system/") + k_pgbackrest_server_unit,
                            render_pgbackrest_repo_server_unit(inv), "0644", "",
                            "the pgBackRest TLS server (the repository host)"));
    backup_schedule_files(out, inv, true);
    return out;
}

// pgBackRest on the members (pg/pgbackrest_conf.hpp) and the repository host; nothing without
// a backup section.
std::vector<PutFile> backup_files(const Inventory& inv, const HostSpec& host,
                                  const Secrets& secrets) {
    std::vector<PutFile> out;
    if (reads_primary_archive(inv) && host.runs(Service::postgres)) {
        // A DR cluster's member: the primary's repository, read only (archive-get).
        add_repo_ca_file(out, secrets);
        out.push_back(plan_file(k_pgbackrest_conf, render_pgbackrest_dr_conf(inv, secrets), "0640",
                                "root:postgres",
                                "pgBackRest configuration (the primary's archive, read only)",
                                Secrecy::password_lines));
        return out;
    }
    if (!inv.backup) {
        return out;
    }
    if (is_backup_repo_host(inv, host.name)) {
        return repo_host_files(inv, secrets);
    }
    if (!host.runs(Service::postgres)) {
        return out;
    }
    add_repo_ca_file(out, secrets);
    // 0640 root:postgres: it holds the S3 secret and the cipher passphrase (not with a
    // repository host: only the repository host holds the passphrase).
    out.push_back(plan_file(k_pgbackrest_conf, render_pgbackrest_conf(inv, host, secrets), "0640",
                            "root:postgres", "pgBackRest configuration", Secrecy::password_lines));
    out.push_back(plan_file(std::string("/etc/systemd/system/") + k_pgbackrest_server_unit,
                            render_pgbackrest_server_unit(inv), "0644", "",
                            "the pgBackRest TLS server (backups from a standby)"));
    if (backup_repo_host(inv) == nullptr) {
        backup_schedule_files(out, inv, false);
    }
    return out;
}

// The CA on every host; each service's key pair readable by its user only.
void certificate_files(std::vector<PutFile>& out, const Inventory& inv, const HostSpec& host,
                       const Secrets& secrets) {
    for (const auto& c : host_certificates(inv, host)) {
        if (c.service == k_ca_service) {
            out.push_back(
                plan_file(c.cert_path, secrets.tls.ca.cert_pem, "0644", c.owner, "the cluster CA"));
            continue;
        }
        const auto& p = secrets.tls.of(host.name, c.service);
        out.push_back(plan_file(c.key_path, p.key_pem, "0600", c.owner, c.service + " private key",
                                Secrecy::whole_file));
        out.push_back(
            plan_file(c.cert_path, p.cert_pem, "0644", c.owner, c.service + " certificate"));
    }
}
}  // namespace

std::vector<PutFile> stage_files(const Inventory& inv, const HostSpec& host,
                                 const HostSpec& primary, const Secrets& secrets, Stage stage) {
    const auto paths = debian_paths(inv);
    std::vector<PutFile> out;
    switch (stage) {
        case Stage::packages:
        case Stage::verify:
            break;
        case Stage::certificates:
            certificate_files(out, inv, host, secrets);
            break;
        case Stage::etcd:
            if (host.runs(Service::etcd)) {
                out.push_back(plan_file(paths.etcd_defaults, render_etcd_defaults(inv, host),
                                        "0644", "", "etcd member settings"));
                out.push_back(plan_file(k_etcd_dropin, render_etcd_dropin(inv), "0644", "",
                                        "etcd started again after a failure (its address late)"));
            }
            break;
        case Stage::replication:
            if (host.runs(Service::postgres)) {
                out.push_back(plan_file(paths.include_file, render_postgres_include(inv, host),
                                        "0644", k_postgres_owner, "replication settings"));
                // 0640 as Debian installs it: it names the cluster's subnet.
                out.push_back(plan_file(paths.pg_hba, render_pg_hba(inv), "0640", k_postgres_owner,
                                        "client authentication"));
                // A DR cluster's first member streams too, from the primary cluster.
                if (host.name != primary.name || inv.standby_of) {
                    out.push_back(plan_file(
                        paths.replication_passfile, render_replication_passfile(inv, secrets),
                        "0600", k_postgres_owner, "replication password", Secrecy::whole_file));
                    out.push_back(plan_file(
                        paths.standby_file, render_standby_conf(inv, primary, host), "0644",
                        k_postgres_owner,
                        "streaming from " +
                            (host.name == primary.name ? inv.standby_of->cluster : primary.name)));
                }
            }
            break;
        case Stage::patroni:
            if (host.runs(Service::postgres)) {
                out.push_back(
                    plan_file(paths.patroni_config, render_patroni_yml(inv, host, secrets), "0600",
                              k_postgres_owner, "Patroni configuration", Secrecy::password_lines));
                out.push_back(plan_file(paths.start_conf, render_start_conf(inv), "0644",
                                        k_postgres_owner, "no start outside Patroni"));
                // Which passwords this host's patroni.yml holds (a one-way fingerprint), so a
                // later run from a lost or regenerated state directory is refused.
                out.push_back(plan_file(
                    secrets_fingerprint_path(),
                    "cluster=" + inv.cluster + " secrets=" + secrets_fingerprint(secrets) + "\n",
                    "0644", "", "fingerprint of the cluster's passwords"));
            }
            break;
        case Stage::monitoring:
            out = monitoring_files(inv, host);
            break;
        case Stage::guard:
            out = guard_files(inv, host, secrets);
            break;
        case Stage::backup:
            out = backup_files(inv, host, secrets);
            break;
        case Stage::haproxy:
            if (host.runs(Service::haproxy)) {
                // 0640 root:haproxy: it holds the stats password.
                out.push_back(
                    plan_file(paths.haproxy_config,
                              render_haproxy_cfg(inv, host, secrets.haproxy_stats_password), "0640",
                              "root:haproxy", "HAProxy routing", Secrecy::password_lines));
                out.push_back(plan_file(k_haproxy_reload_script, render_haproxy_reload_script(inv),
                                        "0755", "",
                                        "HAProxy reloads that keep the servers' states"));
                out.push_back(plan_file(k_haproxy_dropin, render_haproxy_dropin(inv), "0644", "",
                                        "no saved server states on a start of HAProxy"));
            }
            break;
    }
    return out;
}

void add_repo_ca_file(std::vector<PutFile>& out, const Secrets& secrets) {
    if (!secrets.backup.repo_ca_pem.empty()) {
        out.push_back(plan_file(k_pgbackrest_repo_ca, secrets.backup.repo_ca_pem, "0644", "",
                                "the CA the backup repository's certificate is checked against"));
    }
}

}  // namespace pgdr::pg
