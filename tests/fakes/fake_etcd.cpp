#include "fakes/fake_etcd.hpp"

#include <nlohmann/json.hpp>

#include "core/base64.hpp"

namespace pgdr::fakes {

namespace {

using nlohmann::json;

std::string b64(const json& j, const char* field) {
    if (!j.contains(field)) {
        return "";
    }
    return base64_decode(j[field].get<std::string>()).value_or("<bad base64>");
}

std::int64_t int_of(const json& j, const char* field) {
    if (!j.contains(field)) {
        return 0;
    }
    return j[field].is_string() ? std::stoll(j[field].get<std::string>())
                                : j[field].get<std::int64_t>();
}

HttpResponse answer(int status, const json& body) {
    HttpResponse r;
    r.status = status;
    r.body = body.dump();
    return r;
}

}  // namespace

HttpResponse FakeEtcd::send(const HttpRequest& request) {
    std::lock_guard lock(m_mutex);
    if (m_down) {
        throw HttpTransportError(HttpFailure::connect, "connection refused (fake etcd down)");
    }
    const auto slash = request.url.find("/v3/");
    const std::string path = slash == std::string::npos ? "" : request.url.substr(slash);
    const json body = json::parse(request.body);
    auto kv_json = [](const std::string& key, const Entry& e) {
        json kv = {{"key", base64_encode(key)},
                   {"value", base64_encode(e.value)},
                   {"create_revision", std::to_string(e.create_revision)},
                   {"mod_revision", std::to_string(e.mod_revision)}};
        if (e.lease != 0) {
            kv["lease"] = std::to_string(e.lease);
        }
        return kv;
    };
    auto put = [&](const json& p) -> std::optional<HttpResponse> {
        const std::int64_t lease = int_of(p, "lease");
        if (lease != 0 && !m_leases.count(lease)) {
            return answer(404, {{"error", "etcdserver: requested lease not found"},
                                {"code", 5},
                                {"message", "etcdserver: requested lease not found"}});
        }
        const std::string key = b64(p, "key");
        auto& e = m_kv[key];
        if (e.create_revision == 0) {
            e.create_revision = m_revision;
        }
        e.value = b64(p, "value");
        e.lease = lease;
        e.mod_revision = m_revision++;
        return std::nullopt;
    };
    if (path == "/v3/kv/range") {
        const std::string key = b64(body, "key");
        json kvs = json::array();
        if (body.contains("range_end")) {
            const std::string end = b64(body, "range_end");
            for (auto it = m_kv.lower_bound(key); it != m_kv.end() && it->first < end; ++it) {
                kvs.push_back(kv_json(it->first, it->second));
            }
        } else if (auto it = m_kv.find(key); it != m_kv.end()) {
            kvs.push_back(kv_json(it->first, it->second));
        }
        json out = {{"header", {{"revision", std::to_string(m_revision)}}}};
        if (!kvs.empty()) {
            out["kvs"] = kvs;
            out["count"] = std::to_string(kvs.size());
        }
        return answer(200, out);
    }
    if (path == "/v3/kv/put") {
        if (auto err = put(body)) {
            return *err;
        }
        return answer(200, {{"header", {{"revision", std::to_string(m_revision)}}}});
    }
    if (path == "/v3/kv/deleterange") {
        m_kv.erase(b64(body, "key"));
        return answer(200, json::object());
    }
    if (path == "/v3/kv/txn") {
        bool ok = true;
        for (const auto& c : body["compare"]) {
            const std::string key = b64(c, "key");
            auto it = m_kv.find(key);
            if (c["target"] == "CREATE") {
                const std::int64_t want = int_of(c, "create_revision");
                ok = ok && (it == m_kv.end() ? 0 : it->second.create_revision) == want;
            } else if (c["target"] == "VALUE") {
                ok = ok && it != m_kv.end() && it->second.value == b64(c, "value");
            } else {
                return answer(400, {{"message", "unsupported compare"}});
            }
        }
        if (ok) {
            for (const auto& op : body["success"]) {
                if (op.contains("request_put")) {
                    if (auto err = put(op["request_put"])) {
                        return *err;
                    }
                } else if (op.contains("request_delete_range")) {
                    m_kv.erase(b64(op["request_delete_range"], "key"));
                }
            }
        }
        json out = json::object();
        if (ok) {
            out["succeeded"] = true;  // etcd's gateway omits false
        }
        return answer(200, out);
    }
    if (path == "/v3/lease/grant") {
        const std::int64_t id = m_next_lease++;
        m_leases[id] = true;
        return answer(200, {{"ID", std::to_string(id)}, {"TTL", body["TTL"]}});
    }
    if (path == "/v3/lease/keepalive") {
        const std::int64_t id = int_of(body, "ID");
        json result = {{"ID", std::to_string(id)}};
        if (m_leases.count(id)) {
            result["TTL"] = "5";
        }
        return answer(200, {{"result", result}});
    }
    if (path == "/v3/lease/revoke") {
        const std::int64_t id = int_of(body, "ID");
        if (!m_leases.count(id)) {
            return answer(404, {{"error", "etcdserver: requested lease not found"},
                                {"code", 5},
                                {"message", "etcdserver: requested lease not found"}});
        }
        ++m_revokes;
        drop_lease(id);
        return answer(200, json::object());
    }
    if (auto r = maintenance(path, request.url, body)) {
        return *r;
    }
    return answer(404, {{"message", "Not Found"}});
}

std::optional<HttpResponse> FakeEtcd::maintenance(const std::string& path, const std::string& url,
                                                  const nlohmann::json& body) {
    auto id_of = [](std::size_t i) { return std::to_string(3038291873799778967ULL + i); };
    if (path == "/v3/cluster/member/list") {
        json members = json::array();
        for (std::size_t i = 0; i < m_members.size(); ++i) {
            members.push_back({{"ID", id_of(i)},
                               {"name", m_members[i].first},
                               {"clientURLs", {m_members[i].second}}});
        }
        return answer(200, {{"members", members}});
    }
    std::string leader_id;
    std::string leader_url;
    for (std::size_t i = 0; i < m_members.size(); ++i) {
        if (m_members[i].first == m_leader) {
            leader_id = id_of(i);
            leader_url = m_members[i].second;
        }
    }
    if (path == "/v3/maintenance/status") {
        return answer(200, {{"version", "3.5.16"}, {"leader", leader_id}});
    }
    if (path == "/v3/maintenance/transfer-leadership") {
        if (leader_url.empty() || url.rfind(leader_url, 0) != 0) {
            return answer(500, {{"message", "etcdserver: not leader"}});
        }
        for (std::size_t i = 0; i < m_members.size(); ++i) {
            if (id_of(i) == body.value("targetID", "")) {
                m_leader = m_members[i].first;
                return answer(200, json::object());
            }
        }
        return answer(500, {{"message", "etcdserver: bad leader transferee"}});
    }
    return std::nullopt;
}

void FakeEtcd::set_members(std::vector<std::pair<std::string, std::string>> members,
                           std::string leader) {
    std::lock_guard lock(m_mutex);
    m_members = std::move(members);
    m_leader = std::move(leader);
}

std::string FakeEtcd::leader() const {
    std::lock_guard lock(m_mutex);
    return m_leader;
}

void FakeEtcd::drop_lease(std::int64_t lease) {
    m_leases.erase(lease);
    for (auto it = m_kv.begin(); it != m_kv.end();) {
        it = it->second.lease == lease ? m_kv.erase(it) : std::next(it);
    }
}

void FakeEtcd::set(const std::string& key, const std::string& value, std::int64_t lease) {
    std::lock_guard lock(m_mutex);
    auto& e = m_kv[key];
    if (e.create_revision == 0) {
        e.create_revision = m_revision;
    }
    e.value = value;
    e.lease = lease;
    e.mod_revision = m_revision++;
}

std::string FakeEtcd::value(const std::string& key) const {
    std::lock_guard lock(m_mutex);
    auto it = m_kv.find(key);
    return it == m_kv.end() ? "" : it->second.value;
}

bool FakeEtcd::has(const std::string& key) const {
    std::lock_guard lock(m_mutex);
    return m_kv.count(key) > 0;
}

std::int64_t FakeEtcd::lease_of(const std::string& key) const {
    std::lock_guard lock(m_mutex);
    auto it = m_kv.find(key);
    return it == m_kv.end() ? 0 : it->second.lease;
}

std::int64_t FakeEtcd::grant_lease() {
    std::lock_guard lock(m_mutex);
    const std::int64_t id = m_next_lease++;
    m_leases[id] = true;
    return id;
}

void FakeEtcd::expire(std::int64_t lease) {
    std::lock_guard lock(m_mutex);
    drop_lease(lease);
}

bool FakeEtcd::lease_alive(std::int64_t lease) const {
    std::lock_guard lock(m_mutex);
    return m_leases.count(lease) > 0;
}

}  // namespace pgdr::fakes
