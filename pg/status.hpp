// The cluster's state as an operator sees it (pgdr status): Patroni's view of each member,
// replication as the leader reports it (pg_stat_replication, P9), etcd health, and what HAProxy
// routes. Gathered over SSH on the hosts themselves, so it works where the operator cannot reach
// the private network; the parsers are pure and unit-tested.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "core/transport.hpp"

namespace pgdr::pg {

struct MemberStatus {
    std::string name, host, role, state;
    long long timeline = -1;
    long long lag_bytes = -1;  // -1 unknown
    std::string lsn;
    std::string replication_state;  // from the leader's pg_stat_replication
    std::string sync_state;
    std::string error;
};

struct EtcdMemberStatus {
    std::string endpoint;
    bool healthy = false;
    std::string detail;
};

struct HaproxyServerStatus {
    std::string haproxy_host, backend, server, status;
};

struct ClusterStatus {
    std::string leader;
    std::vector<MemberStatus> members;
    std::vector<EtcdMemberStatus> etcd;
    std::vector<HaproxyServerStatus> haproxy;
    std::vector<std::string> problems;
    bool healthy() const { return problems.empty(); }
};

using TransportLookup = std::map<std::string, Transport*>;

ClusterStatus collect_status(const Inventory& inv, const TransportLookup& transports);
nlohmann::json status_to_json(const ClusterStatus& s);

// Parsers of the remote scripts' output (exposed for tests).
void parse_cluster_json(const std::string& text, ClusterStatus& out);
void parse_replication_rows(const std::string& text, ClusterStatus& out);
void parse_etcd_health(const std::string& text, ClusterStatus& out);
void parse_haproxy_csv(const std::string& haproxy_host, const std::string& csv, ClusterStatus& out);
// Fills problems: no leader or several, a replica not streaming, etcd unhealthy, the write
// backend not routing to the leader alone.
void assess(const Inventory& inv, ClusterStatus& s);

}  // namespace pgdr::pg
