#include "ovh/access_rules.hpp"

#include <utility>

namespace pgdr::ovh {

std::vector<AccessRule> guard_access_rules(const std::string& project_id) {
    const std::string v1 = "/cloud/project/" + project_id;
    return {{"GET", v1 + "/instance/*"},
            {"POST", v1 + "/instance/*/reboot"},
            {"POST", v1 + "/instance/*/stop"}};
}

std::vector<AccessRule> required_access_rules(const std::string& project_id) {
    // Exactly the routes pgdr calls (ovh/resources.cpp, ovh/provider.cpp, `pgdr ovh check`),
    // nothing else of the project: no volumes, snapshots or billing. The backups' Object
    // Storage (ovh/object_storage.cpp): containers, S3 users, their credentials and policies.
    // A '*' stands for one id (or, under network/, a network's subnets).
    const std::string v1 = "/cloud/project/" + project_id;
    const std::string v2 = "/v2/publicCloud/project/" + project_id;
    std::vector<AccessRule> rules{
        {"GET", "/auth/currentCredential"},
        {"GET", v1},
        {"GET", v1 + "/flavor"},
        {"GET", v1 + "/image"},
        {"GET", v1 + "/instance/*"},
        {"POST", v1 + "/instance/*/reboot"},
        {"POST", v1 + "/instance/*/start"},
        {"POST", v1 + "/instance/*/stop"},
    };
    for (const char* kind :
         {"sshKey", "network", "securityGroup", "compute/instanceGroup", "compute/instance"}) {
        const std::string base = v2 + "/" + kind;
        rules.push_back({"GET", base});
        rules.push_back({"GET", base + "/*"});
        rules.push_back({"POST", base});
        rules.push_back({"DELETE", base + "/*"});
    }
    rules.push_back({"POST", v2 + "/network/*/subnet"});
    rules.push_back({"PUT", v2 + "/securityGroup/*"});
    for (const auto& [method, path] : std::vector<std::pair<const char*, std::string>>{
             {"GET", "/region/*/storage"},
             {"POST", "/region/*/storage"},
             {"GET", "/region/*/storage/*"},
             {"DELETE", "/region/*/storage/*"},
             {"POST", "/region/*/storage/*/bulkDeleteObjects"},
             {"GET", "/user"},
             {"POST", "/user"},
             {"GET", "/user/*"},
             {"DELETE", "/user/*"},
             {"POST", "/user/*/s3Credentials"},
             {"DELETE", "/user/*/s3Credentials/*"},
             {"POST", "/user/*/policy"}}) {
        rules.push_back({method, v1 + path});
    }
    return rules;
}

nlohmann::json to_json(const std::vector<AccessRule>& rules) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rules) {
        out.push_back({{"method", r.method}, {"path", r.path}});
    }
    return out;
}

std::vector<AccessRule> rules_from_json(const nlohmann::json& rules) {
    std::vector<AccessRule> out;
    if (!rules.is_array()) {
        return out;
    }
    for (const auto& r : rules) {
        if (r.is_object()) {
            out.push_back({r.value("method", ""), r.value("path", "")});
        }
    }
    return out;
}

namespace {

// OVH's wildcard: '*' matches any run of characters, '/' included.
bool glob_match(const std::string& pattern, std::size_t p, const std::string& text, std::size_t t) {
    while (p < pattern.size()) {
        if (pattern[p] == '*') {
            for (std::size_t k = t; k <= text.size(); ++k) {
                if (glob_match(pattern, p + 1, text, k)) {
                    return true;
                }
            }
            return false;
        }
        if (t >= text.size() || pattern[p] != text[t]) {
            return false;
        }
        ++p;
        ++t;
    }
    return t == text.size();
}

}  // namespace

bool rule_allows(const std::vector<AccessRule>& granted, const std::string& method,
                 const std::string& path) {
    for (const auto& g : granted) {
        if (g.method == method && glob_match(g.path, 0, path, 0)) {
            return true;
        }
    }
    return false;
}

std::vector<std::string> missing_rules(const std::vector<AccessRule>& granted,
                                       const std::string& project_id) {
    std::vector<std::string> out;
    for (const auto& need : required_access_rules(project_id)) {
        // A required "x/*" is covered when a route with an id in place of each '*' is allowed.
        std::string probe = need.path;
        for (auto& c : probe) {
            c = c == '*' ? 'x' : c;
        }
        if (!rule_allows(granted, need.method, probe)) {
            out.push_back(need.method + " " + need.path);
        }
    }
    return out;
}

}  // namespace pgdr::ovh
