#include "drills/faults.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/strings.hpp"
#include "drills/cluster_checks.hpp"
#include "drills/haproxy_stats.hpp"
#include "drills/node_sampler.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/recording_http_client.hpp"
#include "fakes/recording_transport.hpp"
#include "pg/debian_paths.hpp"
#include "pg/etcd_config.hpp"
#include "unit/drills/fake_cluster.hpp"

using namespace pgdr;
using namespace pgdr::drills;
using pgdr::drills::testing::FakeHostControl;
using pgdr::testing::RecordingTransport;

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
    CHECK(fault_target(FaultKind::reboot_primary, t, "pg2") == "pg2");
    auto small = topology(1);
    try {
        fault_target(FaultKind::kill_etcd_member, small, "pg1");
        FAIL("one etcd member cannot lose one");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::usage);
    }
}

namespace {

// The FaultInjector alone for reboot-primary: pg1's boot id answers are scripted, one per read
// ("down": the connection fails; the last answer repeats).
struct RebootRig {
    DrillTopology t = topology(3);
    fakes::ManualClock clock;
    fakes::RecordingHttpClient http;
    DirectReach reach;
    RecordingTransport pg1{"pg1"};
    FakeHostControl control;
    std::vector<std::string> answers;
    FaultPlan plan;

    RebootRig() {
        t.patroni_unit = "patroni@17-main";
        plan.kind = FaultKind::reboot_primary;
        plan.leader = plan.target = "pg1";
        pg1.on({"cat", "--", k_boot_id_path}, [this](const auto&, const auto&) {
            std::string a = answers.front();
            if (answers.size() > 1) {
                answers.erase(answers.begin());
            }
            if (a == "down") {
                throw Error(ExitCode::unreachable, "pg1: connection refused (simulated)");
            }
            CommandResult r;
            r.exit_status = 0;
            r.out = a + "\n";
            return r;
        });
    }
    FaultInjector injector(HostControl* host_control) {
        return FaultInjector(
            FaultSeams{t, clock, [this](const std::string&) -> Transport& { return pg1; },
                       host_control, http, reach, "patroni", "secret", std::chrono::seconds(600),
                       std::chrono::seconds(30), std::chrono::seconds(1)});
    }
    std::vector<std::string> commands() const {
        std::vector<std::string> out;
        for (const auto& c : pg1.calls()) {
            std::string line;
            for (const auto& a : c.argv) {
                line += (line.empty() ? "" : " ") + a;
            }
            out.push_back(line);
        }
        return out;
    }
};

}  // namespace

TEST_CASE("faults: reboot-primary resets the host and waits for a new boot id",
          "[drills][faults]") {
    RebootRig rig;
    // Before the reset; then refused while down; the old id again (a cloud API resets
    // asynchronously); then the new boot.
    rig.answers = {"b0", "down", "b0", "b1"};
    auto injector = rig.injector(&rig.control);
    CHECK(injector.inject(rig.plan) ==
          "pg1: hard reset (HostControl::reboot_host), boot id was b0");
    CHECK(rig.control.calls() == std::vector<std::string>{"reboot pg1"});
    auto restored = injector.restore(rig.plan);
    CHECK(restored.ok);
    CHECK(restored.fault == "reboot-primary");
    CHECK(restored.target == "pg1");
    CHECK(restored.detail == "pg1: back 2000 ms after the reset; Patroni runs");
    CHECK(rig.clock.sleeps().size() == 2);
    const std::string read = "cat -- /proc/sys/kernel/random/boot_id";
    CHECK(rig.commands() ==
          std::vector<std::string>{read, read, read, read,
                                   "systemctl is-active --quiet patroni@17-main"});
}

TEST_CASE("faults: reboot-primary restore starts Patroni when it is not active",
          "[drills][faults]") {
    RebootRig rig;
    rig.answers = {"b0", "b1"};
    rig.pg1.on({"systemctl", "is-active"}, 3);
    auto injector = rig.injector(&rig.control);
    injector.inject(rig.plan);
    auto restored = injector.restore(rig.plan);
    CHECK(restored.ok);
    CHECK(restored.detail == "pg1: back 0 ms after the reset; Patroni was not active: started");
    CHECK(rig.commands().back() == "systemctl start patroni@17-main");
    CHECK(rig.pg1.calls().back().sudo);
}

