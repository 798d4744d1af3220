#include "monitoring/config.hpp"

#include <yaml-cpp/yaml.h>

namespace pgdr::monitoring {

namespace {

constexpr int k_alertmanager_cluster_port = 9094;

std::string target(const HostSpec& h, int port) {
    return h.address + ":" + std::to_string(port);
}

// What Prometheus keeps of a scrape (issue 15's memory goal: the head block grows with the
// series). etcd exposes ~1500 series a member, most of them gRPC and debugging counters: only
// the server's state, the disk and peer latencies an on-call person reads and the process'
// own figures are kept. Of every other exporter, all but the Go runtime's series.
const char* const k_etcd_keep =
    "etcd_server_.*|etcd_disk_wal_fsync_duration_seconds_.*|"
    "etcd_disk_backend_commit_duration_seconds_.*|etcd_mvcc_db_total_size_in_bytes|"
    "etcd_network_peer_round_trip_time_seconds_.*|etcd_network_peer_(sent|received)_failures_total|"
    "process_.*";

void metric_filter(YAML::Emitter& e, const std::string& job) {
    e << YAML::Key << "metric_relabel_configs" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    e << YAML::Key << "source_labels" << YAML::Value << YAML::Flow << YAML::BeginSeq << "__name__"
      << YAML::EndSeq;
    if (job == "etcd") {
        e << YAML::Key << "regex" << YAML::Value << YAML::DoubleQuoted << k_etcd_keep;
        e << YAML::Key << "action" << YAML::Value << "keep";
    } else {
        e << YAML::Key << "regex" << YAML::Value << YAML::DoubleQuoted << "go_.*";
        e << YAML::Key << "action" << YAML::Value << "drop";
    }
    e << YAML::EndMap << YAML::EndSeq;
}

// One static config per target, so that `instance` is the host's name, not its address.
// tls: https, the server's certificate checked against the cluster CA (no client certificate).
void scrape_job(YAML::Emitter& e, const Inventory& inv, const std::string& job,
                const std::vector<const HostSpec*>& hosts, int port, bool tls = false) {
    e << YAML::BeginMap;
    e << YAML::Key << "job_name" << YAML::Value << YAML::DoubleQuoted << job;
    e << YAML::Key << "metrics_path" << YAML::Value << YAML::DoubleQuoted << "/metrics";
    if (tls) {
        e << YAML::Key << "scheme" << YAML::Value << "https";
        e << YAML::Key << "tls_config" << YAML::Value << YAML::BeginMap;
        e << YAML::Key << "ca_file" << YAML::Value << YAML::DoubleQuoted << k_cluster_ca;
        e << YAML::EndMap;
    }
    e << YAML::Key << "static_configs" << YAML::Value << YAML::BeginSeq;
    for (const auto* h : hosts) {
        e << YAML::BeginMap;
        e << YAML::Key << "targets" << YAML::Value << YAML::Flow << YAML::BeginSeq
          << YAML::DoubleQuoted << target(*h, port) << YAML::EndSeq;
        e << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
        e << YAML::Key << "cluster" << YAML::Value << YAML::DoubleQuoted << inv.cluster;
        e << YAML::Key << "instance" << YAML::Value << YAML::DoubleQuoted << h->name;
        e << YAML::EndMap << YAML::EndMap;
    }
    e << YAML::EndSeq;
    metric_filter(e, job);
    e << YAML::EndMap;
}

std::vector<const HostSpec*> all_hosts(const Inventory& inv) {
    std::vector<const HostSpec*> out;
    for (const auto& h : inv.hosts) {
        out.push_back(&h);
    }
    return out;
}

std::string seconds(int s) {
    return std::to_string(s) + "s";
}

}  // namespace

std::vector<const HostSpec*> monitor_hosts(const Inventory& inv) {
    return inv.hosts_with(Service::monitor);
}

std::string render_prometheus_config(const Inventory& inv) {
    const int interval = inv.monitoring.scrape_interval_s;
    YAML::Emitter e;
    e << YAML::BeginMap;
    e << YAML::Key << "global" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "scrape_interval" << YAML::Value << seconds(interval);
    // A target that does not answer within the interval counts as down at once.
    e << YAML::Key << "scrape_timeout" << YAML::Value << seconds(interval);
    e << YAML::Key << "evaluation_interval" << YAML::Value << seconds(interval);
    e << YAML::EndMap;
    e << YAML::Key << "rule_files" << YAML::Value << YAML::BeginSeq << YAML::DoubleQuoted
      << k_alert_rules_path << YAML::EndSeq;
    e << YAML::Key << "alerting" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "alertmanagers" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    e << YAML::Key << "static_configs" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    e << YAML::Key << "targets" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto* m : monitor_hosts(inv)) {
        e << YAML::DoubleQuoted << target(*m, k_alertmanager_port);
    }
    e << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap << YAML::EndSeq;
    e << YAML::EndMap;
    e << YAML::Key << "scrape_configs" << YAML::Value << YAML::BeginSeq;
    scrape_job(e, inv, "node", all_hosts(inv), k_node_exporter_port);
    scrape_job(e, inv, "postgres", inv.hosts_with(Service::postgres), k_postgres_exporter_port);
    scrape_job(e, inv, "patroni", inv.hosts_with(Service::postgres), inv.patroni.rest_port, true);
    scrape_job(e, inv, "etcd", inv.hosts_with(Service::etcd), k_etcd_metrics_port);
    scrape_job(e, inv, "haproxy", inv.hosts_with(Service::haproxy), k_haproxy_exporter_port);
    e << YAML::EndSeq << YAML::EndMap;
    return std::string("# Written by pgdr bootstrap for cluster ") + inv.cluster +
           "; changes are overwritten.\n" + e.c_str() + "\n";
}

