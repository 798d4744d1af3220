// The bootstrap planner on scripted host facts: stage order, leader before replicas, what a
// converged cluster still plans, and the data-safety refusals (pgdr never deletes data).
#include "pg/bootstrap_plan.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.hpp"
#include "core/local_transport.hpp"
#include "pg/assessment.hpp"
#include "pg/facts.hpp"
#include "pg/foreign_guard.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/postgres_conf.hpp"
#include "pg/secrets.hpp"
#include "pg/stage_files.hpp"
#include "unit/pg/plan_fixtures.hpp"
#include "unit/pg/test_tls.hpp"

using namespace pgdr;
using namespace pgdr::pg;

using pgdr::testing::fresh_facts;
using pgdr::testing::k_secrets;
using pgdr::testing::lab_inventory;
using pgdr::testing::with_test_tls;

namespace {

std::vector<std::string> step_names(const Plan& plan, Stage stage) {
    std::vector<std::string> out;
    for (const auto& sp : plan.stages) {
        if (sp.stage == stage) {
            for (const auto& st : sp.steps) {
                out.push_back(st.name);
            }
        }
    }
    return out;
}

const Step* find_step(const Plan& plan, Stage stage, const std::string& name) {
    for (const auto& sp : plan.stages) {
        if (sp.stage != stage) {
            continue;
        }
        for (const auto& st : sp.steps) {
            if (st.name == name) {
                return &st;
            }
        }
    }
    return nullptr;
}

bool mentions(const Plan& plan, const std::string& needle) {
    for (const auto& sp : plan.stages) {
        for (const auto& st : sp.steps) {
            for (const auto& ha : st.hosts) {
                for (const auto& a : ha.actions) {
                    if (describe(a).find(needle) != std::string::npos) {
                        return true;
                    }
                }
            }
        }
    }
    return false;
}

// The plan's last command whose description starts with `prefix`; nullptr when none.
const RunCommand* last_command(const Plan& plan, const std::string& prefix) {
    const RunCommand* found = nullptr;
    for (const auto& sp : plan.stages) {
        for (const auto& st : sp.steps) {
            for (const auto& ha : st.hosts) {
                for (const auto& a : ha.actions) {
                    const auto* run = std::get_if<RunCommand>(&a);
                    if (run != nullptr && run->description.rfind(prefix, 0) == 0) {
                        found = run;
                    }
                }
            }
        }
    }
    return found;
}

}  // namespace

TEST_CASE("bootstrap plan: stages in order, etcd quorum before Patroni, leader first",
          "[pg][bootstrap]") {
    auto inv = lab_inventory();
    auto facts = fresh_facts(inv);
    auto plan = plan_bootstrap(inv, facts, with_test_tls(k_secrets, inv), "pg1");

    std::vector<Stage> order;
    for (const auto& sp : plan.stages) {
        order.push_back(sp.stage);
    }
    // Every stage in order; monitoring only with a monitor host (stage_monitoring.hpp).
    CHECK(order == std::vector<Stage>{Stage::packages, Stage::certificates, Stage::etcd,
                                      Stage::replication, Stage::patroni, Stage::haproxy,
                                      Stage::verify});
    inv.hosts[2].services.insert(Service::monitor);
    auto with_monitor = plan_bootstrap(inv, facts, with_test_tls(k_secrets, inv), "pg1");
    order.clear();
    for (const auto& sp : with_monitor.stages) {
        order.push_back(sp.stage);
    }
    // Every stage but backup (no backup section: the local cp archive, as before) and guard
    // (off by default: pgdr-guard needs provider.type ovh).
    std::vector<Stage> without_backup;
    for (Stage st : all_stages()) {
        if (st != Stage::backup && st != Stage::guard) {
            without_backup.push_back(st);
        }
    }
    CHECK(order == without_backup);
    CHECK_FALSE(mentions(plan, "pgbackrest"));
    CHECK(step_names(plan, Stage::etcd) ==
          std::vector<std::string>{"configure members", "take over Debian's single-node member",
                                   "start members together", "cluster health",
                                   "mark members formed"});
    const Step* leader = find_step(plan, Stage::patroni, "leader");
    const Step* replicas = find_step(plan, Stage::patroni, "replicas");
    REQUIRE(leader != nullptr);
    REQUIRE(replicas != nullptr);
    REQUIRE(leader->hosts.size() == 1);
    CHECK(leader->hosts[0].host == "pg1");
    CHECK(replicas->order == HostOrder::sequential);
    REQUIRE(replicas->hosts.size() == 2);
    CHECK(replicas->hosts[0].host == "pg2");
    CHECK(replicas->hosts[1].host == "pg3");
    // Replicas are cloned with their own slots, and streaming is checked on the leader.
    CHECK(mentions(plan, "slot pg2"));
    CHECK(mentions(plan, "slot pg3"));
    CHECK(mentions(plan, "every replica streaming (pg_stat_replication)"));
    CHECK(mentions(plan, "only the leader UP behind the write port"));
}

