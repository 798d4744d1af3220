// Host facts and host addresses the planner and renderer tests share.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <utility>

#include "core/inventory.hpp"
#include "core/state.hpp"
#include "guard/agent_config.hpp"
#include "guard/inventory_config.hpp"
#include "pg/bootstrap_plan.hpp"

namespace pgdr::testing {

// The repository's lab inventory (inventories/lab.yaml).
inline Inventory lab_inventory() {
    return load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
}

// Fixed passwords for the planner tests (no TLS: with_test_tls adds it).
inline const pg::Secrets k_secrets{"repl-pw",  "super-pw", "rewind-pw", "rest-pw",
                                   "probe-pw", "stats-pw", {},          {}};

// Facts of fresh Debian hosts after `apt install`: an empty auto-created cluster of their own
// (system identifiers 700000000000000001, ...2, ... in inventory order).
inline pg::FactsMap fresh_facts(const Inventory& inv) {
    pg::FactsMap m;
    int n = 0;
    for (const auto& h : inv.hosts) {
        pg::HostFacts f;
        f.host = h.name;
        f.os_codename = inv.release;
        f.data = "cluster";
        f.sysid = "70000000000000000" + std::to_string(++n);
        f.pg_status = "online";
        f.user_objects = 0;
        m[h.name] = f;
    }
    return m;
}

// The OVH inventories' hosts with the private addresses a fixed state records.
inline Inventory with_ovh_addresses(Inventory inv) {
    ClusterState state;
    const std::pair<const char*, const char*> addresses[] = {{"pg1", "198.18.64.11"},
                                                             {"pg2", "198.18.64.12"},
                                                             {"pg3", "198.18.64.13"},
                                                             {"lb1", "198.18.64.21"},
                                                             {"lb2", "198.18.64.22"}};
    for (const auto& [name, address] : addresses) {
        state.hosts[name].address = address;
    }
    REQUIRE(apply_state(inv, state).empty());
    return inv;
}

// The guard stage's inputs for tests: each guard host's guard.json from fixed instance ids, a
// fake key file and CA, and a stand-in for the binary (its hash is in the golden plans).
inline pg::GuardInputs test_guard_inputs(const Inventory& inv) {
    pg::GuardInputs in;
    std::map<std::string, std::string> ids;
    int n = 0;
    for (const auto* m : inv.hosts_with(Service::postgres)) {
        ids[m->name] = "0000000" + std::to_string(++n) + "-1111-2222-3333-444444444444";
    }
    for (const auto* h : inv.guard_hosts()) {
        in.agent_configs[h->name] =
            guard::render_agent_config(guard::agent_config_for(inv, *h, ids));
    }
    in.credentials =
        "[default]\nendpoint=test\n\n[test]\napplication_key=test-ak\n"
        "application_secret=<guard_application_secret>\n"
        "consumer_key=<guard_consumer_key>\n";
    in.provider_ca_pem = inv.guard.provider_ca_file.empty()
                             ? ""
                             : "-----BEGIN CERTIFICATE-----\nprovider test CA\n"
                               "-----END CERTIFICATE-----\n";
    in.agent_binary = "pgdr-guard test binary\n";
    return in;
}

}  // namespace pgdr::testing
