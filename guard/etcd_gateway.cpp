#include "guard/etcd_gateway.hpp"

#include "core/base64.hpp"

namespace pgdr::guard {

namespace {

using nlohmann::json;

// etcd's gateway writes int64 as strings; a missing field is zero.
std::int64_t int64_of(const json& j, const char* field) {
    if (!j.is_object() || !j.contains(field)) {
        return 0;
    }
    if (auto v = int64_field(j, field)) {
        return *v;
    }
    throw EtcdError(std::string("etcd answered a non-number ") + field + ": " + j.at(field).dump());
}

std::string decoded(const json& kv, const char* field) {
    if (!kv.contains(field)) {
        return "";
    }
    auto text = base64_decode(kv.at(field).get<std::string>());
    if (!text) {
        throw EtcdError(std::string("etcd answered a ") + field + " that is not base64");
    }
    return *text;
}

EtcdKv kv_of(const json& kv) {
    EtcdKv out;
    out.key = decoded(kv, "key");
    out.value = decoded(kv, "value");
    out.lease = int64_of(kv, "lease");
    out.mod_revision = int64_of(kv, "mod_revision");
    return out;
}

// A member or leader id: a uint64, which the gateway writes as a string ("" when absent).
std::string id_text(const json& j, const char* field) {
    if (!j.is_object() || !j.contains(field)) {
        return "";
    }
    const json& v = j.at(field);
    if (v.is_string()) {
        return v.get<std::string>();
    }
    return v.is_number_integer() ? v.dump() : "";
}

std::string first_client_url(const json& member) {
    const json urls = member.value("clientURLs", json::array());
    return !urls.empty() && urls[0].is_string() ? urls[0].get<std::string>() : "";
}

json put_request(const std::string& key, const std::string& value, std::int64_t lease) {
    json put = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
    if (lease != 0) {
        put["lease"] = std::to_string(lease);
    }
    return put;
}

}  // namespace

std::optional<std::int64_t> int64_field(const json& j, const char* field) {
    if (!j.is_object() || !j.contains(field)) {
        return std::nullopt;
    }
    const json& v = j.at(field);
    if (v.is_number_integer()) {
        return v.get<std::int64_t>();
    }
    if (v.is_string()) {
        try {
            std::size_t used = 0;
            const std::string text = v.get<std::string>();
            const long long n = std::stoll(text, &used);
            if (used == text.size()) {
                return n;
            }
        } catch (const std::exception&) {
        }
    }
    return std::nullopt;
}

std::string prefix_end(const std::string& prefix) {
    std::string end = prefix;
    while (!end.empty()) {
        auto& last = end.back();
        if (static_cast<unsigned char>(last) < 0xff) {
            last = static_cast<char>(static_cast<unsigned char>(last) + 1);
            return end;
        }
        end.pop_back();
    }
    return std::string(1, '\0');  // every key
}

EtcdGateway::EtcdGateway(HttpClient& http, std::vector<std::string> endpoints,
                         std::chrono::milliseconds timeout)
    : m_http(http), m_endpoints(std::move(endpoints)), m_timeout(timeout) {
    if (m_endpoints.empty()) {
        throw EtcdError("no etcd endpoint");
    }
}

json EtcdGateway::range_body(const std::string& key, bool prefix) {
    json body = {{"key", base64_encode(key)}};
    if (prefix) {
        body["range_end"] = base64_encode(prefix_end(key));
    }
    return body;
}

std::optional<json> EtcdGateway::call_one(const std::string& endpoint, const std::string& path,
                                          const json& body, std::chrono::milliseconds timeout,
                                          std::string& failure) {
    HttpRequest req;
    req.method = "POST";
    req.url = endpoint + path;
    req.headers["Content-Type"] = "application/json";
    req.body = body.dump();
    req.timeout = timeout;
    req.connect_timeout = timeout / 2;
    HttpResponse resp;
    try {
        resp = m_http.send(req);
    } catch (const HttpTransportError& e) {
        failure = endpoint + ": " + e.what();
        return std::nullopt;
    }
    json answer = json::parse(resp.body, nullptr, false);
    if (resp.status != 200) {
        std::string message = answer.is_object() && answer.contains("message")
                                  ? answer["message"].get<std::string>()
                                  : resp.body.substr(0, 200);
        throw EtcdError("etcd " + path + " at " + endpoint + ": HTTP " +
                        std::to_string(resp.status) + ": " + message);
    }
    if (answer.is_discarded() || !answer.is_object()) {
        throw EtcdError("etcd " + path + " at " + endpoint +
                        ": an answer that is not a JSON object");
    }
    return answer;
}

json EtcdGateway::call(const std::string& path, const json& body) {
    std::string failures;
    for (std::size_t tried = 0; tried < m_endpoints.size(); ++tried) {
        const std::size_t index = (m_current + tried) % m_endpoints.size();
        std::string failure;
        if (auto answer = call_one(m_endpoints[index], path, body, m_timeout, failure)) {
            m_current = index;
            return *answer;
        }
        failures += (failures.empty() ? "" : "; ") + failure;
    }
    throw EtcdError("no etcd member answered " + path + ": " + failures);
}

std::string EtcdGateway::hand_off_leadership(const std::string& address) {
    const json members = call("/v3/cluster/member/list", json::object());
    const std::string leader = id_text(call("/v3/maintenance/status", json::object()), "leader");
    const std::string host = "://" + address + ":";
    std::string leader_url;
    std::string leader_name;
    std::string target;
    std::string target_name;
    for (const auto& m : members.value("members", json::array())) {
        const std::string url = first_client_url(m);
        const std::string name = m.value("name", "?");
        if (id_text(m, "ID") == leader && !leader.empty()) {
            if (url.find(host) == std::string::npos) {
                return "etcd's leader (" + name + ") is not on " + address + ": nothing to move";
            }
            leader_url = url;
            leader_name = name;
        } else if (target.empty() && !url.empty() && url.find(host) == std::string::npos) {
            target = id_text(m, "ID");
            target_name = name;
        }
    }
    if (leader_url.empty()) {
        throw EtcdError("etcd names leader '" + leader + "', which is not in its member list");
    }
    if (target.empty()) {
        throw EtcdError("no other etcd member can take the leadership from " + leader_name);
    }
    // The transfer waits until the target leads: a few heartbeats, more when it lags.
    std::string failure;
    if (!call_one(leader_url, "/v3/maintenance/transfer-leadership", {{"targetID", target}},
                  2 * m_timeout, failure)) {
        throw EtcdError("etcd's leader " + leader_name + " did not answer: " + failure);
    }
    return "etcd's leadership moved from " + leader_name + " to " + target_name;
}

void EtcdGateway::avoid(const std::string& address) {
    const std::string host = "://" + address + ":";
    if (m_endpoints.size() > 1 && m_endpoints[m_current].find(host) != std::string::npos) {
        m_current = (m_current + 1) % m_endpoints.size();
    }
}

std::optional<EtcdKv> EtcdGateway::get(const std::string& key) {
    const json answer = call("/v3/kv/range", range_body(key, false));
    if (!answer.contains("kvs") || answer["kvs"].empty()) {
        return std::nullopt;
    }
    return kv_of(answer["kvs"][0]);
}

std::vector<EtcdKv> EtcdGateway::get_prefix(const std::string& prefix) {
    const json answer = call("/v3/kv/range", range_body(prefix, true));
    std::vector<EtcdKv> out;
    if (answer.contains("kvs")) {
        for (const auto& kv : answer["kvs"]) {
            out.push_back(kv_of(kv));
        }
    }
    return out;
}

void EtcdGateway::put(const std::string& key, const std::string& value, std::int64_t lease) {
    call("/v3/kv/put", put_request(key, value, lease));
}

bool EtcdGateway::put_if_absent(const std::string& key, const std::string& value,
                                std::int64_t lease) {
    const json body = {
        {"compare", json::array({{{"key", base64_encode(key)},
                                  {"target", "CREATE"},
                                  {"result", "EQUAL"},
                                  {"create_revision", "0"}}})},
        {"success", json::array({{{"request_put", put_request(key, value, lease)}}})}};
    return call("/v3/kv/txn", body).value("succeeded", false);
}

bool EtcdGateway::remove_if(const std::string& key, const std::string& value) {
    const json body = {
        {"compare", json::array({{{"key", base64_encode(key)},
                                  {"target", "VALUE"},
                                  {"result", "EQUAL"},
                                  {"value", base64_encode(value)}}})},
        {"success", json::array({{{"request_delete_range", {{"key", base64_encode(key)}}}}})}};
    return call("/v3/kv/txn", body).value("succeeded", false);
}

void EtcdGateway::remove(const std::string& key) {
    call("/v3/kv/deleterange", {{"key", base64_encode(key)}});
}

std::int64_t EtcdGateway::grant(std::chrono::seconds ttl) {
    const json answer = call("/v3/lease/grant", {{"TTL", std::to_string(ttl.count())}});
    const std::int64_t id = int64_of(answer, "ID");
    if (id == 0) {
        throw EtcdError("etcd granted no lease: " + answer.value("error", answer.dump()));
    }
    return id;
}

bool EtcdGateway::keep_alive(std::int64_t lease) {
    const json answer = call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}});
    const json& result = answer.contains("result") ? answer["result"] : answer;
    return int64_of(result, "TTL") > 0;
}

void EtcdGateway::revoke(std::int64_t lease) {
    call("/v3/lease/revoke", {{"ID", std::to_string(lease)}});
}

}  // namespace pgdr::guard
