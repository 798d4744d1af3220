// Renderers against hostile values: secrets must come back byte for byte from the file format
// (or be refused without being echoed); nothing may widen access.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "core/error.hpp"
#include "core/inventory.hpp"
#include "pg/etcd_config.hpp"
#include "pg/haproxy_config.hpp"
#include "pg/patroni_config.hpp"
#include "pg/pgpass.hpp"
#include "pg/postgres_conf.hpp"
#include "pg/secrets.hpp"

using namespace pgdr;
using namespace pgdr::pg;

namespace {

Inventory lab() {
    return load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
}

const std::vector<std::string>& hostile_values() {
    static const std::vector<std::string> k_values{
        "it's",
        "say \"hi\"",
        "a:b:c",
        "#not a comment",
        "line1\nline2",
        "back\\slash",
        "on",
        "yes",
        "null",
        "~",
        "0777",
        "1e3",
        "- item",
        "{a: b}",
        "&anchor",
        "*alias",
        "!tag",
        "%percent",
        "@at",
        "`tick`",
        " lead",
        "trail ",
        "tab\there",
        "\r\nCRLF",
        "é ü 中",
        "$(reboot)",
        "'; DROP ROLE x; --",
        "\\:\\:",
    };
    return k_values;
}

std::string auth_password(const YAML::Node& doc, const char* role) {
    return doc["postgresql"]["authentication"][role]["password"].as<std::string>();
}

}  // namespace

TEST_CASE("patroni.yml: every password parses back to itself", "[pg][hostile]") {
    const Inventory inv = lab();
    const HostSpec& pg1 = *inv.find_host("pg1");
    for (const auto& value : hostile_values()) {
        INFO("password " << value);
        Secrets s{value + "-r", value + "-s", "w-" + value, value,
                  "p-" + value, "stats-pw",   {},           {}};
        YAML::Node doc = YAML::Load(render_patroni_yml(inv, pg1, s));
        CHECK(auth_password(doc, "replication") == s.replication_password);
        CHECK(auth_password(doc, "superuser") == s.superuser_password);
        CHECK(auth_password(doc, "rewind") == s.rewind_password);
        CHECK(doc["restapi"]["authentication"]["password"].as<std::string>() ==
              s.rest_api_password);
        // ...and nothing else moved: the structure is intact.
        CHECK(doc["name"].as<std::string>() == "pg1");
        CHECK(doc["postgresql"]["data_dir"].as<std::string>() == "/var/lib/postgresql/17/main");
        CHECK(doc["bootstrap"]["dcs"]["ttl"].as<int>() == inv.patroni.ttl);
    }
}

