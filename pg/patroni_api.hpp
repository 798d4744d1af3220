// A small client of Patroni's REST API (GET /patroni, GET /cluster, POST /switchover) over the
// HttpClient seam. Patroni 3 (Debian 12) and 4 (Debian 13) are both understood: "master" and
// "primary" are the same role, a replica's state is "running" (3) or "streaming" (4).
//
// Results are values: a transport failure, a non-2xx status or an unparsable body is an
// `error` string (never a secret), not an exception. Every request is bounded by the timeout
// given to the constructor (connect and total).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/http.hpp"

namespace pgdr::pg {

// GET /patroni of one member.
struct PatroniStatus {
    std::string name;   // patroni.name, when reported
    std::string role;   // as Patroni spells it: "master", "primary", "replica", ...
    std::string state;  // "running", "streaming", "starting", "stopped", ...
    std::optional<int> timeline;
    // xlog.location on a primary, xlog.replayed_location on a replica (bytes).
    std::optional<std::uint64_t> wal_position;
};

// One member of GET /cluster.
struct ClusterMember {
    std::string name;
    std::string role;  // "leader", "replica", "sync_standby", "standby_leader", ...
    std::string state;
    std::string host;
    std::optional<int> timeline;
    std::optional<std::int64_t> lag_bytes;  // empty when Patroni says "unknown" or omits it
};

// A role of GET /cluster that Patroni counts as synchronous: the only switchover candidates
// with synchronous_mode (Patroni answers 412 to others).
inline bool is_sync_standby_role(const std::string& role) {
    return role == "sync_standby" || role == "quorum_standby";
}

struct ClusterView {
    std::vector<ClusterMember> members;
    std::string leader;  // the member whose role is leader or standby_leader; "" when none

    const ClusterMember* find(const std::string& name) const;
};

template <typename T>
struct ApiResult {
    std::optional<T> value;
    std::string error;  // set when value is empty
    bool ok() const { return value.has_value(); }
};

struct SwitchoverResult {
    bool ok = false;
    int status = 0;       // HTTP status; 0 when no answer
    std::string message;  // Patroni's answer or the failure
};

class PatroniApi {
  public:
    explicit PatroniApi(HttpClient& http,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

    // base_url: "http://198.18.0.11:8008" (no trailing slash).
    ApiResult<PatroniStatus> status(const std::string& base_url) const;
    ApiResult<ClusterView> cluster(const std::string& base_url) const;
    // POST /switchover {"leader": leader, "candidate": candidate} with HTTP basic auth. The
    // call is not retried: a timeout may mean the switchover happened.
    SwitchoverResult switchover(const std::string& base_url, const std::string& leader,
                                const std::string& candidate, const std::string& user,
                                const std::string& password) const;
    // POST `url` with a JSON body and HTTP basic auth, answered within `timeout` (Patroni
    // answers POST /switchover, /failover once the handover is done). Not retried.
    SwitchoverResult post(const std::string& url, const std::string& json_body,
                          const std::string& user, const std::string& password,
                          std::chrono::milliseconds timeout) const;
    // GET `url`: the HTTP status, 0 and the failure when no answer came.
    std::pair<int, std::string> probe(const std::string& url) const;

  private:
    HttpClient& m_http;
    std::chrono::milliseconds m_timeout;
};

// "http://ADDRESS:PORT".
std::string patroni_url(const std::string& address, int port);

// Parsers, exposed for tests. Throw nothing: std::nullopt for a body that is not what Patroni
// sends.
std::optional<PatroniStatus> parse_patroni_status(const std::string& body);
std::optional<ClusterView> parse_cluster_view(const std::string& body);

// RFC 4648 base64 (for the basic auth header).
std::string base64(const std::string& data);

}  // namespace pgdr::pg
