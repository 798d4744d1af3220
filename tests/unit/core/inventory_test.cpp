// The inventory parser against malformed and hostile inputs: each case asserts the exact
// diagnostics (file:line:column: message), in file order, and that every problem is reported.
#include "core/inventory.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

using pgdr::Diagnostic;
using pgdr::InventoryError;
using pgdr::parse_inventory;
using pgdr::Service;

namespace {

// A valid inventory; cases append to it (the appended text starts on line 8) or edit it.
const std::string k_base = R"(cluster: lab
network:
  cidr: 198.18.0.0/24
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy]}
)";

// Every diagnostic of text, formatted; fails the test when the inventory is accepted.
std::vector<std::string> problems(const std::string& text, const std::string& file = "inv.yaml") {
    try {
        parse_inventory(text, file);
    } catch (const InventoryError& e) {
        CHECK(e.code() == pgdr::ExitCode::invalid_config);
        std::vector<std::string> out;
        for (const auto& d : e.diagnostics()) {
            out.push_back(d.format());
        }
        return out;
    }
    FAIL("the inventory was accepted:\n" << text);
    return {};
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    auto pos = text.find(from);
    REQUIRE(pos != std::string::npos);
    return text.replace(pos, from.size(), to);
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("inventory: the base inventory is valid and defaults are filled in", "[inventory]") {
    auto inv = parse_inventory(k_base, "/srv/pgdr/lab.yaml");
    CHECK(inv.cluster == "lab");
    CHECK(inv.release == "trixie");
    CHECK(inv.postgres_version == 17);
    CHECK(inv.network_cidr == "198.18.0.0/24");
    REQUIRE(inv.hosts.size() == 3);
    CHECK(inv.hosts[2].line == 7);
    CHECK(inv.hosts[2].runs(Service::haproxy));
    CHECK_FALSE(inv.hosts[0].runs(Service::haproxy));
    CHECK(inv.hosts_with(Service::etcd).size() == 3);
    CHECK(inv.find_host("pg2")->address == "198.18.0.12");
    CHECK(inv.find_host("pg9") == nullptr);
    CHECK(inv.hosts[0].ssh.user == "root");
    CHECK(inv.hosts[0].ssh.port == 22);
    CHECK(inv.patroni.timing == "default");
    CHECK(inv.patroni.ttl == 30);
    CHECK(inv.haproxy.write_port == 5000);
    CHECK(inv.paths.state_dir == "/srv/pgdr/lab.state");
    CHECK(inv.provider == pgdr::ProviderKind::none);
}

TEST_CASE("inventory: wrong types", "[inventory][bad]") {
    const std::string text = R"(cluster: [lab]
production: maybe
network: {cidr: [1]}
hosts: {pg1: 198.18.0.11}
)";
    CHECK(problems(text) == Lines{
                                "inv.yaml:1:10: cluster: expected a string, found a list",
                                "inv.yaml:2:13: production: expected true or false, found 'maybe'",
                                "inv.yaml:3:17: network.cidr: expected a string, found a list",
                                "inv.yaml:4:8: hosts: expected a list of hosts, found a mapping",
                            });
}

TEST_CASE("inventory: numbers that are not numbers or out of range", "[inventory][bad]") {
    const std::string text = k_base + R"(ssh: {port: "22x", connect_timeout: 0}
haproxy: {write_port: 70000, fall: 1.5}
patroni: {maximum_lag_on_failover: -1, rest_port: {}}
)";
    CHECK(problems(text) ==
          Lines{
              "inv.yaml:8:13: ssh.port: expected a whole number, found '22x'",
              "inv.yaml:8:37: ssh.connect_timeout (seconds): 0 is out of range (1 to 600)",
              "inv.yaml:9:23: haproxy.write_port: 70000 is out of range (1 to 65535)",
              "inv.yaml:9:36: haproxy.fall: expected a whole number, found '1.5'",
              "inv.yaml:10:36: patroni.maximum_lag_on_failover (bytes): -1 is out of range (0 to "
              "1099511627776)",
              "inv.yaml:10:51: patroni.rest_port: expected a whole number, found a mapping",
          });
}