TEST_CASE("patroni.yml: adopts, never creates, and keeps the inventory's settings",
          "[pg][patroni]") {
    Inventory inv = lab();
    inv.patroni.synchronous_mode_strict = true;
    inv.patroni.use_slots = false;
    inv.patroni.maximum_lag_on_failover = 777;
    const Secrets s{"r", "s", "w", "a", "p", "stats-pw", {}, {}};
    const std::string text = render_patroni_yml(inv, *inv.find_host("pg2"), s);
    YAML::Node doc = YAML::Load(text);
    CHECK(doc["scope"].as<std::string>() == "17-main");
    CHECK(doc["namespace"].as<std::string>() == "/postgresql-common/");
    REQUIRE(doc["etcd3"]["hosts"].size() == 3);
    CHECK(doc["etcd3"]["hosts"][2].as<std::string>() == "198.18.0.13:2379");
    CHECK(doc["restapi"]["listen"].as<std::string>() == "198.18.0.12:8008");
    CHECK(doc["restapi"]["authentication"]["username"].as<std::string>() == "patroni");
    // The only bootstrap method fails: Patroni cannot initdb a new cluster.
    const auto method = doc["bootstrap"]["method"].as<std::string>();
    CHECK(method == k_refuse_bootstrap_method);
    CHECK(doc["bootstrap"][method]["command"].as<std::string>() == "/bin/false");
    CHECK_FALSE(doc["bootstrap"]["initdb"]);
    CHECK(text.find("initdb") == std::string::npos);
    CHECK(text.find("remove_data_directory") == std::string::npos);
    const auto dcs = doc["bootstrap"]["dcs"];
    CHECK(dcs["synchronous_mode"].as<bool>());
    CHECK(dcs["synchronous_mode_strict"].as<bool>());
    CHECK(dcs["maximum_lag_on_failover"].as<long long>() == 777);
    CHECK_FALSE(dcs["postgresql"]["use_slots"].as<bool>());
    CHECK(dcs["postgresql"]["use_pg_rewind"].as<bool>());
    // The replication stage's parameters carried over verbatim; archive_command and pg_hba
    // only in the local section: a write to the DCS runs no code and opens nothing.
    for (const auto& p : replication_parameters(inv)) {
        if (p.name == "archive_command") {
            CHECK_FALSE(dcs["postgresql"]["parameters"][p.name]);
            CHECK(doc["postgresql"]["parameters"][p.name].as<std::string>() == p.value);
        } else {
            CHECK(dcs["postgresql"]["parameters"][p.name].as<std::string>() == p.value);
        }
    }
    CHECK_FALSE(dcs["postgresql"]["pg_hba"]);
    CHECK(dcs["failsafe_mode"].as<bool>());
    const auto rules = hba_rules(inv);
    REQUIRE(doc["postgresql"]["pg_hba"].size() == rules.size());
    for (std::size_t i = 0; i < rules.size(); ++i) {
        CHECK(doc["postgresql"]["pg_hba"][i].as<std::string>() == rules[i]);
    }
    // TLS everywhere: etcd with the host's certificate, the REST API with client certificates
    // for unsafe endpoints and an allowlist, replication verifying the server.
    CHECK(doc["etcd3"]["protocol"].as<std::string>() == "https");
    CHECK(doc["etcd3"]["cert"].as<std::string>() == "/etc/pgdr/tls/postgres.crt");
    CHECK(doc["restapi"]["verify_client"].as<std::string>() == "optional");
    CHECK(doc["restapi"]["certfile"].as<std::string>() == "/etc/pgdr/tls/postgres.crt");
    CHECK(doc["restapi"]["allowlist"].size() == 3);
    CHECK(doc["restapi"]["allowlist_include_members"].as<bool>());
    CHECK(doc["postgresql"]["authentication"]["replication"]["sslmode"].as<std::string>() ==
          "verify-full");
    CHECK(doc["postgresql"]["parameters"]["ssl"].as<std::string>() == "on");
    CHECK(doc["postgresql"]["pgpass"].as<std::string>() == "/var/lib/postgresql/17-main.pgpass");
    CHECK(doc["postgresql"]["connect_address"].as<std::string>() == "198.18.0.12:5432");
    CHECK(text.find("config.yml") == std::string::npos);
}

TEST_CASE("patroni.yml: only for a PostgreSQL host with an address", "[pg][patroni]") {
    Inventory inv = lab();
    HostSpec lb = *inv.find_host("pg3");
    lb.services = {Service::haproxy};
    CHECK_THROWS_AS(render_patroni_yml(inv, lb, {}), Error);
    HostSpec no_address = *inv.find_host("pg1");
    no_address.address.clear();
    CHECK_THROWS_AS(render_patroni_yml(inv, no_address, {}), Error);
}

