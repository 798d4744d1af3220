// Monitoring of a cluster (issue 15): Prometheus and Alertmanager on the hosts with the monitor
// service, exporters on every host, pgdr's alert rules. Pure renderers; pg/stage_monitoring.cpp
// puts the files on the hosts.
//
// Scrape targets, each labelled `cluster` (the inventory's name), `instance` (the host's name)
// and `job`, the labels the alert rules group by:
//   node      prometheus-node-exporter on every host            (<address>:9100)
//   postgres  prometheus-postgres-exporter on every member      (<address>:9187)
//   patroni   Patroni's GET /metrics on every member            (https://<address>:<rest_port>)
//   etcd      etcd's metrics-only listener on every etcd member (http://<address>:2381)
//   haproxy   HAProxy's built-in exporter on every HAProxy host (<address>:8405)
// Every exporter listens on the host's cluster address only, behind the same network rules as
// the cluster's other ports. Patroni's REST API serves TLS (verify_client: optional, so a GET
// needs no client certificate): Prometheus checks it against the cluster CA, which the
// certificates stage puts on every host, the monitor hosts included (pg/tls.hpp). etcd's client
// port wants a client certificate, and without etcd RBAC any certificate of the CA may read and
// write every key, so Prometheus gets none: each member also serves /metrics (and /health) on a
// plain-HTTP metrics-only listener, --listen-metrics-urls (etcd 3.3 and later: Debian 12 ships
// 3.4, Debian 13 3.5), on its cluster address.
#pragma once

#include <string>
#include <vector>

#include "core/inventory.hpp"

namespace pgdr::monitoring {

constexpr int k_node_exporter_port = 9100;
constexpr int k_postgres_exporter_port = 9187;
constexpr int k_haproxy_exporter_port = 8405;
constexpr int k_etcd_metrics_port = 2381;  // etcd's own default for --listen-metrics-urls
constexpr int k_prometheus_port = 9090;
constexpr int k_alertmanager_port = 9093;

// Where the files live on a Debian host (the packages' own paths).
constexpr const char* k_prometheus_config = "/etc/prometheus/prometheus.yml";
constexpr const char* k_alert_rules_path = "/etc/prometheus/pgdr-alerts.yml";
constexpr const char* k_alertmanager_config = "/etc/prometheus/alertmanager.yml";
// The CA Prometheus checks Patroni's certificate with (= pg::tls_paths().ca; a unit test keeps
// the two equal, monitoring does not depend on pg).
constexpr const char* k_cluster_ca = "/etc/pgdr/tls/ca.crt";

// The hosts that run Prometheus and Alertmanager (empty: no monitoring).
std::vector<const HostSpec*> monitor_hosts(const Inventory& inv);

// /etc/prometheus/prometheus.yml: the targets above, scrape and evaluation every
// monitoring.scrape_interval_s, the rules file, every monitor host's Alertmanager.
std::string render_prometheus_config(const Inventory& inv);

// /etc/prometheus/alertmanager.yml: one route that groups by alert, cluster and instance with a
// 1 s group_wait (an alert reaches the receiver within a second of firing), to a receiver with
// the inventory's webhook and e-mail (none: alerts are only read through the API).
std::string render_alertmanager_config(const Inventory& inv);

// The ARGS line of /etc/default/<package> for each daemon: listen on the host's address.
std::string prometheus_defaults(const Inventory& inv, const HostSpec& host);
std::string alertmanager_defaults(const Inventory& inv, const HostSpec& host);
std::string node_exporter_defaults(const HostSpec& host);
// The PostgreSQL exporter logs in as role `prometheus` (pg_monitor) over the local socket.
std::string postgres_exporter_defaults(const HostSpec& host);

// monitoring/pgdr-alerts.yml as built into pgdr.
const std::string& alert_rules();

}  // namespace pgdr::monitoring