TEST_CASE("inventory: missing required keys", "[inventory][bad]") {
    const std::string text = R"(production: true
hosts:
  - {address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12}
)";
    CHECK(problems(text) ==
          Lines{
              "inv.yaml:1:1: missing required key 'cluster' (the cluster's name)",
              "inv.yaml:1:1: missing required key 'network' (with cidr: the cluster's subnet)",
              "inv.yaml:3:5: hosts[0]: missing required key 'name'",
              "inv.yaml:4:5: hosts[1]: missing required key 'services' (postgres, etcd, haproxy)",
          });
    CHECK(problems("cluster: lab\nnetwork: {cidr: 198.18.0.0/24}\n") ==
          Lines{"inv.yaml:1:1: missing required key 'hosts'"});
    CHECK(problems(replaced(k_base, "  cidr: 198.18.0.0/24", "  ssh_allowed_cidrs: []")) ==
          Lines{"inv.yaml:3:3: network: missing required key 'cidr'"});
}

TEST_CASE("inventory: duplicate hosts and duplicate addresses", "[inventory][bad]") {
    auto text =
        replaced(k_base, "{name: pg2, address: 198.18.0.12", "{name: pg1, address: 198.18.0.12");
    text = replaced(text, "address: 198.18.0.13", "address: 198.18.0.11");
    CHECK(problems(text) ==
          Lines{
              "inv.yaml:6:12: hosts[1].name: duplicate host 'pg1' (first declared on line 5)",
              "inv.yaml:7:26: hosts[2].address: 198.18.0.11 is also the address of pg1",
          });
}

TEST_CASE("inventory: duplicate keys, at the top and inside a host", "[inventory][bad]") {
    auto text = "cluster: lab\ncluster: lab2\n" + k_base.substr(k_base.find('\n') + 1);
    text = replaced(text, "{name: pg3,", "{name: pg3, name: pg4,");
    CHECK(problems(text) == Lines{
                                "inv.yaml:2:1: inventory: duplicate key 'cluster'",
                                "inv.yaml:8:17: hosts[2]: duplicate key 'name'",
                            });
}

TEST_CASE("inventory: bad CIDRs", "[inventory][bad]") {
    auto with_cidr = [](const std::string& cidr) {
        return problems(replaced(k_base, "198.18.0.0/24", cidr));
    };
    CHECK(with_cidr("198.18.0.5/24") ==
          Lines{"inv.yaml:3:9: network.cidr: '198.18.0.5/24' has host bits set; did you mean "
                "198.18.0.0/24?"});
    CHECK(with_cidr("198.18.0.0/33") ==
          Lines{"inv.yaml:3:9: network.cidr: '198.18.0.0/33' is not an IPv4 CIDR such as "
                "198.18.0.0/24"});
    CHECK(with_cidr("banana") ==
          Lines{"inv.yaml:3:9: network.cidr: 'banana' is not an IPv4 CIDR such as "
                "198.18.0.0/24"});
    CHECK(with_cidr("198.18.0.0") ==
          Lines{"inv.yaml:3:9: network.cidr: '198.18.0.0' is not an IPv4 CIDR such as "
                "198.18.0.0/24"});
    CHECK(with_cidr("16.0.0.0/4") ==
          Lines{"inv.yaml:3:9: network.cidr: /4 is wider than any cluster subnet should be"});
}

TEST_CASE("inventory: ssh_allowed_cidrs refuses the whole Internet and bad ranges",
          "[inventory][bad]") {
    auto text = replaced(k_base, "  cidr: 198.18.0.0/24\n",
                         "  cidr: 198.18.0.0/24\n"
                         "  ssh_allowed_cidrs: [0.0.0.0/0, 10.0.0.1/8, 203.0.113.0/24, x]\n");
    CHECK(problems(text) ==
          Lines{
              "inv.yaml:4:23: network.ssh_allowed_cidrs: 0.0.0.0/0 would open SSH to the whole "
              "Internet; name your bastion's or office's range",
              "inv.yaml:4:34: network.ssh_allowed_cidrs: '10.0.0.1/8' has host bits set; did you "
              "mean 10.0.0.0/8?",
              "inv.yaml:4:62: network.ssh_allowed_cidrs: 'x' is not an IPv4 CIDR such as "
              "198.18.0.0/24",
          });
    auto ok = replaced(k_base, "  cidr: 198.18.0.0/24\n",
                       "  cidr: 198.18.0.0/24\n  ssh_allowed_cidrs: [203.0.113.0/24]\n");
    CHECK(parse_inventory(ok, "inv.yaml").ssh_allowed_cidrs == Lines{"203.0.113.0/24"});
}