TEST_CASE(
    "bootstrap plan: the sync-standby and write-routing rules are the assessment's, "
    "judged in pgdr",
    "[pg][bootstrap]") {
    auto inv = lab_inventory();
    auto plan = plan_bootstrap(inv, fresh_facts(inv), with_test_tls(k_secrets, inv), "pg1");
    std::vector<std::string> scripts;
    std::vector<std::pair<std::string, WaitForCluster>> waits;
    for (const auto& sp : plan.stages) {
        for (const auto& st : sp.steps) {
            for (const auto& ha : st.hosts) {
                for (const auto& a : ha.actions) {
                    if (const auto* rc = std::get_if<RunCommand>(&a)) {
                        scripts.insert(scripts.end(), rc->argv.begin(), rc->argv.end());
                        if (rc->unless) {
                            scripts.insert(scripts.end(), rc->unless->begin(), rc->unless->end());
                        }
                    } else if (const auto* w = std::get_if<WaitFor>(&a)) {
                        scripts.insert(scripts.end(), w->probe.begin(), w->probe.end());
                    } else if (const auto* c = std::get_if<WaitForCluster>(&a)) {
                        waits.emplace_back(ha.host, *c);
                    }
                }
            }
        }
    }
    // No host-side script reads Patroni's member roles or HAProxy's statistics any more.
    for (const auto& word : scripts) {
        for (const char* rule :
             {"sync_standby", "quorum_standby", ";csv", "svname", "stats auth"}) {
            INFO(word);
            CHECK(word.find(rule) == std::string::npos);
        }
    }
    REQUIRE(waits.size() == 2);
    CHECK(waits[0].first == "pg1");
    CHECK(waits[0].second.description == "Patroni names a synchronous standby");
    CHECK(std::count(waits[0].second.absent.begin(), waits[0].second.absent.end(),
                     "no_sync_standby") == 1);
    CHECK(waits[1].first == "pg3");
    CHECK(waits[1].second.member == "pg3");
    CHECK(std::count(waits[1].second.absent.begin(), waits[1].second.absent.end(),
                     "haproxy_write_not_leader") == 1);
    for (const auto& [host, w] : waits) {
        CHECK_NOTHROW(snapshot_for(w.absent));  // every code is one of the assessment's
    }
    // Without synchronous_mode there is no standby to wait for.
    inv.patroni.synchronous_mode = false;
    auto async = plan_bootstrap(inv, fresh_facts(inv), with_test_tls(k_secrets, inv), "pg1");
    CHECK_FALSE(mentions(async, "Patroni names a synchronous standby"));
}

