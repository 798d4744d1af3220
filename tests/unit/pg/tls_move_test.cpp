// Moving a running plain-HTTP cluster to TLS (pg/tls_move.hpp): the order that keeps etcd's
// quorum, PostgreSQL running and HAProxy's servers in their states, and the transition file.
#include "pg/tls_move.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "pg/bootstrap_plan.hpp"
#include "pg/etcd_config.hpp"
#include "unit/pg/golden.hpp"
#include "unit/pg/plan_fixtures.hpp"
#include "unit/pg/test_tls.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::check_golden;
using pgdr::testing::fresh_facts;
using pgdr::testing::k_secrets;
using pgdr::testing::lab_inventory;
using pgdr::testing::with_test_tls;

namespace {

std::vector<const Step*> steps_of(const Plan& plan) {
    std::vector<const Step*> out;
    for (const auto& sp : plan.stages) {
        for (const auto& st : sp.steps) {
            out.push_back(&st);
        }
    }
    return out;
}

std::string argv_text(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        out += a + " ";
    }
    return out;
}

// One line per action of the step for `host`: "run: ...", "put: PATH", "wait: ...".
std::vector<std::string> actions_of(const Step& step, const std::string& host) {
    std::vector<std::string> out;
    for (const auto& ha : step.hosts) {
        if (ha.host != host) {
            continue;
        }
        for (const auto& a : ha.actions) {
            if (const auto* c = std::get_if<RunCommand>(&a)) {
                out.push_back("run: " + c->description);
            } else if (const auto* f = std::get_if<PutFile>(&a)) {
                out.push_back("put: " + f->path);
            } else if (const auto* w = std::get_if<WaitFor>(&a)) {
                out.push_back("wait: " + w->description);
            } else {
                out.push_back("wait in pgdr: " + std::get<WaitForCluster>(a).description);
            }
        }
    }
    return out;
}

}  // namespace

TEST_CASE("tls move: the members answering over plain HTTP are the ones to move",
          "[pg][bootstrap][tls]") {
    const Inventory inv = lab_inventory();
    auto facts = fresh_facts(inv);
    CHECK(plain_http_members(inv, facts).empty());
    for (const char* name : {"pg1", "pg2", "pg3"}) {
        facts[name].patroni_active = "active";
        facts[name].patroni_scheme = "https";
    }
    CHECK(plain_http_members(inv, facts).empty());  // already on TLS: nothing to move
    facts["pg2"].patroni_scheme = "http";
    CHECK(plain_http_members(inv, facts) == std::vector<std::string>{"pg2"});
    const auto summary = tls_move_summary({"pg1", "pg2"});
    CHECK(summary.find("pg1, pg2") != std::string::npos);
    CHECK(summary.find("PostgreSQL keeps running") != std::string::npos);
}

