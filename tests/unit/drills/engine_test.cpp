// The drill engine on fakes (tests/unit/drills/fake_cluster.hpp): pre-check refusals, the
// production guard, the commands each fault runs and restores with, restore after an error and
// on interrupt, and --repeat.
#include "drills/engine.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/host_control.hpp"
#include "core/strings.hpp"
#include "drills/drill_lock.hpp"
#include "drills/fault_journal.hpp"
#include "drills/faults.hpp"
#include "drills/repeats.hpp"
#include "unit/core/temp_dir.hpp"
#include "unit/drills/fake_cluster.hpp"

using namespace pgdr;
using namespace pgdr::drills;
using pgdr::drills::testing::FakeCluster;

namespace {
// How the restore of kill-etcd-member/kill-haproxy shows in the recorded commands.
std::string released(const std::string& unit) {
    return join(release_unit_argv(unit), " ");
}

DrillOptions options(FaultKind fault) {
    DrillOptions o;
    o.fault = fault;
    o.baseline = std::chrono::milliseconds(1000);
    o.timeout = std::chrono::milliseconds(30000);
    o.tail = std::chrono::milliseconds(200);
    return o;
}

bool ran(const FakeCluster& c, const std::string& line) {
    auto cmds = c.commands();
    return std::find(cmds.begin(), cmds.end(), line) != cmds.end();
}

// Index of the first command equal to `line`; -1 when absent.
long position(const FakeCluster& c, const std::string& line) {
    auto cmds = c.commands();
    auto it = std::find(cmds.begin(), cmds.end(), line);
    return it == cmds.end() ? -1 : static_cast<long>(it - cmds.begin());
}

ExitCode refusal(FakeCluster& c, DrillOptions o, HostControl* control = nullptr) {
    DrillEngine engine(c.seams(control), o);
    try {
        engine.run();
    } catch (const Error& e) {
        return e.code();
    }
    return ExitCode::ok;
}

bool injected_anything(const FakeCluster& c) {
    for (const auto& line : c.commands()) {
        if (line.find("systemctl kill") != std::string::npos ||
            line.find("systemctl stop") != std::string::npos) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("drill engine: kill-primary on a healthy cluster", "[drills][engine]") {
    FakeCluster c;
    DrillEngine engine(c.seams(), options(FaultKind::kill_primary));
    auto out = engine.run();
    REQUIRE(out.reports.size() == 1);
    const auto& r = out.reports.front();
    CHECK(r.drill == "kill-primary");
    CHECK(r.old_primary == "pg1");
    CHECK(r.new_primary == "pg2");
    CHECK(r.restored);
    CHECK(r.lost_acknowledged_writes == std::optional<std::int64_t>(0));
    CHECK(r.errors.empty());
    CHECK_FALSE(out.interrupted);
    // Injection on the leader, then the restore, in that order.
    auto kill = position(c, "pg1: systemctl kill -s SIGKILL patroni@17-main");
    auto start = position(c, "pg1: systemctl start patroni@17-main");
    REQUIRE(kill >= 0);
    CHECK(start > kill);
    // Fault commands run as root.
    for (const auto& call : c.calls_on("pg1")) {
        if (call.argv.front() == "systemctl") {
            CHECK(call.sudo);
        }
    }
    // Every acknowledged write of this run was read back on the new leader, by run id.
    REQUIRE(c.runs_read.size() == 1);
    CHECK(c.runs_read.front().rfind("drillme-", 0) == 0);
    // The probes were made knowing the host the fault hits (so that they connect from
    // elsewhere), and the report says where they ran from.
    CHECK(c.probes_target == "pg1");
    CHECK(r.probe_vantage == "via fake-vantage (198.18.0.99)");
}

TEST_CASE("drill engine: the commands of each fault on the leader's services and their restore",
          "[drills][engine]") {
    SECTION("kill-postmaster kills the PID of postmaster.pid; Patroni is left alone") {
        FakeCluster c;
        DrillEngine(c.seams(), options(FaultKind::kill_postmaster)).run();
        CHECK(ran(c, "pg1: cat -- /var/lib/postgresql/17/main/postmaster.pid"));
        CHECK(ran(c, "pg1: kill -s KILL 4242"));
        CHECK(ran(c, "pg1: systemctl is-active --quiet patroni@17-main"));
        CHECK_FALSE(ran(c, "pg1: systemctl start patroni@17-main"));
    }
    SECTION("stop-primary stops and starts the Patroni unit") {
        FakeCluster c;
        auto out = DrillEngine(c.seams(), options(FaultKind::stop_primary)).run();
        CHECK(ran(c, "pg1: systemctl stop patroni@17-main"));
        CHECK(position(c, "pg1: systemctl start patroni@17-main") >
              position(c, "pg1: systemctl stop patroni@17-main"));
        CHECK(out.reports.front().new_primary == "pg2");
    }
    SECTION("switchover posts to the leader's REST API with basic auth, no host command") {
        FakeCluster c;
        auto o = options(FaultKind::switchover);
        o.candidate = "pg3";
        auto out = DrillEngine(c.seams(), o).run();
        std::vector<HttpRequest> posts;
        for (const auto& r : c.http.requests()) {
            if (r.method == "POST") {
                posts.push_back(r);
            }
        }
        REQUIRE(posts.size() == 1);
        CHECK(posts[0].url == "https://10.0.0.1:8008/switchover");
        CHECK(posts[0].body == R"({"candidate":"pg3","leader":"pg1"})");
        // base64("patroni:rest-secret")
        CHECK(posts[0].headers.at("Authorization") == "Basic cGF0cm9uaTpyZXN0LXNlY3JldA==");
        CHECK(out.reports.front().new_primary == "pg3");
        CHECK_FALSE(injected_anything(c));
    }
}

TEST_CASE("drill engine: partition-primary's commands and heal", "[drills][engine]") {
    SECTION("partition-primary with nftables: safety timer first, then the table, then heal") {
        FakeCluster c;
        DrillEngine(c.seams(), options(FaultKind::partition_primary)).run();
        auto timer = position(c,
                              "pg1: systemd-run --unit=pgdr-partition-heal --on-active=120s "
                              "--timer-property=AccuracySec=1s /usr/sbin/nft delete table inet "
                              "pgdr_partition");
        auto apply = position(c, "pg1: nft -f -");
        auto heal = position(c, "pg1: nft delete table inet pgdr_partition");
        REQUIRE(timer >= 0);
        CHECK(apply > timer);
        CHECK(heal > apply);
        CHECK(ran(c, "pg1: nft --version"));  // pre-check
        for (const auto& call : c.calls_on("pg1")) {
            if (call.argv == std::vector<std::string>{"nft", "-f", "-"}) {
                CHECK(call.stdin_data == partition_ruleset(22));
            }
        }
    }
    SECTION("partition-primary on the lab goes through HostControl, no nftables") {
        FakeCluster c;
        DrillEngine(c.seams(&c.host_control), options(FaultKind::partition_primary)).run();
        CHECK(c.host_control.calls() == std::vector<std::string>{"partition pg1", "heal pg1"});
        for (const auto& line : c.commands()) {
            CHECK(line.find("nft") == std::string::npos);
        }
    }
}

TEST_CASE("drill engine: the whole-host faults (reset, power off) and their restore",
          "[drills][engine]") {
    SECTION("reboot-primary resets the leader's host, waits for its new boot, Patroni runs") {
        FakeCluster c;
        auto out = DrillEngine(c.seams(&c.host_control), options(FaultKind::reboot_primary)).run();
        REQUIRE(out.reports.size() == 1);
        const auto& r = out.reports.front();
        CHECK(r.errors.empty());
        CHECK(r.restored);
        CHECK(r.old_primary == "pg1");
        CHECK(r.new_primary == "pg2");
        CHECK(c.host_control.calls() == std::vector<std::string>{"reboot pg1"});
        // The boot id before the reset, then polls until a new one (3 refused connections),
        // then Patroni's state: enabled at boot, so not started by pgdr.
        const std::string read_id = "pg1: cat -- /proc/sys/kernel/random/boot_id";
        auto cmds = c.commands();
        CHECK(std::count(cmds.begin(), cmds.end(), read_id) == 1 + 3 + 1);
        CHECK(position(c, "pg1: systemctl is-active --quiet patroni@17-main") >
              position(c, read_id));
        CHECK_FALSE(ran(c, "pg1: systemctl start patroni@17-main"));
        CHECK_FALSE(injected_anything(c));
        std::vector<std::chrono::milliseconds> boot_polls;
        for (auto d : c.clock.sleeps()) {
            if (d == std::chrono::seconds(1)) {
                boot_polls.push_back(d);
            }
        }
        CHECK(boot_polls.size() == 3);
    }
    SECTION("lose-primary-host powers the leader's host off until the restore, then on") {
        FakeCluster c;
        auto out =
            DrillEngine(c.seams(&c.host_control), options(FaultKind::lose_primary_host)).run();
        REQUIRE(out.reports.size() == 1);
        const auto& r = out.reports.front();
        CHECK(r.errors.empty());
        CHECK(r.restored);
        CHECK(r.drill == "lose-primary-host");
        CHECK(r.old_primary == "pg1");
        CHECK(r.new_primary == "pg2");
        CHECK(r.new_leader_expected);
        // Off first, on only in the restore step; then a new boot and Patroni's state.
        CHECK(c.host_control.calls() == std::vector<std::string>{"kill pg1", "start pg1"});
        CHECK(position(c, "pg1: systemctl is-active --quiet patroni@17-main") >= 0);
        CHECK_FALSE(injected_anything(c));
        CHECK(c.probes_target == "pg1");
    }
    SECTION("lose-primary-host needs the lab or OVH") {
        FakeCluster c;
        CHECK(refusal(c, options(FaultKind::lose_primary_host)) == ExitCode::usage);
        CHECK(c.host_control.calls().empty());
    }
    SECTION("reboot-primary: a host back before its key expired leads again, and that passes") {
        FakeCluster c;
        c.reboot_keeps_leader = true;
        auto out = DrillEngine(c.seams(&c.host_control), options(FaultKind::reboot_primary)).run();
        REQUIRE(out.reports.size() == 1);
        const auto& r = out.reports.front();
        CHECK(r.new_primary == "pg1");
        CHECK_FALSE(r.leader_changed);
        CHECK_FALSE(r.new_leader_expected);
        REQUIRE(r.find_check("leader_expectation") != nullptr);
        CHECK(r.find_check("leader_expectation")->passed);
        CHECK(r.find_check("leader_expectation")->detail ==
              "expected a leader, new or the same host back: leader unchanged: pg1");
        REQUIRE(r.find_check("no_split_brain") != nullptr);
        CHECK(r.find_check("no_split_brain")->passed);
    }
    SECTION("reboot-primary starts Patroni when the booted host did not") {
        FakeCluster c;
        c.patroni_enabled = false;
        auto out = DrillEngine(c.seams(&c.host_control), options(FaultKind::reboot_primary)).run();
        CHECK(position(c, "pg1: systemctl start patroni@17-main") >
              position(c, "pg1: systemctl is-active --quiet patroni@17-main"));
        CHECK(out.reports.front().errors.empty());
        CHECK(out.reports.front().restored);
    }
}

TEST_CASE("drill engine: the faults on an etcd member and on HAProxy", "[drills][engine]") {
    SECTION("kill-etcd-member picks an etcd host other than the leader's") {
        FakeCluster c;
        auto out = DrillEngine(c.seams(), options(FaultKind::kill_etcd_member)).run();
        CHECK(ran(c, "pg2: systemctl kill -s SIGKILL etcd"));
        CHECK(ran(c, "pg2: " + released("etcd")));
        CHECK_FALSE(ran(c, "pg1: systemctl kill -s SIGKILL etcd"));
        CHECK(out.reports.front().new_primary == "pg1");
    }
    SECTION("kill-haproxy acts on the probes' HAProxy host") {
        FakeCluster c;
        DrillEngine(c.seams(), options(FaultKind::kill_haproxy)).run();
        CHECK(position(c, "pg3: " + released("haproxy")) >
              position(c, "pg3: systemctl kill -s SIGKILL haproxy"));
    }
}

TEST_CASE("drill engine: pre-checks refuse an unhealthy cluster before any fault",
          "[drills][engine]") {
    FakeCluster c;
    SECTION("two leaders") {
        c.extra_leader = true;
        CHECK(refusal(c, options(FaultKind::kill_primary)) == ExitCode::verification_failed);
    }
    SECTION("a replica Patroni calls streaming is absent from pg_stat_replication") {
        c.not_streaming.insert("pg3");
        CHECK(refusal(c, options(FaultKind::kill_primary)) == ExitCode::verification_failed);
    }
    SECTION("lag over maximum_lag_on_failover") {
        c.lag = 2 * 1048576;
        CHECK(refusal(c, options(FaultKind::kill_primary)) == ExitCode::verification_failed);
    }
    SECTION("lag over an explicit bound") {
        c.lag = 5000;
        auto o = options(FaultKind::kill_primary);
        o.max_lag_bytes = 4096;
        CHECK(refusal(c, o) == ExitCode::verification_failed);
    }
    SECTION("a replica not running") {
        c.state["pg2"] = "starting";
        CHECK(refusal(c, options(FaultKind::kill_primary)) == ExitCode::verification_failed);
    }
    SECTION("HAProxy routes writes to more than the leader") {
        c.haproxy_all_up = true;
        CHECK(refusal(c, options(FaultKind::kill_primary)) == ExitCode::verification_failed);
    }
    SECTION("an etcd member down (the one assessment judges etcd too)") {
        c.etcd_down = {"pg2"};
        CHECK(refusal(c, options(FaultKind::kill_primary)) == ExitCode::verification_failed);
    }
    SECTION("no REST API answers: unreachable") {
        c.rest_down = true;
        CHECK(refusal(c, options(FaultKind::kill_primary)) == ExitCode::unreachable);
    }
    SECTION("with synchronous_mode, no synchronous standby named yet") {
        // Right after a leader change; a switchover would get HTTP 412 from Patroni.
        c.settings.synchronous_mode = true;
        CHECK(refusal(c, options(FaultKind::switchover)) == ExitCode::verification_failed);
        CHECK(refusal(c, options(FaultKind::kill_primary)) == ExitCode::verification_failed);
    }
    SECTION("with synchronous_mode, a candidate that is not the synchronous standby") {
        // Patroni would answer 412 "candidate name does not match with sync_standby".
        c.settings.synchronous_mode = true;
        c.sync_standby = "pg2";
        auto o = options(FaultKind::switchover);
        o.candidate = "pg3";
        CHECK(refusal(c, o) == ExitCode::verification_failed);
        CHECK(c.http.requests().size() >= 1);
        for (const auto& r : c.http.requests()) {
            CHECK(r.method == "GET");
        }
    }
    SECTION("an unknown switchover candidate") {
        auto o = options(FaultKind::switchover);
        o.candidate = "pg9";
        CHECK(refusal(c, o) == ExitCode::usage);
    }
    SECTION("reboot-primary without a provider that resets hosts, before touching the cluster") {
        CHECK(refusal(c, options(FaultKind::reboot_primary)) == ExitCode::usage);
        CHECK(c.http.requests().empty());
        CHECK(c.commands().empty());
    }
    SECTION("reboot-primary of a leader that also runs the probes' HAProxy") {
        c.topology.haproxy = {{"pg1", "10.0.0.1"}};
        CHECK(refusal(c, options(FaultKind::reboot_primary), &c.host_control) ==
              ExitCode::verification_failed);
        CHECK(c.host_control.calls().empty());
    }
    CHECK_FALSE(injected_anything(c));
    CHECK(c.http.count("POST", "/switchover") == 0);
}

TEST_CASE("drill engine: with synchronous_mode the synchronous standby is switched over to",
          "[drills][engine]") {
    FakeCluster c;
    c.settings.synchronous_mode = true;
    c.sync_standby = "pg3";
    auto out = DrillEngine(c.seams(), options(FaultKind::switchover)).run();
    CHECK(c.http.count("POST", "/switchover") == 1);
    CHECK(out.reports.front().new_primary == "pg3");
}

TEST_CASE("drill engine: a quorum standby is a synchronous candidate (Patroni 4)",
          "[drills][engine]") {
    // The drill's old picker knew "sync_standby" only; the one picker knows both roles.
    FakeCluster c;
    c.settings.synchronous_mode = true;
    c.sync_standby = "pg3";
    c.sync_role = "quorum_standby";
    auto out = DrillEngine(c.seams(), options(FaultKind::switchover)).run();
    CHECK(c.http.count("POST", "/switchover") == 1);
    CHECK(out.reports.front().new_primary == "pg3");
}

TEST_CASE("drill engine: a production cluster needs --yes-really with its name",
          "[drills][engine]") {
    FakeCluster c;
    c.topology.production = true;
    auto o = options(FaultKind::kill_primary);
    CHECK(refusal(c, o) == ExitCode::usage);
    o.yes_really = "someothercluster";
    CHECK(refusal(c, o) == ExitCode::usage);
    CHECK(c.http.requests().empty());
    CHECK(c.commands().empty());
    o.yes_really = "drillme";
    CHECK(refusal(c, o) == ExitCode::ok);
    CHECK(injected_anything(c));
}

TEST_CASE("drill engine: one drill at a time per state directory", "[drills][engine]") {
    pgdr::test::TempDir dir;
    DrillLock held(dir.path());
    FakeCluster c;
    auto seams = c.seams();
    seams.lock_dir = dir.path();
    DrillEngine engine(seams, options(FaultKind::kill_primary));
    try {
        engine.run();
        FAIL("the drill ran while another held the lock");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::verification_failed);
        CHECK(std::string(e.what()).find("another drill") != std::string::npos);
    }
    CHECK(c.commands().empty());
}

TEST_CASE("drill engine: restore runs after a failed injection", "[drills][engine]") {
    FakeCluster c;
    c.kill_fails = true;
    auto out = DrillEngine(c.seams(), options(FaultKind::kill_primary)).run();
    REQUIRE(out.reports.size() == 1);
    const auto& r = out.reports.front();
    CHECK(ran(c, "pg1: systemctl start patroni@17-main"));
    CHECK(r.verdict == Verdict::fail);
    bool mentioned = std::any_of(r.errors.begin(), r.errors.end(), [](const std::string& e) {
        return e.find("Access denied") != std::string::npos;
    });
    CHECK(mentioned);
}

TEST_CASE("drill engine: restore runs when the cluster never reacts (bounded wait)",
          "[drills][engine]") {
    FakeCluster c;
    c.no_failover = true;
    auto o = options(FaultKind::kill_primary);
    o.timeout = std::chrono::milliseconds(5000);
    auto out = DrillEngine(c.seams(), o).run();
    REQUIRE(out.reports.size() == 1);
    CHECK(ran(c, "pg1: systemctl start patroni@17-main"));
    CHECK(out.reports.front().verdict == Verdict::fail);
    CHECK_FALSE(out.reports.front().errors.empty());
}

TEST_CASE("drill engine: Ctrl-C restores, skips the post-checks and says interrupted",
          "[drills][engine]") {
    FakeCluster c;
    c.no_failover = true;
    c.on_kill = [&c] { c.interrupted = true; };  // the SIGINT handler's flag
    auto o = options(FaultKind::kill_primary);
    o.repeat = 3;
    auto out = DrillEngine(c.seams(), o).run();
    CHECK(out.interrupted);
    REQUIRE(out.reports.size() == 1);  // no further repeats
    CHECK(ran(c, "pg1: systemctl start patroni@17-main"));
    CHECK(c.runs_read.empty());  // post-checks skipped
    CHECK(out.reports.front().restored);
}

TEST_CASE("drill engine: lost acknowledged writes fail the verdict", "[drills][engine]") {
    FakeCluster c;
    c.lose_one_write = true;
    auto out = DrillEngine(c.seams(), options(FaultKind::kill_primary)).run();
    const auto& r = out.reports.front();
    CHECK(r.lost_acknowledged_writes == std::optional<std::int64_t>(1));
    CHECK(r.verdict == Verdict::fail);
    CHECK(exit_code(r) == ExitCode::objectives_missed);
}

TEST_CASE("drill engine: --repeat runs N drills, each with its run id, and aggregates",
          "[drills][engine]") {
    FakeCluster c;
    auto o = options(FaultKind::switchover);
    o.repeat = 3;
    auto out = DrillEngine(c.seams(), o).run();
    INFO(out.stopped_early);
    REQUIRE(out.reports.size() == 3);
    CHECK(out.stopped_early.empty());
    // Each switchover went from the leader of the time to the best candidate.
    CHECK(out.reports[0].old_primary == "pg1");
    CHECK(out.reports[1].old_primary == out.reports[0].new_primary);
    CHECK(out.reports[2].old_primary == out.reports[1].new_primary);
    REQUIRE(c.runs_read.size() == 3);
    CHECK(c.runs_read[0] != c.runs_read[1]);
    CHECK(c.runs_read[1] != c.runs_read[2]);
    auto summary = aggregate(out.reports);
    CHECK(summary.runs == 3);
    CHECK(summary.drill == "switchover");
    CHECK(c.http.count("POST", "/switchover") == 3);
}

TEST_CASE("drill engine: a repeat whose pre-checks fail stops the series", "[drills][engine]") {
    FakeCluster c;
    // After the first run a replica stops streaming: the second pre-check must refuse.
    c.on_start = [&c] { c.lag = 1LL << 40; };
    auto o = options(FaultKind::kill_primary);
    o.repeat = 2;
    o.timeout = std::chrono::milliseconds(2000);
    auto out = DrillEngine(c.seams(), o).run();
    CHECK(out.reports.size() == 1);
    CHECK(out.stopped_early.find("pre-checks failed") != std::string::npos);
}

TEST_CASE("drill engine: reboot-primary on Ctrl-C still waits until the host is back",
          "[drills][engine]") {
    FakeCluster c;
    auto reboot = c.host_control.on_reboot;
    c.host_control.on_reboot = [&c, reboot](const std::string& h) {
        reboot(h);
        c.interrupted = true;  // the SIGINT handler's flag, right after the reset
    };
    auto out = DrillEngine(c.seams(&c.host_control), options(FaultKind::reboot_primary)).run();
    CHECK(out.interrupted);
    REQUIRE(out.reports.size() == 1);
    CHECK(out.reports.front().restored);
    CHECK(c.down["pg1"] == 0);  // polled until it answered with its new boot id
    CHECK(ran(c, "pg1: systemctl is-active --quiet patroni@17-main"));
    CHECK(c.runs_read.empty());  // post-checks skipped
}

TEST_CASE("drill engine: a reset host that never comes back fails the restore, bounded",
          "[drills][engine]") {
    FakeCluster c;
    c.boot_polls = 1000000;
    auto o = options(FaultKind::reboot_primary);
    o.timeout = std::chrono::milliseconds(5000);
    auto out = DrillEngine(c.seams(&c.host_control), o).run();
    REQUIRE(out.reports.size() == 1);
    const auto& r = out.reports.front();
    CHECK_FALSE(r.restored);
    CHECK(r.verdict == Verdict::fail);
    bool said = std::any_of(r.errors.begin(), r.errors.end(), [](const std::string& e) {
        return e.find(
                   "restore failed: pg1 is not back 5 s after its hard reset: SSH does not "
                   "answer") != std::string::npos;
    });
    CHECK(said);
    CHECK_FALSE(ran(c, "pg1: systemctl start patroni@17-main"));
}

TEST_CASE("drill engine: pre-checks refuse a fault that would take etcd below quorum",
          "[drills][engine][etcd]") {
    // Issue 13 item 3: one etcd member already down; a second one lost demotes every member.
    auto one_etcd_down = [](FakeCluster& c) {
        c.hosts.at("pg3")->on({"etcdctl"}, 1, "", "http://127.0.0.1:2379 is unhealthy\n");
    };
    for (auto fault :
         {FaultKind::kill_etcd_member, FaultKind::partition_primary, FaultKind::reboot_primary}) {
        FakeCluster c;
        one_etcd_down(c);
        DrillEngine engine(c.seams(&c.host_control), options(fault));
        try {
            engine.run();
            FAIL("the drill ran with etcd one member from losing quorum");
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::verification_failed);
            CHECK_THAT(e.what(), Catch::Contains("below quorum"));
            CHECK_THAT(e.what(), Catch::Contains("pg3 (unhealthy)"));
        }
        CHECK_FALSE(injected_anything(c));
        CHECK(c.host_control.calls().empty());
    }
    // A fault that leaves etcd alone still runs.
    FakeCluster kill;
    one_etcd_down(kill);
    CHECK(refusal(kill, options(FaultKind::kill_primary)) == ExitCode::ok);

    // etcd already without quorum: every fault is refused.
    FakeCluster lost;
    one_etcd_down(lost);
    lost.hosts.at("pg2")->on({"etcdctl"}, 1, "", "context deadline exceeded\n");
    CHECK(refusal(lost, options(FaultKind::kill_primary)) == ExitCode::verification_failed);
}

TEST_CASE("drill engine: a fault journal is kept while the fault is in place",
          "[drills][engine][journal]") {
    // Issue 13 item 5: a drill killed between fault and restore must leave a record.
    pgdr::test::TempDir dir;
    FakeCluster c;
    bool journaled_during_fault = false;
    c.on_kill = [&] {
        auto j = read_fault_journal(dir.path());
        journaled_during_fault =
            j && j->plan.kind == FaultKind::kill_primary && j->plan.target == "pg1" && j->pid > 0;
    };
    auto seams = c.seams();
    seams.lock_dir = dir.path();
    DrillEngine(seams, options(FaultKind::kill_primary)).run();
    CHECK(journaled_during_fault);
    CHECK_FALSE(read_fault_journal(dir.path()));  // cleared after the restore
}

TEST_CASE("drill engine: the next drill restores a fault an interrupted one left",
          "[drills][engine][journal]") {
    pgdr::test::TempDir dir;
    FaultJournal left;
    left.plan.kind = FaultKind::kill_etcd_member;
    left.plan.target = "pg3";
    left.plan.leader = "pg1";
    left.started = "2026-12-04T16:00:00Z";
    left.operator_host = "bastion";
    left.pid = 4242;
    write_fault_journal(dir.path(), left);

    FakeCluster c;
    std::vector<std::string> progress;
    auto seams = c.seams();
    seams.lock_dir = dir.path();
    seams.progress = [&progress](const std::string& m) { progress.push_back(m); };
    DrillEngine(seams, options(FaultKind::kill_primary)).run();
    const auto restored = position(c, "pg3: " + released("etcd"));
    REQUIRE(restored >= 0);
    CHECK(restored < position(c, "pg1: systemctl kill -s SIGKILL patroni@17-main"));
    CHECK_FALSE(read_fault_journal(dir.path()));
    CHECK(std::any_of(progress.begin(), progress.end(), [](const std::string& m) {
        return m.find(
                   "kill-etcd-member on pg3 (since 2026-12-04T16:00:00Z, pid 4242 on bastion)") !=
               std::string::npos;
    }));

    // A restore that fails keeps the journal and refuses the drill.
    write_fault_journal(dir.path(), left);
    FakeCluster broken;
    broken.hosts.at("pg3")->on(release_unit_argv("etcd"), 1, "", "etcd.service failed\n");
    auto bseams = broken.seams();
    bseams.lock_dir = dir.path();
    try {
        DrillEngine(bseams, options(FaultKind::kill_primary)).run();
        FAIL("drilled with an earlier fault still in place");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::verification_failed);
        CHECK_THAT(e.hint(), Catch::Contains("fault-journal.json"));
    }
    CHECK_FALSE(injected_anything(broken));
    CHECK(read_fault_journal(dir.path()));
}