TEST_CASE("pg_hba: scram-sha-256 from loopback (v4 and v6), TLS only from the network",
          "[pg][hba]") {
    const Inventory inv = lab();
    const std::string hba = render_pg_hba(inv);
    CHECK(hba.find("md5") == std::string::npos);
    CHECK(hba.find("trust") == std::string::npos);
    CHECK(hba.find("0.0.0.0") == std::string::npos);
    CHECK(hba.find("::/0") == std::string::npos);
    int host_lines = 0, replication_v6 = 0;
    for (const auto& rule : hba_rules(inv)) {
        std::istringstream in(rule);
        std::string type, db, user, address, method;
        in >> type >> db >> user;
        if (type == "local") {
            in >> method;
            CHECK(method == "peer");
            continue;
        }
        in >> address >> method;
        ++host_lines;
        const bool loopback = address == "127.0.0.1/32" || address == "::1/128";
        const bool member = address == "198.18.0.11/32" || address == "198.18.0.12/32" ||
                            address == "198.18.0.13/32";
        if (method == "reject") {
            // The superuser from anywhere else is refused, with or without TLS.
            CHECK(user == "postgres");
            CHECK(address == "all");
            continue;
        }
        CHECK(method == "scram-sha-256");
        CHECK((loopback || member || address == inv.network_cidr));
        CHECK((loopback || type == "hostssl"));
        if (db == "replication") {
            CHECK(user == "replicator");
            CHECK((loopback || member));
            replication_v6 += address == "::1/128";
        }
        if (user == "postgres") {
            CHECK((loopback || member));
        }
    }
    CHECK(host_lines == 4 + 3 + 3 + 1 + 1);
    CHECK(replication_v6 == 1);  // Patroni reads the timeline over replication to ::1
}

TEST_CASE("postgresql include: safe archive_command and quoting", "[pg][conf]") {
    Inventory inv = lab();
    const std::string text = render_postgres_include(inv, *inv.find_host("pg1"));
    CHECK(text.find("archive_command = 'test ! -f /var/lib/postgresql/wal_archive/%f && cp %p "
                    "/var/lib/postgresql/wal_archive/%f && { ls -1 ") != std::string::npos);
    CHECK(text.find("listen_addresses = '198.18.0.11,localhost'\n") != std::string::npos);
    CHECK(text.find("password_encryption = 'scram-sha-256'\n") != std::string::npos);
    CHECK(text.find("wal_level = 'replica'\n") != std::string::npos);
    CHECK(conf_quote("O'Brien \\ x") == "'O''Brien \\\\ x'");
    CHECK_THROWS_AS(conf_quote("a\nb"), Error);
}

TEST_CASE("standby settings: the password stays in the passfile", "[pg][conf]") {
    const Inventory inv = lab();
    const auto& pg1 = *inv.find_host("pg1");
    const auto& pg3 = *inv.find_host("pg3");
    const Secrets s{"repl-secret-value", "x", "y", "z", "q", "stats-pw", {}, {}};
    const std::string standby = render_standby_conf(inv, pg1, pg3);
    CHECK(standby.find("repl-secret-value") == std::string::npos);
    CHECK(standby.find("password") == std::string::npos);
    CHECK(standby.find("passfile=/var/lib/postgresql/pgdr-replication.pgpass") !=
          std::string::npos);
    CHECK(standby.find("primary_slot_name = 'pg3'\n") != std::string::npos);
    const std::string passfile = render_replication_passfile(inv, s);
    CHECK(passfile ==
          "198.18.0.11:5432:replication:replicator:repl-secret-value\n"
          "198.18.0.12:5432:replication:replicator:repl-secret-value\n"
          "198.18.0.13:5432:replication:replicator:repl-secret-value\n");
}

TEST_CASE("slot names follow Patroni's rule", "[pg][conf]") {
    CHECK(slot_name("pg1") == "pg1");
    CHECK(slot_name("db-a.zone") == "db_a_zone");
    CHECK(slot_name("PG2") == "pg2");
    CHECK(slot_name("a b") == "au0032b");
    CHECK(slot_name(std::string(70, 'x')).size() == 63);
}

