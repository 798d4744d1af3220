#include "ovh/credentials.hpp"

#include <cstdlib>
#include <sstream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/strings.hpp"

namespace pgdr::ovh {

namespace {

// Same table as python-ovh ENDPOINTS and go-ovh Endpoints, plus node-ovh's aliases.
const std::map<std::string, std::string>& known_endpoints() {
    static const std::map<std::string, std::string> k_endpoints{
        {"ovh-eu", "https://eu.api.ovh.com/1.0"},
        {"ovh-ca", "https://ca.api.ovh.com/1.0"},
        {"ovh-us", "https://api.us.ovhcloud.com/1.0"},
        {"kimsufi-eu", "https://eu.api.kimsufi.com/1.0"},
        {"kimsufi-ca", "https://ca.api.kimsufi.com/1.0"},
        {"soyoustart-eu", "https://eu.api.soyoustart.com/1.0"},
        {"soyoustart-ca", "https://ca.api.soyoustart.com/1.0"},
    };
    return k_endpoints;
}

const char* const k_keys[] = {"application_key", "application_secret", "consumer_key"};

std::string env_name(const std::string& key) {
    std::string out = "OVH_";
    for (char c : key) {
        out.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
    }
    return out;
}

}  // namespace

CredentialSources CredentialSources::from_system() {
    CredentialSources s;
    s.env = [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (v == nullptr || v[0] == '\0') {
            return std::nullopt;
        }
        return std::string(v);
    };
    s.files.push_back("/etc/ovh.conf");
    if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
        s.files.push_back(std::string(home) + "/.ovh.conf");
    }
    s.files.push_back("./ovh.conf");
    return s;
}

std::map<std::string, std::map<std::string, std::string>> parse_ini(const std::string& text) {
    std::map<std::string, std::map<std::string, std::string>> out;
    std::istringstream in(text);
    std::string line;
    std::string section;
    while (std::getline(in, line)) {
        std::string t = trim(line);
        if (t.empty() || t[0] == ';' || t[0] == '#') {
            continue;
        }
        if (t.front() == '[' && t.back() == ']') {
            section = trim(t.substr(1, t.size() - 2));
            out[section];
            continue;
        }
        auto sep = t.find_first_of("=:");
        if (sep == std::string::npos || section.empty()) {
            continue;
        }
        out[section][trim(t.substr(0, sep))] = trim(t.substr(sep + 1));
    }
    return out;
}

bool is_loopback_url(const std::string& url) {
    auto start = url.find("://");
    if (start == std::string::npos) {
        return false;
    }
    start += 3;
    const auto end = url.find_first_of("/?#", start);
    std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
    if (authority.find('@') != std::string::npos) {
        return false;  // user info: not a plain test endpoint
    }
    std::string host;
    if (!authority.empty() && authority.front() == '[') {
        host = authority.substr(0, authority.find(']') + 1);
    } else {
        host = authority.substr(0, authority.find(':'));
    }
    if (host == "localhost" || host == "[::1]") {
        return true;
    }
    // 127.0.0.0/8, written as four decimal numbers.
    if (host.rfind("127.", 0) != 0) {
        return false;
    }
    int dots = 0;
    for (char c : host) {
        if (c == '.') {
            ++dots;
        } else if (c < '0' || c > '9') {
            return false;
        }
    }
    return dots == 3;
}

