#include "pg/stage_files.hpp"

#include "monitoring/config.hpp"
#include "pg/debian_paths.hpp"
#include "pg/etcd_config.hpp"
#include "pg/haproxy_config.hpp"
#include "pg/patroni_config.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/postgres_conf.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

namespace {
PutFile file(std::string path, std::string content, std::string mode, std::string owner,
             std::string description, Secrecy secrecy = Secrecy::none) {
    PutFile f;
    f.path = std::move(path);
    f.content = std::move(content);
    f.spec.mode = std::move(mode);
    f.spec.owner = std::move(owner);
    f.description = std::move(description);
    f.secrecy = secrecy;
    return f;
}
const char* const k_postgres_owner = "postgres:postgres";

// Every host: its node exporter; members: the PostgreSQL exporter; monitor hosts: Prometheus,
// its rules, Alertmanager. Nothing when no host runs the monitor service.
std::vector<PutFile> monitoring_files(const Inventory& inv, const HostSpec& host) {
    std::vector<PutFile> out;
    if (monitoring::monitor_hosts(inv).empty()) {
        return out;
    }
    out.push_back(file("/etc/default/prometheus-node-exporter",
                       monitoring::node_exporter_defaults(host), "0644", "",
                       "node exporter settings"));
    if (host.runs(Service::postgres)) {
        out.push_back(file("/etc/default/prometheus-postgres-exporter",
                           monitoring::postgres_exporter_defaults(host), "0644", "",
                           "PostgreSQL exporter settings"));
    }
    if (host.runs(Service::monitor)) {
        out.push_back(file("/etc/default/prometheus", monitoring::prometheus_defaults(inv, host),
                           "0644", "", "Prometheus settings"));
        out.push_back(file(monitoring::k_prometheus_config,
                           monitoring::render_prometheus_config(inv), "0644", "",
                           "Prometheus scrape targets"));
        out.push_back(file(monitoring::k_alert_rules_path, monitoring::alert_rules(), "0644", "",
                           "pgdr's alert rules"));
        out.push_back(file("/etc/default/prometheus-alertmanager",
                           monitoring::alertmanager_defaults(inv, host), "0644", "",
                           "Alertmanager settings"));
        out.push_back(file(monitoring::k_alertmanager_config,
                           monitoring::render_alertmanager_config(inv), "0644", "",
                           "Alertmanager routes"));
    }
    return out;
}

// pgBackRest on the members (pg/pgbackrest_conf.hpp); nothing without a backup section.
std::vector<PutFile> backup_files(const Inventory& inv, const HostSpec& host,
                                  const Secrets& secrets) {
    std::vector<PutFile> out;
    if (!inv.backup || !host.runs(Service::postgres)) {
        return out;
    }
    if (!secrets.backup.repo_ca_pem.empty()) {
        out.push_back(file(k_pgbackrest_repo_ca, secrets.backup.repo_ca_pem, "0644", "",
                           "the CA the backup repository's certificate is checked against"));
    }
    // 0640 root:postgres: it holds the S3 secret and the cipher passphrase.
    out.push_back(file(k_pgbackrest_conf, render_pgbackrest_conf(inv, host, secrets), "0640",
                       "root:postgres", "pgBackRest configuration", Secrecy::password_lines));
    out.push_back(file(std::string("/etc/systemd/system/") + k_pgbackrest_server_unit,
                       render_pgbackrest_server_unit(inv), "0644", "",
                       "the pgBackRest TLS server (backups from a standby)"));
    out.push_back(file(k_backup_script, render_backup_script(inv), "0755", "",
                       "the backup script of the timers and `pgdr backup run`"));
    const std::pair<const char*, const std::string*> schedule[] = {
        {"full", &inv.backup->schedule.full}, {"diff", &inv.backup->schedule.diff}};
    for (const auto& [type, calendar] : schedule) {
        if (calendar->empty()) {
            continue;
        }
        out.push_back(file("/etc/systemd/system/" + backup_unit_name(type, "service"),
                           render_backup_service(inv, type), "0644", "",
                           std::string(type) + " backup service"));
        out.push_back(file("/etc/systemd/system/" + backup_unit_name(type, "timer"),
                           render_backup_timer(inv, type, *calendar), "0644", "",
                           std::string(type) + " backup schedule (" + *calendar + ")"));
    }
    return out;
}

// The CA on every host; each service's key pair readable by its user only.
void certificate_files(std::vector<PutFile>& out, const HostSpec& host, const Secrets& secrets) {
    for (const auto& c : host_certificates(host)) {
        if (c.service == k_ca_service) {
            out.push_back(
                file(c.cert_path, secrets.tls.ca.cert_pem, "0644", c.owner, "the cluster CA"));
            continue;
        }
        const auto& p = secrets.tls.of(host.name, c.service);
        out.push_back(file(c.key_path, p.key_pem, "0600", c.owner, c.service + " private key",
                           Secrecy::whole_file));
        out.push_back(file(c.cert_path, p.cert_pem, "0644", c.owner, c.service + " certificate"));
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
            certificate_files(out, host, secrets);
            break;
        case Stage::etcd:
            if (host.runs(Service::etcd)) {
                out.push_back(file(paths.etcd_defaults, render_etcd_defaults(inv, host), "0644", "",
                                   "etcd member settings"));
            }
            break;
        case Stage::replication:
            if (host.runs(Service::postgres)) {
                out.push_back(file(paths.include_file, render_postgres_include(inv, host), "0644",
                                   k_postgres_owner, "replication settings"));
                // 0640 as Debian installs it: it names the cluster's subnet.
                out.push_back(file(paths.pg_hba, render_pg_hba(inv), "0640", k_postgres_owner,
                                   "client authentication"));
                if (host.name != primary.name) {
                    out.push_back(file(
                        paths.replication_passfile, render_replication_passfile(inv, secrets),
                        "0600", k_postgres_owner, "replication password", Secrecy::whole_file));
                    out.push_back(file(paths.standby_file, render_standby_conf(inv, primary, host),
                                       "0644", k_postgres_owner, "streaming from " + primary.name));
                }
            }
            break;
        case Stage::patroni:
            if (host.runs(Service::postgres)) {
                out.push_back(file(paths.patroni_config, render_patroni_yml(inv, host, secrets),
                                   "0600", k_postgres_owner, "Patroni configuration",
                                   Secrecy::password_lines));
                out.push_back(file(paths.start_conf, render_start_conf(inv), "0644",
                                   k_postgres_owner, "no start outside Patroni"));
                // Which passwords this host's patroni.yml holds (a one-way fingerprint), so a
                // later run from a lost or regenerated state directory is refused.
                out.push_back(file(
                    secrets_fingerprint_path(),
                    "cluster=" + inv.cluster + " secrets=" + secrets_fingerprint(secrets) + "\n",
                    "0644", "", "fingerprint of the cluster's passwords"));
            }
            break;
        case Stage::monitoring:
            out = monitoring_files(inv, host);
            break;
        case Stage::backup:
            out = backup_files(inv, host, secrets);
            break;
        case Stage::haproxy:
            if (host.runs(Service::haproxy)) {
                // 0640 root:haproxy: it holds the stats password.
                out.push_back(file(paths.haproxy_config,
                                   render_haproxy_cfg(inv, host, secrets.haproxy_stats_password),
                                   "0640", "root:haproxy", "HAProxy routing",
                                   Secrecy::password_lines));
            }
            break;
    }
    return out;
}

}  // namespace pgdr::pg
