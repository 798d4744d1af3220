#include "drills/faults.hpp"

#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "drills/cluster_checks.hpp"
#include "drills/haproxy_stats.hpp"
#include "drills/node_sampler.hpp"

using namespace pgdr;
using namespace pgdr::drills;

namespace {
DrillTopology topology(int etcd) {
    DrillTopology t;
    t.cluster = "c";
    t.postgres = {{"pg1", "10.0.0.1"}, {"pg2", "10.0.0.2"}, {"pg3", "10.0.0.3"}};
    t.etcd.assign(t.postgres.begin(), t.postgres.begin() + etcd);
    t.haproxy = {{"hp1", "10.0.0.9"}};
    return t;
}
}  // namespace

TEST_CASE("faults: argv of the unit commands", "[drills][faults]") {
    CHECK(kill_unit_argv("patroni@17-main") ==
          std::vector<std::string>{"systemctl", "kill", "-s", "SIGKILL", "patroni@17-main"});
    CHECK(start_unit_argv("etcd") == std::vector<std::string>{"systemctl", "start", "etcd"});
    CHECK(stop_unit_argv("patroni@15-main") ==
          std::vector<std::string>{"systemctl", "stop", "patroni@15-main"});
    CHECK(partition_heal_argv() ==
          std::vector<std::string>{"nft", "delete", "table", "inet", "pgdr_partition"});
    auto safety = partition_safety_argv(std::chrono::seconds(420));
    CHECK(safety[0] == "systemd-run");
    CHECK(safety[2] == "--on-active=420s");
    CHECK(safety.back() == "pgdr_partition");
}

TEST_CASE("faults: the partition ruleset keeps loopback and SSH, drops the rest",
          "[drills][faults]") {
    auto rules = partition_ruleset(2222);
    // Replaced atomically whether or not it exists.
    CHECK(rules.rfind("table inet pgdr_partition\ndelete table inet pgdr_partition\n", 0) == 0);
    CHECK(rules.find("iifname \"lo\" accept") != std::string::npos);
    CHECK(rules.find("oifname \"lo\" accept") != std::string::npos);
    CHECK(rules.find("tcp dport 2222 accept") != std::string::npos);
    CHECK(rules.find("tcp sport 2222 accept") != std::string::npos);
    CHECK(rules.find("reject") == std::string::npos);
    // The drop comes after the exceptions in both chains.
    auto in_drop = rules.find("drop", rules.find("chain input"));
    CHECK(in_drop > rules.find("tcp dport 2222"));
}

TEST_CASE("faults: targets", "[drills][faults]") {
    auto t = topology(3);
    CHECK(fault_target(FaultKind::kill_primary, t, "pg2") == "pg2");
    CHECK(fault_target(FaultKind::switchover, t, "pg2") == "pg2");
    CHECK(fault_target(FaultKind::kill_etcd_member, t, "pg1") == "pg2");
    CHECK(fault_target(FaultKind::kill_etcd_member, t, "pg2") == "pg1");
    CHECK(fault_target(FaultKind::kill_haproxy, t, "pg1") == "hp1");
    CHECK_THROWS_AS(fault_target(FaultKind::reboot_primary, t, "pg1"), Error);
    auto small = topology(1);
    try {
        fault_target(FaultKind::kill_etcd_member, small, "pg1");
        FAIL("one etcd member cannot lose one");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::usage);
    }
}

TEST_CASE("cluster checks: pg_stat_replication rows, histories, candidates", "[drills][checks]") {
    auto rows = parse_replication_rows("pg2|streaming|0\npg3|catchup|\n\nbad\n");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].name == "pg2");
    CHECK(rows[0].lag_bytes == std::optional<std::int64_t>(0));
    CHECK(rows[1].state == "catchup");
    CHECK_FALSE(rows[1].lag_bytes.has_value());

    auto h = parse_history("1\t0/3000060\tno recovery target specified\n\n2\t0/5000000\tx\n");
    REQUIRE(h.size() == 2);
    CHECK(h[1] == std::make_pair(2, std::string("0/5000000")));

    pg::ClusterView v;
    v.leader = "pg1";
    v.members = {{"pg1", "leader", "running", "", 4, std::nullopt},
                 {"pg2", "replica", "streaming", "", 4, 900},
                 {"pg3", "replica", "streaming", "", 4, 100},
                 {"pg4", "replica", "streaming", "", 3, 0}};
    CHECK(best_candidate(v) == "pg3");  // least lag on the leader's timeline
    v.members[1].role = "sync_standby";
    CHECK(best_candidate(v) == "pg2");  // a sync standby first
    v.members[1].state = "stopped";
    v.members[2].state = "starting";
    CHECK(best_candidate(v).empty());  // pg4 is on an old timeline (P12)

    auto argv = psql_argv("pgdr", {{"run", "c-1"}});
    CHECK(argv == std::vector<std::string>{"runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v",
                                           "ON_ERROR_STOP=1", "-v", "run=c-1", "-d", "pgdr"});
}

TEST_CASE("haproxy stats: CSV servers of primary and replicas", "[drills][haproxy]") {
    std::string csv =
        "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,"
        "wretr,wredis,status,weight\n"
        "stats,FRONTEND,,,0,1,,,,,,,,,,,,OPEN,\n"
        "primary,FRONTEND,,,0,1,,,,,,,,,,,,OPEN,\n"
        "primary,pg1,0,0,1,1,100,1,,,,,,0,0,0,0,UP,1\n"
        "primary,pg2,0,0,0,0,100,0,,,,,,0,0,0,0,DOWN,1\n"
        "primary,BACKEND,0,0,1,1,,1,,,,,,0,0,0,0,UP,1\n"
        "replicas,pg2,0,0,0,0,100,0,,,,,,0,0,0,0,UP 1/2,1\n"
        "other,pg1,0,0,0,0,100,0,,,,,,0,0,0,0,UP,1\n";
    auto rows = parse_haproxy_csv(csv);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].port == HaproxyPort::write);
    CHECK(rows[0].server == "pg1");
    CHECK(rows[0].up());
    CHECK_FALSE(rows[1].up());
    CHECK(rows[2].port == HaproxyPort::read);
    CHECK(rows[2].status == "UP 1/2");
    CHECK(parse_haproxy_csv("<html>not csv</html>").empty());
    CHECK(haproxy_stats_url("10.0.0.9", 7000) == "http://10.0.0.9:7000/;csv");
}

TEST_CASE("node sampler: timeline from a WAL file name", "[drills][sampler]") {
    CHECK(timeline_from_walfile("000000030000000000000004") == std::optional<int>(3));
    CHECK(timeline_from_walfile("0000000A0000000000000004") == std::optional<int>(10));
    CHECK_FALSE(timeline_from_walfile("").has_value());
    CHECK_FALSE(timeline_from_walfile("zz0000030000000000000004").has_value());
}
