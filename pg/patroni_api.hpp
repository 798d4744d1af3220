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
    // postmaster_start_time as Patroni prints it ("2026-12-07 00:52:24.123456+00:00"); empty
    // while PostgreSQL is not running. A new value means a new PostgreSQL (a restart or a
    // rebuild by reinitialize).
    std::string postmaster_start_time;
};

// Patroni's roles, as one type. Patroni 3.0 says "master", 3.1+ and 4 "primary" (GET
// /patroni); GET /cluster says "leader" for the member holding the leader key, and
// "sync_standby" or (Patroni 4's quorum commit) "quorum_standby" for a synchronous standby.
enum class MemberRole { leader, standby_leader, sync_standby, quorum_standby, replica, unknown };
MemberRole parse_member_role(const std::string& patroni_role);

// One member of GET /cluster.
struct ClusterMember {
    std::string name;
    std::string host;       // Patroni's "host"
    std::string role_text;  // as Patroni spells it
    MemberRole role = MemberRole::unknown;
    std::string state;  // "running", "streaming", "starting", "stopped", ...
    std::optional<int> timeline;
    std::optional<std::int64_t> lag_bytes;  // empty when Patroni says "unknown" or omits it
    bool nofailover = false;                // tags.nofailover

    bool is_leader() const {
        return role == MemberRole::leader || role == MemberRole::standby_leader;
    }
    // A role Patroni counts as synchronous: the only handover candidates under
    // synchronous_mode (Patroni answers 412 to others).
    bool is_sync_standby() const {
        return role == MemberRole::sync_standby || role == MemberRole::quorum_standby;
    }
    // Patroni 3 says "running" for a healthy replica, 4 says "streaming".
    bool running() const { return state == "running" || state == "streaming"; }
};

// The members holding a leader role, in Patroni's order (one when healthy).
std::vector<std::string> leaders_of(const std::vector<ClusterMember>& members);

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
    ApiResult<std::vector<ClusterMember>> cluster(const std::string& base_url) const;
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
    // `method` (POST, PATCH) `url` with a JSON body and HTTP basic auth; ok on 200. Not retried.
    SwitchoverResult send_json(const std::string& method, const std::string& url,
                               const std::string& json_body, const std::string& user,
                               const std::string& password,
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
std::optional<std::vector<ClusterMember>> parse_cluster_members(const std::string& body);

// RFC 4648 base64 (for the basic auth header).
std::string base64(const std::string& data);

}  // namespace pgdr::pg
