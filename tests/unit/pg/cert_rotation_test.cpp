// `pgdr certs rotate` (pg/cert_rotation.hpp): the plan's order on recording hosts (etcd members
// one at a time with health waits between, Patroni/PostgreSQL reloads replicas first and the
// leader last, no restart of PostgreSQL, HAProxy last), keys only through stdin, a failed wait
// stopping the next member, and the verification of the served serials.
#include "pg/cert_rotation.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <sstream>

#include "core/apply.hpp"
#include "core/error.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/recording_transport.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::CallLog;
using pgdr::testing::RecordingTransport;

namespace {

struct Rig {
    Inventory inv = load_inventory(std::string(PGDR_SOURCE_DIR) + "/inventories/lab.yaml");
    pki::KeyPair ca = pki::make_ca("pgdr cluster CA (lab)", pki::k_ca_validity);
    pki::ClusterPki fresh = pki::issue_cluster_certs(ca, inv);
    std::shared_ptr<CallLog> log = std::make_shared<CallLog>();
    RecordingTransport pg1{"pg1", log};
    RecordingTransport pg2{"pg2", log};
    RecordingTransport pg3{"pg3", log};
    std::ostringstream sink;
    Logger logger{sink, 3};
    fakes::ManualClock clock;

    ApplyReport run(const Plan& plan) {
        ApplyOptions o;
        o.clock = &clock;
        return apply(plan, {{"pg1", &pg1}, {"pg2", &pg2}, {"pg3", &pg3}}, logger, o);
    }
    // The service commands in the order the hosts received them (file writes left out):
    // "pg1 systemctl restart etcd", "pg1 etcdctl health 127.0.0.1", ...
    std::vector<std::string> service_calls() const {
        std::vector<std::string> out;
        for (const auto& c : log->calls()) {
            const auto& a = c.argv;
            std::string line = c.host + " ";
            if (a[0] == "etcdctl") {
                const bool local = a[1].find("127.0.0.1") != std::string::npos;
                line += std::string("etcdctl health ") + (local ? "local" : "all");
            } else if (a[0] == "systemctl" || a[0] == "haproxy") {
                for (const auto& w : a) {
                    line += (&w == &a[0] ? "" : " ") + w;
                }
            } else if (a[0] == "runuser") {
                line += "psql " + a.back();
            } else if (a[0] == "sh" && a.back().find("haproxy") != std::string::npos) {
                line += "sh: " + a[2] + " " + a.back();
            } else {
                continue;
            }
            out.push_back(line);
        }
        return out;
    }
};

}  // namespace

TEST_CASE("certs rotate: the plan's steps", "[pg][certs]") {
    Rig rig;
    const Plan plan = plan_rotation(rig.inv, rig.fresh, "pg2");
    REQUIRE(plan.stages.size() == 1);
    CHECK(plan.stages[0].stage == Stage::certificates);
    std::vector<std::string> names;
    for (const auto& s : plan.stages[0].steps) {
        names.push_back(s.name);
    }
    CHECK(names ==
          std::vector<std::string>{"install the new certificates",
                                   "etcd: quorum before the restarts", "etcd: one member at a time",
                                   "Patroni and PostgreSQL: replicas first, the leader last",
                                   "HAProxy: one host at a time"});
    CHECK(plan.stages[0].steps[2].order == HostOrder::sequential);
    CHECK(plan.stages[0].steps[3].order == HostOrder::sequential);
}