TEST_CASE(
    "tls move: maintenance mode and frozen checks first, then etcd members one at a time, "
    "the membership first",
    "[pg][bootstrap][tls]") {
    const Inventory inv = lab_inventory();
    const Secrets secrets = with_test_tls(k_secrets, inv);
    const Plan plan = plan_tls_move_before_lock(inv, secrets, "pg1");
    const auto steps = steps_of(plan);
    REQUIRE(steps.size() == 5);

    // 1. pause on the leader, then every member reports it: from here on no failover, no
    // demotion on a lost DCS, no PostgreSQL stopped with Patroni.
    CHECK(steps[0]->hosts.size() == 1);
    CHECK(actions_of(*steps[0], "pg1") ==
          std::vector<std::string>{"run: maintenance mode for the move (PATCH /config pause)",
                                   "wait: Patroni on pg1 reports maintenance mode",
                                   "wait: Patroni on pg2 reports maintenance mode",
                                   "wait: Patroni on pg3 reports maintenance mode"});
    const auto& pause = std::get<RunCommand>(steps[0]->hosts[0].actions[0]);
    CHECK(pause.argv.back() == R"({"pause":true})");
    CHECK(pause.stdin_data == std::optional<std::string>("rest-pw\n"));
    CHECK(argv_text(pause.argv).find("rest-pw") == std::string::npos);  // never in argv

    // 2. HAProxy's checks frozen; the script picks the servers that are UP among all of them.
    REQUIRE(steps[1]->hosts.size() == 1);
    CHECK(steps[1]->hosts[0].host == "pg3");
    const auto& freeze = std::get<RunCommand>(steps[1]->hosts[0].actions[0]);
    CHECK(std::find(freeze.argv.begin(), freeze.argv.end(), "disable") != freeze.argv.end());
    CHECK(argv_text(freeze.argv).find("show stat") != std::string::npos);
    for (const char* target : {"primary/pg1", "primary/pg2", "primary/pg3", "replicas/pg1",
                               "replicas/pg2", "replicas/pg3"}) {
        CHECK(std::find(freeze.argv.begin(), freeze.argv.end(), target) != freeze.argv.end());
    }

    // 3. Before: every member answers, over TLS or plain HTTP (a quorum to move with).
    const auto& before = std::get<WaitFor>(steps[2]->hosts.at(0).actions.at(0));
    for (const char* ep : {"198.18.0.11:2379", "198.18.0.12:2379", "198.18.0.13:2379"}) {
        CHECK(std::find(before.probe.begin(), before.probe.end(), ep) != before.probe.end());
    }
    // 4. One member at a time.
    const Step& move = *steps[3];
    CHECK(move.order == HostOrder::sequential);
    REQUIRE(move.hosts.size() == 3);
    CHECK(move.hosts[0].host == "pg1");
    CHECK(move.hosts[2].host == "pg3");
    CHECK(actions_of(move, "pg2") ==
          std::vector<std::string>{"run: the membership names pg2's peer URL over TLS",
                                   "put: /etc/default/etcd",
                                   "run: restart etcd with peer and client TLS",
                                   "wait: etcd: pg2 answers a quorum read over TLS"});
    const auto& update = std::get<RunCommand>(move.hosts[1].actions[0]);
    CHECK(update.argv.back() == "https://198.18.0.12:2380");
    CHECK(std::find(update.argv.begin(), update.argv.end(), "update") != update.argv.end());
    REQUIRE(update.unless);
    CHECK(std::find(update.unless->begin(), update.unless->end(), "check") != update.unless->end());
    const auto& file = std::get<PutFile>(move.hosts[1].actions[1]);
    CHECK(file.content ==
          render_etcd_defaults(inv, *inv.find_host("pg2"), EtcdClients::tls_and_plain));
    const auto& restart = std::get<RunCommand>(move.hosts[1].actions[2]);
    CHECK(restart.argv == std::vector<std::string>{"systemctl", "restart", "etcd"});  // blocks
    CHECK(restart.when_changed == std::vector<std::string>{"/etc/default/etcd"});
    const auto& health = std::get<WaitFor>(move.hosts[1].actions[3]);
    CHECK(argv_text(health.probe).find("--endpoints=https://127.0.0.1:2379") != std::string::npos);
    // 5. After: every member over TLS, with the client certificate.
    const auto& after = std::get<WaitFor>(steps[4]->hosts.at(0).actions.at(0));
    CHECK(argv_text(after.probe).find("--cert=/etc/pgdr/tls/etcd.crt") != std::string::npos);
}

TEST_CASE("tls move: the transition file serves plain and TLS clients, peers over TLS",
          "[pg][bootstrap][tls][golden]") {
    const Inventory inv = lab_inventory();
    const auto& pg1 = *inv.find_host("pg1");
    const std::string text = render_etcd_defaults(inv, pg1, EtcdClients::tls_and_plain);
    check_golden("tls-move/pg1/etc/default/etcd", text);
    CHECK(text.find("ETCD_LISTEN_CLIENT_URLS=\"https://198.18.0.11:2379,https://127.0.0.1:2379,"
                    "http://198.18.0.11:2379,http://127.0.0.1:2379\"") != std::string::npos);
    CHECK(text.find("ETCD_LISTEN_PEER_URLS=\"https://198.18.0.11:2380\"") != std::string::npos);
    CHECK(text.find("ETCD_PEER_CLIENT_CERT_AUTH=\"true\"") != std::string::npos);
    // The final file has no plain listener.
    CHECK(render_etcd_defaults(inv, pg1).find("http://") == std::string::npos);
}