TEST_CASE("faults: reboot-primary restore gives up after boot_timeout and says why",
          "[drills][faults]") {
    SECTION("SSH never answers") {
        RebootRig rig;
        rig.answers = {"b0", "down"};
        auto injector = rig.injector(&rig.control);
        injector.inject(rig.plan);
        auto restored = injector.restore(rig.plan);
        CHECK_FALSE(restored.ok);
        CHECK(restored.detail == "pg1 is not back 30 s after its hard reset: SSH does not answer");
        CHECK(rig.clock.sleeps().size() == 30);
    }
    SECTION("the old boot id only: the reset never took place") {
        RebootRig rig;
        rig.answers = {"b0"};
        auto injector = rig.injector(&rig.control);
        injector.inject(rig.plan);
        auto restored = injector.restore(rig.plan);
        CHECK_FALSE(restored.ok);
        CHECK(restored.detail.find("still answers with the boot id from before the reset") !=
              std::string::npos);
    }
}

TEST_CASE("faults: a refused reset is reported; the restore does not wait for a boot",
          "[drills][faults]") {
    RebootRig rig;
    rig.answers = {"b0"};
    rig.control.on_reboot = [](const std::string&) {
        throw Error(ExitCode::cloud_api, "OVH API: 409 Client::Conflict: Instance is SHUTOFF");
    };
    auto injector = rig.injector(&rig.control);
    CHECK_THROWS_WITH(injector.inject(rig.plan), Catch::Contains("Instance is SHUTOFF"));
    SECTION("the host runs: only Patroni is checked") {
        auto restored = injector.restore(rig.plan);
        CHECK(restored.ok);
        CHECK(restored.detail == "pg1: not reset; Patroni runs");
        CHECK(rig.clock.sleeps().empty());
    }
    SECTION("the host was left stopped: it is started again") {
        rig.control.machine = MachineState::stopped;
        auto restored = injector.restore(rig.plan);
        CHECK(restored.ok);
        CHECK(rig.control.calls() == std::vector<std::string>{"reboot pg1", "start pg1"});
        CHECK(restored.detail ==
              "pg1: was stopped, started again (HostControl::start_host); Patroni runs");
    }
}

TEST_CASE("faults: reboot-primary without a HostControl is a usage error", "[drills][faults]") {
    RebootRig rig;
    rig.answers = {"b0"};
    auto injector = rig.injector(nullptr);
    try {
        injector.inject(rig.plan);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::usage);
    }
    CHECK(rig.pg1.calls().empty());
}