TEST_CASE("pgpass escapes ':' and '\\' and refuses line breaks", "[pg][pgpass]") {
    CHECK(pgpass_escape("plain") == "plain");
    CHECK(pgpass_escape("a:b\\c") == "a\\:b\\\\c");
    CHECK(pgpass_escape("#'\" $") == "#'\" $");
    CHECK(render_pgpass({{"10.0.0.1", "5432", "replication", "rep:l", "p:w\\d"}}) ==
          "10.0.0.1:5432:replication:rep\\:l:p\\:w\\\\d\n");
    CHECK(render_pgpass({{"*", "*", "*", "u", "p"}}) == "*:*:*:u:p\n");
    for (const auto& bad :
         {std::string("secret\nline"), std::string("cr\rx"), std::string("nul\0x", 5)}) {
        try {
            (void)render_pgpass({{"*", "*", "*", "u", bad}});
            FAIL("accepted a value a passfile cannot hold");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::invalid_config);
            CHECK(std::string(e.what()).find("secret") == std::string::npos);
        }
    }
    // Every other hostile value survives a round trip through libpq's unescaping rule.
    for (const auto& value : hostile_values()) {
        if (value.find_first_of("\r\n") != std::string::npos) {
            continue;
        }
        std::string escaped = pgpass_escape(value), back;
        for (std::size_t i = 0; i < escaped.size(); ++i) {
            if (escaped[i] == '\\' && i + 1 < escaped.size()) {
                ++i;
            } else {
                CHECK(escaped[i] != ':');  // an unescaped ':' would split the field
            }
            back += escaped[i];
        }
        CHECK(back == value);
    }
}

TEST_CASE("secrets: control characters are refused without echoing the secret", "[pg][secrets]") {
    CHECK_NOTHROW(check_secrets({"a'b:\"c#\\", "x", "y", "z", "w", "stats-pw", {}, {}}));
    try {
        check_secrets({"ok", "ok", "ok", "hunter2\nhunter3", "ok", "stats-pw", {}, {}});
        FAIL("accepted a line break");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("rest-api-password") != std::string::npos);
        CHECK(std::string(e.what()).find("hunter") == std::string::npos);
    }
    CHECK_THROWS_AS(check_secrets({"", "x", "y", "z", "w", "stats-pw", {}, {}}), Error);
}

TEST_CASE("etcd defaults: history compacted, raft log in memory bounded", "[pg][etcd]") {
    // Without compaction every revision of Patroni's keys stays until the 2 GiB quota stops all
    // writes (NOSPACE alarm: no leader key renewal); 3.4/3.5 hold 100000 raft entries in memory.
    Inventory inv = lab();
    const std::string text = render_etcd_defaults(inv, *inv.find_host("pg1"));
    CHECK(text.find("ETCD_AUTO_COMPACTION_MODE=\"periodic\"\n") != std::string::npos);
    CHECK(text.find("ETCD_AUTO_COMPACTION_RETENTION=\"1h\"\n") != std::string::npos);
    CHECK(text.find("ETCD_SNAPSHOT_COUNT=\"10000\"\n") != std::string::npos);
}