TEST_CASE("inventory: unknown keys get a did-you-mean", "[inventory][bad]") {
    auto text = replaced(k_base, "hosts:", "hots:");
    CHECK(problems(text) ==
          Lines{
              "inv.yaml:1:1: missing required key 'hosts'",
              "inv.yaml:4:1: inventory: unknown key 'hots'; did you mean 'hosts'?",
          });
    CHECK(problems(k_base + "patroni: {ttl_: 40, synchronus_mode: true}\n") ==
          Lines{
              "inv.yaml:8:11: patroni: unknown key 'ttl_'; did you mean 'ttl'?",
              "inv.yaml:8:21: patroni: unknown key 'synchronus_mode'; did you mean "
              "'synchronous_mode'?",
          });
    CHECK(problems(replaced(k_base, "{name: pg1,", "{name: pg1, adress: 198.18.0.11,")) ==
          Lines{"inv.yaml:5:17: hosts[0]: unknown key 'adress'; did you mean 'address'?"});
    // Nothing close: the expected keys are listed instead.
    CHECK(problems(k_base + "etcd: {quorum: 3}\n") ==
          Lines{"inv.yaml:8:8: etcd: unknown key 'quorum' (expected one of: client_port, "
                "peer_port)"});
}

TEST_CASE("inventory: unknown service", "[inventory][bad]") {
    CHECK(problems(replaced(k_base, "[postgres, etcd, haproxy]", "[postgres, etcd, pgbouncer]")) ==
          Lines{"inv.yaml:7:66: hosts[2].services: unknown service 'pgbouncer' (expected "
                "postgres, etcd, haproxy or monitor)"});
    CHECK(problems(replaced(k_base, "services: [postgres, etcd]}", "services: postgres}")) ==
          Lines{"inv.yaml:5:49: hosts[0].services: expected a list such as [postgres, etcd], "
                "found 'postgres'"});
}

TEST_CASE("inventory: topology rules", "[inventory][bad]") {
    SECTION("an even number of etcd members") {
        CHECK(problems(k_base + "  - {name: pg4, address: 198.18.0.14, services: [etcd]}\n") ==
              Lines{"inv.yaml: etcd needs an odd number of members, at least 3 (found 4): a "
                    "quorum must survive one loss"});
    }
    SECTION("fewer than 3 etcd members") {
        CHECK(problems(replaced(k_base, "[postgres, etcd, haproxy]", "[postgres, haproxy]")) ==
              Lines{"inv.yaml: etcd needs an odd number of members, at least 3 (found 2): a "
                    "quorum must survive one loss"});
    }
    SECTION("fewer than 2 postgres hosts") {
        auto text = replaced(k_base, "pg1, address: 198.18.0.11, services: [postgres, etcd]",
                             "pg1, address: 198.18.0.11, services: [etcd]");
        text = replaced(text, "pg2, address: 198.18.0.12, services: [postgres, etcd]",
                        "pg2, address: 198.18.0.12, services: [etcd]");
        CHECK(problems(text) == Lines{"inv.yaml: the cluster needs at least 2 hosts with the "
                                      "postgres service (found 1)"});
    }
    SECTION("no haproxy") {
        CHECK(problems(replaced(k_base, ", haproxy]", "]")) ==
              Lines{"inv.yaml: at least one host must run the haproxy service"});
    }
    SECTION("an address outside the network") {
        CHECK(problems(replaced(k_base, "198.18.0.13", "198.19.0.13")) ==
              Lines{"inv.yaml:7:1: host pg3: address 198.19.0.13 is outside network.cidr "
                    "198.18.0.0/24"});
    }
    SECTION("a missing address without the ovh provider") {
        CHECK(problems(replaced(k_base, "address: 198.18.0.12, ", "")) ==
              Lines{"inv.yaml:6:1: host pg2: missing 'address' (only the ovh provider fills it "
                    "in)"});
    }
    SECTION("several topology problems are reported together") {
        auto text = replaced(k_base, ", haproxy]", "]");
        text +=
            "  - {name: pg4, address: 198.18.0.14, services: [etcd]}\n"
            "  - {name: pg5, address: 10.9.9.9, services: [postgres]}\n";
        CHECK(problems(text) ==
              Lines{"inv.yaml:9:1: host pg5: address 10.9.9.9 is outside network.cidr "
                    "198.18.0.0/24",
                    "inv.yaml: etcd needs an odd number of members, at least 3 (found 4): a "
                    "quorum must survive one loss",
                    "inv.yaml: at least one host must run the haproxy service"});
    }
    SECTION("haproxy ports that clash") {
        CHECK(problems(k_base + "haproxy: {write_port: 5432, read_port: 5432}\n") ==
              Lines{"inv.yaml: haproxy: write_port, read_port and stats_port must differ",
                    "inv.yaml: haproxy: port 5432 clashes with PostgreSQL, Patroni, etcd or SSH "
                    "on the same host"});
    }
}