TEST_CASE(
    "drill engine: the fault journal has a copy on a neighbour member while the fault is in "
    "place, and the next drill restores from that copy alone",
    "[drills][engine][journal]") {
    // Issue 13: a drill whose operator machine is lost is restored from another machine.
    pgdr::test::TempDir dir;
    FakeCluster c;
    std::optional<pgdr::testing::FakeFile> copy;
    c.on_kill = [&] { copy = c.hosts.at("pg2")->file(k_host_journal_path); };
    auto seams = c.seams();
    seams.lock_dir = dir.path();
    DrillEngine(seams, options(FaultKind::kill_primary)).run();
    REQUIRE(copy);
    CHECK(copy->mode == "600");
    const auto copied = parse_fault_journal(copy->content, "pg2");
    CHECK(copied.plan.target == "pg1");
    CHECK(copied.neighbour == "pg2");
    CHECK_FALSE(c.hosts.at("pg2")->file(k_host_journal_path));  // removed after the restore

    // Another operator machine (an empty state directory): the member's copy is found.
    pgdr::test::TempDir other;
    FaultJournal left = copied;
    left.plan.kind = FaultKind::kill_etcd_member;
    left.plan.target = "pg3";
    FakeCluster next;
    next.hosts.at("pg1")->set_file(k_host_journal_path, {render_fault_journal(left), "600"});
    auto nseams = next.seams();
    nseams.lock_dir = other.path();
    DrillEngine(nseams, options(FaultKind::kill_primary)).run();
    const auto restored = position(next, "pg3: " + released("etcd"));
    REQUIRE(restored >= 0);
    CHECK(restored < position(next, "pg1: systemctl kill -s SIGKILL patroni@17-main"));
    CHECK_FALSE(next.hosts.at("pg1")->file(k_host_journal_path));
}

