// `pgdr lab up --regions 2`: the hosts per region and the inventory written for them (a primary
// cluster in r1 and its DR cluster in r2).
#include <catch2/catch.hpp>

#include "core/inventory.hpp"
#include "lab/lab.hpp"

using namespace pgdr;
using namespace pgdr::lab;

TEST_CASE("lab regions: 3 hosts in r1, 2 in r2, each region on its bridge", "[lab][dr]") {
    const auto hosts = Lab::plan_hosts(5, true, 2);
    REQUIRE(hosts.size() == 5);
    std::vector<std::string> names;
    for (const auto& h : hosts) {
        names.push_back(h.name + "@" + std::to_string(h.region) + "=" + h.address);
    }
    CHECK(names == std::vector<std::string>{"r1-pg1@1=198.18.0.11", "r1-pg2@1=198.18.0.12",
                                            "r1-pg3@1=198.18.0.13", "r2-pg1@2=198.18.0.14",
                                            "r2-pg2@2=198.18.0.15"});
    CHECK(region_bridge(1) == std::string(k_bridge));
    CHECK(region_bridge(2) == "pgdrbr1");
    // One region: as before.
    for (const auto& h : Lab::plan_hosts(5)) {
        CHECK(h.region == 1);
        CHECK(h.name.rfind("pg", 0) == 0);
    }
    // The veth nspawn names after the machine fits IFNAMSIZ (15 characters).
    CHECK(veth_name("r2-pg1").size() <= 15);
}

TEST_CASE("lab regions: the written inventory is a pair of clusters", "[lab][dr]") {
    LabConfig config;
    config.hosts = 5;
    config.regions = 2;
    const LabPaths paths("/var/lib/pgdr/lab");
    const auto text = Lab::render_inventory(paths, config, Lab::plan_hosts(5, true, 2));
    const auto inv = parse_inventory(text, "/var/lib/pgdr/lab/inventory.yaml");
    REQUIRE(inv.dr);
    CHECK(inv.dr->region == "r2");
    CHECK(inv.hosts.size() == 3);
    CHECK(inv.dr->hosts.size() == 2);
    CHECK(inv.hosts_with(Service::monitor).size() == 1);
    const auto dr = dr_inventory(inv);
    CHECK(dr.cluster == "lab-dr");
    CHECK(dr.hosts_with(Service::haproxy).size() == 1);
    CHECK(dr.hosts_with(Service::etcd).size() == 1);
    // One region: no region keys, no dr section.
    const auto single = Lab::render_inventory(paths, LabConfig{}, Lab::plan_hosts(3));
    CHECK(single.find("region") == std::string::npos);
    CHECK_FALSE(parse_inventory(single, "i.yaml").dr);
}