TEST_CASE("inventory: Patroni timing rules", "[inventory][bad]") {
    SECTION("ttl below 20 on trixie") {
        CHECK(problems(k_base + "patroni:\n  ttl: 15\n  loop_wait: 1\n  retry_timeout: 5\n") ==
              Lines{"inv.yaml:9:8: patroni.ttl: Patroni 4 (Debian trixie) raises any ttl below "
                    "20 to 20; set ttl: 20 or more so that the deployed value is the one you "
                    "wrote"});
    }
    SECTION("ttl 15 is fine on bookworm (Patroni 3)") {
        auto inv = parse_inventory(k_base +
                                       "release: bookworm\npatroni: {ttl: 15, loop_wait: 1, "
                                       "retry_timeout: 5}\n",
                                   "inv.yaml");
        CHECK(inv.patroni.ttl == 15);
        CHECK(inv.postgres_version == 15);
    }
    SECTION("loop_wait + 2 * retry_timeout > ttl") {
        CHECK(problems(k_base + "patroni:\n  ttl: 30\n  loop_wait: 10\n  retry_timeout: 11\n") ==
              Lines{"inv.yaml:9:3: patroni: loop_wait + 2 * retry_timeout (32) must not exceed "
                    "ttl (30), or a leader can lose its lease while it is still healthy"});
    }
    SECTION("an explicit ttl below the profile's sum") {
        CHECK(problems(k_base + "patroni: {timing: safe, ttl: 40}\n") ==
              Lines{"inv.yaml:8:10: patroni: loop_wait + 2 * retry_timeout (50) must not exceed "
                    "ttl (40), or a leader can lose its lease while it is still healthy"});
    }
    SECTION("an unknown profile") {
        CHECK(problems(k_base + "patroni: {timing: quick}\n") ==
              Lines{"inv.yaml:8:19: patroni.timing: unknown profile 'quick' (expected default, "
                    "fast or safe)"});
    }
}

TEST_CASE("inventory: release and postgres_version", "[inventory][bad]") {
    CHECK(problems(k_base + "postgres_version: 15\n") ==
          Lines{"inv.yaml:8:19: postgres_version: Debian trixie ships PostgreSQL 17, not 15 (set "
                "release, or drop postgres_version)"});
    CHECK(problems(k_base + "release: bookworm\npostgres_version: 17\n") ==
          Lines{"inv.yaml:9:19: postgres_version: Debian bookworm ships PostgreSQL 15, not 17 "
                "(set release, or drop postgres_version)"});
    // An unknown release is one problem, not two.
    CHECK(problems(k_base + "release: sid\npostgres_version: 15\n") ==
          Lines{"inv.yaml:8:10: release: 'sid' is not supported (expected trixie or bookworm)"});
    CHECK(parse_inventory(k_base + "release: trixie\npostgres_version: 17\n", "i.yaml")
              .postgres_version == 17);
}

