#include "pg/patroni_api.hpp"

#include <nlohmann/json.hpp>

#include "core/base64.hpp"

namespace pgdr::pg {

namespace {

using nlohmann::json;

std::optional<std::int64_t> integer(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) {
        return std::nullopt;
    }
    return it->get<std::int64_t>();
}

std::string text(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<json> parse_object(const std::string& body) {
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return std::nullopt;
    }
    return j;
}

std::string short_body(const std::string& body) {
    std::string s = body.substr(0, 200);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

}  // namespace

MemberRole parse_member_role(const std::string& r) {
    if (r == "leader" || r == "master" || r == "primary") {
        return MemberRole::leader;
    }
    if (r == "standby_leader") {
        return MemberRole::standby_leader;
    }
    if (r == "sync_standby") {
        return MemberRole::sync_standby;
    }
    if (r == "quorum_standby") {
        return MemberRole::quorum_standby;
    }
    if (r == "replica" || r == "standby") {
        return MemberRole::replica;
    }
    return MemberRole::unknown;
}

std::vector<std::string> leaders_of(const std::vector<ClusterMember>& members) {
    std::vector<std::string> out;
    for (const auto& m : members) {
        if (m.is_leader()) {
            out.push_back(m.name);
        }
    }
    return out;
}

std::string patroni_url(const std::string& address, int port) {
    bool v6 = address.find(':') != std::string::npos;
    return "https://" + (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

std::string base64(const std::string& data) {
    return base64_encode(data);
}

std::optional<PatroniStatus> parse_patroni_status(const std::string& body) {
    auto j = parse_object(body);
    if (!j) {
        return std::nullopt;
    }
    PatroniStatus s;
    s.role = text(*j, "role");
    s.state = text(*j, "state");
    s.postmaster_start_time = text(*j, "postmaster_start_time");
    if (auto tl = integer(*j, "timeline")) {
        s.timeline = static_cast<int>(*tl);
    }
    auto p = j->find("patroni");
    if (p != j->end() && p->is_object()) {
        s.name = text(*p, "name");
    }
    auto x = j->find("xlog");
    if (x != j->end() && x->is_object()) {
        auto pos = integer(*x, "location");
        if (!pos) {
            pos = integer(*x, "replayed_location");
        }
        if (pos && *pos >= 0) {
            s.wal_position = static_cast<std::uint64_t>(*pos);
        }
    }
    if (s.role.empty() && s.state.empty()) {
        return std::nullopt;
    }
    return s;
}

namespace {

// Patroni writes tags as YAML gave them: true, "true" or "yes".
bool tag_set(const json& tags, const char* key) {
    auto it = tags.find(key);
    if (it == tags.end()) {
        return false;
    }
    if (it->is_boolean()) {
        return it->get<bool>();
    }
    return it->is_string() && (it->get<std::string>() == "true" || it->get<std::string>() == "yes");
}

}  // namespace

std::optional<std::vector<ClusterMember>> parse_cluster_members(const std::string& body) {
    auto j = parse_object(body);
    if (!j) {
        return std::nullopt;
    }
    auto members = j->find("members");
    if (members == j->end() || !members->is_array()) {
        return std::nullopt;
    }
    std::vector<ClusterMember> out;
    for (const auto& m : *members) {
        if (!m.is_object()) {
            continue;
        }
        ClusterMember cm;
        cm.name = text(m, "name");
        cm.host = text(m, "host");
        cm.role_text = text(m, "role");
        cm.role = parse_member_role(cm.role_text);
        cm.state = text(m, "state");
        if (auto tl = integer(m, "timeline")) {
            cm.timeline = static_cast<int>(*tl);
        }
        cm.lag_bytes = integer(m, "lag");
        auto tags = m.find("tags");
        cm.nofailover = tags != m.end() && tags->is_object() && tag_set(*tags, "nofailover");
        out.push_back(std::move(cm));
    }
    return out;
}

PatroniApi::PatroniApi(HttpClient& http, std::chrono::milliseconds timeout)
    : m_http(http), m_timeout(timeout) {}

namespace {

template <typename T, typename Parse>
ApiResult<T> get(HttpClient& http, std::chrono::milliseconds timeout, const std::string& url,
                 Parse parse) {
    HttpRequest req;
    req.method = "GET";
    req.url = url;
    req.timeout = timeout;
    req.connect_timeout = timeout;
    ApiResult<T> out;
    try {
        auto resp = http.send(req);
        // GET /patroni answers 503 on a member whose PostgreSQL is down, with the same body.
        if (resp.status != 200 && resp.status != 503) {
            out.error = "GET " + url + ": HTTP " + std::to_string(resp.status);
            return out;
        }
        out.value = parse(resp.body);
        if (!out.value) {
            out.error = "GET " + url + ": unexpected answer: " + short_body(resp.body);
        }
    } catch (const HttpTransportError& e) {
        // CurlHttpClient's messages already name the URL; others may not.
        std::string what = e.what();
        out.error = what.find(url) != std::string::npos ? what : "GET " + url + ": " + what;
    }
    return out;
}

}  // namespace

ApiResult<PatroniStatus> PatroniApi::status(const std::string& base_url) const {
    return get<PatroniStatus>(m_http, m_timeout, base_url + "/patroni", parse_patroni_status);
}

ApiResult<std::vector<ClusterMember>> PatroniApi::cluster(const std::string& base_url) const {
    return get<std::vector<ClusterMember>>(m_http, m_timeout, base_url + "/cluster",
                                           parse_cluster_members);
}

SwitchoverResult PatroniApi::switchover(const std::string& base_url, const std::string& leader,
                                        const std::string& candidate, const std::string& user,
                                        const std::string& password) const {
    json body = {{"leader", leader}};
    if (!candidate.empty()) {
        body["candidate"] = candidate;
    }
    // Patroni answers when the switchover is done (or failed): allow it the time of a
    // handover, not the 2 s of a status read.
    return post(base_url + "/switchover", body.dump(), user, password,
                std::max(m_timeout, std::chrono::milliseconds(30000)));
}

SwitchoverResult PatroniApi::post(const std::string& url, const std::string& json_body,
                                  const std::string& user, const std::string& password,
                                  std::chrono::milliseconds timeout) const {
    return send_json("POST", url, json_body, user, password, timeout);
}

SwitchoverResult PatroniApi::send_json(const std::string& method, const std::string& url,
                                       const std::string& json_body, const std::string& user,
                                       const std::string& password,
                                       std::chrono::milliseconds timeout) const {
    HttpRequest req;
    req.method = method;
    req.url = url;
    req.headers["Content-Type"] = "application/json";
    req.headers["Authorization"] = "Basic " + base64(user + ":" + password);
    req.body = json_body;
    req.timeout = timeout;
    req.connect_timeout = m_timeout;
    SwitchoverResult out;
    try {
        auto resp = m_http.send(req);
        out.status = resp.status;
        out.ok = resp.status == 200;
        out.message = short_body(resp.body);
    } catch (const HttpTransportError& e) {
        out.message = method + " " + url + ": " + e.what();
    }
    return out;
}

std::pair<int, std::string> PatroniApi::probe(const std::string& url) const {
    HttpRequest req;
    req.url = url;
    req.timeout = m_timeout;
    req.connect_timeout = m_timeout;
    try {
        auto resp = m_http.send(req);
        return {resp.status, short_body(resp.body)};
    } catch (const HttpTransportError& e) {
        return {0, e.what()};
    }
}

}  // namespace pgdr::pg