TEST_CASE(
    "tls move: Patroni restarted on TLS, the leader first, then HAProxy's checks back and "
    "maintenance mode off",
    "[pg][bootstrap][tls]") {
    const Inventory inv = lab_inventory();
    const Secrets secrets = with_test_tls(k_secrets, inv);
    const Plan plan = plan_tls_move_under_lock(inv, secrets, "pg1");
    const auto steps = steps_of(plan);
    REQUIRE(steps.size() == 4);

    // 1. patroni.yml on every member; 2. restarts, the leader first (its PostgreSQL must serve
    // the CA's certificate before a replica connects with verify-full), each one only once its
    // Patroni is in maintenance mode (it would stop PostgreSQL otherwise).
    CHECK(steps[0]->hosts.size() == 3);
    const Step& restarts = *steps[1];
    CHECK(restarts.order == HostOrder::sequential);
    REQUIRE(restarts.hosts.size() == 3);
    CHECK(restarts.hosts[0].host == "pg1");
    CHECK(restarts.hosts[1].host == "pg2");
    CHECK(restarts.hosts[2].host == "pg3");
    CHECK(actions_of(restarts, "pg1") ==
          std::vector<std::string>{"wait: Patroni on pg1 reports maintenance mode",
                                   "run: restart patroni@17-main on TLS (PostgreSQL keeps running)",
                                   "wait: Patroni answers GET /primary over TLS"});
    CHECK(actions_of(restarts, "pg2").back() == "wait: Patroni answers GET /replica over TLS");
    const auto& restart = std::get<RunCommand>(restarts.hosts[0].actions[1]);
    REQUIRE(restart.unless);  // a member already on TLS keeps running
    CHECK(restart.unless->back() == "https://198.18.0.11:8008/patroni");

    // 3. HAProxy: new configuration, reload, checks on again, only the leader UP.
    const auto lb = actions_of(*steps[2], "pg3");
    const auto at = [&](const std::string& line) {
        return std::find(lb.begin(), lb.end(), line) - lb.begin();
    };
    CHECK(at("put: /etc/haproxy/haproxy.cfg") < at("run: reload haproxy, keeping the servers' "
                                                   "check states"));
    CHECK(at("run: reload haproxy, keeping the servers' check states") <
          at("run: checks on again (enable health)"));
    CHECK(at("run: checks on again (enable health)") + 2 == static_cast<long>(lb.size()));
    CHECK(lb.back() == "wait in pgdr: only the leader UP behind the write port");

    // 4. maintenance mode ends; pg_hba and archive_command leave the DCS.
    const auto& resume = std::get<RunCommand>(steps[3]->hosts.at(0).actions.at(0));
    const auto body = nlohmann::json::parse(resume.argv.back());
    CHECK(body["pause"] == false);
    CHECK(body["postgresql"]["pg_hba"].is_null());
    CHECK(body["postgresql"]["parameters"].contains("archive_command"));
    CHECK(body["postgresql"]["parameters"]["archive_command"].is_null());
    CHECK(actions_of(*steps[3], "pg1").size() == 4);  // the PATCH, then every member
}

TEST_CASE("tls move: plans append stage by stage", "[pg][bootstrap][tls]") {
    const Inventory inv = lab_inventory();
    Plan into;
    into.add_step(Stage::certificates, "certs");
    Plan later;
    later.add_step(Stage::patroni, "p");
    later.add_step(Stage::etcd, "e");
    append_plan(into, later);
    REQUIRE(into.stages.size() == 3);
    CHECK(into.stages[0].stage == Stage::certificates);
    CHECK(into.stages[1].stage == Stage::etcd);
    CHECK(into.stages[2].stage == Stage::patroni);
}
