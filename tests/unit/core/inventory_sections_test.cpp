// The example inventories, each mutated a little (a key deleted, a wrong type, a bad value),
// against the exact diagnostics parse_inventory gave before it was split into one reader per
// section. The split was checked over some 10,000 such mutants (every line deleted or
// doubled, every value replaced by ~30 wrong ones, every key renamed); these are a handful of
// them, across every section, kept so that the messages stay byte for byte what they were.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/files.hpp"
#include "core/inventory.hpp"

namespace {

using Edits = std::vector<std::pair<std::string, std::string>>;
using Lines = std::vector<std::string>;

// The file under the source tree with each edit applied to its first occurrence.
std::string mutated(const std::string& file, const Edits& edits) {
    auto text = pgdr::read_text_file(std::string(PGDR_SOURCE_DIR) + "/" + file);
    REQUIRE(text);
    for (const auto& [from, to] : edits) {
        auto pos = text->find(from);
        REQUIRE(pos != std::string::npos);
        text->replace(pos, from.size(), to);
    }
    return *text;
}

Lines diagnostics(const std::string& text) {
    try {
        pgdr::parse_inventory(text, "m.yaml");
    } catch (const pgdr::InventoryError& e) {
        Lines out;
        for (const auto& d : e.diagnostics()) {
            out.push_back(d.format());
        }
        return out;
    }
    return {"(accepted)"};
}

const char* const k_lab = "inventories/lab.yaml";
const char* const k_ovh = "inventories/ovh.yaml";
const char* const k_bookworm = "tests/golden/inventories/bookworm.yaml";

}  // namespace

TEST_CASE("inventory sections: the examples parse", "[inventory]") {
    for (const char* file : {k_lab, k_ovh, "inventories/ovh-twin.yaml", k_bookworm}) {
        CAPTURE(file);
        CHECK(diagnostics(mutated(file, {})) == Lines{"(accepted)"});
    }
}

TEST_CASE("inventory sections: top level, network and hosts", "[inventory][bad]") {
    CHECK(diagnostics(mutated(k_lab, {{"cidr: 198.18.0.0/24", "cidr: 198.18.0.1/24"}})) ==
          Lines{"m.yaml:7:9: network.cidr: '198.18.0.1/24' has host bits set; did you mean "
                "198.18.0.0/24?"});
    CHECK(diagnostics(mutated(k_ovh, {{"    - 203.0.113.0/24", "    - 0.0.0.0/0"}})) ==
          Lines{"m.yaml:10:7: network.ssh_allowed_cidrs: 0.0.0.0/0 would open SSH to the whole "
                "Internet; name your bastion's or office's range"});
    CHECK(diagnostics(mutated(k_lab, {{"address: 198.18.0.12", "address: 198.18.0.11"}})) ==
          Lines{"m.yaml:14:26: hosts[1].address: 198.18.0.11 is also the address of pg1"});
    CHECK(diagnostics(mutated(k_lab, {{"cluster: lab", "cluster: Lab_1"},
                                      {"  lab: {dir: ../.lab}", "  lab: {dir: [../.lab]}"}})) ==
          Lines{"m.yaml:4:10: cluster: 'Lab_1' is not valid; expected lower-case letters, "
                "digits and '-', starting with a letter, at most 31 characters",
                "m.yaml:24:14: provider.lab.dir: expected a string, found a list"});
    CHECK(diagnostics(mutated(
              k_lab, {{"  user: root", "  usr: root"},
                      {"services: [postgres, etcd]}", "services: [postgres, etcd, redis]}"}})) ==
          Lines{"m.yaml:9:3: ssh: unknown key 'usr'; did you mean 'user'?",
                "m.yaml:13:75: hosts[0].services: unknown service 'redis' (expected postgres, "
                "etcd, haproxy or monitor)"});
}

TEST_CASE("inventory sections: patroni and haproxy", "[inventory][bad]") {
    CHECK(diagnostics(mutated(k_lab, {{"timing: default", "timing: [fast]"}})) ==
          Lines{"m.yaml:17:11: patroni.timing: expected a string, found a list"});
    CHECK(diagnostics(mutated(k_lab, {{"patroni:\n", "patroni:\n  ttl: 12\n"}})) ==
          Lines{"m.yaml:17:3: patroni: loop_wait + 2 * retry_timeout (25) must not exceed ttl "
                "(12), or a leader can lose its lease while it is still healthy",
                "m.yaml:17:8: patroni.ttl: Patroni 4 (Debian trixie) raises any ttl below 20 to "
                "20; set ttl: 20 or more so that the deployed value is the one you wrote"});
    CHECK(diagnostics(mutated(k_lab, {{"release: trixie", "release: buster"},
                                      {"synchronous_mode: true", "synchronous_mode: maybe"},
                                      {"read_port: 5001", "read_port: 99999"}})) ==
          Lines{"m.yaml:5:10: release: 'buster' is not supported (expected trixie or bookworm)",
                "m.yaml:18:21: patroni.synchronous_mode: expected true or false, found 'maybe'",
                "m.yaml:21:14: haproxy.read_port: 99999 is out of range (1 to 65535)"});
    CHECK(diagnostics(mutated(k_bookworm, {{"  retry_timeout: 5", "  retry_timeout: 7"}})) ==
          Lines{"m.yaml:13:3: patroni: loop_wait + 2 * retry_timeout (17) must not exceed ttl "
                "(15), or a leader can lose its lease while it is still healthy"});
}

TEST_CASE("inventory sections: provider", "[inventory][bad]") {
    CHECK(
        diagnostics(mutated(k_ovh, {{"    project_id: 0123456789abcdef0123456789abcdef\n", ""}})) ==
        Lines{"m.yaml:34:5: provider.ovh: missing required key 'project_id'"});
    CHECK(diagnostics(mutated(k_ovh, {{"regions: [GRA11, SBG5, RBX-A]", "regions: GRA11"}})) ==
          Lines{"m.yaml:35:14: provider.ovh.regions: expected a list"});
    CHECK(diagnostics(mutated(k_ovh, {{"  type: ovh\n", ""}})) ==
          Lines{"m.yaml:32:3: provider: missing required key 'type' (lab or ovh)"});
}

TEST_CASE("inventory sections: checks across sections run only on valid sections",
          "[inventory][bad]") {
    CHECK(diagnostics(mutated(k_lab, {{"address: 198.18.0.13", "address: 198.18.1.13"}})) ==
          Lines{"m.yaml:15:1: host pg3: address 198.18.1.13 is outside network.cidr "
                "198.18.0.0/24"});
    CHECK(diagnostics(mutated(k_lab, {{"  - {name: pg3, address: 198.18.0.13, zone: c, services: "
                                       "[postgres, etcd, haproxy]}\n",
                                       ""}})) ==
          Lines{"m.yaml: etcd needs an odd number of members, at least 3 (found 2): a quorum "
                "must survive one loss",
                "m.yaml: at least one host must run the haproxy service"});
    CHECK(diagnostics(mutated(k_bookworm, {{"  client_port: 2479", "  client_port: 6432"}})) ==
          Lines{"m.yaml: haproxy: port 6432 clashes with PostgreSQL, Patroni, etcd or SSH on the "
                "same host"});
    // A bad region hides the clash of write_port with read_port until it is fixed.
    CHECK(diagnostics(mutated(k_ovh, {{"RBX-A, zone: a", "RBX A, zone: a"},
                                      {"write_port: 5432", "write_port: 5433"}})) ==
          Lines{"m.yaml:17:25: hosts[2].region: 'RBX A' is not valid; expected a region name "
                "such as GRA11"});
}