TEST_CASE("inventory: hostile names are rejected and printed escaped", "[inventory][hostile]") {
    const std::string expected =
        "' is not valid; expected lower-case letters, digits and '-', starting with a letter, "
        "at most 31 characters";
    auto with_name = [&](const std::string& yaml_name) {
        return problems(replaced(k_base, "name: pg2,", "name: " + yaml_name + ","));
    };
    CHECK(with_name(R"y("pg$(reboot)")y") ==
          Lines{"inv.yaml:6:12: hosts[1].name: 'pg$(reboot)" + expected});
    CHECK(with_name(R"("pg`id`")") == Lines{"inv.yaml:6:12: hosts[1].name: 'pg`id`" + expected});
    CHECK(with_name(R"("pg2\nrm -rf /")") ==
          Lines{"inv.yaml:6:12: hosts[1].name: 'pg2\\nrm -rf /" + expected});
    CHECK(with_name(R"("a\0b\x1b[2Jc\r\t")") ==
          Lines{"inv.yaml:6:12: hosts[1].name: 'a\\x00b\\x1b[2Jc\\x0d\\x09" + expected});
    // Quotes and backslashes are escaped, so the printed value is exactly the value.
    CHECK(with_name(R"("pg2'; echo '")") ==
          Lines{"inv.yaml:6:12: hosts[1].name: 'pg2\\'; echo \\'" + expected});
    CHECK(with_name(R"('x\y"z')") == Lines{"inv.yaml:6:12: hosts[1].name: 'x\\\\y\"z" + expected});
    CHECK(with_name("Pg2") == Lines{"inv.yaml:6:12: hosts[1].name: 'Pg2" + expected});
    CHECK(with_name(std::string(32, 'a')) ==
          Lines{"inv.yaml:6:12: hosts[1].name: '" + std::string(32, 'a') + expected});
    CHECK(problems(replaced(k_base, "cluster: lab", "cluster: \"lab;reboot\"")) ==
          Lines{"inv.yaml:1:10: cluster: 'lab;reboot" + expected});
}

TEST_CASE("inventory: hostile values in other fields", "[inventory][hostile]") {
    auto text = k_base + R"y(ssh: {user: "root$(id)"}
paths: {archive_dir: "/var/lib/a b"}
provider: {type: "ovh\n", ovh: {project_id: "x;y"}}
)y";
    text = replaced(text, "address: 198.18.0.12", "address: \"198.18.0.12 -oProxyCommand=x\"");
    CHECK(problems(text) ==
          Lines{
              "inv.yaml:6:26: hosts[1].address: '198.18.0.12 -oProxyCommand=x' is neither an "
              "IPv4 address nor a host name",
              "inv.yaml:8:13: ssh.user: 'root$(id)' is not valid; expected a Unix user name",
              "inv.yaml:9:22: paths.archive_dir: '/var/lib/a b' is not valid; expected an "
              "absolute path of letters, digits, '.', '_', '-' and '/'",
              "inv.yaml:10:18: provider.type: unknown provider 'ovh\\n' (expected lab or ovh)",
              "inv.yaml:10:45: provider.ovh.project_id: 'x;y' is not valid; expected the Public "
              "Cloud project id (32 hex digits)",
          });
    // A huge value is refused without feeding it to the regex engine (which would recurse
    // once per character and overflow the stack).
    auto huge = problems(k_base + "paths: {archive_dir: /" + std::string(200000, 'a') + "}\n");
    CHECK(huge == Lines{"inv.yaml:8:22: paths.archive_dir: a value of 200001 characters is too "
                        "long; expected an absolute path of letters, digits, '.', '_', '-' and "
                        "'/'"});
}

TEST_CASE("inventory: invalid YAML reports the parser's position", "[inventory][bad]") {
    CHECK(problems("cluster: [lab\nnetwork: {}\n") ==
          Lines{"inv.yaml:2:8: not valid YAML: end of sequence flow not found"});
    CHECK(problems("cluster: lab\n  network: x\n") ==
          Lines{"inv.yaml:2:10: not valid YAML: illegal map value"});
    CHECK(problems("cluster: lab\n- x\n") ==
          Lines{"inv.yaml:2:1: not valid YAML: end of map not found"});
    CHECK(problems("cluster: lab\n\tnetwork: x\n") ==
          Lines{"inv.yaml:2:1: not valid YAML: illegal tab when looking for indentation"});
    CHECK(problems("cluster: &a lab\nnetwork: *b\n") ==
          Lines{"inv.yaml:2:10: not valid YAML: the referenced anchor is not defined"});
    // Deep nesting stops at yaml-cpp's depth guard with a message that says so.
    auto deep = problems("cluster: " + std::string(600, '[') + std::string(600, ']') + "\n");
    REQUIRE(deep.size() == 1);
    CHECK(deep[0].rfind("inv.yaml:1:", 0) == 0);
    CHECK(deep[0].find("not valid YAML: nested 500 levels deep, more than the parser accepts") !=
          std::string::npos);
}

TEST_CASE("inventory: empty and non-mapping documents", "[inventory][bad]") {
    CHECK(problems("") ==
          Lines{"inv.yaml: the inventory is empty (see pgdr-inventory(5) and inventories/)"});
    CHECK(problems("# just a comment\n---\n") ==
          Lines{"inv.yaml: the inventory is empty (see pgdr-inventory(5) and inventories/)"});
    CHECK(problems("- a\n- b\n") ==
          Lines{"inv.yaml:1:1: inventory: expected a mapping, found a list"});
    CHECK(problems("just words") ==
          Lines{"inv.yaml:1:1: inventory: expected a mapping, found 'just words'"});
    // Without a file name, diagnostics name "<inventory>".
    CHECK(problems("", "") ==
          Lines{"<inventory>: the inventory is empty (see pgdr-inventory(5) and inventories/)"});
}