TEST_CASE("certs rotate: etcd one member at a time, the leader's reload last", "[pg][certs]") {
    Rig rig;
    const auto rep = rig.run(plan_rotation(rig.inv, rig.fresh, "pg2"));
    REQUIRE(rep.ok());
    CHECK(rig.service_calls() ==
          std::vector<std::string>{
              "pg1 etcdctl health all", "pg1 systemctl restart etcd", "pg1 etcdctl health local",
              "pg1 etcdctl health all", "pg2 systemctl restart etcd", "pg2 etcdctl health local",
              "pg2 etcdctl health all", "pg3 systemctl restart etcd", "pg3 etcdctl health local",
              "pg3 etcdctl health all",
              "pg1 systemctl kill --signal=HUP --kill-whom=main patroni@17-main",
              "pg1 psql SELECT pg_reload_conf()",
              "pg3 systemctl kill --signal=HUP --kill-whom=main patroni@17-main",
              "pg3 psql SELECT pg_reload_conf()",
              "pg2 systemctl kill --signal=HUP --kill-whom=main patroni@17-main",
              "pg2 psql SELECT pg_reload_conf()", "pg3 haproxy -c -q -f /etc/haproxy/haproxy.cfg",
              // The reload keeps HAProxy's server states (pgdr-haproxy-reload), a plain one
              // only on a host bootstrapped before the script.
              "pg3 sh: if [ -x \"$1\" ]; then exec \"$1\"; fi; exec systemctl reload haproxy "
              "/usr/local/sbin/pgdr-haproxy-reload"});
    // etcd's health waits run as root: its key is 0600 etcd:etcd.
    for (const auto& c : rig.log->calls()) {
        if (c.argv[0] == "etcdctl") {
            CHECK(c.sudo);
        }
    }
}

TEST_CASE("certs rotate: the new keys reach the hosts through stdin only, 0600", "[pg][certs]") {
    Rig rig;
    REQUIRE(rig.run(plan_rotation(rig.inv, rig.fresh, "pg1")).ok());
    for (const auto& c : rig.log->calls()) {
        for (const auto& word : c.argv) {
            CHECK(word.find("PRIVATE KEY") == std::string::npos);
        }
    }
    const auto key = rig.pg2.file("/etc/pgdr/tls/etcd.key");
    REQUIRE(key);
    CHECK(key->content == rig.fresh.of("pg2", "etcd").key_pem);
    CHECK(key->mode == "600");
    CHECK(key->owner == "etcd:etcd");
    const auto pg_key = rig.pg3.file("/etc/pgdr/tls/postgres.key");
    REQUIRE(pg_key);
    CHECK(pg_key->mode == "600");
    CHECK(pg_key->owner == "postgres:postgres");
    CHECK(rig.pg1.file("/etc/pgdr/tls/postgres.crt")->content ==
          rig.fresh.of("pg1", "postgres").cert_pem);
    CHECK(rig.pg1.file("/etc/pgdr/tls/ca.crt")->content == rig.ca.cert_pem);
    // Nothing restarts PostgreSQL or Patroni (a restart of patroni@ stops PostgreSQL).
    for (const auto& line : rig.service_calls()) {
        CHECK(line.find("restart patroni") == std::string::npos);
        CHECK(line.find("pg_ctlcluster") == std::string::npos);
    }
}

TEST_CASE("certs rotate: a member that does not come back stops the rotation", "[pg][certs]") {
    Rig rig;
    // pg1's member never answers healthy after its restart.
    rig.pg1.on({"etcdctl", "--endpoints=https://127.0.0.1:2379"}, 1, "", "unhealthy");
    const auto rep = rig.run(plan_rotation(rig.inv, rig.fresh, "pg1"));
    CHECK_FALSE(rep.ok());
    const auto calls = rig.service_calls();
    CHECK(std::count(calls.begin(), calls.end(), "pg1 systemctl restart etcd") == 1);
    CHECK(std::count(calls.begin(), calls.end(), "pg2 systemctl restart etcd") == 0);
    for (const auto& line : calls) {
        CHECK(line.find("patroni") == std::string::npos);
        CHECK(line.find("haproxy") == std::string::npos);
    }
}

