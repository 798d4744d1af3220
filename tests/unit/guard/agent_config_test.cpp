// pgdr-guard's configuration file: rendered (golden), read back unchanged, and every field that
// could make an agent act wrongly refused with its name.
#include "guard/agent_config.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <nlohmann/json.hpp>

#include "unit/pg/golden.hpp"

using namespace pgdr::guard;
using nlohmann::json;

namespace {

AgentConfig example() {
    AgentConfig c;
    c.agent = "lb1";
    c.cluster = "shop-db";
    c.dcs_prefix = "/postgresql-common/17-main/";
    c.guard_prefix = "/pgdr/shop-db/guard/";
    c.etcd_endpoints = {"https://198.18.64.11:2379", "https://198.18.64.12:2379",
                        "https://198.18.64.13:2379"};
    c.etcd_ca_file = "/etc/pgdr-guard/ca.crt";
    c.etcd_cert_file = "/etc/pgdr-guard/guard.crt";
    c.etcd_key_file = "/etc/pgdr-guard/guard.key";
    for (int i = 1; i <= 3; ++i) {
        const std::string name = "pg" + std::to_string(i);
        const std::string address = "198.18.64.1" + std::to_string(i);
        c.members.push_back({name, address, 5432, 8008});
        c.provider.instances[name] = {
            "0000000" + std::to_string(i) + "-aaaa-bbbb-cccc-dddddddddddd", "pgdr-shop-db-" + name,
            address};
    }
    c.provider.type = "ovh";
    c.provider.endpoint = "ovh-eu";
    c.provider.credentials_file = "/etc/pgdr-guard/ovh.conf";
    c.provider.project_id = "0123456789abcdef0123456789abcdef";
    return c;
}

json mutated(const std::function<void(json&)>& change) {
    json j = json::parse(render_agent_config(example()));
    change(j);
    return j;
}

}  // namespace

TEST_CASE("guard config: rendered, and read back unchanged", "[guard]") {
    const std::string text = render_agent_config(example());
    pgdr::testing::check_golden("guard/guard.json", text);
    const AgentConfig back = parse_agent_config(text);
    CHECK(render_agent_config(back) == text);
    CHECK(back.settings.probe_interval == std::chrono::milliseconds(300));
    CHECK(back.settings.quorum == 2);
    CHECK(back.fence_action == FenceAction::reboot);
    CHECK_FALSE(back.settings.fence_on_silence);
    CHECK(back.provider.instances.at("pg2").name == "pgdr-shop-db-pg2");
}

TEST_CASE("guard config: what an agent must not run with", "[guard]") {
    using Change = std::function<void(json&)>;
    const std::vector<std::pair<Change, std::string>> cases = {
        {[](json& j) { j["etcd"]["endpoints"][1] = "http://198.18.64.12:2379"; },
         "etcd.endpoints: every endpoint is an https:// URL"},
        {[](json& j) { j["etcd"]["endpoints"] = json::array(); },
         "etcd.endpoints: missing or empty"},
        {[](json& j) { j["settings"]["fence_action"] = "delete"; },
         "settings.fence_action: 'delete' is neither reboot nor stop"},
        {[](json& j) { j["settings"]["quorum"] = 0; }, "settings.quorum"},
        {[](json& j) { j["settings"]["probe_timeout_ms"] = 2000; },
         "settings.probe_timeout_ms: must be under four probe intervals"},
        {[](json& j) { j["settings"]["observation_ttl_ms"] = 200; },
         "settings.observation_ttl_ms: must be longer than probe_interval_ms"},
        {[](json& j) { j["settings"]["fence_on_silence"] = "yes"; },
         "settings.fence_on_silence: not a boolean"},
        {[](json& j) { j["provider"]["instances"].erase("pg3"); },
         "provider.instances: no instance for member pg3"},
        {[](json& j) { j["provider"]["type"] = "lab"; }, "provider.type: 'lab' is not a provider"},
        {[](json& j) { j["dcs_prefix"] = "/postgresql-common/17-main"; },
         "dcs_prefix: must start and end with /"},
        {[](json& j) { j.erase("agent"); }, "agent: missing"},
    };
    for (const auto& [change, message] : cases) {
        CAPTURE(message);
        CHECK_THROWS_WITH(parse_agent_config(mutated(change).dump()),
                          Catch::Contains("guard configuration: " + message));
    }
    CHECK_THROWS_WITH(parse_agent_config("[1]"), "guard configuration: not a JSON object");
}