TEST_CASE("inventory: a JSON inventory is accepted", "[inventory]") {
    const std::string json =
        "{\n"
        "\t\"cluster\": \"lab\",\n"
        "\t\"network\": {\"cidr\": \"198.18.0.0\\/24\"},\n"
        "\t\"patroni\": {\"synchronous_mode\": false, \"ttl\": 45},\n"
        "\t\"hosts\": [\n"
        "\t\t{\"name\": \"pg1\", \"address\": \"198.18.0.11\", "
        "\"services\": [\"postgres\", \"etcd\"]},\n"
        "\t\t{\"name\": \"pg2\", \"address\": \"198.18.0.12\", "
        "\"services\": [\"postgresql\", \"etcd\"]},\n"
        "\t\t{\"name\": \"pg3\", \"address\": \"198.18.0.13\", "
        "\"services\": [\"postgres\", \"etcd\", \"haproxy\"]}\n"
        "\t]\n"
        "}\n";
    auto inv = parse_inventory(json, "/etc/pgdr/lab.json");
    CHECK(inv.cluster == "lab");
    CHECK(inv.network_cidr == "198.18.0.0/24");
    CHECK(inv.hosts.size() == 3);
    CHECK(inv.hosts[1].runs(Service::postgres));
    CHECK_FALSE(inv.patroni.synchronous_mode);
    CHECK(inv.patroni.ttl == 45);
    CHECK(inv.paths.state_dir == "/etc/pgdr/lab.state");
    // JSON errors are positioned like YAML ones.
    CHECK(problems("{\"cluster\": \"lab\",\n \"hosts\": [1, 2,\n", "x.json") ==
          Lines{"x.json:3:1: not valid YAML: end of sequence flow not found"});
}

TEST_CASE("inventory: timing profiles, and explicit values over them", "[inventory]") {
    for (const auto* name : {"default", "fast", "safe"}) {
        auto prof = pgdr::timing_profile(name);
        REQUIRE(prof);
        CHECK(prof->loop_wait + 2 * prof->retry_timeout <= prof->ttl);
        CHECK(prof->ttl >= 20);
    }
    CHECK_FALSE(pgdr::timing_profile("quick"));

    auto fast = parse_inventory(k_base + "patroni: {timing: fast}\n", "i.yaml");
    CHECK(fast.patroni.timing == "fast");
    CHECK(fast.patroni.ttl == 20);
    CHECK(fast.patroni.loop_wait == 2);
    CHECK(fast.patroni.retry_timeout == 4);
    CHECK(fast.haproxy.check_interval_ms == 500);
    CHECK(fast.haproxy.fast_check_interval_ms == 100);
    CHECK(fast.haproxy.fall == 2);
    CHECK(fast.haproxy.rise == 1);

    auto safe = parse_inventory(k_base + "patroni: {timing: safe}\n", "i.yaml");
    CHECK(safe.patroni.ttl == 60);
    CHECK(safe.patroni.loop_wait == 10);
    CHECK(safe.patroni.retry_timeout == 20);
    CHECK(safe.haproxy.check_interval_ms == 2000);
    CHECK(safe.haproxy.fast_check_interval_ms == 500);
    CHECK(safe.haproxy.fall == 3);
    CHECK(safe.haproxy.rise == 2);

    auto mixed = parse_inventory(k_base +
                                     "patroni: {timing: safe, ttl: 90, loop_wait: 5}\n"
                                     "haproxy: {check_interval_ms: 300, rise: 4,"
                                     " fast_check_interval_ms: 150}\n",
                                 "i.yaml");
    CHECK(mixed.patroni.timing == "safe");
    CHECK(mixed.patroni.ttl == 90);
    CHECK(mixed.patroni.loop_wait == 5);
    CHECK(mixed.patroni.retry_timeout == 20);  // from the profile
    CHECK(mixed.haproxy.check_interval_ms == 300);
    CHECK(mixed.haproxy.fast_check_interval_ms == 150);
    CHECK(mixed.haproxy.fall == 3);  // from the profile
    CHECK(mixed.haproxy.rise == 4);
}

TEST_CASE("inventory: relative paths resolve against the inventory's folder", "[inventory]") {
    const std::string text = k_base + R"(ssh: {identity_file: keys/id_ed25519, known_hosts: ../kh}
paths: {state_dir: state}
provider: {type: lab, lab: {dir: ../.lab}}
)";
    auto inv = parse_inventory(text, "/srv/clusters/prod/inv.yaml");
    CHECK(inv.hosts[0].ssh.identity_file == "/srv/clusters/prod/keys/id_ed25519");
    CHECK(inv.hosts[2].ssh.known_hosts == "/srv/clusters/kh");
    CHECK(inv.paths.state_dir == "/srv/clusters/prod/state");
    CHECK(inv.lab.dir == "/srv/clusters/.lab");
    CHECK(inv.provider == pgdr::ProviderKind::lab);

    // Absolute paths stay; "~/" is the home directory; a file name without a folder keeps
    // relative paths relative to the working directory.
    const char* home = std::getenv("HOME");
    REQUIRE(home != nullptr);
    auto abs = parse_inventory(k_base + "ssh: {identity_file: /k/id, known_hosts: ~/kh}\n",
                               "/srv/inv.yaml");
    CHECK(abs.hosts[0].ssh.identity_file == "/k/id");
    CHECK(abs.hosts[0].ssh.known_hosts == std::string(home) + "/kh");
    auto bare = parse_inventory(k_base + "ssh: {identity_file: keys/id}\n", "inv.yaml");
    CHECK(bare.hosts[0].ssh.identity_file == "keys/id");
    CHECK(bare.paths.state_dir == "inv.state");
    // "~user/" is not ours to expand, and not relative to the inventory either.
    auto other = parse_inventory(k_base + "ssh: {identity_file: ~bob/id}\n", "/srv/inv.yaml");
    CHECK(other.hosts[0].ssh.identity_file == "~bob/id");
}