TEST_CASE("etcd defaults refuse what the environment file cannot carry", "[pg][etcd]") {
    Inventory inv = lab();
    const std::string text = render_etcd_defaults(inv, *inv.find_host("pg2"));
    CHECK(text.find("ETCD_NAME=\"pg2\"\n") != std::string::npos);
    CHECK(
        text.find("ETCD_LISTEN_CLIENT_URLS=\"https://198.18.0.12:2379,https://127.0.0.1:2379\"") !=
        std::string::npos);
    // Clients and peers over TLS, and only with a certificate of the cluster CA.
    CHECK(text.find("ETCD_CLIENT_CERT_AUTH=\"true\"\n") != std::string::npos);
    CHECK(text.find("ETCD_PEER_CLIENT_CERT_AUTH=\"true\"\n") != std::string::npos);
    CHECK(text.find("ETCD_TRUSTED_CA_FILE=\"/etc/pgdr/tls/ca.crt\"\n") != std::string::npos);
    CHECK(text.find("http://") == std::string::npos);
    CHECK(text.find("ETCD_INITIAL_CLUSTER_TOKEN=\"pgdr-lab\"") != std::string::npos);
    CHECK(text.find("ENABLE_V2") == std::string::npos);

    Inventory named = inv;
    named.hosts[1].address = "pg2.example.net";  // a name: etcd binds to IPs only
    CHECK_THROWS_AS(render_etcd_defaults(named, named.hosts[0]), Error);

    Inventory quoted = inv;
    quoted.hosts[0].name = "pg1\"\nETCD_X=\"y";
    CHECK_THROWS_AS(render_etcd_defaults(quoted, quoted.hosts[0]), Error);
    quoted.hosts[0].name = "pg 1";
    CHECK_THROWS_AS(render_etcd_defaults(quoted, quoted.hosts[0]), Error);

    HostSpec lb = inv.hosts[0];
    lb.services = {Service::haproxy};
    CHECK_THROWS_AS(render_etcd_defaults(inv, lb), Error);
}

TEST_CASE("haproxy.cfg: checks, servers, and refusal of non-words", "[pg][haproxy]") {
    Inventory inv = lab();
    const auto& pg3 = *inv.find_host("pg3");
    const std::string cfg = render_haproxy_cfg(inv, pg3, "stats-pw");
    CHECK(cfg.find("\tstats socket /run/haproxy/admin.sock mode 660 level admin\n") !=
          std::string::npos);
    CHECK(cfg.find("listen primary\n\tbind 198.18.0.13:5000\n\toption httpchk OPTIONS "
                   "/primary\n\thttp-check "
                   "expect status 200\n\tdefault-server inter 1000ms fastinter 250ms downinter "
                   "250ms fall 2 rise 1 on-marked-down shutdown-sessions check-ssl verify required "
                   "ca-file "
                   "/etc/pgdr/tls/ca.crt\n") != std::string::npos);
    CHECK(cfg.find("listen replicas\n\tbind 198.18.0.13:5001\n\tbalance roundrobin\n\toption "
                   "httpchk OPTIONS "
                   "/replica\n") != std::string::npos);
    CHECK(cfg.find("\tbind 198.18.0.13:7000\n") != std::string::npos);
    // haproxy.bind: any listens on every address of the host.
    Inventory any = inv;
    any.haproxy.bind = "any";
    const std::string any_cfg = render_haproxy_cfg(any, pg3, "stats-pw");
    CHECK(any_cfg.find("listen primary\n\tbind *:5000\n") != std::string::npos);
    CHECK(any_cfg.find("listen replicas\n\tbind *:5001\n") != std::string::npos);
    for (const char* server : {"\tserver pg1 198.18.0.11:5432 maxconn 100 check port 8008\n",
                               "\tserver pg2 198.18.0.12:5432 maxconn 100 check port 8008\n",
                               "\tserver pg3 198.18.0.13:5432 maxconn 100 check port 8008\n"}) {
        auto first = cfg.find(server);
        REQUIRE(first != std::string::npos);
        CHECK(cfg.find(server, first + 1) != std::string::npos);  // in both proxies
    }

    Inventory hostile = inv;
    hostile.hosts[0].address = "198.18.0.11 backup #";
    CHECK_THROWS_AS(render_haproxy_cfg(hostile, hostile.hosts[2], "stats-pw"), Error);
    hostile = inv;
    hostile.hosts[1].name = "pg2\n\tserver evil 203.0.113.1:5432";
    CHECK_THROWS_AS(render_haproxy_cfg(hostile, hostile.hosts[2], "stats-pw"), Error);
    CHECK_THROWS_AS(render_haproxy_cfg(inv, *inv.find_host("pg1"), "stats-pw"), Error);
}
