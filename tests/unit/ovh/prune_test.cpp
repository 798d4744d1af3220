// Issue 13 item 2: provision never deletes an instance because its host left the inventory,
// unless --prune was given, and never one that is not named as this cluster's; destroy honours
// production: true.
#include "ovh/prune.hpp"

#include <catch2/catch.hpp>

#include "core/error.hpp"

namespace {

using nlohmann::json;

pgdr::Inventory inventory(bool production = false) {
    return pgdr::parse_inventory(
        std::string("cluster: shop\n") + (production ? "production: true\n" : "") + R"(network:
  cidr: 10.1.0.0/24
  ssh_allowed_cidrs: [203.0.113.0/24]
hosts:
  - {name: pg1, services: [postgres, etcd]}
  - {name: pg2, services: [postgres, etcd]}
  - {name: db3, services: [postgres, etcd, haproxy]}
provider:
  type: ovh
  ovh: {project_id: p1, regions: [GRA11]}
)",
        "inv.yaml");
}

pgdr::ClusterState state_with_pg3(const std::string& id = "i-3") {
    pgdr::ClusterState st;
    const std::vector<std::pair<std::string, std::string>> ids{
        {"pg1", "i-1"}, {"pg2", "i-2"}, {"pg3", id}};
    for (const auto& [name, iid] : ids) {
        pgdr::HostState hs;
        hs.instance_id = iid;
        hs.region = "GRA11";
        st.hosts[name] = hs;
    }
    return st;
}

json instance(const std::string& id, const std::string& name) {
    return {{"id", id}, {"resourceStatus", "READY"}, {"currentState", {{"name", name}}}};
}

}  // namespace

TEST_CASE("prune: a host renamed in the inventory is not deleted without --prune", "[ovh][prune]") {
    // pg3 renamed db3: state.json still holds pg3's live instance.
    auto inv = inventory();
    json instances =
        json::array({instance("i-1", "pgdr-shop-pg1"), instance("i-2", "pgdr-shop-pg2"),
                     instance("i-3", "pgdr-shop-pg3")});
    auto d = pgdr::ovh::plan_pruning(inv, state_with_pg3(), instances, false, "shop.yaml");
    CHECK(d.removals.empty());
    REQUIRE(d.blockers.size() == 1);
    CHECK(d.blockers[0].find("host pg3") != std::string::npos);
    CHECK(d.blockers[0].find("pgdr provision -i shop.yaml --prune") != std::string::npos);

    auto pruned = pgdr::ovh::plan_pruning(inv, state_with_pg3(), instances, true, "shop.yaml");
    CHECK(pruned.blockers.empty());
    REQUIRE(pruned.removals.size() == 1);
    CHECK(pruned.removals[0].id == "i-3");
    CHECK(pruned.removals[0].name == "pgdr-shop-pg3");
}

TEST_CASE("prune: an instance not named as this cluster's is never deleted", "[ovh][prune]") {
    // Two inventories sharing a state directory: pg3's id is another cluster's instance.
    auto inv = inventory();
    json instances = json::array({instance("i-3", "pgdr-other-pg3")});
    auto d = pgdr::ovh::plan_pruning(inv, state_with_pg3(), instances, true);
    CHECK(d.removals.empty());
    REQUIRE(d.blockers.size() == 1);
    CHECK(d.blockers[0].find("pgdr-other-pg3") != std::string::npos);
    // An instance already gone is nothing to delete and nothing to block on.
    auto gone = pgdr::ovh::plan_pruning(inv, state_with_pg3(), json::array(), false);
    CHECK(gone.removals.empty());
    CHECK(gone.blockers.empty());
}

TEST_CASE("prune: destroy --yes does not delete a production cluster", "[ovh][prune]") {
    using pgdr::ovh::deletion_confirmed_by_flags;
    auto dev = inventory(false);
    auto prod = inventory(true);
    CHECK(deletion_confirmed_by_flags(dev, true, "", "pgdr destroy"));
    CHECK_FALSE(deletion_confirmed_by_flags(dev, false, "", "pgdr destroy"));
    CHECK_FALSE(deletion_confirmed_by_flags(prod, false, "", "pgdr destroy"));
    try {
        deletion_confirmed_by_flags(prod, true, "", "pgdr destroy -i p.yaml");
        FAIL("--yes accepted for a production cluster");
    } catch (const pgdr::Error& e) {
        CHECK(std::string(e.what()).find("production") != std::string::npos);
        CHECK(e.hint().find("--yes-really shop") != std::string::npos);
    }
    CHECK(deletion_confirmed_by_flags(prod, true, "shop", "pgdr destroy"));
    CHECK_THROWS_AS(deletion_confirmed_by_flags(prod, false, "other", "pgdr destroy"), pgdr::Error);
}