TEST_CASE("bootstrap plan: no secret in any argv", "[pg][bootstrap]") {
    auto inv = lab_inventory();
    auto plan = plan_bootstrap(inv, fresh_facts(inv), with_test_tls(k_secrets, inv), "pg1");
    for (const auto& sp : plan.stages) {
        for (const auto& st : sp.steps) {
            for (const auto& ha : st.hosts) {
                for (const auto& a : ha.actions) {
                    const std::vector<std::string>* argv = nullptr;
                    if (const auto* rc = std::get_if<RunCommand>(&a)) {
                        argv = &rc->argv;
                    } else if (const auto* w = std::get_if<WaitFor>(&a)) {
                        argv = &w->probe;
                    }
                    if (argv == nullptr) {
                        continue;
                    }
                    for (const auto& word : *argv) {
                        for (const char* secret :
                             {"repl-pw", "super-pw", "rewind-pw", "rest-pw", "probe-pw"}) {
                            INFO(describe(a));
                            CHECK(word.find(secret) == std::string::npos);
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("bootstrap plan: every sh -c script parses", "[pg][bootstrap]") {
    // A quote out of place in a script literal broke every first bootstrap (found on the lab:
    // the etcd reset's message had an apostrophe inside single quotes).
    auto inv = lab_inventory();
    auto plan = plan_bootstrap(inv, fresh_facts(inv), with_test_tls(k_secrets, inv), "pg1");
    int scripts = 0;
    for (const auto& sp : plan.stages) {
        for (const auto& st : sp.steps) {
            for (const auto& ha : st.hosts) {
                for (const auto& a : ha.actions) {
                    const auto* rc = std::get_if<RunCommand>(&a);
                    if (rc == nullptr || rc->argv.size() < 3 || rc->argv[0] != "sh" ||
                        rc->argv[1] != "-c") {
                        continue;
                    }
                    ++scripts;
                    pgdr::LocalTransport local;
                    auto r = local.run({"sh", "-n", "-c", rc->argv[2]}, pgdr::RunOptions{});
                    INFO(rc->argv[2] << "\n" << r.err);
                    CHECK(r.ok());
                }
            }
        }
    }
    CHECK(scripts > 0);
}

TEST_CASE("bootstrap plan: once Patroni runs, the replication stage is gone", "[pg][bootstrap]") {
    auto inv = lab_inventory();
    auto facts = fresh_facts(inv);
    for (auto& [name, f] : facts) {
        f.patroni_active = "active";
        f.sysid = "7000000000000000001";
        f.standby_signal = name != "pg2";
        f.patroni_role = name == "pg2" ? "primary" : "replica";
    }
    CHECK(choose_primary(inv, facts) == "pg2");
    auto plan = plan_bootstrap(inv, facts, with_test_tls(k_secrets, inv), "pg2");
    CHECK(step_names(plan, Stage::replication).empty());
    CHECK(find_step(plan, Stage::patroni, "leader")->hosts[0].host == "pg2");
}

TEST_CASE("bootstrap plan: a host added to a running cluster gets an empty data directory",
          "[pg][bootstrap]") {
    // Patroni clones the leader only into an empty directory; Debian's auto-created cluster on
    // the new host would stop it with "system ID mismatch" (seen on the lab, add-replica).
    auto inv = lab_inventory();
    auto facts = fresh_facts(inv);
    for (auto& [name, f] : facts) {
        if (name == "pg3") {
            continue;  // the new host: its own empty cluster, no Patroni yet
        }
        f.patroni_active = "active";
        f.patroni_header = pgdr_patroni_header(inv);
        f.sysid = "7000000000000000001";
        f.standby_signal = name != "pg1";
        f.patroni_role = name == "pg1" ? "primary" : "replica";
    }
    REQUIRE_NOTHROW(check_data_safety(inv, facts, "pg1", "7000000000000000001"));
    auto plan = plan_bootstrap(inv, facts, with_test_tls(k_secrets, inv), "pg1");
    CHECK(step_names(plan, Stage::replication) == std::vector<std::string>{"new members"});
    const auto* step = find_step(plan, Stage::replication, "new members");
    REQUIRE(step->hosts.size() == 1);
    CHECK(step->hosts[0].host == "pg3");
    CHECK(mentions(plan, "empty the auto-created cluster 700000000000000003"));
    // synchronous_mode (lab.yaml): bootstrap ends once Patroni named a synchronous standby.
    CHECK(mentions(plan, "Patroni names a synchronous standby"));
    inv.patroni.synchronous_mode = false;
    CHECK_FALSE(mentions(plan_bootstrap(inv, facts, with_test_tls(k_secrets, inv), "pg1"),
                         "Patroni names a synchronous standby"));

    // A new host whose cluster holds data is refused before anything is planned.
    facts["pg3"].user_objects = 2;
    CHECK_THROWS_AS(check_data_safety(inv, facts, "pg1", "7000000000000000001"), Error);
}

TEST_CASE("bootstrap: the first postgres host leads a fresh cluster", "[pg][bootstrap]") {
    auto inv = lab_inventory();
    CHECK(choose_primary(inv, fresh_facts(inv)) == "pg1");
}

TEST_CASE("bootstrap: a stopped standby cluster is led by the member holding a standby's data",
          "[pg][bootstrap][dr]") {
    // pgdr dr rebuild kept r2-pg2's data (standby.signal in) and set r2-pg1's aside: the kept
    // member becomes the standby leader and streams without a copy across the regions.
    const auto pair = load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-dr.yaml");
    const auto dr = dr_inventory(pair);
    auto facts = fresh_facts(dr);
    facts["r2-pg1"].data = "absent";
    facts["r2-pg1"].sysid.clear();
    facts["r2-pg2"].data = "cluster";
    facts["r2-pg2"].sysid = "7000000000000000001";
    facts["r2-pg2"].standby_signal = true;
    CHECK(choose_primary(dr, facts) == "r2-pg2");
    // An interrupted clone is no standby's data; a normal cluster keeps its first host.
    facts["r2-pg2"].basebackup_marker = true;
    CHECK(choose_primary(dr, facts) == "r2-pg1");
    facts["r2-pg2"].basebackup_marker = false;
    auto primary_facts = fresh_facts(pair);
    primary_facts["r1-pg2"].data = "cluster";
    primary_facts["r1-pg2"].standby_signal = true;
    CHECK(choose_primary(pair, primary_facts) == "r1-pg1");
}

TEST_CASE("data safety: Debian's empty clusters and replicas of the primary may be replaced",
          "[pg][bootstrap]") {
    auto inv = lab_inventory();
    auto facts = fresh_facts(inv);
    CHECK_NOTHROW(check_data_safety(inv, facts, "pg1", ""));
    facts["pg2"].sysid = facts["pg1"].sysid;
    facts["pg2"].standby_signal = true;
    facts["pg2"].user_objects = -1;  // a replica: not inspected, same cluster
    CHECK_NOTHROW(check_data_safety(inv, facts, "pg1", ""));
    facts["pg3"].data = "absent";
    facts["pg3"].sysid.clear();
    CHECK_NOTHROW(check_data_safety(inv, facts, "pg1", ""));
    facts["pg3"].data = "cluster";
    facts["pg3"].sysid = "7999";
    facts["pg3"].user_objects = 12;
    facts["pg3"].basebackup_marker = true;  // pgdr's own interrupted clone
    CHECK_NOTHROW(check_data_safety(inv, facts, "pg1", ""));
}

TEST_CASE("data safety: refusals", "[pg][bootstrap]") {
    auto inv = lab_inventory();
    auto expect_refusal = [&](const FactsMap& facts, const std::string& expected_sysid,
                              const std::string& words) {
        try {
            check_data_safety(inv, facts, "pg1", expected_sysid);
            FAIL("no refusal");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::postgres);
            CHECK_THAT(e.what(), Catch::Contains(words));
            CHECK_THAT(e.hint(), Catch::Contains("never"));
        }
    };
    SECTION("a replica holding another cluster with user data") {
        auto facts = fresh_facts(inv);
        facts["pg2"].user_objects = 3;
        expect_refusal(facts, "", "holds another cluster (system identifier 700000000000000002)");
    }
    SECTION("a replica whose other cluster cannot be inspected") {
        auto facts = fresh_facts(inv);
        facts["pg3"].user_objects = -1;
        facts["pg3"].pg_status = "down";
        expect_refusal(facts, "", "cannot inspect");
    }
    SECTION("a copy of the primary that is not in recovery and holds data") {
        auto facts = fresh_facts(inv);
        facts["pg2"].sysid = facts["pg1"].sysid;
        facts["pg2"].user_objects = 5;
        expect_refusal(facts, "", "pg2");
    }
    SECTION("a data directory with files but no cluster") {
        auto facts = fresh_facts(inv);
        facts["pg2"].data = "other";
        facts["pg2"].sysid.clear();
        expect_refusal(facts, "", "holds no cluster");
    }
    SECTION("the primary holds another cluster than the one recorded") {
        auto facts = fresh_facts(inv);
        expect_refusal(facts, "7123", "not 7123");
    }
}

TEST_CASE("data safety: an etcd member formed for another membership", "[pg][bootstrap]") {
    auto inv = lab_inventory();
    auto facts = fresh_facts(inv);
    facts["pg2"].etcd_marker = "name=pg2 token=other cluster=x";
    CHECK_THROWS_AS(check_data_safety(inv, facts, "pg1", ""), Error);
    facts["pg2"].etcd_marker = etcd_marker_content(inv, *inv.find_host("pg2"));
    CHECK_NOTHROW(check_data_safety(inv, facts, "pg1", ""));
}

TEST_CASE("data safety: a foreign etcd or Patroni cluster needs --adopt", "[pg][bootstrap]") {
    // Issue 13 item 1: an inventory pointed at a hand-built Patroni + etcd cluster, with a state
    // directory that records nothing (a new operator machine, a lost state directory).
    auto inv = lab_inventory();
    auto refused = [&](const FactsMap& facts, const std::string& sysid, const std::string& words) {
        try {
            check_data_safety(inv, facts, "pg1", sysid, false, "lab.yaml");
            FAIL("no refusal");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::postgres);
            CHECK_THAT(e.what(), Catch::Contains(words));
            CHECK_THAT(e.hint(), Catch::Contains("pgdr bootstrap -i lab.yaml --adopt"));
        }
        CHECK_NOTHROW(check_data_safety(inv, facts, "pg1", sysid, true, "lab.yaml"));
    };
    SECTION("an etcd member with keys and three members is not reset") {
        auto facts = fresh_facts(inv);
        facts["pg2"].etcd_data = true;
        facts["pg2"].etcd_members = 3;
        facts["pg2"].etcd_keys = 1;
        refused(facts, "", "3 member(s) and keys");
        // With --adopt it is kept: the plan has no reset for pg2, still one for the others.
        const auto plan = plan_bootstrap(inv, facts, with_test_tls(k_secrets, inv), "pg1");
        const auto* reset = find_step(plan, Stage::etcd, "take over Debian's single-node member");
        REQUIRE(reset != nullptr);
        for (const auto& h : reset->hosts) {
            CHECK(h.host != "pg2");
        }
        CHECK(reset->hosts.size() == inv.hosts_with(Service::etcd).size() - 1);
    }
    SECTION("pgdr's own formation, interrupted before its marker, is not foreign") {
        auto facts = fresh_facts(inv);
        facts["pg2"].etcd_data = true;
        facts["pg2"].etcd_members = 3;
        facts["pg2"].etcd_keys = 0;
        facts["pg2"].etcd_member_names = "pg1,pg2,pg3";
        CHECK_NOTHROW(check_data_safety(inv, facts, "pg1", "", false, "lab.yaml"));
        facts["pg2"].etcd_member_names = "etcd-a,etcd-b,etcd-c";
        CHECK_THROWS_AS(check_data_safety(inv, facts, "pg1", "", false, "lab.yaml"), Error);
    }
    SECTION("an etcd data directory whose member does not answer") {
        auto facts = fresh_facts(inv);
        facts["pg3"].etcd_data = true;
        refused(facts, "", "did not answer");
        // A forming marker of another membership changes nothing.
        facts["pg3"].etcd_forming = "name=pg3 token=pgdr-other cluster=x";
        refused(facts, "", "did not answer");
    }
    SECTION("pgdr's own formation cut off while the members waited for quorum") {
        // e2e_bootstrap: a first bootstrap killed 7 s in, after pg1's etcd started and before
        // the others: the re-run found pg1's member answering nothing and refused (exit 6).
        auto facts = fresh_facts(inv);
        facts["pg1"].etcd_data = true;
        facts["pg1"].etcd_forming = etcd_marker_content(inv, *inv.find_host("pg1"));
        CHECK_NOTHROW(check_data_safety(inv, facts, "pg1", "", false, "lab.yaml"));
        // The re-run starts it again without a reset (its data is pgdr's).
        const auto plan = plan_bootstrap(inv, facts, with_test_tls(k_secrets, inv), "pg1");
        const auto* reset = find_step(plan, Stage::etcd, "take over Debian's single-node member");
        REQUIRE(reset != nullptr);
        for (const auto& h : reset->hosts) {
            CHECK(h.host != "pg1");
        }
    }
    SECTION("Debian's pristine single-node member is fine") {
        auto facts = fresh_facts(inv);
        facts["pg2"].etcd_data = true;
        facts["pg2"].etcd_members = 1;
        facts["pg2"].etcd_keys = 0;
        CHECK_NOTHROW(check_data_safety(inv, facts, "pg1", "", false, "lab.yaml"));
    }
    SECTION("Patroni running with a configuration pgdr did not write") {
        auto facts = fresh_facts(inv);
        facts["pg1"].patroni_active = "active";
        facts["pg1"].patroni_role = "primary";
        facts["pg1"].patroni_header = "scope: main";
        refused(facts, "", "configuration pgdr did not write");
    }
    SECTION("pgdr's Patroni, but the state directory records no system identifier") {
        auto facts = fresh_facts(inv);
        facts["pg1"].patroni_active = "active";
        facts["pg1"].patroni_role = "primary";
        facts["pg1"].patroni_header = pgdr_patroni_header(inv);
        refused(facts, "", "records no system identifier");
        CHECK_NOTHROW(check_data_safety(inv, facts, "pg1", facts["pg1"].sysid, false, "x"));
    }
}

TEST_CASE("host facts: the etcd and Patroni ownership lines are parsed", "[pg][bootstrap]") {
    auto f = parse_facts("pg1",
                         "etcd_data=1\netcd_members=3\netcd_keys=1\npatroni_header=# hand made\n"
                         "etcd_forming=name=pg1 token=t\n");
    CHECK(f.etcd_forming == "name=pg1 token=t");
    CHECK(f.etcd_data);
    CHECK(f.etcd_members == 3);
    CHECK(f.etcd_keys == 1);
    CHECK_FALSE(f.etcd_pristine());
    CHECK(f.patroni_header == "# hand made");
    CHECK(parse_facts("pg1", "").etcd_pristine());
    // The header pgdr recognises is the one it writes (the golden patroni.yml's first line).
    std::ifstream golden(std::string(PGDR_GOLDEN_DIR) + "/lab/pg1/etc/patroni/17-main.yml");
    std::string first;
    std::getline(golden, first);
    CHECK(first == pgdr_patroni_header(lab_inventory()));
}

TEST_CASE("data safety: other passwords than the cluster's are refused", "[pg][bootstrap]") {
    // Issue 13 item 7: a lost or regenerated state directory generates new passwords; written
    // into patroni.yml they lock every replica out at its next reconnect.
    auto inv = lab_inventory();
    const std::string ours = secrets_fingerprint(k_secrets);
    Secrets regenerated = k_secrets;
    regenerated.replication_password = "brand-new";
    CHECK(secrets_fingerprint(regenerated) != ours);
    CHECK(ours.size() == 16);

    auto facts = fresh_facts(inv);
    CHECK_NOTHROW(check_secrets_match(inv, facts, ours));  // nothing recorded yet
    for (auto& [name, f] : facts) {
        f.patroni_active = "active";
        f.secrets_fingerprint = secrets_record(inv, ours);
    }
    CHECK_NOTHROW(check_secrets_match(inv, facts, ours));
    try {
        check_secrets_match(inv, facts, secrets_fingerprint(regenerated));
        FAIL("new passwords accepted for a running cluster");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::invalid_config);
        CHECK_THAT(e.what(), Catch::Contains("other passwords"));
        CHECK_THAT(e.hint(), Catch::Contains("restore"));
        CHECK(std::string(e.what()).find(k_secrets.replication_password) == std::string::npos);
    }
    // The record is part of what bootstrap writes to every PostgreSQL host.
    bool written = false;
    for (const auto& f : stage_files(inv, *inv.find_host("pg2"), *inv.find_host("pg1"),
                                     with_test_tls(k_secrets, inv), Stage::patroni)) {
        if (f.path == secrets_fingerprint_path()) {
            written = f.content == secrets_record(inv, ours) + "\n";
        }
    }
    CHECK(written);
}

TEST_CASE("host facts: the remote script's output is parsed", "[pg][bootstrap]") {
    const std::string out =
        "os=trixie\npkg=postgresql-17=1\npkg=patroni=0\ndata=cluster\n"
        "sysid=7712238988523315303\ncluster_state=in production\nstandby=1\n"
        "pg_status=online,recovery\nuser_objects=0\nactive=patroni@17-main=active\n"
        "active=postgresql@17-main=inactive\nactive=etcd=active\nactive=haproxy=failed\n"
        "patroni_role=replica\npatroni_state=streaming\netcd_marker=name=pg1 token=t\ngarbage\n";
    auto f = parse_facts("pg1", out);
    CHECK(f.os_codename == "trixie");
    CHECK(f.installed("postgresql-17"));
    CHECK_FALSE(f.installed("patroni"));
    CHECK_FALSE(f.all_installed({"postgresql-17", "patroni"}));
    CHECK(f.data == "cluster");
    CHECK(f.sysid == "7712238988523315303");
    CHECK(f.standby_signal);
    CHECK(f.pg_running());
    CHECK(f.pristine());
    CHECK(f.patroni_running());
    CHECK_FALSE(f.patroni_leader());
    CHECK(f.postgresql_active == "inactive");
    CHECK(f.haproxy_active == "failed");
    CHECK(f.etcd_marker == "name=pg1 token=t");
    CHECK(f.errors == std::vector<std::string>{"garbage"});
}

TEST_CASE("host facts: the script takes every value as a parameter", "[pg][bootstrap]") {
    auto inv = lab_inventory();
    auto argv = facts_argv(inv, *inv.find_host("pg3"));
    REQUIRE(argv.size() > 9);
    CHECK(argv[0] == "sh");
    CHECK(argv[4] == "17");
    CHECK(argv[5] == "198.18.0.13");
    CHECK(argv[2].find("198.18") == std::string::npos);  // the script itself is constant
    CHECK(std::find(argv.begin(), argv.end(), "python3-etcd") != argv.end());
    CHECK(std::find(argv.begin(), argv.end(), "haproxy") != argv.end());
}

TEST_CASE("bootstrap plan: certificates before etcd, etcd health over TLS", "[pg][bootstrap]") {
    const Inventory inv = lab_inventory();
    const auto plan = plan_bootstrap(inv, fresh_facts(inv), with_test_tls(k_secrets, inv), "pg1");
    REQUIRE(plan.stages.size() >= 3);
    CHECK(plan.stages[1].stage == Stage::certificates);
    const auto* health = find_step(plan, Stage::etcd, "cluster health");
    REQUIRE(health != nullptr);
    const auto& probe = std::get<WaitFor>(health->hosts[0].actions[0]).probe;
    CHECK(std::find(probe.begin(), probe.end(), "--cert=/etc/pgdr/tls/etcd.crt") != probe.end());
    CHECK(probe[1].find("--endpoints=https://") == 0);
}

namespace {

Inventory lab_backup_inventory() {
    return load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-backup.yaml");
}

Secrets backup_secrets(const Inventory& inv) {
    Secrets s = k_secrets;
    s.backup = {"cipher-pw", "AKTEST", "s3-secret", "-----BEGIN CERTIFICATE-----\nx\n"};
    return with_test_tls(s, inv);
}

const RunCommand* find_command(const Step& step, const std::string& host,
                               const std::string& description_start) {
    for (const auto& ha : step.hosts) {
        if (ha.host != host) {
            continue;
        }
        for (const auto& a : ha.actions) {
            const auto* c = std::get_if<RunCommand>(&a);
            if (c != nullptr && c->description.rfind(description_start, 0) == 0) {
                return c;
            }
        }
    }
    return nullptr;
}

}  // namespace

TEST_CASE("bootstrap plan: the backup stage with a backup section", "[pg][bootstrap][backup]") {
    const auto inv = lab_backup_inventory();
    const auto facts = fresh_facts(inv);
    const auto plan = plan_bootstrap(inv, facts, backup_secrets(inv), "pg1");
    std::vector<Stage> order;
    for (const auto& sp : plan.stages) {
        order.push_back(sp.stage);
    }
    // After replication (the primary runs), before patroni (which switches archive_command).
    CHECK(order == std::vector<Stage>{Stage::packages, Stage::certificates, Stage::etcd,
                                      Stage::replication, Stage::backup, Stage::patroni,
                                      Stage::haproxy, Stage::verify});
    CHECK(step_names(plan, Stage::backup) ==
          std::vector<std::string>{"pgBackRest on the members", "archive to pgBackRest", "stanza"});
    // No local cp archive directory any more.
    CHECK_FALSE(mentions(plan, "create the WAL archive directory"));
    const Step* members = find_step(plan, Stage::backup, "pgBackRest on the members");
    REQUIRE(members != nullptr);
    REQUIRE(members->hosts.size() == 3);
    const auto& first = members->hosts[0].actions;
    // The package before its configuration file.
    REQUIRE(std::holds_alternative<RunCommand>(first[0]));
    CHECK(std::get<RunCommand>(first[0]).description == "install pgbackrest (2.55.1)");
    bool conf = false;
    for (const auto& a : first) {
        if (const auto* f = std::get_if<PutFile>(&a);
            f && f->path == "/etc/pgbackrest/pgbackrest.conf") {
            conf = true;
            CHECK(f->spec.mode == "0640");
            CHECK(f->spec.owner == "root:postgres");
            CHECK(f->secrecy == Secrecy::password_lines);
        }
    }
    CHECK(conf);
    const Step* stanza = find_step(plan, Stage::backup, "stanza");
    REQUIRE(stanza != nullptr);
    REQUIRE(stanza->hosts.size() == 1);
    CHECK(stanza->hosts[0].host == "pg1");
    const auto* create = find_command(*stanza, "pg1", "create the stanza lab");
    REQUIRE(create != nullptr);
    CHECK(create->argv == std::vector<std::string>{"runuser", "-u", "postgres", "--", "pgbackrest",
                                                   "--stanza=lab", "stanza-create"});
    REQUIRE(create->unless);
    const Step* verify = find_step(plan, Stage::verify, "cluster checks");
    REQUIRE(verify != nullptr);
    const auto* check = find_command(*verify, "pg1", "pgbackrest check");
    REQUIRE(check != nullptr);
    CHECK(check->check_only);
    // Secrets never in argv.
    for (const auto& sp : plan.stages) {
        for (const auto& st : sp.steps) {
            for (const auto& ha : st.hosts) {
                for (const auto& a : ha.actions) {
                    if (const auto* c = std::get_if<RunCommand>(&a)) {
                        for (const auto& arg : c->argv) {
                            CHECK(arg.find("s3-secret") == std::string::npos);
                            CHECK(arg.find("cipher-pw") == std::string::npos);
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("bootstrap plan: a cluster on the cp archive is moved, its directory left",
          "[pg][bootstrap][backup]") {
    const auto inv = lab_backup_inventory();
    const auto plan = plan_bootstrap(inv, fresh_facts(inv), backup_secrets(inv), "pg1");
    const Step* move = find_step(plan, Stage::backup, "archive to pgBackRest");
    REQUIRE(move != nullptr);
    const auto* c = find_command(*move, "pg2", "move WAL archiving from the local cp archive");
    REQUIRE(c != nullptr);
    CHECK(c->description.find("/var/lib/postgresql/wal_archive is left in place") !=
          std::string::npos);
    REQUIRE(c->unless);
    // The unless runs for real on this machine against two files: skipped (exit 0) when no file
    // archives with cp into the directory, planned (exit 1) when one does.
    char dir_template[] = "/tmp/pgdr-move-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template;
    auto unless = *c->unless;
    REQUIRE(unless.size() == 7);
    unless[5] = dir + "/patroni.yml";
    unless[6] = dir + "/pgdr.conf";
    LocalTransport local;
    std::ofstream(unless[5])
        << "archive_command: \"pgbackrest --stanza=lab archive-push \\\"%p\\\"\"\n";
    CHECK(local.run(unless, {}).exit_status == 0);
    std::ofstream(unless[6]) << "archive_command = '" << archive_command(inv.paths.archive_dir)
                             << "'\n";
    CHECK(local.run(unless, {}).exit_status == 1);
    std::filesystem::remove_all(dir);

    // pgBackRest's check waits until the leader's PostgreSQL archives through pgBackRest:
    // Patroni applies the new archive_command a loop after its reload, and on the lab the
    // check ran first and failed ("archive_command '... cp ...' must contain pgbackrest").
    const Step* verify = find_step(plan, Stage::verify, "cluster checks");
    REQUIRE(verify != nullptr);
    REQUIRE(verify->hosts.size() == 1);
    const auto& acts = verify->hosts[0].actions;
    std::optional<size_t> wait_at, check_at;
    for (size_t i = 0; i < acts.size(); ++i) {
        if (const auto* w = std::get_if<WaitFor>(&acts[i]);
            w != nullptr &&
            w->description.find("archives through pgBackRest") != std::string::npos) {
            wait_at = i;
            CHECK(w->probe.back() == "select current_setting('archive_command') = '" +
                                         pgbackrest_archive_command(inv) + "'");
            CHECK(w->timeout == std::chrono::seconds(60));
        }
        if (const auto* r = std::get_if<RunCommand>(&acts[i]);
            r != nullptr && r->description.find("pgbackrest check") == 0) {
            check_at = i;
        }
    }
    REQUIRE(wait_at);
    REQUIRE(check_at);
    CHECK(*wait_at + 1 == *check_at);
}

TEST_CASE("bootstrap plan: a running etcd cluster is restarted one member at a time",
          "[pg][bootstrap]") {
    // A changed /etc/default/etcd (a pgdr upgrade) restarted every member at once: no quorum
    // until they all came back, and Patroni could not renew its leader key meanwhile.
    const Inventory inv = lab_inventory();
    auto facts = fresh_facts(inv);
    const auto fresh = plan_bootstrap(inv, facts, with_test_tls(k_secrets, inv), "pg1");
    REQUIRE(find_step(fresh, Stage::etcd, "start members together") != nullptr);
    CHECK(find_step(fresh, Stage::etcd, "start members together")->order == HostOrder::parallel);
    // A new cluster: each member marked as pgdr's before its first start (a run cut off while
    // the members wait for quorum leaves members that answer nothing).
    for (const auto& ha : find_step(fresh, Stage::etcd, "start members together")->hosts) {
        const auto* forming = std::get_if<PutFile>(&ha.actions.front());
        REQUIRE(forming != nullptr);
        CHECK(forming->path == etcd_forming_marker_path());
        CHECK(forming->content == etcd_marker_content(inv, *inv.find_host(ha.host)) + "\n");
    }

    // As the facts of a cluster pgdr formed read: the marker, no member count (not gathered
    // when the marker is there). On the lab the old test (members > 1) never held.
    for (const auto* h : inv.hosts_with(Service::etcd)) {
        facts[h->name].etcd_active = "active";
        facts[h->name].etcd_marker = etcd_marker_content(inv, *h);
        facts[h->name].etcd_data = false;
    }
    const auto running = plan_bootstrap(inv, facts, with_test_tls(k_secrets, inv), "pg1");
    CHECK(find_step(running, Stage::etcd, "start members together") == nullptr);
    const auto* rolling = find_step(running, Stage::etcd, "restart changed members one at a time");
    REQUIRE(rolling != nullptr);
    CHECK(rolling->order == HostOrder::sequential);
    REQUIRE(rolling->hosts.size() == 3);
    for (const auto& ha : rolling->hosts) {
        CHECK(std::get_if<PutFile>(&ha.actions.front()) == nullptr);  // no forming marker
        const auto* restart = find_command(*rolling, ha.host, "restart etcd");
        REQUIRE(restart != nullptr);
        // Blocking: the unit (Type=notify) returns once the member serves again.
        CHECK(restart->argv == std::vector<std::string>{"systemctl", "restart", "etcd"});
        const auto* healthy = std::get_if<WaitFor>(&ha.actions.back());
        REQUIRE(healthy != nullptr);
        CHECK(healthy->description == "etcd: " + ha.host + " healthy");
        CHECK(healthy->probe[1] ==
              "--endpoints=https://" + inv.find_host(ha.host)->address + ":2379");
    }
}

TEST_CASE("host facts: a formed etcd member counts as running (bootstrap takes the lock first)",
          "[pg][bootstrap]") {
    // bootstrap takes the cluster lock before its plan when etcd runs; on a re-bootstrap the
    // facts carry pgdr's marker and no member count, and the old test (members > 1) said no
    // etcd ran: the plan then ran without the lock and without the left-fault check.
    pgdr::pg::HostFacts f;
    f.etcd_active = "active";
    CHECK_FALSE(f.etcd_member_running());  // Debian's single member, or a member being formed
    f.etcd_marker = "pg1 cluster=pg1=http://198.18.0.11:2380";
    CHECK(f.etcd_member_running());
    f.etcd_active = "inactive";
    CHECK_FALSE(f.etcd_member_running());
    pgdr::pg::HostFacts adopted;  // a foreign cluster of three, no marker
    adopted.etcd_active = "active";
    adopted.etcd_members = 3;
    CHECK(adopted.etcd_member_running());
    adopted.etcd_members = 1;
    CHECK_FALSE(adopted.etcd_member_running());
}

TEST_CASE("data safety: a DR cluster's first member is replaced only when it holds nothing",
          "[pg][bootstrap][dr]") {
    const auto pair = load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-dr.yaml");
    const auto dr = dr_inventory(pair);
    const std::string primary_sysid = "7000000000000000042";
    auto facts = fresh_facts(dr);
    // Debian's empty auto-created cluster: another system identifier, cloned over.
    CHECK_NOTHROW(check_data_safety(dr, facts, "r2-pg1", primary_sysid));
    // Already a standby of the primary cluster.
    facts["r2-pg1"].sysid = primary_sysid;
    facts["r2-pg1"].standby_signal = true;
    CHECK_NOTHROW(check_data_safety(dr, facts, "r2-pg1", primary_sysid));
    // A standby of some other cluster with tables, or a cluster with data of its own: refused.
    facts["r2-pg1"].sysid = "7999";
    facts["r2-pg1"].user_objects = 4;
    CHECK_THROWS_WITH(check_data_safety(dr, facts, "r2-pg1", primary_sysid),
                      Catch::Contains("not a standby of lab"));
    facts["r2-pg1"].standby_signal = false;
    facts["r2-pg1"].user_objects = 3;
    CHECK_THROWS_AS(check_data_safety(dr, facts, "r2-pg1", primary_sysid), Error);
    // pgdr's own interrupted clone goes.
    facts["r2-pg1"].basebackup_marker = true;
    CHECK_NOTHROW(check_data_safety(dr, facts, "r2-pg1", primary_sysid));
}

TEST_CASE("bootstrap plan: a DR cluster clones the primary cluster through its slot",
          "[pg][bootstrap][dr]") {
    const auto pair = load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-dr.yaml");
    const auto primary_plan =
        plan_bootstrap(pair, fresh_facts(pair), with_test_tls(k_secrets, pair), "r1-pg1");
    CHECK(mentions(primary_plan, "the DR slot pgdr_dr on the leader"));
    const auto dr = dr_inventory(pair);
    const auto plan = plan_bootstrap(dr, fresh_facts(dr), with_test_tls(k_secrets, dr), "r2-pg1");
    CHECK(step_names(plan, Stage::replication) ==
          std::vector<std::string>{"standby leader", "replicas", "replicas streaming"});
    CHECK(mentions(plan, "clone lab with pg_basebackup (slot pgdr_dr)"));
    // The clone drops the source's cached Patroni configuration (patroni.dynamic.json): with
    // the primary's copy Patroni started the DR member as a primary and promoted it.
    const auto* clone = last_command(plan, "clone lab");
    REQUIRE(clone != nullptr);
    CHECK(clone->argv.at(2).find("rm -f \"$d/patroni.dynamic.json\"") != std::string::npos);
    CHECK(mentions(plan, "streaming from lab"));
    CHECK(mentions(plan, "Patroni answers GET /standby-leader"));
    CHECK(mentions(plan, "lands on the standby leader"));
    CHECK_FALSE(mentions(plan, "Patroni names a synchronous standby"));
    CHECK_FALSE(mentions(plan, "create the replication, rewind and probe roles"));
}

TEST_CASE("bootstrap plan: a DR cluster reads the primary's S3 archive, read only",
          "[pg][bootstrap][dr][backup]") {
    // Issue 16: restore_command from the backup repository as the fallback when streaming
    // from the primary cluster breaks (a slot invalidated, the WAN down longer than the
    // primary keeps WAL).
    const auto pair =
        load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-dr-backup.yaml");
    const auto dr = dr_inventory(pair);
    REQUIRE(dr.standby_of->archive);
    CHECK_FALSE(dr.backup);  // the DR cluster archives and backs up nothing itself
    CHECK(pgbackrest_dr_restore_command(dr) == "pgbackrest --stanza=lab archive-get %f \"%p\"");
    const auto secrets = backup_secrets(dr);
    const auto conf = render_pgbackrest_dr_conf(dr, secrets);
    for (const char* line :
         {"[global]\n", "repo1-type=s3\n", "repo1-path=/pgbackrest/lab\n", "repo1-s3-key=AKTEST\n",
          "repo1-cipher-pass=cipher-pw\n", "\n[lab]\npg1-path=/var/lib/postgresql/17/main\n"}) {
        CAPTURE(line);
        CHECK(conf.find(line) != std::string::npos);
    }
    for (const char* absent : {"retention", "tls-server", "pg2-", "backup-standby"}) {
        CAPTURE(absent);
        CHECK(conf.find(absent) == std::string::npos);
    }
    const auto plan = plan_bootstrap(dr, fresh_facts(dr), secrets, "r2-pg1");
    CHECK(step_names(plan, Stage::backup) ==
          std::vector<std::string>{"pgBackRest on the members (archive-get)"});
    const Step* members = find_step(plan, Stage::backup, "pgBackRest on the members (archive-get)");
    REQUIRE(members != nullptr);
    CHECK(members->hosts.size() == 2);
    CHECK(find_command(*members, "r2-pg2", "install pgbackrest") != nullptr);
    CHECK_FALSE(mentions(plan, "create the stanza"));
    CHECK_FALSE(mentions(plan, "enable pgdr-pgbackrest-server.service"));
    // The standby cluster's dynamic configuration carries the fallback.
    const auto* patch = last_command(plan, "apply the inventory's DCS settings");
    REQUIRE(patch != nullptr);
    CHECK(nlohmann::json::parse(patch->argv.back())
              .at("standby_cluster")
              .value("restore_command", "") == pgbackrest_dr_restore_command(dr));

    // A repository host (posix) is not reached from the DR region: streaming only.
    auto posix = pair;
    posix.backup->repo.type = "posix";
    CHECK_FALSE(dr_inventory(posix).standby_of->archive);
    // Without a backup section nothing of pgBackRest on the DR cluster.
    auto plain = pair;
    plain.backup.reset();
    const auto plain_dr = dr_inventory(plain);
    CHECK_FALSE(plain_dr.standby_of->archive);
    CHECK(step_names(plan_bootstrap(plain_dr, fresh_facts(plain_dr),
                                    with_test_tls(k_secrets, plain_dr), "r2-pg1"),
                     Stage::backup)
              .empty());
    CHECK_THROWS_AS(render_pgbackrest_dr_conf(plain_dr, secrets), Error);
}
