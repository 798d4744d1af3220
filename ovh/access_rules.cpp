#include "ovh/access_rules.hpp"

namespace pgdr::ovh {

std::vector<AccessRule> required_access_rules(const std::string& project_id) {
    std::vector<AccessRule> rules;
    for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
        for (const std::string& base :
             {"/cloud/project/" + project_id, "/v2/publicCloud/project/" + project_id}) {
            // The bare path too: "path/*" alone does not grant "path" (ovh-api.md §2.3).
            if (std::string(method) == "GET") {
                rules.push_back({method, base});
            }
            rules.push_back({method, base + "/*"});
        }
    }
    rules.push_back({"GET", "/auth/currentCredential"});
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

bool rule_allows(const std::vector<AccessRule>& granted, const std::string& method,
                 const std::string& path) {
    for (const auto& g : granted) {
        if (g.method != method) {
            continue;
        }
        if (!g.path.empty() && g.path.back() == '*') {
            if (path.compare(0, g.path.size() - 1, g.path, 0, g.path.size() - 1) == 0) {
                return true;
            }
        } else if (g.path == path) {
            return true;
        }
    }
    return false;
}

std::vector<std::string> missing_rules(const std::vector<AccessRule>& granted,
                                       const std::string& project_id) {
    std::vector<std::string> out;
    for (const auto& need : required_access_rules(project_id)) {
        // A required "x/*" is covered when anything below x is allowed.
        std::string probe = need.path;
        if (!probe.empty() && probe.back() == '*') {
            probe.back() = 'x';
        }
        if (!rule_allows(granted, need.method, probe)) {
            out.push_back(need.method + " " + need.path);
        }
    }
    return out;
}

}  // namespace pgdr::ovh
