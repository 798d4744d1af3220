// The inventory's `guard` section: off by default, where the agents run, and what is refused.
#include <catch2/catch.hpp>
#include <string>

#include "core/files.hpp"
#include "core/inventory.hpp"
#include "core/inventory_json.hpp"

namespace {

std::string example(const std::string& file) {
    auto text = pgdr::read_text_file(std::string(PGDR_SOURCE_DIR) + "/inventories/" + file);
    REQUIRE(text);
    return *text;
}

std::vector<std::string> names(const std::vector<const pgdr::HostSpec*>& hosts) {
    std::vector<std::string> out;
    for (const auto* h : hosts) {
        out.push_back(h->name);
    }
    return out;
}

std::string first_diagnostic(const std::string& text) {
    try {
        pgdr::parse_inventory(text, "g.yaml");
    } catch (const pgdr::InventoryError& e) {
        return e.diagnostics().at(0).format();
    }
    return "";
}

}  // namespace

TEST_CASE("inventory guard: off unless enabled; agents on the HAProxy-only hosts", "[inventory]") {
    const auto off = pgdr::parse_inventory(example("ovh-twin.yaml"), "t.yaml");
    CHECK_FALSE(off.guard.enabled);
    CHECK_FALSE(pgdr::inventory_to_json(off).contains("guard"));

    const auto on =
        pgdr::parse_inventory(example("ovh-twin.yaml") + "guard: {enabled: true}\n", "t.yaml");
    CHECK(on.guard.enabled);
    CHECK(names(on.guard_hosts()) == std::vector<std::string>{"lb1", "lb2"});
    CHECK(on.guard.quorum == 2);
    CHECK(on.guard.fence_action == "reboot");
    const auto j = pgdr::inventory_to_json(on);
    CHECK(j["guard"]["hosts"] == nlohmann::json::array({"lb1", "lb2"}));
    CHECK(j["guard"]["unreachable_after_ms"] == 2000);

    const auto named = pgdr::parse_inventory(
        example("ovh-twin.yaml") +
            "guard:\n  enabled: true\n  hosts: [pg2, lb1, pg3]\n  quorum: 3\n"
            "  probe_interval_ms: 200\n  unreachable_after_ms: 1500\n  fence_action: stop\n"
            "  fence_on_silence: true\n  fence_timeout_s: 60\n",
        "t.yaml");
    CHECK(names(named.guard_hosts()) == std::vector<std::string>{"pg2", "pg3", "lb1"});
    CHECK(named.guard.fence_action == "stop");
    CHECK(named.guard.fence_on_silence);
    CHECK(named.guard.fence_timeout_s == 60);
}

TEST_CASE("inventory guard: without HAProxy-only hosts, the PostgreSQL members", "[inventory]") {
    std::string text = example("ovh-twin.yaml");
    const std::string lb2 = "  - {name: lb2, region: SBG5, zone: a, services: [haproxy]}\n";
    const auto at = text.find(lb2);
    REQUIRE(at != std::string::npos);
    text.erase(at, lb2.size());
    const auto inv = pgdr::parse_inventory(text + "guard: {enabled: true}\n", "t.yaml");
    CHECK(names(inv.guard_hosts()) == std::vector<std::string>{"pg1", "pg2", "pg3"});
}

TEST_CASE("inventory guard: what is refused", "[inventory][bad]") {
    CHECK(first_diagnostic(example("lab.yaml") + "guard: {enabled: true}\n") ==
          "g.yaml: guard.enabled: pgdr-guard fences through the provider's API; it needs "
          "provider.type ovh (on the lab: the OVH twin, `pgdr lab up --ovh`)");
    const std::string twin = example("ovh-twin.yaml");
    CHECK(first_diagnostic(twin + "guard: {enabled: true, hosts: [lb1, lb9]}\n") ==
          "g.yaml: guard.hosts: 'lb9' is not an inventory host");
    CHECK(first_diagnostic(twin + "guard: {enabled: true, hosts: [lb1]}\n") ==
          "g.yaml: guard: 1 agent host(s) for a quorum of 2; name more in guard.hosts or lower "
          "guard.quorum");
    CHECK(first_diagnostic(twin + "guard: {enabled: true, quorum: 1}\n")
              .find("guard.quorum: 1 is out of range (2 to 9)") != std::string::npos);
    CHECK(first_diagnostic(twin + "guard: {enabled: true, fence_action: delete}\n")
              .find("guard.fence_action: 'delete' is not valid; expected reboot or stop") !=
          std::string::npos);
    CHECK(first_diagnostic(twin + "guard: {enabled: true, unreachable_after_ms: 500}\n")
              .find("guard.unreachable_after_ms: must be at least two probe intervals (600 ms)") !=
          std::string::npos);
    CHECK(first_diagnostic(twin + "guard: {enabled: true, watchdog: on}\n").find("watchdog") !=
          std::string::npos);
}