TEST_CASE("cluster checks: histories, psql argv", "[drills][checks]") {
    auto h = parse_history("1\t0/3000060\tno recovery target specified\n\n2\t0/5000000\tx\n");
    REQUIRE(h.size() == 2);
    CHECK(h[1] == std::make_pair(2, std::string("0/5000000")));

    auto argv = pg::local_psql_argv("pgdr", {{"run", "c-1"}});
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

TEST_CASE(
    "faults: the host-side self-heal timer is armed before the fault and stopped by the "
    "restore",
    "[drills][faults][self_heal]") {
    // Issue 13: every fault pgdr can undo on the host heals itself when its drill died.
    auto t = topology(3);
    t.patroni_unit = "patroni@17-main";
    CHECK(fault_heal_command(FaultKind::kill_primary, t) ==
          std::vector<std::string>{"/bin/systemctl", "start", "patroni@17-main"});
    CHECK(fault_heal_command(FaultKind::kill_postmaster, t) ==
          fault_heal_command(FaultKind::stop_primary, t));
    CHECK(fault_heal_command(FaultKind::kill_etcd_member, t) == release_unit_argv("etcd"));
    CHECK(fault_heal_command(FaultKind::kill_haproxy, t) == release_unit_argv("haproxy"));
    CHECK(fault_heal_command(FaultKind::switchover, t).empty());
    CHECK(fault_heal_command(FaultKind::reboot_primary, t).empty());
    CHECK(self_heal_argv("pgdr-fault-heal", std::chrono::seconds(420),
                         {"/bin/systemctl", "start", "etcd"}) ==
          std::vector<std::string>{"systemd-run", "--unit=pgdr-fault-heal", "--on-active=420s",
                                   "--timer-property=AccuracySec=1s", "/bin/systemctl", "start",
                                   "etcd"});

    RebootRig rig;
    rig.t.patroni_unit = "patroni@17-main";
    auto injector = rig.injector(nullptr);
    FaultPlan plan;
    plan.kind = FaultKind::kill_primary;
    plan.target = "pg1";
    plan.leader = "pg1";
    CHECK_THAT(injector.inject(plan), Catch::EndsWith("(self-heals after 600 s)"));
    CHECK(injector.restore(plan).ok);
    CHECK(rig.commands() ==
          std::vector<std::string>{
              "systemctl stop pgdr-fault-heal.timer",
              "systemctl reset-failed pgdr-fault-heal.service",
              "systemd-run --unit=pgdr-fault-heal --on-active=600s --timer-property=AccuracySec=1s "
              "/bin/systemctl start patroni@17-main",
              "systemctl kill -s SIGKILL patroni@17-main", "systemctl start patroni@17-main",
              "systemctl stop pgdr-fault-heal.timer"});
}

TEST_CASE("faults: the safety net is armed before the fault, apart from it", "[drills][faults]") {
    // The engine arms before its FaultInjected marker: on the OVH twin the three commands took
    // 1-2 s over SSH, which kill-primary's RTO counted as outage before this split.
    RebootRig rig;
    rig.t.patroni_unit = "patroni@17-main";
    auto injector = rig.injector(nullptr);
    FaultPlan plan;
    plan.kind = FaultKind::kill_primary;
    plan.target = plan.leader = "pg1";
    injector.arm(plan);
    CHECK(rig.commands().size() == 3);
    CHECK_THAT(injector.inject(plan), Catch::EndsWith("(self-heals after 600 s)"));
    const auto c = rig.commands();
    CHECK(std::vector<std::string>(c.begin() + 3, c.end()) ==
          std::vector<std::string>{"systemctl kill -s SIGKILL patroni@17-main"});

    // A partition arms its own timer the same way.
    RebootRig rig2;
    auto partitioner = rig2.injector(nullptr);
    plan.kind = FaultKind::partition_primary;
    partitioner.arm(plan);
    const auto armed = rig2.commands();
    REQUIRE(armed.size() == 3);
    CHECK_THAT(armed[2], Catch::StartsWith("systemd-run --unit=pgdr-partition-heal"));
    partitioner.inject(plan);
    CHECK(rig2.commands().size() == 4);
    CHECK(rig2.commands().back() == "nft -f -");
}

TEST_CASE("faults: a killed etcd or HAProxy stays down until the restore", "[drills][faults]") {
    // Debian's etcd unit restarts on-abnormal and HAProxy's always, 100 ms after the SIGKILL:
    // the lab's kill-etcd-member drill saw its member back within a second and EtcdMemberDown
    // never fired. The fault now holds the unit down with a runtime drop-in (Restart=no).
    CHECK(hold_unit_argv("etcd") ==
          std::vector<std::string>{"/bin/sh", "-c",
                                   "mkdir -p \"${0%/*}\" && printf '[Service]\\nRestart=no\\n' "
                                   ">\"$0\" && systemctl daemon-reload",
                                   "/run/systemd/system/etcd.service.d/pgdr-drill-hold.conf"});
    CHECK(release_unit_argv("haproxy") ==
          std::vector<std::string>{
              "/bin/sh", "-c", "rm -f \"$0\" && systemctl daemon-reload && systemctl start \"$1\"",
              "/run/systemd/system/haproxy.service.d/pgdr-drill-hold.conf", "haproxy"});
    for (auto [kind, unit] : {std::pair{FaultKind::kill_etcd_member, std::string("etcd")},
                              std::pair{FaultKind::kill_haproxy, std::string("haproxy")}}) {
        RebootRig rig;
        auto injector = rig.injector(nullptr);
        FaultPlan plan;
        plan.kind = kind;
        plan.target = plan.leader = "pg1";
        injector.inject(plan);
        REQUIRE(injector.restore(plan).ok);
        const auto c = rig.commands();
        auto at = [&](const std::string& line) {
            return std::find(c.begin(), c.end(), line) - c.begin();
        };
        const auto hold = at(join(hold_unit_argv(unit), " "));
        const auto kill = at("systemctl kill -s SIGKILL " + unit);
        const auto release = at(join(release_unit_argv(unit), " "));
        CHECK(hold < kill);  // held before the kill, else systemd restarts it at once
        CHECK(kill < release);
        CHECK(release < static_cast<long>(c.size()));
    }
}

TEST_CASE("faults: bootstrap's etcd restart drop-in yields to a drill's hold", "[drills][faults]") {
    // Debian's etcd unit does not restart a member that exits with an error (its address not
    // up yet at boot): CI saw pg2's etcd down for good after `lab start pg2`. bootstrap's
    // drop-in restarts it on any failure; systemd applies drop-ins in the order of their file
    // names, so a drill's hold (Restart=no) must come later to keep the killed member down.
    const std::string ours = pgdr::pg::k_etcd_dropin;
    const std::string hold = hold_unit_argv("etcd").back();
    const auto name = [](const std::string& p) { return p.substr(p.rfind('/') + 1); };
    CHECK(ours.rfind("/etc/systemd/system/etcd.service.d/", 0) == 0);
    CHECK(name(ours) < name(hold));
    Inventory inv;
    inv.cluster = "shop";
    const auto text = pgdr::pg::render_etcd_dropin(inv);
    CHECK(text.find("Restart=on-failure\n") != std::string::npos);
    CHECK(text.find("StartLimitIntervalSec=0\n") != std::string::npos);
    CHECK(text.find("After=network-online.target\n") != std::string::npos);
}
