// The inventory's `dr` section (issue 16): the hosts of one region form the DR cluster, a
// standby cluster of the others; what is refused; the DR cluster's own inventory.
#include <catch2/catch.hpp>
#include <string>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/inventory.hpp"
#include "core/inventory_json.hpp"
#include "core/state.hpp"

namespace {

std::string pair_text() {
    auto text = pgdr::read_text_file(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-dr.yaml");
    REQUIRE(text);
    return *text;
}

std::vector<std::string> names(const std::vector<pgdr::HostSpec>& hosts) {
    std::vector<std::string> out;
    for (const auto& h : hosts) {
        out.push_back(h.name);
    }
    return out;
}

std::string diagnostics(const std::string& text) {
    try {
        pgdr::parse_inventory(text, "d.yaml");
    } catch (const pgdr::InventoryError& e) {
        std::string out;
        for (const auto& d : e.diagnostics()) {
            out += d.format() + "\n";
        }
        return out;
    }
    return "";
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("inventory dr: the DR region's hosts leave the primary cluster", "[inventory][dr]") {
    const auto inv = pgdr::parse_inventory(pair_text(), "d.yaml");
    CHECK(names(inv.hosts) == std::vector<std::string>{"r1-pg1", "r1-pg2", "r1-pg3"});
    REQUIRE(inv.dr);
    CHECK(inv.dr->region == "r2");
    CHECK(inv.dr->cluster == "lab-dr");
    CHECK(inv.dr->slot == "pgdr_dr");
    CHECK(names(inv.dr->hosts) == std::vector<std::string>{"r2-pg1", "r2-pg2"});
    CHECK_FALSE(inv.standby_of);
    CHECK(inv.find_host("r2-pg1") == nullptr);
    const auto j = pgdr::inventory_to_json(inv);
    CHECK(j["dr"]["cluster"] == "lab-dr");
    CHECK(j["dr"]["hosts"].size() == 2);
    CHECK(j["hosts"].size() == 3);
}

TEST_CASE("inventory dr: the DR cluster's own inventory", "[inventory][dr]") {
    const auto inv = pgdr::parse_inventory(
        pair_text() + "patroni: {synchronous_mode: true}\nguard: {enabled: false}\n", "d.yaml");
    const auto dr = pgdr::dr_inventory(inv);
    CHECK(dr.cluster == "lab-dr");
    CHECK(names(dr.hosts) == std::vector<std::string>{"r2-pg1", "r2-pg2"});
    REQUIRE(dr.standby_of);
    CHECK(dr.standby_of->cluster == "lab");
    CHECK(dr.standby_of->addresses ==
          std::vector<std::string>{"198.18.0.11", "198.18.0.12", "198.18.0.13"});
    CHECK(dr.standby_of->slot == "pgdr_dr");
    CHECK(dr.standby_of->port == 5432);
    CHECK_FALSE(dr.dr);
    CHECK_FALSE(dr.patroni.synchronous_mode);  // a standby cluster commits nothing itself
    CHECK_FALSE(dr.guard.enabled);
    CHECK_FALSE(dr.backup);
    CHECK(dr.paths.state_dir == inv.paths.state_dir);  // one CA, one set of role passwords
    CHECK(dr.hosts_with(pgdr::Service::etcd).size() == 1);

    const auto single = pgdr::parse_inventory(
        pgdr::read_text_file(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml").value(),
        "l.yaml");
    CHECK_THROWS_AS(pgdr::dr_inventory(single), pgdr::Error);
}

TEST_CASE("inventory dr: named cluster and slot", "[inventory][dr]") {
    const auto inv =
        pgdr::parse_inventory(replaced(pair_text(), "dr: {region: r2}",
                                       "dr: {region: r2, cluster: shop-dr, slot: shop_standby}"),
                              "d.yaml");
    CHECK(inv.dr->cluster == "shop-dr");
    CHECK(pgdr::dr_inventory(inv).standby_of->slot == "shop_standby");
}

TEST_CASE("inventory dr: what is refused", "[inventory][dr]") {
    const auto text = pair_text();
    CHECK_THAT(diagnostics(replaced(text, "dr: {region: r2}", "dr: {region: r9}")),
               Catch::Contains("no host is in region 'r9'"));
    CHECK_THAT(diagnostics(replaced(text, "dr: {region: r2}", "dr: {cluster: x}")),
               Catch::Contains("missing required key 'region'"));
    CHECK_THAT(diagnostics(replaced(text, "dr: {region: r2}", "dr: {region: r2, slots: x}")),
               Catch::Contains("slots"));
    CHECK_THAT(diagnostics(replaced(text, "dr: {region: r2}", "dr: {region: r2, cluster: lab}")),
               Catch::Contains("must differ from the primary cluster's name"));
    CHECK_THAT(diagnostics(replaced(text, "dr: {region: r2}", "dr: {region: r2, slot: Bad-Slot}")),
               Catch::Contains("dr.slot"));
    // The DR cluster needs its own HAProxy and an odd number of etcd members.
    CHECK_THAT(diagnostics(replaced(text, "region: r2, services: [postgres, etcd, haproxy]",
                                    "region: r2, services: [postgres, etcd]")),
               Catch::Contains("found 2 postgres, 0 haproxy, 1 etcd"));
    CHECK_THAT(diagnostics(replaced(text, "region: r2, services: [postgres]}",
                                    "region: r2, services: [postgres, etcd]}")),
               Catch::Contains("2 etcd"));
    // The primary cluster keeps its own checks: three etcd members without the DR hosts.
    CHECK_THAT(diagnostics(replaced(text, "region: r1, services: [postgres, etcd, haproxy]",
                                    "region: r2, services: [postgres, etcd, haproxy]")),
               Catch::Contains("etcd needs an odd number of members"));
}

TEST_CASE("inventory dr: a promotion recorded in the state swaps the roles", "[inventory][dr]") {
    auto inv = pgdr::parse_inventory(pair_text(), "d.yaml");
    pgdr::ClusterState state;
    state.cluster = "lab";
    CHECK(pgdr::dr_primary(state).empty());
    auto same = inv;
    REQUIRE(pgdr::apply_state(same, state).empty());
    CHECK(same.cluster == "lab");

    state.provider[pgdr::k_dr_state_key] = {{"primary", "lab-dr"}};
    REQUIRE(pgdr::apply_state(inv, state).empty());
    CHECK(inv.cluster == "lab-dr");
    CHECK(names(inv.hosts) == std::vector<std::string>{"r2-pg1", "r2-pg2"});
    REQUIRE(inv.dr);
    CHECK(inv.dr->cluster == "lab");
    CHECK(inv.dr->region == "r1");
    CHECK(names(inv.dr->hosts) == std::vector<std::string>{"r1-pg1", "r1-pg2", "r1-pg3"});
    // The old primary is now the standby to rebuild: it streams from the promoted cluster.
    const auto old = pgdr::dr_inventory(inv);
    CHECK(old.cluster == "lab");
    CHECK(old.standby_of->addresses == std::vector<std::string>{"198.18.0.14", "198.18.0.15"});

    // The pair shares its state: either cluster's name is the pair's, another is refused.
    const auto pair = pgdr::parse_inventory(pair_text(), "d.yaml");
    state.cluster = "lab-dr";
    CHECK_NOTHROW(pgdr::check_state_identity(pair, state));
    state.cluster = "shop";
    CHECK_THROWS_AS(pgdr::check_state_identity(pair, state), pgdr::Error);
}