std::string endpoint_base_url(const std::string& endpoint) {
    // Anything with a '/' is a URL, as go-ovh decides (configuration.go: loadConfig).
    if (endpoint.find('/') != std::string::npos) {
        if (endpoint.rfind("https://", 0) != 0 && endpoint.rfind("http://", 0) != 0) {
            throw config_error("OVH endpoint '" + endpoint + "' is not an http(s) URL",
                               "use a name such as ovh-eu or a URL such as "
                               "https://eu.api.ovh.com/1.0");
        }
        if (endpoint.rfind("http://", 0) == 0 && !is_loopback_url(endpoint)) {
            // Plain HTTP would carry the application and consumer keys, and the answers that
            // become instance addresses, unprotected: only a local test API may use it.
            throw config_error("OVH endpoint '" + endpoint +
                                   "' is plain http:// to a host that is not this machine",
                               "use https:// (or a name such as ovh-eu); plain http:// is "
                               "accepted only for a loopback test API (127.0.0.1, localhost, "
                               "[::1])");
        }
        std::string url = endpoint;
        while (!url.empty() && url.back() == '/') {
            url.pop_back();
        }
        return url;
    }
    const auto& table = known_endpoints();
    if (auto it = table.find(endpoint); it != table.end()) {
        return it->second;
    }
    std::string names;
    for (const auto& [name, url] : table) {
        names += (names.empty() ? "" : ", ") + name;
    }
    throw config_error(
        "unknown OVH endpoint '" + endpoint + "'",
        "use one of " + names + ", or a base URL such as https://eu.api.ovh.com/1.0");
}

std::string target_url(const std::string& base_url, const std::string& path) {
    std::string base = base_url;
    if (path.rfind("/v1/", 0) == 0 || path.rfind("/v2/", 0) == 0) {
        const std::string suffix = "/1.0";
        if (base.size() >= suffix.size() &&
            base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
            base.erase(base.size() - suffix.size());
        }
    }
    return base + path;
}

Credentials load_credentials(const CredentialSources& sources,
                             const std::string& inventory_endpoint) {
    // Later files override earlier ones, key by key.
    std::map<std::string, std::map<std::string, std::pair<std::string, std::string>>> merged;
    for (const auto& file : sources.files) {
        auto text = read_text_file(file);
        if (!text) {
            continue;
        }
        for (const auto& [section, keys] : parse_ini(*text)) {
            for (const auto& [key, value] : keys) {
                merged[section][key] = {value, file};
            }
        }
    }
    auto env = [&](const std::string& name) {
        return sources.env ? sources.env(name) : std::optional<std::string>();
    };

    Credentials c;
    if (!inventory_endpoint.empty()) {
        c.endpoint = inventory_endpoint;
        c.origin["endpoint"] = "inventory";
    } else if (auto e = env("OVH_ENDPOINT")) {
        c.endpoint = *e;
        c.origin["endpoint"] = "OVH_ENDPOINT";
    } else if (auto it = merged["default"].find("endpoint"); it != merged["default"].end()) {
        c.endpoint = it->second.first;
        c.origin["endpoint"] = it->second.second;
    } else {
        c.endpoint = "ovh-eu";
        c.origin["endpoint"] = "default";
    }
    c.base_url = endpoint_base_url(c.endpoint);

    const auto& section = merged[c.endpoint];
    for (const char* key : k_keys) {
        std::string value;
        std::string origin;
        if (auto e = env(env_name(key))) {
            value = *e;
            origin = env_name(key);
        } else if (auto it = section.find(key); it != section.end()) {
            value = it->second.first;
            origin = it->second.second;
        }
        if (value.empty()) {
            continue;
        }
        c.origin[key] = origin;
        if (std::string(key) == "application_key") {
            c.application_key = value;
        } else if (std::string(key) == "application_secret") {
            c.application_secret = value;
        } else {
            c.consumer_key = value;
        }
    }
    return c;
}

void require_complete(const Credentials& creds, bool need_consumer_key) {
    std::string missing;
    auto note = [&missing](const std::string& key) {
        missing += (missing.empty() ? "" : ", ") + key + " (" + env_name(key) + ")";
    };
    if (creds.application_key.empty()) {
        note("application_key");
    }
    if (creds.application_secret.empty()) {
        note("application_secret");
    }
    if (need_consumer_key && creds.consumer_key.empty()) {
        note("consumer_key");
    }
    if (!missing.empty()) {
        throw config_error(
            "OVH credentials incomplete for endpoint " + creds.endpoint + ": missing " + missing,
            "set the OVH_* variables, or put the keys in the [" + creds.endpoint +
                "] section of ./ovh.conf, ~/.ovh.conf or /etc/ovh.conf; create an application at "
                "https://eu.api.ovh.com/createApp/ and a consumer key with `pgdr ovh credential`");
    }
}

}  // namespace pgdr::ovh
