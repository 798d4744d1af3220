// The twin's security groups as nftables: what OpenStack lets in, nothing else.
#include "lab/twin_hosts.hpp"

#include <catch2/catch.hpp>

using pgdr::lab::LabTwinBackend;
using pgdr::twin::Firewall;
using pgdr::twin::IngressRule;

TEST_CASE("twin firewall: ingress dropped unless a rule allows it", "[twin][lab]") {
    Firewall fw;
    fw.rules = {IngressRule{"tcp", 5432, 5432, "198.18.64.10/32"},
                IngressRule{"tcp", 2379, 2380, "198.18.64.0/24"},
                IngressRule{"icmp", 0, 0, "0.0.0.0/0"}, IngressRule{"", 0, 0, "198.19.0.1/32"}};
    const auto text = LabTwinBackend::render_firewall(fw);
    // Replaces the table in one transaction (declared, deleted, made again).
    CHECK(text.rfind("table inet pgdr_sg\ndelete table inet pgdr_sg\ntable inet pgdr_sg {", 0) ==
          0);
    CHECK(text.find("policy drop;") != std::string::npos);
    CHECK(text.find("ct state established,related accept") != std::string::npos);
    CHECK(text.find("iifname \"lo\" accept") != std::string::npos);
    CHECK(text.find("ip saddr 198.18.64.10/32 tcp dport 5432 accept") != std::string::npos);
    CHECK(text.find("ip saddr 198.18.64.0/24 tcp dport 2379-2380 accept") != std::string::npos);
    CHECK(text.find("ip saddr 0.0.0.0/0 meta l4proto icmp accept") != std::string::npos);
    CHECK(text.find("ip saddr 198.19.0.1/32 accept") != std::string::npos);
    CHECK(text.find("output") == std::string::npos);  // egress open

    Firewall open;
    open.allow_all = true;
    CHECK(LabTwinBackend::render_firewall(open).find("policy accept;") != std::string::npos);
    CHECK(LabTwinBackend::render_firewall(Firewall{}).find("policy drop;") != std::string::npos);
}
