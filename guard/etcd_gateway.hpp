// EtcdGateway: the few etcd v3 calls pgdr guard needs, through etcd's JSON gateway (POST
// /v3/kv/range, /v3/kv/put, /v3/kv/txn, /v3/kv/deleterange, /v3/lease/grant|keepalive|revoke;
// etcd 3.4 in Debian 12 and 3.5 in Debian 13 serve them on the client port) over one HttpClient.
// The agent runs on cluster hosts without etcdctl; the cluster's etcd admits clients by their
// certificate (client-cert-auth), which the HttpClient presents.
//
// Keys and values travel base64-encoded; 64-bit integers come back as JSON strings (and are
// accepted as numbers). Each call goes to the endpoint that answered last and moves on to the
// next one when an endpoint does not answer at all; an answer with an error status is etcd's
// word and is thrown as EtcdError without trying another member.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/http.hpp"

namespace pgdr::guard {

class EtcdError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct EtcdKv {
    std::string key;
    std::string value;
    std::int64_t lease = 0;  // 0: none
    std::int64_t mod_revision = 0;
};

class EtcdGateway {
  public:
    // endpoints: "https://ADDR:2379", in the order to try.
    // `timeout` bounds each call; connecting gets half of it (a LAN connect is fast, and a dead
    // member's silence must not eat the whole budget before the next member is tried).
    EtcdGateway(HttpClient& http, std::vector<std::string> endpoints,
                std::chrono::milliseconds timeout);

    std::optional<EtcdKv> get(const std::string& key);
    std::vector<EtcdKv> get_prefix(const std::string& prefix);
    void put(const std::string& key, const std::string& value, std::int64_t lease = 0);
    // Creates `key` only when it does not exist (a transaction on its create revision).
    bool put_if_absent(const std::string& key, const std::string& value, std::int64_t lease);
    // Deletes `key` only while it holds `value` (an owner releasing its lock).
    bool remove_if(const std::string& key, const std::string& value);
    void remove(const std::string& key);
    std::int64_t grant(std::chrono::seconds ttl);
    // False when the lease is gone (expired or revoked).
    bool keep_alive(std::int64_t lease);
    void revoke(std::int64_t lease);

    // When etcd's leader is the member on `address`, asks it to hand its leadership to another
    // member (etcd's MoveLeader, /v3/maintenance/transfer-leadership, which only the leader
    // takes): resetting that machine then costs no etcd election, during which no write
    // commits (1-2 s). Returns what it did, for the log; throws EtcdError when etcd cannot be
    // asked or refuses.
    std::string hand_off_leadership(const std::string& address);

    // Moves off the endpoint on `address` when it is the one calls start with (a member the
    // agent just fenced: its etcd is gone, and a connect timeout there would delay the release).
    void avoid(const std::string& address);

    // The JSON bodies, exposed for tests.
    static nlohmann::json range_body(const std::string& key, bool prefix);

  private:
    nlohmann::json call(const std::string& path, const nlohmann::json& body);
    // One endpoint: etcd's answer, or nothing (and `failure` set) when it did not answer.
    std::optional<nlohmann::json> call_one(const std::string& endpoint, const std::string& path,
                                           const nlohmann::json& body,
                                           std::chrono::milliseconds timeout, std::string& failure);

    HttpClient& m_http;
    std::vector<std::string> m_endpoints;
    std::chrono::milliseconds m_timeout;
    std::size_t m_current = 0;
};

// A 64-bit integer field as etcd's gateway and Patroni write them: a JSON number or a string of
// digits. Nothing when absent, or when it is neither.
std::optional<std::int64_t> int64_field(const nlohmann::json& j, const char* field);

// The end of the key range that holds every key starting with `prefix` (etcd's range_end).
std::string prefix_end(const std::string& prefix);

}  // namespace pgdr::guard
