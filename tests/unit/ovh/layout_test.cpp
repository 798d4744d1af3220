// What pgdr wants in the project for an inventory: names, addresses, pools, firewall rules.
#include "ovh/layout.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "core/error.hpp"

namespace {

pgdr::Inventory inventory() {
    return pgdr::parse_inventory(R"(cluster: shop
network:
  cidr: 10.1.0.0/24
  ssh_allowed_cidrs: [203.0.113.0/24, 198.51.100.7/32]
hosts:
  - {name: pg1, region: GRA11, services: [postgres, etcd]}
  - {name: pg2, region: SBG5, zone: eu-west-sbg-a, services: [postgres, etcd]}
  - {name: pg3, services: [postgres, etcd]}
  - {name: lb1, region: SBG5, services: [haproxy]}
haproxy: {write_port: 6000, read_port: 6001, stats_port: 7000}
provider:
  type: ovh
  ovh: {project_id: p1, regions: [SBG5, GRA11]}
)",
                                 "inv.yaml");
}

}  // namespace

TEST_CASE("layout: names and regions derive from the inventory", "[ovh][layout]") {
    auto inv = inventory();
    CHECK(pgdr::ovh::instance_name(inv, inv.hosts[0]) == "pgdr-shop-pg1");
    CHECK(pgdr::ovh::ssh_key_name(inv) == "pgdr-shop");
    CHECK(pgdr::ovh::regional_name(inv, "sg", "GRA11") == "pgdr-shop-sg-GRA11");
    CHECK(pgdr::ovh::host_region(inv, inv.hosts[2]) == "SBG5");  // first of provider.ovh.regions
    CHECK(pgdr::ovh::regions_in_use(inv) == std::vector<std::string>{"SBG5", "GRA11"});
    CHECK(pgdr::ovh::hosts_in_region(inv, "SBG5").size() == 3);
    CHECK(pgdr::ovh::availability_zone(inv.hosts[1]) == "eu-west-sbg-a");
    CHECK(pgdr::ovh::availability_zone(inv.hosts[0]).empty());
}

TEST_CASE("layout: private addresses from .10 and DHCP pools in the upper half", "[ovh][layout]") {
    auto inv = inventory();
    auto addr = pgdr::ovh::private_addresses(inv);
    CHECK(addr["pg1"] == "10.1.0.10");
    CHECK(addr["lb1"] == "10.1.0.13");
    auto p0 = pgdr::ovh::allocation_pools(inv, 0, 2);
    auto p1 = pgdr::ovh::allocation_pools(inv, 1, 2);
    CHECK(p0[0]["start"] == "10.1.0.128");
    CHECK(p0[0]["end"] == "10.1.0.190");
    CHECK(p1[0]["start"] == "10.1.0.191");
    CHECK(p1[0]["end"] == "10.1.0.253");
    inv.network_cidr = "10.1.0.0/28";
    CHECK_THROWS_AS(pgdr::ovh::private_addresses(inv), pgdr::Error);
}

TEST_CASE("layout: security-group rules open only the cluster's ports", "[ovh][layout]") {
    auto inv = inventory();
    auto rules = pgdr::ovh::security_group_rules(inv);
    // Per role: cluster ports from each member's /32, HAProxy's from the subnet, SSH from the
    // allowed ranges.
    std::vector<std::string> expected{"INGRESS IPV4 TCP 22-22 198.51.100.7/32",
                                      "INGRESS IPV4 TCP 22-22 203.0.113.0/24"};
    for (const char* ports : {"2379-2380", "5432-5432", "8008-8008"}) {
        for (int i = 10; i <= 13; ++i) {
            expected.push_back(std::string("INGRESS IPV4 TCP ") + ports + " 10.1.0." +
                               std::to_string(i) + "/32");
        }
    }
    for (const char* ports : {"6000-6000", "6001-6001", "7000-7000"}) {
        expected.push_back(std::string("INGRESS IPV4 TCP ") + ports + " 10.1.0.0/24");
    }
    std::sort(expected.begin(), expected.end());
    CHECK(pgdr::ovh::rule_keys(rules) == expected);
    for (const auto& r : rules) {
        CHECK(r["direction"] == "INGRESS");
        CHECK(r["remoteIpPrefix"] != "0.0.0.0/0");
    }
    // Descriptions do not count as a difference.
    auto renamed = rules;
    renamed[0]["description"] = "other";
    CHECK(pgdr::ovh::rule_keys(renamed) == pgdr::ovh::rule_keys(rules));
}

TEST_CASE("layout: with a monitor host, the monitoring ports are open between the members only",
          "[ovh][layout]") {
    auto inv = inventory();
    const auto before = pgdr::ovh::rule_keys(pgdr::ovh::security_group_rules(inv));
    CHECK(std::find(before.begin(), before.end(), "INGRESS IPV4 TCP 9100-9100 10.1.0.10/32") ==
          before.end());
    inv.hosts.back().services.insert(pgdr::Service::monitor);
    const auto keys = pgdr::ovh::rule_keys(pgdr::ovh::security_group_rules(inv));
    for (const char* ports :
         {"9100-9100", "9187-9187", "8405-8405", "2381-2381", "9090-9090", "9093-9093"}) {
        for (int i = 10; i <= 13; ++i) {
            const std::string k =
                std::string("INGRESS IPV4 TCP ") + ports + " 10.1.0." + std::to_string(i) + "/32";
            INFO(k);
            CHECK(std::find(keys.begin(), keys.end(), k) != keys.end());
        }
        const std::string subnet = std::string("INGRESS IPV4 TCP ") + ports + " 10.1.0.0/24";
        CHECK(std::find(keys.begin(), keys.end(), subnet) == keys.end());
    }
    CHECK(keys.size() == before.size() + 6 * 4);
}

TEST_CASE("layout: haproxy.client_cidrs may reach HAProxy's ports, not the cluster's",
          "[ovh][layout]") {
    auto inv = inventory();
    inv.haproxy.client_cidrs = {"192.0.2.0/24"};
    inv.haproxy.write_port = 5432;  // HAProxy on dedicated hosts may serve PostgreSQL's port
    const auto keys = pgdr::ovh::rule_keys(pgdr::ovh::security_group_rules(inv));
    auto has = [&](const std::string& k) {
        return std::find(keys.begin(), keys.end(), k) != keys.end();
    };
    CHECK(has("INGRESS IPV4 TCP 5432-5432 192.0.2.0/24"));
    CHECK(has("INGRESS IPV4 TCP 6001-6001 192.0.2.0/24"));
    CHECK(has("INGRESS IPV4 TCP 5432-5432 10.1.0.12/32"));
    CHECK_FALSE(has("INGRESS IPV4 TCP 8008-8008 192.0.2.0/24"));
    CHECK_FALSE(has("INGRESS IPV4 TCP 2379-2380 10.1.0.0/24"));
}
