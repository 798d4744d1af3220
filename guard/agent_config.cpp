#include "guard/agent_config.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace pgdr::guard {

namespace {

using nlohmann::json;
using std::chrono::milliseconds;

[[noreturn]] void bad(const std::string& field, const std::string& why) {
    throw std::invalid_argument("guard configuration: " + field + ": " + why);
}

const json& object_at(const json& j, const std::string& field) {
    if (!j.contains(field) || !j.at(field).is_object()) {
        bad(field, "missing, or not an object");
    }
    return j.at(field);
}

std::string text_at(const json& j, const std::string& field, bool required = true) {
    if (!j.contains(field)) {
        if (required) {
            bad(field, "missing");
        }
        return "";
    }
    if (!j.at(field).is_string() || (required && j.at(field).get<std::string>().empty())) {
        bad(field, "not a non-empty string");
    }
    return j.at(field).get<std::string>();
}

// `section` names where `field` is, for the messages ("settings.", "members[].").
long long number_at(const json& j, const std::string& section, const std::string& field,
                    long long fallback, long long min, long long max) {
    if (!j.contains(field)) {
        return fallback;
    }
    if (!j.at(field).is_number_integer()) {
        bad(section + field, "not an integer");
    }
    const auto v = j.at(field).get<long long>();
    if (v < min || v > max) {
        bad(section + field,
            std::to_string(v) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
    }
    return v;
}

}  // namespace

AgentConfig parse_agent_config(const std::string& json_text) {
    const json j = json::parse(json_text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        throw std::invalid_argument("guard configuration: not a JSON object");
    }
    AgentConfig c;
    c.agent = text_at(j, "agent");
    c.cluster = text_at(j, "cluster");
    c.dcs_prefix = text_at(j, "dcs_prefix");
    c.guard_prefix = text_at(j, "guard_prefix");
    for (const auto* p : {&c.dcs_prefix, &c.guard_prefix}) {
        if (p->front() != '/' || p->back() != '/') {
            bad(p == &c.dcs_prefix ? "dcs_prefix" : "guard_prefix", "must start and end with /");
        }
    }
    const json& etcd = object_at(j, "etcd");
    if (!etcd.contains("endpoints") || !etcd["endpoints"].is_array() || etcd["endpoints"].empty()) {
        bad("etcd.endpoints", "missing or empty");
    }
    for (const auto& e : etcd["endpoints"]) {
        if (!e.is_string() || e.get<std::string>().rfind("https://", 0) != 0) {
            bad("etcd.endpoints", "every endpoint is an https:// URL (the cluster's etcd is TLS)");
        }
        c.etcd_endpoints.push_back(e.get<std::string>());
    }
    c.etcd_ca_file = text_at(etcd, "ca_file");
    c.etcd_cert_file = text_at(etcd, "cert_file");
    c.etcd_key_file = text_at(etcd, "key_file");
    if (!j.contains("members") || !j["members"].is_array() || j["members"].empty()) {
        bad("members", "missing or empty");
    }
    for (const auto& m : j["members"]) {
        GuardMember gm;
        gm.name = text_at(m, "name");
        gm.address = text_at(m, "address");
        gm.pg_port = static_cast<int>(number_at(m, "members[].", "pg_port", 5432, 1, 65535));
        gm.rest_port = static_cast<int>(number_at(m, "members[].", "rest_port", 8008, 1, 65535));
        c.members.push_back(gm);
    }
    const json settings = j.contains("settings") ? object_at(j, "settings") : json::object();
    auto& s = c.settings;
    s.probe_interval =
        milliseconds(number_at(settings, "settings.", "probe_interval_ms", 300, 50, 10000));
    c.probe_timeout =
        milliseconds(number_at(settings, "settings.", "probe_timeout_ms", 500, 50, 10000));
    s.unreachable_after =
        milliseconds(number_at(settings, "settings.", "unreachable_after_ms", 2000, 200, 600000));
    s.quorum = static_cast<int>(number_at(settings, "settings.", "quorum", 2, 1, 99));
    s.observation_ttl =
        milliseconds(number_at(settings, "settings.", "observation_ttl_ms", 3000, 100, 600000));
    s.fence_timeout =
        milliseconds(number_at(settings, "settings.", "fence_timeout_ms", 20000, 1000, 600000));
    if (settings.contains("fence_on_silence")) {
        if (!settings["fence_on_silence"].is_boolean()) {
            bad("settings.fence_on_silence", "not a boolean");
        }
        s.fence_on_silence = settings["fence_on_silence"].get<bool>();
    }
    const std::string action = settings.contains("fence_action") ? text_at(settings, "fence_action")
                                                                 : std::string("reboot");
    if (action != "reboot" && action != "stop") {
        bad("settings.fence_action", "'" + action + "' is neither reboot nor stop");
    }
    c.fence_action = action == "stop" ? FenceAction::stop : FenceAction::reboot;
    if (c.probe_timeout >= s.probe_interval * 4) {
        bad("settings.probe_timeout_ms", "must be under four probe intervals");
    }
    if (s.observation_ttl <= s.probe_interval) {
        bad("settings.observation_ttl_ms", "must be longer than probe_interval_ms");
    }
    const json& p = object_at(j, "provider");
    c.provider.type = text_at(p, "type");
    if (c.provider.type != "ovh") {
        bad("provider.type",
            "'" + c.provider.type + "' is not a provider pgdr guard can fence with");
    }
    c.provider.endpoint = text_at(p, "endpoint");
    c.provider.ca_file = text_at(p, "ca_file", false);
    c.provider.credentials_file = text_at(p, "credentials_file");
    c.provider.project_id = text_at(p, "project_id");
    const json& instances = object_at(p, "instances");
    for (const auto& m : c.members) {
        if (!instances.contains(m.name)) {
            bad("provider.instances", "no instance for member " + m.name);
        }
        const json& i = instances[m.name];
        c.provider.instances[m.name] = {text_at(i, "id"), text_at(i, "name"),
                                        text_at(i, "address")};
    }
    return c;
}

std::string render_agent_config(const AgentConfig& c) {
    json members = json::array();
    for (const auto& m : c.members) {
        members.push_back({{"name", m.name},
                           {"address", m.address},
                           {"pg_port", m.pg_port},
                           {"rest_port", m.rest_port}});
    }
    json instances = json::object();
    for (const auto& [name, i] : c.provider.instances) {
        instances[name] = {{"id", i.id}, {"name", i.name}, {"address", i.address}};
    }
    const auto& s = c.settings;
    json j = {{"agent", c.agent},
              {"cluster", c.cluster},
              {"dcs_prefix", c.dcs_prefix},
              {"guard_prefix", c.guard_prefix},
              {"etcd",
               {{"endpoints", c.etcd_endpoints},
                {"ca_file", c.etcd_ca_file},
                {"cert_file", c.etcd_cert_file},
                {"key_file", c.etcd_key_file}}},
              {"members", members},
              {"settings",
               {{"probe_interval_ms", s.probe_interval.count()},
                {"probe_timeout_ms", c.probe_timeout.count()},
                {"unreachable_after_ms", s.unreachable_after.count()},
                {"quorum", s.quorum},
                {"observation_ttl_ms", s.observation_ttl.count()},
                {"fence_timeout_ms", s.fence_timeout.count()},
                {"fence_on_silence", s.fence_on_silence},
                {"fence_action", c.fence_action == FenceAction::stop ? "stop" : "reboot"}}},
              {"provider",
               {{"type", c.provider.type},
                {"endpoint", c.provider.endpoint},
                {"ca_file", c.provider.ca_file},
                {"credentials_file", c.provider.credentials_file},
                {"project_id", c.provider.project_id},
                {"instances", instances}}}};
    return j.dump(2) + "\n";
}

}  // namespace pgdr::guard
