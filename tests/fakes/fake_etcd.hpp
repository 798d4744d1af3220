// An in-memory etcd behind the v3 JSON gateway's routes (range, put, txn with create-revision and
// value compares, deleterange, lease grant/keepalive/revoke, member list, status and leadership
// transfer), as an HttpClient: pgdr guard's
// agents run against it in unit tests. Leases expire only when a test says so (expire()), or
// are revoked; keys on a revoked or expired lease go with it, as in etcd.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/http.hpp"

namespace pgdr::fakes {

class FakeEtcd final : public HttpClient {
  public:
    HttpResponse send(const HttpRequest& request) override;

    // Direct access for tests (plain keys and values).
    void set(const std::string& key, const std::string& value, std::int64_t lease = 0);
    std::string value(const std::string& key) const;  // "" when absent
    bool has(const std::string& key) const;
    std::int64_t lease_of(const std::string& key) const;
    std::int64_t grant_lease();
    void expire(std::int64_t lease);
    bool lease_alive(std::int64_t lease) const;
    void set_down(bool down) { m_down = down; }  // every request: a connect failure
    int revokes() const { return m_revokes; }
    // The members (name, client URL) and the leader's name, for the cluster and maintenance
    // routes; a leadership transfer is taken only at the leader's URL, as etcd does.
    void set_members(std::vector<std::pair<std::string, std::string>> members, std::string leader);
    std::string leader() const;

  private:
    struct Entry {
        std::string value;
        std::int64_t lease = 0;
        std::int64_t create_revision = 0;
        std::int64_t mod_revision = 0;
    };
    void drop_lease(std::int64_t lease);
    std::optional<HttpResponse> maintenance(const std::string& path, const std::string& url,
                                            const nlohmann::json& body);

    mutable std::mutex m_mutex;
    std::map<std::string, Entry> m_kv;
    std::map<std::int64_t, bool> m_leases;
    std::int64_t m_revision = 1;
    std::int64_t m_next_lease = 7587000000000000001;
    bool m_down = false;
    int m_revokes = 0;
    std::vector<std::pair<std::string, std::string>> m_members;
    std::string m_leader;
};

}  // namespace pgdr::fakes
