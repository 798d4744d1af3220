// The access rules pgdr asks for when it requests a consumer key, and the check that a key's
// rules cover them (ovh-api.md §2.3): exactly the routes pgdr calls, per method, on the v1
// (/cloud/project/<p>: flavors, images, power actions) and v2 (/v2/publicCloud/project/<p>:
// SSH keys, networks, security groups, instance groups, instances) branches. A '*' in a rule
// matches any characters, as OVH's does.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pgdr::ovh {

struct AccessRule {
    std::string method;
    std::string path;  // exact, or ending in "*"
};

std::vector<AccessRule> required_access_rules(const std::string& project_id);
// pgdr-guard's key (on the guard hosts): the project's instances read, hard reboot and stop;
// nothing that creates or deletes.
std::vector<AccessRule> guard_access_rules(const std::string& project_id);
nlohmann::json to_json(const std::vector<AccessRule>& rules);
std::vector<AccessRule> rules_from_json(const nlohmann::json& rules);

// True when one of `granted` allows method+path ('*' matches any run of characters).
bool rule_allows(const std::vector<AccessRule>& granted, const std::string& method,
                 const std::string& path);
// The required rules that `granted` does not cover, as "METHOD /path".
std::vector<std::string> missing_rules(const std::vector<AccessRule>& granted,
                                       const std::string& project_id);

}  // namespace pgdr::ovh