TEST_CASE("drill engine: an absurd --timeout or --baseline is refused before anything",
          "[drills][engine]") {
    // Issue 13 (review): the fault stays up to 2 x --timeout; an hour is the most.
    FakeCluster c;
    auto o = options(FaultKind::kill_primary);
    o.timeout = std::chrono::hours(2);
    CHECK_THROWS_AS(DrillEngine(c.seams(), o).run(), Error);
    o = options(FaultKind::kill_primary);
    o.baseline = std::chrono::hours(5);
    CHECK_THROWS_AS(DrillEngine(c.seams(), o).run(), Error);
    CHECK_FALSE(injected_anything(c));
}

TEST_CASE("drill engine: server evidence after the run (offsets, journal, log)",
          "[drills][engine][evidence]") {
    FakeCluster c;
    for (auto& [name, t] : c.hosts) {
        t->on({"date"}, [&c](const std::vector<std::string>&, const RunOptions&) {
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                c.clock.wall_now().time_since_epoch())
                                .count();
            CommandResult r;
            r.exit_status = 0;
            r.out = std::to_string(ns) + "\n";
            return r;
        });
    }
    DrillEngine engine(c.seams(), options(FaultKind::kill_primary));
    auto out = engine.run();
    REQUIRE(out.reports.size() == 1);
    const auto& r = out.reports.front();
    REQUIRE(r.clock_offsets.size() == c.topology.postgres.size());
    for (const auto& o : r.clock_offsets) {
        CHECK(o.offset_ms == Approx(0));
    }
    CHECK(r.sampler.interval_ms == 50);
    CHECK(r.find_check("causal_order") != nullptr);
    bool journal = false;
    bool log = false;
    for (const auto& call : c.log->calls()) {
        if (call.argv.front() == "journalctl") {
            journal = true;
            CHECK(call.sudo);
        }
        log = log || (call.argv.front() == "grep" && call.argv.back() == c.topology.postgres_log);
    }
    CHECK(journal);
    CHECK(log);
    for (const auto& p : r.phases) {
        CHECK_FALSE(p.source.empty());
    }

    SECTION("not collected when the seams say so") {
        FakeCluster quiet;
        auto seams = quiet.seams();
        seams.collect_evidence = false;
        auto o = DrillEngine(seams, options(FaultKind::kill_primary)).run();
        CHECK(o.reports.front().clock_offsets.empty());
        for (const auto& call : quiet.log->calls()) {
            CHECK(call.argv.front() != "journalctl");
        }
    }
}