TEST_CASE("certs rotate: every TLS port must serve its new serial", "[pg][certs]") {
    Rig rig;
    auto checks = served_checks(rig.inv, rig.fresh);
    REQUIRE(checks.size() == 9);  // etcd, Patroni, PostgreSQL on three hosts
    CHECK(checks[0].service == "etcd");
    CHECK(checks[0].port == 2379);
    CHECK(checks[1].service == "patroni");
    CHECK(checks[1].port == 8008);
    CHECK(checks[2].service == "postgresql");
    CHECK(checks[2].start == pki::TlsStart::postgres);
    CHECK(checks[1].expected_serial == checks[2].expected_serial);

    // pg2's Patroni serves its old certificate twice (SIGHUP waits for its next loop).
    const auto old = pki::issue(rig.ca, pki::cluster_cert_specs(rig.inv)[3].request);
    int stale = 2;
    std::vector<std::string> asked;
    CertFetcher fetch = [&](const Endpoint& at, pki::TlsStart, std::string*) {
        asked.push_back(at.authority());
        for (const auto& h : rig.inv.hosts) {
            if (h.address != at.host) {
                continue;
            }
            if (at.port == 8008 && h.name == "pg2" && stale-- > 0) {
                return std::optional<std::string>(old.cert_pem);
            }
            const char* service = at.port == 2379 ? "etcd" : "postgres";
            return std::optional<std::string>(rig.fresh.of(h.name, service).cert_pem);
        }
        return std::optional<std::string>();
    };
    DirectReach reach;
    const auto done = verify_served(checks, reach, fetch, rig.clock, std::chrono::seconds(30));
    for (const auto& c : done) {
        INFO(c.host << " " << c.service << " " << c.error);
        CHECK(c.ok);
        CHECK(c.served_serial == c.expected_serial);
    }
    CHECK(asked.size() == 9 + 2);  // only the stale one is asked again
    CHECK(rig.clock.sleeps().size() == 2);
}

TEST_CASE("certs rotate: a port that keeps its old certificate fails the verification",
          "[pg][certs]") {
    Rig rig;
    const auto old = pki::issue(rig.ca, pki::cluster_cert_specs(rig.inv)[0].request);
    CertFetcher fetch = [&](const Endpoint& at, pki::TlsStart, std::string* err) {
        if (at.port == 5432) {
            *err = "connection refused";
            return std::optional<std::string>();
        }
        return std::optional<std::string>(old.cert_pem);
    };
    DirectReach reach;
    const auto done = verify_served(served_checks(rig.inv, rig.fresh), reach, fetch, rig.clock,
                                    std::chrono::seconds(5));
    for (const auto& c : done) {
        CHECK_FALSE(c.ok);
        if (c.port == 5432) {
            CHECK(c.error == "connection refused");
        } else {
            CHECK(c.error ==
                  "serves serial " + c.served_serial + ", not the new " + c.expected_serial);
        }
    }
    CHECK(rig.clock.sleeps().size() == 5);
}

TEST_CASE(
    "certs rotate: pgBackRest's TLS servers restart with their new pairs, the repository "
    "host's too",
    "[pg][certs][backup]") {
    const Inventory inv =
        load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-posix.yaml");
    const auto ca = pki::make_ca("pgdr cluster CA (lab)", pki::k_ca_validity);
    const Plan plan = plan_rotation(inv, pki::issue_cluster_certs(ca, inv), "pg2");
    const auto& steps = plan.stages.at(0).steps;
    // The repository host gets its new pgbackrest pair with the others.
    bool repo_pair = false;
    for (const auto& ha : steps.front().hosts) {
        for (const auto& a : ha.actions) {
            const auto* f = std::get_if<PutFile>(&a);
            repo_pair = repo_pair || (ha.host == "backup1" && f != nullptr &&
                                      f->path == "/etc/pgdr/tls/pgbackrest.key");
        }
    }
    CHECK(repo_pair);
    const auto& last = steps.back();
    CHECK(last.name == "pgBackRest's TLS servers: one host at a time");
    CHECK(last.order == HostOrder::sequential);
    std::vector<std::string> hosts;
    for (const auto& ha : last.hosts) {
        hosts.push_back(ha.host);
        CHECK(
            std::get<RunCommand>(ha.actions.at(0)).argv ==
            std::vector<std::string>{"systemctl", "try-restart", "pgdr-pgbackrest-server.service"});
    }
    CHECK(hosts == std::vector<std::string>{"pg1", "pg2", "pg3", "backup1"});
    // Without a backup section, no such step (the lab inventory's plan above).
    Rig rig;
    CHECK(plan_rotation(rig.inv, rig.fresh, "pg2").stages.at(0).steps.back().name ==
          "HAProxy: one host at a time");
}