TEST_CASE("inventory: host-level ssh overrides the top-level ssh key by key", "[inventory]") {
    auto text = k_base +
                "ssh: {user: admin, port: 2222, identity_file: /k/id, "
                "connect_timeout: 5}\n";
    text = replaced(text, "{name: pg2,", "{ssh: {port: 22, identity_file: /k/pg2}, name: pg2,");
    auto inv = parse_inventory(text, "/srv/inv.yaml");
    const auto& pg1 = inv.hosts[0].ssh;
    const auto& pg2 = inv.hosts[1].ssh;
    CHECK(pg1.user == "admin");
    CHECK(pg1.port == 2222);
    CHECK(pg1.identity_file == "/k/id");
    CHECK(pg2.user == "admin");
    CHECK(pg2.port == 22);
    CHECK(pg2.identity_file == "/k/pg2");
    CHECK(pg2.connect_timeout_s == 5);
    CHECK(pg2.command_timeout_s == 600);
    // Problems in a host's ssh section are named after the host's index.
    CHECK(problems(replaced(k_base, "{name: pg3,", "{ssh: {prot: 22}, name: pg3,")) ==
          Lines{"inv.yaml:7:12: hosts[2].ssh: unknown key 'prot'; did you mean 'port'?"});
}

TEST_CASE("inventory: every problem is reported at once, in file order", "[inventory][bad]") {
    const std::string text = R"(cluster: Lab
relase: trixie
network:
  cidr: 198.18.0.1/24
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg1, address: 198.18.0.300, services: [postgres, etcd, mysql]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy], port: 22}
patroni: {ttl: 10, timing: fast}
haproxy: {write_port: x}
)";
    std::vector<Diagnostic> diags;
    try {
        parse_inventory(text, "/tmp/inv.yaml");
        FAIL("accepted");
    } catch (const InventoryError& e) {
        diags = e.diagnostics();
        // The exception's message lists them all too, for callers that only print what().
        std::string what = e.what();
        CHECK(what.rfind("invalid inventory (9 problems):", 0) == 0);
        CHECK(what.find("/tmp/inv.yaml:10:23: haproxy.write_port") != std::string::npos);
    }
    REQUIRE(diags.size() == 9);
    CHECK(diags[0].format() ==
          "/tmp/inv.yaml:1:10: cluster: 'Lab' is not valid; expected lower-case letters, digits "
          "and '-', starting with a letter, at most 31 characters");
    CHECK(diags[1].format() ==
          "/tmp/inv.yaml:2:1: inventory: unknown key 'relase'; did you mean 'release'?");
    CHECK(diags[2].format() ==
          "/tmp/inv.yaml:4:9: network.cidr: '198.18.0.1/24' has host bits "
          "set; did you mean 198.18.0.0/24?");
    CHECK(diags[3].format() ==
          "/tmp/inv.yaml:7:12: hosts[1].name: duplicate host 'pg1' (first declared on line 6)");
    // All digits and dots: a mistyped address, not a host name.
    CHECK(diags[4].format() ==
          "/tmp/inv.yaml:7:26: hosts[1].address: '198.18.0.300' is not an "
          "IPv4 address such as 198.18.0.11");
    CHECK(diags[5].format() ==
          "/tmp/inv.yaml:7:67: hosts[1].services: unknown service 'mysql' "
          "(expected postgres, etcd, haproxy or monitor)");
    CHECK(diags[6].format() ==
          "/tmp/inv.yaml:8:76: hosts[2]: unknown key 'port' (expected one "
          "of: name, address, zone, region, services, ssh)");
    CHECK(diags[7].format() ==
          "/tmp/inv.yaml:9:16: patroni.ttl: Patroni 4 (Debian trixie) raises any ttl below 20 to "
          "20; set ttl: 20 or more so that the deployed value is the one you wrote");
    CHECK(diags[8].format() ==
          "/tmp/inv.yaml:10:23: haproxy.write_port: expected a whole number, found 'x'");
}