std::string render_alertmanager_config(const Inventory& inv) {
    const auto& m = inv.monitoring;
    YAML::Emitter e;
    e << YAML::BeginMap;
    e << YAML::Key << "route" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "receiver" << YAML::Value << "pgdr";
    e << YAML::Key << "group_by" << YAML::Value << YAML::Flow << YAML::BeginSeq << "alertname"
      << "cluster"
      << "instance" << YAML::EndSeq;
    e << YAML::Key << "group_wait" << YAML::Value << "1s";
    e << YAML::Key << "group_interval" << YAML::Value << "10s";
    e << YAML::Key << "repeat_interval" << YAML::Value << "4h";
    e << YAML::EndMap;
    e << YAML::Key << "receivers" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << "pgdr";
    if (!m.webhook_url.empty()) {
        e << YAML::Key << "webhook_configs" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
        e << YAML::Key << "url" << YAML::Value << YAML::DoubleQuoted << m.webhook_url;
        e << YAML::Key << "send_resolved" << YAML::Value << true;
        e << YAML::EndMap << YAML::EndSeq;
    }
    if (!m.email_to.empty()) {
        e << YAML::Key << "email_configs" << YAML::Value << YAML::BeginSeq;
        for (const auto& to : m.email_to) {
            e << YAML::BeginMap;
            e << YAML::Key << "to" << YAML::Value << YAML::DoubleQuoted << to;
            e << YAML::Key << "from" << YAML::Value << YAML::DoubleQuoted << m.email_from;
            e << YAML::Key << "smarthost" << YAML::Value << YAML::DoubleQuoted << m.email_smarthost;
            e << YAML::Key << "send_resolved" << YAML::Value << true;
            e << YAML::EndMap;
        }
        e << YAML::EndSeq;
    }
    e << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
    return std::string("# Written by pgdr bootstrap for cluster ") + inv.cluster +
           "; changes are overwritten.\n" + e.c_str() + "\n";
}

// Every daemon of the monitoring stage is a Go program, and systemd hands the whole
// /etc/default file (EnvironmentFile=) to it: GOGC=50 collects when the heap has grown by half
// instead of doubled, a smaller resident heap for a little CPU (issue 15's memory goal on small
// hosts; scripts/bench-alerts.sh measures the daemons' memory).
const char* const k_go_env = "GOGC=50\n";

std::string prometheus_defaults(const Inventory& inv, const HostSpec& host) {
    return std::string("# Written by pgdr bootstrap.\n") + k_go_env +
           "ARGS=\"--web.listen-address=" + target(host, k_prometheus_port) +
           " --storage.tsdb.retention.time=" + inv.monitoring.retention + "\"\n";
}

std::string alertmanager_defaults(const Inventory& inv, const HostSpec& host) {
    std::string args = "--web.listen-address=" + target(host, k_alertmanager_port) +
                       " --storage.path=/var/lib/prometheus/alertmanager";
    const auto monitors = monitor_hosts(inv);
    if (monitors.size() < 2) {
        args += " --cluster.listen-address=";  // one Alertmanager: no gossip port at all
    } else {
        args += " --cluster.listen-address=" + target(host, k_alertmanager_cluster_port);
        for (const auto* peer : monitors) {
            if (peer->name != host.name) {
                args += " --cluster.peer=" + target(*peer, k_alertmanager_cluster_port);
            }
        }
    }
    return std::string("# Written by pgdr bootstrap.\n") + k_go_env + "ARGS=\"" + args + "\"\n";
}

// The host-resource collectors an on-call person reads (CPU, memory, pressure, disks and
// filesystems, network, file descriptors, clock), not the ~40 the node exporter enables by
// default (hardware sensors, NFS, ZFS, InfiniBand, ...): fewer series for Prometheus to keep.
// Every name exists in Debian 12's node exporter 1.5 and Debian 13's 1.9.
std::string node_exporter_defaults(const HostSpec& host) {
    std::string args = "--web.listen-address=" + target(host, k_node_exporter_port) +
                       " --collector.disable-defaults";
    for (const char* c :
         {"cpu", "diskstats", "filefd", "filesystem", "loadavg", "meminfo", "netdev", "netstat",
          "pressure", "sockstat", "stat", "time", "uname", "vmstat"}) {
        args += std::string(" --collector.") + c;
    }
    return std::string("# Written by pgdr bootstrap.\n") + k_go_env + "ARGS=\"" + args + "\"\n";
}

// --disable-settings-metrics: no pg_settings_* series (one per server setting, ~350 a member);
// `pgdr` reads settings itself when it needs them.
std::string postgres_exporter_defaults(const HostSpec& host) {
    return std::string("# Written by pgdr bootstrap.\n") + k_go_env +
           "DATA_SOURCE_NAME='user=prometheus host=/run/postgresql dbname=postgres'\n"
           "ARGS=\"--web.listen-address=" +
           target(host, k_postgres_exporter_port) + " --disable-settings-metrics\"\n";
}

}  // namespace pgdr::monitoring
