#include "twin/api.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>
#include <set>
#include <sstream>

#include "core/net_address.hpp"
#include "ovh/signer.hpp"

namespace pgdr::twin {

using nlohmann::json;

namespace {

// An answer other than 200, raised anywhere below route().
struct Fault {
    int status;
    std::string cls;
    std::string message;
    std::string code;
};

Fault bad_request(const std::string& message, const std::string& code = {}) {
    return {400, "Client::BadRequest", message, code};
}
Fault not_found(const std::string& message = "The requested object does not exist") {
    return {404, "Client::NotFound", message, {}};
}
Fault conflict(const std::string& message, const std::string& cls = "Client::Conflict") {
    return {409, cls, message, {}};
}
const Fault k_bad_url = {404, "Client::NotFound", "Got an invalid (or empty) URL", {}};
const Fault k_method = {405, "Client::MethodNotAllowed", "Method not allowed", {}};

const std::set<std::string> k_protocols = {"AH",     "DCCP", "EGP",     "ESP", "GRE",  "ICMP",
                                           "ICMPV6", "IGMP", "OSPF",    "PGM", "RSVP", "SCTP",
                                           "TCP",    "UDP",  "UDPLITE", "VRRP"};

std::string str(const json& j, const char* key) {
    if (j.is_object() && j.contains(key) && j[key].is_string()) {
        return j[key].get<std::string>();
    }
    return {};
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

std::string query_value(const std::string& query, const std::string& key) {
    for (const auto& part : split(query, '&')) {
        auto eq = part.find('=');
        if (eq != std::string::npos && part.substr(0, eq) == key) {
            return part.substr(eq + 1);
        }
    }
    return {};
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// A stable id for reference data (flavors, images): uuid-shaped, derived from its name.
std::string stable_id(const std::string& seed) {
    const std::string h = ovh::sha1_hex(seed);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
}

std::string flavor_id(const std::string& region, const std::string& name) {
    return stable_id("flavor " + region + " " + name);
}
std::string image_id(const std::string& region, const std::string& name) {
    return stable_id("image " + region + " " + name);
}

const std::vector<std::string> k_images = {"Debian 13", "Debian 12"};

// The twin's private networks live in 198.18.0.0/16 (the public Ext-Net is 198.19.0.0/16):
// addresses of this machine's lab range only, never a range that could be routed elsewhere.
bool allowed_private_cidr(const Cidr& c) {
    const auto base = parse_cidr("198.18.0.0/16");
    return base && c.prefix >= 16 && c.prefix <= 29 && (c.network & 0xffff0000u) == base->network;
}

}  // namespace

json error_body(const std::string& cls, const std::string& message, const std::string& code) {
    json b = {{"class", cls}, {"message", message}};
    if (!code.empty()) {
        b["errorCode"] = code;
    }
    return b;
}

const std::vector<FlavorSpec>& flavors() {
    static const std::vector<FlavorSpec> k_flavors = {{"d2-2", 1, 2, 25},    {"d2-4", 2, 4, 50},
                                                      {"d2-8", 4, 8, 50},    {"b3-8", 2, 8, 50},
                                                      {"b3-16", 4, 16, 100}, {"b3-32", 8, 32, 200}};
    return k_flavors;
}

std::string image_release(const std::string& image_name) {
    if (image_name == "Debian 13") {
        return "trixie";
    }
    if (image_name == "Debian 12") {
        return "bookworm";
    }
    return {};
}

json TwinConfig::to_json() const {
    return {{"application_key", application_key},
            {"application_secret", application_secret},
            {"consumer_key", consumer_key},
            {"projects", projects},
            {"regions", regions},
            {"quota_per_region", quota_per_region},
            {"time_window_s", time_window_s},
            {"region_latency_ms", region_latency_ms}};
}

TwinConfig TwinConfig::from_json(const json& j) {
    TwinConfig c;
    c.application_key = j.at("application_key").get<std::string>();
    c.application_secret = j.at("application_secret").get<std::string>();
    c.consumer_key = j.at("consumer_key").get<std::string>();
    c.projects = j.at("projects").get<std::vector<std::string>>();
    c.regions = j.value("regions", c.regions);
    c.quota_per_region = j.value("quota_per_region", c.quota_per_region);
    c.time_window_s = j.value("time_window_s", c.time_window_s);
    c.region_latency_ms = j.value("region_latency_ms", c.region_latency_ms);
    return c;
}

TwinApi::TwinApi(TwinConfig config, Clock& clock, TwinBackend& backend, Spawn spawn)
    : m_config(std::move(config)), m_clock(clock), m_backend(backend), m_spawn(std::move(spawn)) {}

std::unique_lock<std::mutex> TwinApi::lock_machine(const std::string& id) {
    std::mutex* m = nullptr;
    {
        std::lock_guard lock(m_mutex);
        auto& slot = m_machine_locks[id];  // kept for the twin's life: a few per instance
        if (!slot) {
            slot = std::make_unique<std::mutex>();
        }
        m = slot.get();
    }
    return std::unique_lock<std::mutex>(*m);
}

std::string TwinApi::now_iso() const {
    const auto t = std::chrono::system_clock::to_time_t(m_clock.wall_now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string TwinApi::new_id() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[40];
    const auto a = rng();
    const auto b = rng();
    std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-a%03llx-%012llx",
                  static_cast<unsigned long long>(a >> 32),
                  static_cast<unsigned long long>((a >> 16) & 0xffff),
                  static_cast<unsigned long long>(a & 0xfff),
                  static_cast<unsigned long long>(b >> 52),
                  static_cast<unsigned long long>(b & 0xffffffffffffULL));
    ++m_counter;
    return buf;
}

bool TwinApi::known_project(const std::string& project) const {
    return std::find(m_config.projects.begin(), m_config.projects.end(), project) !=
           m_config.projects.end();
}

bool TwinApi::known_region(const std::string& region) const {
    return std::find(m_config.regions.begin(), m_config.regions.end(), region) !=
           m_config.regions.end();
}

HttpResponse TwinApi::handle(const HttpRequest& request) {
    // The absolute URL -> path and query.
    std::string rest = request.url;
    if (auto scheme = rest.find("://"); scheme != std::string::npos) {
        auto slash = rest.find('/', scheme + 3);
        rest = slash == std::string::npos ? "/" : rest.substr(slash);
    }
    std::string query;
    if (auto q = rest.find('?'); q != std::string::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    Jobs jobs;
    Reply reply;
    {
        std::lock_guard lock(m_mutex);
        try {
            reply = route(request, rest, query, jobs);
        } catch (const Fault& f) {
            reply = {f.status, error_body(f.cls, f.message, f.code)};
        } catch (const json::exception& e) {
            reply = {400, error_body("Client::BadRequest",
                                     std::string("Invalid value(s) received: ") + e.what())};
        }
    }
    for (auto& job : jobs) {
        m_spawn(std::move(job));
    }
    HttpResponse out;
    out.status = reply.status;
    out.headers["content-type"] = "application/json; charset=utf-8";
    out.headers["x-ovh-queryid"] = "TWIN.ext-1." + std::to_string(m_counter);
    out.body = reply.body.dump();
    return out;
}

void TwinApi::authenticate(const HttpRequest& request, bool signed_call) const {
    auto header = [&](const std::string& name) {
        for (const auto& [k, v] : request.headers) {
            if (lower(k) == lower(name)) {
                return v;
            }
        }
        return std::string();
    };
    if (header("X-Ovh-Application") != m_config.application_key) {
        throw Fault{403, "Client::Forbidden", "Invalid application key", "INVALID_KEY"};
    }
    if (!signed_call) {
        return;
    }
    const std::string ck = header("X-Ovh-Consumer");
    if (ck.empty()) {
        throw Fault{401, "Client::Unauthorized", "You must login first", "NOT_AUTHENTICATED"};
    }
    if (ck != m_config.consumer_key) {
        throw Fault{403, "Client::Forbidden", "This credential does not exist",
                    "INVALID_CREDENTIAL"};
    }
    const std::string ts_text = header("X-Ovh-Timestamp");
    long long ts = 0;
    try {
        std::size_t used = 0;
        ts = std::stoll(ts_text, &used);
        if (used != ts_text.size()) {
            throw std::invalid_argument("trailing characters");
        }
    } catch (const std::exception&) {
        throw bad_request("Invalid timestamp", "INVALID_TIMESTAMP");
    }
    const long long now =
        std::chrono::duration_cast<std::chrono::seconds>(m_clock.wall_now().time_since_epoch())
            .count();
    if (std::llabs(ts - now) > m_config.time_window_s) {
        throw bad_request("Invalid timestamp: the query is out of the time window",
                          "INVALID_TIMESTAMP");
    }
    const std::string expected = ovh::sign_request(m_config.application_secret, ck, request.method,
                                                   request.url, request.body, ts);
    if (header("X-Ovh-Signature") != expected) {
        throw bad_request("Invalid signature", "INVALID_SIGNATURE");
    }
}

TwinApi::Reply TwinApi::route(const HttpRequest& request, const std::string& path,
                              const std::string& query, Jobs& jobs) {
    json body;
    if (!request.body.empty()) {
        try {
            body = json::parse(request.body);
        } catch (const json::exception&) {
            throw bad_request("Invalid JSON body");
        }
    }
    if (path == "/1.0/auth/time" && request.method == "GET") {
        return {200, std::chrono::duration_cast<std::chrono::seconds>(
                         m_clock.wall_now().time_since_epoch())
                         .count()};
    }
    if (path.rfind("/1.0/", 0) == 0) {
        authenticate(request, true);
        return v1(request.method, path.substr(4), query, body, jobs);
    }
    if (path.rfind("/v2/publicCloud/project/", 0) == 0) {
        authenticate(request, true);
        const std::string rest = path.substr(std::string("/v2/publicCloud/project/").size());
        const auto slash = rest.find('/');
        if (slash == std::string::npos) {
            throw k_bad_url;
        }
        return v2(request.method, rest.substr(0, slash), rest.substr(slash + 1), body, jobs);
    }
    throw k_bad_url;
}

// ------------------------------------------------------------------------------------- v1

namespace {

// GET /auth/currentCredential: a validated credential allowed everything.
json current_credential(const std::string& creation, const std::string& last_use) {
    return {{"credentialId", 1},
            {"applicationId", 1},
            {"status", "validated"},
            {"rules", json::array({{{"method", "GET"}, {"path", "/*"}},
                                   {{"method", "POST"}, {"path", "/*"}},
                                   {{"method", "PUT"}, {"path", "/*"}},
                                   {{"method", "DELETE"}, {"path", "/*"}}})},
            {"creation", creation},
            {"expiration", nullptr},
            {"lastUse", last_use},
            {"allowedIPs", nullptr},
            {"ovhSupport", false}};
}

json project_info(const std::string& project) {
    return {{"project_id", project},
            {"projectName", "pgdr OVH twin"},
            {"description", "pgdr OVH twin"},
            {"status", "ok"},
            {"access", "full"},
            {"planCode", "project.2018"}};
}

json image_list(const std::vector<std::string>& regions) {
    json out = json::array();
    for (const auto& region : regions) {
        for (const auto& name : k_images) {
            out.push_back({{"id", image_id(region, name)},
                           {"name", name},
                           {"region", region},
                           {"status", "active"},
                           {"type", "linux"},
                           {"user", "debian"},
                           {"flavorType", nullptr},
                           {"visibility", "public"}});
        }
    }
    return out;
}

}  // namespace

TwinApi::Reply TwinApi::v1(const std::string& method, const std::string& path,
                           const std::string& query, const json& body, Jobs& jobs) {
    if (path == "/auth/currentCredential" && method == "GET") {
        const std::string creation = now_iso();
        const std::string last_use = now_iso();
        return {200, current_credential(creation, last_use)};
    }
    const std::string prefix = "/cloud/project/";
    if (path.rfind(prefix, 0) != 0) {
        throw k_bad_url;
    }
    auto parts = split(path.substr(prefix.size()), '/');
    const std::string project = parts[0];
    if (!known_project(project)) {
        throw not_found("This service does not exist");
    }
    parts.erase(parts.begin());
    if (parts.empty() && method == "GET") {
        return {200, project_info(project)};
    }
    if (parts.empty()) {
        throw k_method;
    }
    if (parts.size() == 1 && parts[0] == "region" && method == "GET") {
        return {200, m_config.regions};
    }
    if (parts[0] == "user") {
        return users(method, parts, body);
    }
    if (parts.size() >= 3 && parts[0] == "region" && parts[2] == "storage") {
        if (!known_region(parts[1])) {
            throw not_found("Region " + parts[1] + " does not exist or is not enabled");
        }
        return storage(method, parts, body);
    }
    if (parts.size() == 1 && parts[0] == "flavor" && method == "GET") {
        return {200, flavor_list(project, regions_of_query(query))};
    }
    if (parts.size() == 1 && parts[0] == "image" && method == "GET") {
        return {200, image_list(regions_of_query(query))};
    }
    if (parts[0] == "instance" && parts.size() >= 2) {
        Resource* r = find(parts[1], "compute/instance", project);
        if (r == nullptr) {
            throw not_found("Instance " + parts[1] + " not found");
        }
        if (parts.size() == 2 && method == "GET") {
            return {200, instance_v1(*r)};
        }
        if (parts.size() == 3 && method == "POST") {
            return power(*r, parts[2], body, jobs);
        }
        throw k_bad_url;
    }
    throw k_bad_url;
}

// ?region=R: that region alone (404 when unknown); without it every region of the twin.
std::vector<std::string> TwinApi::regions_of_query(const std::string& query) const {
    const std::string region = query_value(query, "region");
    if (region.empty()) {
        return m_config.regions;
    }
    if (!known_region(region)) {
        throw not_found("Region " + region + " does not exist or is not enabled");
    }
    return std::vector<std::string>{region};
}

// Every flavor in each region, with the quota the project's instances there leave.
json TwinApi::flavor_list(const std::string& project,
                          const std::vector<std::string>& regions) const {
    json out = json::array();
    for (const auto& region : regions) {
        const auto used = static_cast<int>(
            std::count_if(m_resources.begin(), m_resources.end(), [&](const auto& kv) {
                return kv.second.kind == "compute/instance" && kv.second.project == project &&
                       kv.second.region == region && kv.second.status != "DELETING";
            }));
        for (const auto& f : flavors()) {
            out.push_back({{"id", flavor_id(region, f.name)},
                           {"name", f.name},
                           {"region", region},
                           {"vcpus", f.vcpus},
                           {"ram", f.ram_gb * 1024},
                           {"disk", f.disk_gb},
                           {"osType", "linux"},
                           {"type", "ovh.ssd.cpu"},
                           {"available", true},
                           {"quota", std::max(0, m_config.quota_per_region - used)}});
        }
    }
    return out;
}

// cloud.instance.Instance: the addresses as v1 lists them (the public one and one per private
// network, each with the network's id).
json TwinApi::instance_v1(const Resource& r) const {
    json ips = json::array();
    if (!r.public_address.empty()) {
        ips.push_back({{"ip", r.public_address},
                       {"type", "public"},
                       {"version", 4},
                       {"networkId", nullptr},
                       {"gatewayIp", nullptr}});
    }
    for (const auto& nic : r.private_nics) {
        ips.push_back({{"ip", nic.address},
                       {"type", "private"},
                       {"version", 4},
                       {"networkId", nic.network_id},
                       {"gatewayIp", nullptr}});
    }
    return {{"id", r.id},
            {"name", str(r.target_spec, "name")},
            {"status", r.power},
            {"region", r.region},
            {"created", r.created_at},
            {"ipAddresses", ips},
            {"flavorId", str(r.target_spec.value("flavor", json::object()), "id")},
            {"imageId", str(r.target_spec.value("image", json::object()), "id")}};
}

// ------------------------------------------------------------------------ Object Storage

TwinApi::Reply TwinApi::storage(const std::string& method, const std::vector<std::string>& parts,
                                const json& body) {
    S3Api* s3 = m_storage == nullptr ? nullptr : m_storage->region(s3_region_of(parts[1]));
    if (s3 == nullptr) {
        throw not_found("Object Storage is not available in region " + parts[1]);
    }
    auto container = [&](const std::string& name) {
        const auto [count, bytes] = s3->usage(name);
        return json{{"name", name},
                    {"region", parts[1]},
                    {"virtualHost", name + "." + s3_endpoint_host(s3_region_of(parts[1]))},
                    {"ownerId", nullptr},
                    {"objectsCount", count},
                    {"objectsSize", bytes},
                    {"createdAt", now_iso()}};
    };
    const auto existing = s3->buckets();
    auto exists = [&](const std::string& name) {
        return std::find(existing.begin(), existing.end(), name) != existing.end();
    };
    if (parts.size() == 3 && method == "GET") {
        json out = json::array();
        for (const auto& b : existing) {
            out.push_back(container(b));
        }
        return {200, out};
    }
    if (parts.size() == 3 && method == "POST") {
        const std::string name = str(body, "name");
        if (exists(name)) {
            throw conflict("Container " + name + " already exists");
        }
        try {
            s3->ensure_bucket(name);
        } catch (const std::invalid_argument& e) {
            throw bad_request(std::string("Invalid value(s) received: name: ") + e.what());
        }
        return {200, container(name)};
    }
    if (parts.size() == 4) {
        if (!exists(parts[3])) {
            throw not_found("Container " + parts[3] + " not found");
        }
        if (method == "GET") {
            return {200, container(parts[3])};
        }
        if (method == "DELETE") {
            s3->remove_bucket(parts[3]);
            return {200, nullptr};
        }
    }
    if (parts.size() == 5 && exists(parts[3]) && parts[4] == "object" && method == "GET") {
        json out = json::array();
        for (const auto& key : s3->keys(parts[3], 1000)) {
            out.push_back({{"key", key}, {"versionId", nullptr}});
        }
        return {200, out};
    }
    if (parts.size() == 5 && exists(parts[3]) && parts[4] == "bulkDeleteObjects" &&
        method == "POST") {
        json deleted = json::array();
        for (const auto& o : body.value("objects", json::array())) {
            const std::string key = str(o, "key");
            if (key.empty()) {
                throw bad_request("Invalid value(s) received: objects: key is required");
            }
            s3->delete_object(parts[3], key);
            deleted.push_back({{"key", key}});
        }
        return {200, {{"deleted", deleted}, {"errors", json::array()}}};
    }
    throw k_bad_url;
}

namespace {

// The buckets a policy's Allow statements name (arn:aws:s3:::BUCKET[/*]); the twin grants those
// buckets whole.
std::vector<std::string> policy_buckets(const json& body) {
    std::vector<std::string> buckets;
    try {
        const auto doc = json::parse(str(body, "policy"));
        for (const auto& st : doc.value("Statement", json::array())) {
            if (st.value("Effect", "") != "Allow") {
                continue;
            }
            auto resources = st.value("Resource", json::array());
            if (resources.is_string()) {
                resources = json::array({resources});
            }
            for (const auto& r : resources) {
                std::string arn = r.is_string() ? r.get<std::string>() : "";
                const std::string prefix = "arn:aws:s3:::";
                if (arn.rfind(prefix, 0) != 0) {
                    continue;
                }
                arn = arn.substr(prefix.size(), arn.find('/', prefix.size()) - prefix.size());
                if (std::find(buckets.begin(), buckets.end(), arn) == buckets.end()) {
                    buckets.push_back(arn);
                }
            }
        }
    } catch (const json::exception&) {
        throw bad_request("Invalid policy: not a JSON document");
    }
    return buckets;
}

}  // namespace

json TwinApi::user_json(const S3User& u) {
    return json{{"id", u.id},
                {"username", u.username},
                {"description", u.description},
                {"status", "ok"},
                {"roles", json::array({{{"name", u.role}}})},
                {"creationDate", nullptr}};
}

std::string TwinApi::token(std::size_t n) {
    std::string t;
    while (t.size() < n) {
        for (char c : new_id()) {
            if (c != '-' && t.size() < n) {
                t += c;
            }
        }
    }
    return t;
}

TwinApi::Reply TwinApi::users(const std::string& method, const std::vector<std::string>& parts,
                              const json& body) {
    if (m_storage == nullptr) {
        throw k_bad_url;
    }
    if (parts.size() == 1 && method == "POST") {
        return create_user(body);
    }
    if (parts.size() == 1 && method == "GET") {
        json out = json::array();
        for (const auto& [id, u] : m_users) {
            out.push_back(user_json(u));
        }
        return {200, out};
    }
    long long id = 0;
    try {
        id = std::stoll(parts.at(1));
    } catch (const std::exception&) {
        throw not_found("User not found");
    }
    auto it = m_users.find(id);
    if (it == m_users.end()) {
        throw not_found("User " + parts[1] + " not found");
    }
    S3User& u = it->second;
    if (parts.size() == 2 && method == "GET") {
        return {200, user_json(u)};
    }
    if (parts.size() == 2 && method == "DELETE") {
        for (const auto& [access, secret] : u.credentials) {
            m_storage->remove_credential(access);
        }
        m_users.erase(it);
        return {200, nullptr};
    }
    if (parts.size() == 3 && parts[2] == "policy") {
        return user_policy(u, method, body);
    }
    if (parts.size() >= 3 && parts[2] == "s3Credentials") {
        return user_credentials(u, method, parts);
    }
    throw k_bad_url;
}

TwinApi::Reply TwinApi::create_user(const json& body) {
    const std::string role = str(body, "role");
    if (role != "objectstore_operator" && role != "administrator") {
        throw bad_request(
            "Invalid value(s) received: role: pgdr's twin knows "
            "objectstore_operator and administrator");
    }
    S3User u;
    u.id = static_cast<long long>(++m_counter);
    u.username = "user-" + token(12);
    u.description = str(body, "description");
    u.role = role;
    auto j = user_json(u);
    j["password"] = token(32);  // returned once, as OVH does; the twin never checks it
    m_users[u.id] = u;
    return {200, j};
}

TwinApi::Reply TwinApi::user_policy(S3User& u, const std::string& method, const json& body) {
    if (method == "GET") {
        return {200, {{"policy", u.policy}}};
    }
    if (method != "POST") {
        throw k_method;
    }
    const auto buckets = policy_buckets(body);
    u.policy = str(body, "policy");
    for (const auto& [access, secret] : u.credentials) {
        m_storage->set_buckets(access, buckets);
    }
    return {200, nullptr};
}

TwinApi::Reply TwinApi::user_credentials(S3User& u, const std::string& method,
                                         const std::vector<std::string>& parts) {
    auto credential = [&](const std::string& access) {
        return json{{"access", access}, {"userId", std::to_string(u.id)}, {"tenantId", "twin"}};
    };
    if (parts.size() == 3 && method == "POST") {
        const std::string access = token(32);
        const std::string secret = token(32);
        u.credentials[access] = secret;
        m_storage->add_credential({access, secret, {}, false});
        auto j = credential(access);
        j["secret"] = secret;
        return {200, j};
    }
    if (parts.size() == 3 && method == "GET") {
        json out = json::array();
        for (const auto& [access, secret] : u.credentials) {
            out.push_back(credential(access));
        }
        return {200, out};
    }
    auto c = parts.size() >= 4 ? u.credentials.find(parts[3]) : u.credentials.end();
    if (c == u.credentials.end()) {
        throw not_found("Credential not found");
    }
    if (parts.size() == 4 && method == "GET") {
        return {200, credential(c->first)};
    }
    if (parts.size() == 4 && method == "DELETE") {
        m_storage->remove_credential(c->first);
        u.credentials.erase(c);
        return {200, nullptr};
    }
    if (parts.size() == 5 && parts[4] == "secret" && method == "POST") {
        return {200, {{"secret", c->second}}};
    }
    throw k_bad_url;
}

TwinApi::Reply TwinApi::power(Resource& r, const std::string& action, const json& body,
                              Jobs& jobs) {
    const std::string id = r.id;
    auto finish = [this, id](const std::string& status) {
        return [this, id, status] {
            std::lock_guard lock(m_mutex);
            if (auto it = m_resources.find(id); it != m_resources.end()) {
                it->second.power = status;
                it->second.updated_at = now_iso();
            }
        };
    };
    auto run = [this, id, finish](std::function<void()> op, std::string after) {
        return [this, id, op = std::move(op), done = finish(after), after] {
            try {
                op();
                done();
            } catch (const std::exception& e) {
                mark_error(id, e.what());
            }
        };
    };
    if (action == "reboot") {
        const std::string type = str(body, "type");
        if (type != "soft" && type != "hard") {
            throw bad_request("Invalid value(s) received: type: must be soft or hard");
        }
        if (r.power != "ACTIVE") {
            throw conflict("Instance is " + r.power + ", it cannot be rebooted");
        }
        r.power = type == "hard" ? "HARD_REBOOT" : "REBOOT";
        jobs.push_back(run(
            [this, id] {
                auto op = lock_machine(id);
                m_backend.hard_reset(id);
            },
            "ACTIVE"));
        return {200, nullptr};
    }
    if (action == "stop") {
        if (r.power != "ACTIVE") {
            throw conflict("Instance is " + r.power + ", it cannot be stopped");
        }
        jobs.push_back(run(
            [this, id] {
                auto op = lock_machine(id);
                m_backend.power_off(id);
            },
            "SHUTOFF"));
        return {200, nullptr};
    }
    if (action == "start") {
        if (r.power != "SHUTOFF") {
            throw conflict("Instance is " + r.power + ", it cannot be started");
        }
        jobs.push_back(run(
            [this, id] {
                auto op = lock_machine(id);
                m_backend.power_on(id);
            },
            "ACTIVE"));
        return {200, nullptr};
    }
    throw k_bad_url;
}

// ------------------------------------------------------------------------------------- v2

TwinApi::Resource* TwinApi::find(const std::string& id, const std::string& kind,
                                 const std::string& project) {
    auto it = m_resources.find(id);
    if (it == m_resources.end() || it->second.kind != kind || it->second.project != project) {
        return nullptr;
    }
    return &it->second;
}

std::vector<TwinApi::Resource*> TwinApi::live(const std::string& kind, const std::string& project,
                                              const std::string& parent) {
    std::vector<Resource*> out;
    for (auto& [id, r] : m_resources) {
        if (r.kind == kind && r.project == project && (parent.empty() || r.parent == parent)) {
            out.push_back(&r);
        }
    }
    return out;
}

json TwinApi::envelope(const Resource& r) const {
    json tasks = json::array();
    if (r.status == "ERROR") {
        tasks.push_back({{"id", r.id},
                         {"type", "CREATE"},
                         {"status", "ERROR"},
                         {"errors", json::array({{{"message", r.error}}})}});
    } else if (r.status != "READY") {
        tasks.push_back({{"id", r.id},
                         {"type", r.status == "DELETING"   ? "DELETE"
                                  : r.status == "UPDATING" ? "UPDATE"
                                                           : "CREATE"},
                         {"status", "RUNNING"}});
    }
    return {{"id", r.id},
            {"checksum", r.checksum},
            {"createdAt", r.created_at},
            {"updatedAt", r.updated_at},
            {"resourceStatus", r.status},
            {"currentTasks", tasks},
            {"targetSpec", r.target_spec},
            {"currentState", r.current_state}};
}

json TwinApi::instance_state(const Resource& r) const {
    const auto& spec = r.target_spec;
    json networks = json::array();
    if (!r.public_address.empty()) {
        networks.push_back(
            {{"public", true},
             {"addresses",
              json::array({{{"ip", r.public_address}, {"type", "FIXED"}, {"version", 4}}})}});
    }
    for (const auto& nic : r.private_nics) {
        std::string subnet;
        for (const auto& n : spec.value("networks", json::array())) {
            if (str(n, "id") == nic.network_id) {
                subnet = str(n, "subnetId");
            }
        }
        networks.push_back(
            {{"id", nic.network_id},
             {"subnetId", subnet},
             {"public", false},
             {"addresses",
              json::array({{{"ip", nic.address}, {"type", "FIXED"}, {"version", 4}}})}});
    }
    std::string flavor_name;
    for (const auto& f : flavors()) {
        if (flavor_id(r.region, f.name) == str(spec.value("flavor", json::object()), "id")) {
            flavor_name = f.name;
        }
    }
    return {{"name", str(spec, "name")},
            {"location", spec.value("location", json::object())},
            {"flavor",
             {{"id", str(spec.value("flavor", json::object()), "id")}, {"name", flavor_name}}},
            {"image", spec.value("image", json::object())},
            {"networks", networks},
            {"powerState", r.power == "SHUTOFF" ? "SHUTOFF" : "ACTIVE"},
            {"securityGroups", spec.value("securityGroups", json::array())},
            {"group", spec.value("group", json())},
            {"sshKeyName", str(spec, "sshKeyName")},
            {"locked", false}};
}

TwinApi::Reply TwinApi::v2(const std::string& method, const std::string& project,
                           const std::string& rest, const json& body, Jobs& jobs) {
    if (!known_project(project)) {
        throw not_found("This service does not exist");
    }
    auto parts = split(rest, '/');
    if (parts[0] == "sshKey") {
        parts.erase(parts.begin());
        return ssh_keys(method, project, parts, body);
    }
    std::string kind, parent, id;
    if (parts[0] == "network" && parts.size() >= 3 && parts[2] == "subnet") {
        kind = "subnet";
        parent = parts[1];
        id = parts.size() > 3 ? parts[3] : "";
        if (find(parent, "network", project) == nullptr) {
            throw not_found("Network " + parent + " does not exist");
        }
    } else if (parts[0] == "compute" && parts.size() >= 2 &&
               (parts[1] == "instance" || parts[1] == "instanceGroup")) {
        kind = "compute/" + parts[1];
        id = parts.size() > 2 ? parts[2] : "";
    } else if ((parts[0] == "network" || parts[0] == "securityGroup") && parts.size() <= 2) {
        kind = parts[0];
        id = parts.size() > 1 ? parts[1] : "";
    } else {
        throw k_bad_url;
    }
    if (id.empty()) {
        if (method == "GET") {
            json out = json::array();
            for (auto* r : live(kind, project, parent)) {
                out.push_back(envelope(*r));
            }
            return {200, out};
        }
        if (method == "POST") {
            return create(kind, project, parent, body, jobs);
        }
        throw k_method;
    }
    Resource* r = find(id, kind, project);
    if (r == nullptr || (!parent.empty() && r->parent != parent)) {
        throw not_found();
    }
    if (method == "GET") {
        return {200, envelope(*r)};
    }
    if (method == "DELETE") {
        return remove(*r, jobs);
    }
    if (method == "PUT") {
        return update(*r, body, jobs);
    }
    throw k_method;
}

TwinApi::Reply TwinApi::ssh_keys(const std::string& method, const std::string& project,
                                 const std::vector<std::string>& rest, const json& body) {
    auto shape = [](const Resource& r) {
        return json{{"name", str(r.target_spec, "name")},
                    {"publicKey", str(r.target_spec, "publicKey")},
                    {"createdAt", r.created_at},
                    {"updatedAt", r.updated_at}};
    };
    auto keys = live("sshKey", project);
    if (rest.empty()) {
        if (method == "GET") {
            json out = json::array();
            for (auto* r : keys) {
                out.push_back(shape(*r));
            }
            return {200, out};
        }
        if (method != "POST") {
            throw k_method;
        }
        const std::string name = str(body, "name");
        const std::string key = str(body, "publicKey");
        if (name.empty() || key.empty()) {
            throw bad_request("Invalid value(s) received: name, publicKey are required");
        }
        if (key.rfind("ssh-", 0) != 0 && key.rfind("ecdsa-", 0) != 0) {
            throw bad_request("Invalid value(s) received: publicKey is not an SSH public key");
        }
        for (auto* r : keys) {
            if (str(r->target_spec, "name") == name) {
                throw conflict("SSH key " + name + " already exists");
            }
        }
        Resource r;
        r.id = new_id();
        r.kind = "sshKey";
        r.project = project;
        r.target_spec = {{"name", name}, {"publicKey", key}};
        r.status = "READY";
        r.created_at = r.updated_at = now_iso();
        m_resources[r.id] = r;
        return {200, shape(r)};
    }
    for (auto* r : keys) {
        if (str(r->target_spec, "name") == rest[0]) {
            if (method == "GET") {
                return {200, shape(*r)};
            }
            if (method == "DELETE") {
                m_resources.erase(r->id);
                return {200, nullptr};
            }
            throw k_method;
        }
    }
    throw not_found("SSH key " + rest[0] + " does not exist");
}

void TwinApi::validate_instance(const std::string& project, const json& spec,
                                const std::string& region) {
    const std::string fid = str(spec.value("flavor", json::object()), "id");
    const auto flavor = std::find_if(flavors().begin(), flavors().end(), [&](const FlavorSpec& f) {
        return flavor_id(region, f.name) == fid;
    });
    if (flavor == flavors().end()) {
        throw bad_request("Invalid value(s) received: flavor.id: flavor " + fid +
                          " does not exist in region " + region);
    }
    const std::string iid = str(spec.value("image", json::object()), "id");
    if (std::none_of(k_images.begin(), k_images.end(),
                     [&](const std::string& n) { return image_id(region, n) == iid; })) {
        throw bad_request("Invalid value(s) received: image.id: image " + iid +
                          " does not exist in region " + region);
    }
    const std::string key = str(spec, "sshKeyName");
    auto keys = live("sshKey", project);
    if (std::none_of(keys.begin(), keys.end(),
                     [&](Resource* r) { return str(r->target_spec, "name") == key; })) {
        throw bad_request("Invalid value(s) received: sshKeyName: SSH key '" + key +
                          "' does not exist");
    }
    auto need_ready = [&](const std::string& id, const std::string& kind,
                          const std::string& what) -> Resource& {
        Resource* r = find(id, kind, project);
        if (r == nullptr) {
            throw bad_request("Invalid value(s) received: " + what + " " + id + " does not exist");
        }
        if (r->status != "READY") {
            throw conflict(what + " " + id + " is " + r->status,
                           "Client::Conflict::ResourceInInvalidState");
        }
        if (str(r->target_spec.value("location", json::object()), "region") != region &&
            kind != "subnet") {
            throw bad_request("Invalid value(s) received: " + what + " " + id +
                              " is not in region " + region);
        }
        return *r;
    };
    int public_nics = 0;
    for (const auto& n : spec.value("networks", json::array())) {
        if (n.value("autoAssignPublicIp", false)) {
            ++public_nics;
            continue;
        }
        Resource& net = need_ready(str(n, "id"), "network", "network");
        Resource& sub = need_ready(str(n, "subnetId"), "subnet", "subnet");
        if (sub.parent != net.id) {
            throw bad_request("Invalid value(s) received: subnet " + sub.id +
                              " is not a subnet of network " + net.id);
        }
        const std::string ip = str(n, "ip");
        if (!ip.empty()) {
            const auto cidr = parse_cidr(str(sub.target_spec, "cidr"));
            const auto addr = parse_ipv4(ip);
            if (!cidr || !addr || !cidr->contains(*addr)) {
                throw bad_request("Invalid value(s) received: ip " + ip +
                                  " is outside the subnet " + str(sub.target_spec, "cidr"));
            }
            for (auto* other : live("compute/instance", project)) {
                for (const auto& nic : other->private_nics) {
                    if (nic.network_id == net.id && nic.address == ip) {
                        throw conflict("IP address " + ip + " is already in use");
                    }
                }
            }
        }
    }
    if (public_nics > 1) {
        throw bad_request("Invalid value(s) received: networks: at most one public network");
    }
    for (const auto& g : spec.value("securityGroups", json::array())) {
        need_ready(str(g, "id"), "securityGroup", "security group");
    }
    if (spec.contains("group") && spec["group"].is_object()) {
        need_ready(str(spec["group"], "id"), "compute/instanceGroup", "instance group");
    }
    int used = 0;
    for (auto* r : live("compute/instance", project)) {
        used += r->region == region && r->status != "DELETING" ? 1 : 0;
    }
    if (used >= m_config.quota_per_region) {
        throw Fault{403,
                    "Client::Forbidden",
                    "Quota exceeded: the project may run " +
                        std::to_string(m_config.quota_per_region) + " instances in region " +
                        region + " (" + std::to_string(used) + " in use)",
                    {}};
    }
}

std::string TwinApi::allocate_public_address(const std::string& region) {
    const auto index =
        static_cast<int>(std::find(m_config.regions.begin(), m_config.regions.end(), region) -
                         m_config.regions.begin());
    std::set<std::string> used;
    for (const auto& [id, r] : m_resources) {
        used.insert(r.public_address);
    }
    for (int n = 10; n < 250; ++n) {
        int& next = m_public_next[region];
        const int host = 10 + (next++ % 240);
        std::string ip = "198.19." + std::to_string(index + 1) + "." + std::to_string(host);
        if (used.count(ip) == 0) {
            return ip;
        }
    }
    throw Fault{403, "Client::Forbidden", "No public address left in region " + region, {}};
}

std::string TwinApi::allocate_private_address(const Resource& subnet) const {
    std::set<std::string> used;
    for (const auto& [id, r] : m_resources) {
        for (const auto& nic : r.private_nics) {
            used.insert(nic.address);
        }
    }
    for (const auto& pool : subnet.target_spec.value("allocationPools", json::array())) {
        auto start = parse_ipv4(str(pool, "start"));
        auto end = parse_ipv4(str(pool, "end"));
        for (auto a = start.value_or(1); start && end && a <= *end; ++a) {
            if (used.count(format_ipv4(a)) == 0) {
                return format_ipv4(a);
            }
        }
    }
    const auto cidr = parse_cidr(str(subnet.target_spec, "cidr"));
    const std::uint32_t size = cidr ? (1u << (32 - cidr->prefix)) : 0;
    for (std::uint32_t off = 10; cidr && off + 1 < size; ++off) {
        if (used.count(format_ipv4(cidr->network + off)) == 0) {
            return format_ipv4(cidr->network + off);
        }
    }
    throw Fault{409, "Client::Conflict", "No address left in subnet " + subnet.id, {}};
}

namespace {

// A security group's rules: direction, ethernet type and protocol known; a remote prefix or a
// remote group, not both; an IPv4 prefix that parses.
void check_security_rules(const json& spec) {
    for (const auto& rule : spec.value("rules", json::array())) {
        const std::string dir = str(rule, "direction");
        const std::string eth = str(rule, "ethernetType");
        if ((dir != "INGRESS" && dir != "EGRESS") || (eth != "IPV4" && eth != "IPV6") ||
            (rule.contains("protocol") && !rule["protocol"].is_null() &&
             k_protocols.count(str(rule, "protocol")) == 0)) {
            throw bad_request("Invalid value(s) received: rules: " + rule.dump());
        }
        if (!str(rule, "remoteIpPrefix").empty() && rule.contains("remoteGroup") &&
            !rule["remoteGroup"].is_null()) {
            throw bad_request(
                "Invalid value(s) received: remoteIpPrefix and remoteGroup "
                "are exclusive");
        }
        if (!str(rule, "remoteIpPrefix").empty() && eth == "IPV4" &&
            !parse_cidr(str(rule, "remoteIpPrefix"))) {
            throw bad_request("Invalid value(s) received: remoteIpPrefix " +
                              str(rule, "remoteIpPrefix"));
        }
    }
}

}  // namespace

TwinApi::Reply TwinApi::create(const std::string& kind, const std::string& project,
                               const std::string& parent, const json& body, Jobs& jobs) {
    if (!body.is_object() || !body.contains("targetSpec") || !body["targetSpec"].is_object()) {
        throw bad_request("Invalid value(s) received: targetSpec is required");
    }
    const json& spec = body["targetSpec"];
    if (str(spec, "name").empty()) {
        throw bad_request("Invalid value(s) received: targetSpec.name is required");
    }
    const std::string region = str(spec.value("location", json::object()), "region");
    if (!known_region(region)) {
        throw bad_request("Invalid value(s) received: targetSpec.location.region: '" + region +
                          "' is not a region of this project");
    }
    Resource r;
    r.id = new_id();
    r.kind = kind;
    r.project = project;
    r.parent = parent;
    r.target_spec = spec;
    r.region = region;
    r.checksum = new_id();
    r.created_at = r.updated_at = now_iso();
    const std::string id = r.id;

    if (kind == "subnet") {
        create_subnet(r, spec, jobs);
    } else if (kind == "network") {
        jobs.push_back([this, id, region] {
            try {
                m_backend.create_network(id, region);
                mark_ready(id);
            } catch (const std::exception& e) {
                mark_error(id, e.what());
            }
        });
    } else if (kind == "securityGroup") {
        check_security_rules(spec);
        jobs.push_back([this, id] { mark_ready(id); });
    } else if (kind == "compute/instanceGroup") {
        const std::string policy = str(spec, "policy");
        if (policy != "AFFINITY" && policy != "ANTI_AFFINITY") {
            throw bad_request("Invalid value(s) received: policy '" + policy + "'");
        }
        jobs.push_back([this, id] { mark_ready(id); });
    } else if (kind == "compute/instance") {
        return create_instance(std::move(r), spec, jobs);
    } else {
        throw k_bad_url;
    }
    m_resources[id] = r;
    return {200, envelope(r)};
}

// A subnet of a READY network in its region, in the twin's private range; joined (vRack) to a
// network of another region that has a subnet of the same range.
void TwinApi::create_subnet(const Resource& r, const json& spec, Jobs& jobs) {
    const std::string& id = r.id;
    const std::string& parent = r.parent;
    const std::string& project = r.project;
    const std::string& region = r.region;
    Resource* net = find(parent, "network", project);
    if (net->status != "READY") {
        throw conflict("Network " + parent + " is " + net->status,
                       "Client::Conflict::ResourceInInvalidState");
    }
    if (net->region != region) {
        throw bad_request(
            "Invalid value(s) received: the subnet's region differs from "
            "its network's");
    }
    const auto cidr = parse_cidr(str(spec, "cidr"));
    if (!cidr) {
        throw bad_request("Invalid value(s) received: cidr '" + str(spec, "cidr") + "'");
    }
    if (!allowed_private_cidr(*cidr)) {
        throw bad_request("Invalid value(s) received: cidr " + str(spec, "cidr") +
                          ": the OVH twin's private networks must lie in 198.18.0.0/16 "
                          "(prefix /16 to /29)");
    }
    // OVH's vRack: a network of another region with a subnet of the same range is the same
    // segment, with the latency between the regions. Joined to the first such network only:
    // a star, never a loop of bridges (no spanning tree here).
    std::vector<std::string> peers;
    for (auto* other : live("subnet", project)) {
        Resource* other_net = find(other->parent, "network", project);
        if (other_net != nullptr && other_net->id != parent && peers.empty() &&
            str(other->target_spec, "cidr") == str(spec, "cidr")) {
            peers.push_back(other_net->id);
        }
    }
    const int latency = m_config.region_latency_ms;
    jobs.push_back([this, id, parent, peers, latency] {
        try {
            for (const auto& peer : peers) {
                m_backend.link_networks(parent, peer, latency);
            }
            mark_ready(id);
        } catch (const std::exception& e) {
            mark_error(id, e.what());
        }
    });
}

// Starts the instance's host (its addresses allocated now), then re-applies the firewalls.
TwinApi::Reply TwinApi::create_instance(Resource r, const json& spec, Jobs& jobs) {
    const std::string id = r.id;
    const std::string& project = r.project;
    const std::string region = r.region;
    validate_instance(project, spec, region);
    r.power = "BUILD";
    for (const auto& n : spec.value("networks", json::array())) {
        if (n.value("autoAssignPublicIp", false)) {
            r.public_address = allocate_public_address(region);
            continue;
        }
        Resource* sub = find(str(n, "subnetId"), "subnet", project);
        PrivateNic nic;
        nic.network_id = str(n, "id");
        nic.address = str(n, "ip").empty() ? allocate_private_address(*sub) : str(n, "ip");
        nic.prefix = parse_cidr(str(sub->target_spec, "cidr"))->prefix;
        r.private_nics.push_back(nic);
    }
    m_resources[id] = r;
    HostSpec host = host_spec(r);
    m_applied[id] = host.firewall;
    jobs.push_back([this, id, host] {
        try {
            {
                auto op = lock_machine(id);
                m_backend.create_host(host);
            }
            {
                std::lock_guard lock(m_mutex);
                if (auto it = m_resources.find(id); it != m_resources.end()) {
                    it->second.power = "ACTIVE";
                }
            }
            mark_ready(id);
        } catch (const std::exception& e) {
            mark_error(id, e.what());
        }
    });
    refresh_firewalls(jobs);
    return {200, envelope(r)};
}

void TwinApi::mark_ready(const std::string& id) {
    Jobs jobs;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_resources.find(id);
        if (it == m_resources.end()) {
            return;
        }
        Resource& r = it->second;
        r.status = "READY";
        r.updated_at = now_iso();
        r.checksum = new_id();
        if (r.kind == "compute/instance") {
            r.current_state = instance_state(r);
        } else {
            r.current_state = r.target_spec;
            if (r.kind == "securityGroup") {
                json rules = json::array();
                for (auto rule : r.target_spec.value("rules", json::array())) {
                    rule["id"] = new_id();
                    rules.push_back(rule);
                }
                r.current_state["rules"] = rules;
                r.current_state["defaultRules"] =
                    json::array({{{"direction", "EGRESS"}, {"ethernetType", "IPV4"}},
                                 {{"direction", "EGRESS"}, {"ethernetType", "IPV6"}}});
            }
        }
        if (r.kind == "securityGroup" || r.kind == "compute/instance") {
            refresh_firewalls(jobs);  // also what changed while an instance was CREATING
        }
    }
    for (auto& job : jobs) {
        m_spawn(std::move(job));
    }
}

void TwinApi::mark_error(const std::string& id, const std::string& message) {
    std::lock_guard lock(m_mutex);
    auto it = m_resources.find(id);
    if (it == m_resources.end()) {
        return;
    }
    if (it->second.status == "DELETING") {
        // A failed removal leaves the resource there, as OVH does, for another DELETE.
        it->second.status = "READY";
    } else {
        it->second.status = "ERROR";
    }
    if (it->second.kind == "compute/instance") {
        it->second.power = "ERROR";
    }
    it->second.error = message;
    it->second.updated_at = now_iso();
}

TwinApi::Reply TwinApi::remove(Resource& r, Jobs& jobs) {
    if (r.status == "DELETING") {
        return {200, nullptr};
    }
    const std::string id = r.id;
    auto in_use = [&](auto pred) {
        for (auto* inst : live("compute/instance", r.project)) {
            if (pred(*inst)) {
                return true;
            }
        }
        return false;
    };
    if (r.kind == "network") {
        if (!live("subnet", r.project, id).empty()) {
            throw bad_request("Network " + id + " still has subnets");
        }
        if (in_use([&](const Resource& i) {
                return std::any_of(i.private_nics.begin(), i.private_nics.end(),
                                   [&](const PrivateNic& n) { return n.network_id == id; });
            })) {
            throw conflict("Network " + id + " is in use by an instance");
        }
    } else if (r.kind == "subnet") {
        if (in_use([&](const Resource& i) {
                for (const auto& n : i.target_spec.value("networks", json::array())) {
                    if (str(n, "subnetId") == id) {
                        return true;
                    }
                }
                return false;
            })) {
            throw conflict("Subnet " + id + " is in use by an instance");
        }
    } else if (r.kind == "securityGroup" || r.kind == "compute/instanceGroup") {
        if (in_use([&](const Resource& i) {
                for (const auto& g : i.target_spec.value("securityGroups", json::array())) {
                    if (str(g, "id") == id) {
                        return true;
                    }
                }
                return str(i.target_spec.value("group", json::object()), "id") == id;
            })) {
            throw conflict(r.kind + " " + id + " is in use by an instance");
        }
    }
    r.status = "DELETING";
    r.updated_at = now_iso();
    const std::string kind = r.kind;
    jobs.push_back([this, id, kind] {
        try {
            if (kind == "compute/instance") {
                auto op = lock_machine(id);  // after a create still running
                m_backend.delete_host(id);
            } else if (kind == "network") {
                m_backend.delete_network(id);
            }
            Jobs more;
            {
                std::lock_guard lock(m_mutex);
                m_resources.erase(id);
                m_applied.erase(id);
                refresh_firewalls(more);
            }
            for (auto& job : more) {
                m_spawn(std::move(job));
            }
        } catch (const std::exception& e) {
            mark_error(id, e.what());
        }
    });
    return {200, nullptr};
}

TwinApi::Reply TwinApi::update(Resource& r, const json& body, Jobs& jobs) {
    if (r.status != "READY") {
        throw conflict("Resource " + r.id + " is " + r.status,
                       "Client::Conflict::ResourceInInvalidState");
    }
    if (!body.is_object() || !body.contains("targetSpec") || !body["targetSpec"].is_object()) {
        throw bad_request("Invalid value(s) received: targetSpec is required");
    }
    if (body.contains("checksum") && str(body, "checksum") != r.checksum) {
        throw conflict("Checksum mismatch", "Client::Conflict::ChecksumMismatch");
    }
    json spec = r.target_spec;
    for (const auto& [k, v] : body["targetSpec"].items()) {
        spec[k] = v;
    }
    r.target_spec = spec;
    r.status = "UPDATING";
    r.updated_at = now_iso();
    const std::string id = r.id;
    jobs.push_back([this, id] { mark_ready(id); });
    return {200, envelope(r)};
}

Firewall TwinApi::firewall_of(const Resource& instance) const {
    Firewall fw;
    if (!instance.target_spec.contains("securityGroups")) {
        fw.allow_all = true;  // the project's default group: everything open
        return fw;
    }
    auto members = [&](const std::string& group) {
        std::vector<std::string> out;
        for (const auto& [id, r] : m_resources) {
            if (r.kind != "compute/instance" || r.status == "DELETING") {
                continue;
            }
            for (const auto& g : r.target_spec.value("securityGroups", json::array())) {
                if (str(g, "id") == group) {
                    if (!r.public_address.empty()) {
                        out.push_back(r.public_address + "/32");
                    }
                    for (const auto& nic : r.private_nics) {
                        out.push_back(nic.address + "/32");
                    }
                }
            }
        }
        return out;
    };
    for (const auto& g : instance.target_spec.value("securityGroups", json::array())) {
        auto it = m_resources.find(str(g, "id"));
        if (it == m_resources.end() || it->second.kind != "securityGroup") {
            continue;
        }
        for (const auto& rule : it->second.target_spec.value("rules", json::array())) {
            if (str(rule, "direction") != "INGRESS" || str(rule, "ethernetType") != "IPV4") {
                continue;
            }
            IngressRule base;
            base.protocol = lower(str(rule, "protocol"));
            if (rule.contains("portRangeMin") && rule["portRangeMin"].is_number()) {
                base.port_min = rule["portRangeMin"].get<int>();
                base.port_max = rule.contains("portRangeMax") && rule["portRangeMax"].is_number()
                                    ? rule["portRangeMax"].get<int>()
                                    : base.port_min;
            }
            std::vector<std::string> sources;
            if (rule.contains("remoteGroup") && rule["remoteGroup"].is_object()) {
                sources = members(str(rule["remoteGroup"], "id"));
            } else {
                const std::string prefix = str(rule, "remoteIpPrefix");
                sources.push_back(prefix.empty() ? "0.0.0.0/0" : prefix);
            }
            for (const auto& s : sources) {
                IngressRule one = base;
                one.source = s;
                fw.rules.push_back(one);
            }
        }
    }
    return fw;
}

HostSpec TwinApi::host_spec(const Resource& instance) const {
    const auto& spec = instance.target_spec;
    HostSpec h;
    h.id = instance.id;
    h.name = str(spec, "name");
    h.region = instance.region;
    const std::string iid = str(spec.value("image", json::object()), "id");
    for (const auto& name : k_images) {
        if (image_id(instance.region, name) == iid) {
            h.release = image_release(name);
        }
    }
    const std::string fid = str(spec.value("flavor", json::object()), "id");
    for (const auto& f : flavors()) {
        if (flavor_id(instance.region, f.name) == fid) {
            h.vcpus = f.vcpus;
            h.ram_gb = f.ram_gb;
        }
    }
    for (const auto& [id, r] : m_resources) {
        if (r.kind == "sshKey" && r.project == instance.project &&
            str(r.target_spec, "name") == str(spec, "sshKeyName")) {
            h.public_key = str(r.target_spec, "publicKey");
        }
    }
    h.public_address = instance.public_address;
    h.private_nics = instance.private_nics;
    h.firewall = firewall_of(instance);
    return h;
}

void TwinApi::refresh_firewalls(Jobs& jobs) {
    for (const auto& [id, r] : m_resources) {
        if (r.kind != "compute/instance" || r.status == "DELETING" || r.status == "ERROR") {
            continue;
        }
        if (r.status == "CREATING") {
            continue;  // create_host applies what it was given; mark_ready() refreshes it
        }
        Firewall fw = firewall_of(r);
        auto it = m_applied.find(id);
        if (it != m_applied.end() && it->second == fw) {
            continue;
        }
        m_applied[id] = fw;
        const std::string iid = id;
        jobs.push_back([this, iid, fw] {
            try {
                auto op = lock_machine(iid);
                m_backend.apply_firewall(iid, fw);
            } catch (const std::exception& e) {
                mark_error(iid, std::string("security group rules not applied: ") + e.what());
            }
        });
    }
}

}  // namespace pgdr::twin