TEST_CASE("inventory: load_inventory reads files and reports unreadable ones", "[inventory]") {
    try {
        pgdr::load_inventory("/nonexistent/pgdr/inv.yaml");
        FAIL("loaded a missing file");
    } catch (const InventoryError& e) {
        REQUIRE(e.diagnostics().size() == 1);
        CHECK(e.diagnostics()[0].format() ==
              "/nonexistent/pgdr/inv.yaml: cannot read the inventory: No such file or directory");
    }
    // The shipped examples are valid.
    auto lab = pgdr::load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
    CHECK(lab.hosts.size() == 3);
    CHECK(lab.provider == pgdr::ProviderKind::lab);
    auto ovh = pgdr::load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/ovh.yaml");
    CHECK(ovh.hosts.size() == 5);
    CHECK(ovh.provider == pgdr::ProviderKind::ovh);
    CHECK(ovh.hosts[0].address.empty());
    CHECK(ovh.hosts_with(Service::haproxy).size() == 2);
}

TEST_CASE("inventory: edit distance", "[inventory]") {
    CHECK(pgdr::edit_distance("hots", "hosts") == 1);
    CHECK(pgdr::edit_distance("ttl_", "ttl") == 1);
    CHECK(pgdr::edit_distance("", "abc") == 3);
    CHECK(pgdr::edit_distance("kitten", "sitting") == 3);
    CHECK(pgdr::edit_distance("same", "same") == 0);
}

TEST_CASE("inventory: how SSH and cluster ports are reached (bastion, public address, access)",
          "[inventory]") {
    auto inv = parse_inventory(k_base + R"(ssh:
  user: debian
  jump_host: admin@bastion.example.net:2222
)",
                               "inv.yaml");
    CHECK(inv.hosts[0].ssh.jump_host == "admin@bastion.example.net:2222");
    CHECK(inv.hosts[0].ssh_address() == "198.18.0.11");
    CHECK(inv.port_access() == pgdr::PortAccess::automatic);

    auto set = parse_inventory(
        replaced(k_base, "cidr: 198.18.0.0/24", "cidr: 198.18.0.0/24\n  port_access: ssh"),
        "inv.yaml");
    CHECK(set.port_access() == pgdr::PortAccess::ssh);

    auto per_host =
        parse_inventory(replaced(k_base, "{name: pg1, address: 198.18.0.11,",
                                 "{name: pg1, address: 198.18.0.11, ssh: {address: 198.19.0.11},"),
                        "inv.yaml");
    CHECK(per_host.hosts[0].ssh_address() == "198.19.0.11");
    CHECK(per_host.hosts[0].address == "198.18.0.11");

    CHECK(problems(replaced(k_base, "cidr: 198.18.0.0/24",
                            "cidr: 198.18.0.0/24\n  port_access: tunnel")) ==
          Lines{"inv.yaml:4:16: network.port_access: 'tunnel' is not one of auto, ssh, direct"});
    for (const char* bad : {"bastion; rm -rf /", "a@b@c", "host:port", "$(id)@h", "h:1:2"}) {
        INFO(bad);
        auto p = problems(k_base + "ssh: {jump_host: '" + std::string(bad) + "'}\n");
        REQUIRE(p.size() == 1);
        CHECK(p[0].find("ssh.jump_host") != std::string::npos);
    }
}

TEST_CASE("inventory: haproxy.client_cidrs and haproxy.bind", "[inventory]") {
    auto inv = pgdr::parse_inventory(
        k_base + "haproxy: {client_cidrs: [192.0.2.0/24], bind: any}\n", "inv.yaml");
    CHECK(inv.haproxy.client_cidrs == std::vector<std::string>{"192.0.2.0/24"});
    CHECK(inv.haproxy.bind == "any");
    CHECK(pgdr::parse_inventory(k_base, "inv.yaml").haproxy.bind == "private");
    CHECK(problems(k_base + "haproxy: {client_cidrs: [0.0.0.0/0, nope], bind: public}\n") ==
          Lines{"inv.yaml:8:26: haproxy.client_cidrs: 0.0.0.0/0 would open the database ports to "
                "the whole Internet; list your clients' ranges",
                "inv.yaml:8:37: haproxy.client_cidrs: 'nope' is not a CIDR block such as "
                "203.0.113.0/24",
                "inv.yaml:8:50: haproxy.bind: expected private (the host's cluster address) or "
                "any (every address of the host)"});
}
