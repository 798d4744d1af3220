// `pgdr restore --cluster` (pg/cluster_restore.hpp) on recording transports sharing one call
// log: which step runs what on which host, in order, and the refusals.
#include "pg/cluster_restore.hpp"

#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/recording_transport.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::CallLog;
using pgdr::testing::RecordingTransport;

namespace {

Inventory inventory() {
    return parse_inventory(R"(cluster: lab
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy]}
backup:
  repo: {endpoint: s3.lab.internal:9443, region: lab, bucket: pgdr-lab, uri_style: path}
)",
                           "");
}

const char* const k_info =
    R"([{"archive":[],"backup":[{"archive":{"start":"000000010000000000000003","stop":"000000010000000000000003"},"database":{"id":1,"repo-key":1},"error":false,"info":{"delta":31457280,"repository":{"delta":3145728,"size":3145728},"size":31457280},"label":"20261205-010000F","lsn":{"start":"0/3000028","stop":"0/3000138"},"prior":null,"reference":null,"timestamp":{"start":1796432400,"stop":1796432472},"type":"full"}],"cipher":"aes-256-cbc","db":[],"name":"lab","repo":[{"cipher":"aes-256-cbc","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}])";
const char* const k_info_empty =
    R"([{"archive":[],"backup":[],"cipher":"aes-256-cbc","db":[],"name":"lab","repo":[{"cipher":"aes-256-cbc","key":1,"status":{"code":2,"message":"no valid backups"}}],"status":{"code":2,"lock":{"backup":{"held":false}},"message":"no valid backups"}}])";

// What a call is, in a word: the script's name for `sh -c`, the pgBackRest command, etc.
std::string label(const std::vector<std::string>& argv) {
    if (argv.size() > 3 && argv[0] == "sh") {
        return argv[3];
    }
    if (argv.size() > 4 && argv[4] == "pgbackrest") {
        return "pgbackrest " + argv.back();
    }
    if (argv.size() > 4 && argv[4] == "psql") {
        return "psql";
    }
    if (argv.size() > 4 && argv[0] == "runuser") {
        return argv[4] + " " + argv[5];  // the backup script and its type
    }
    if (!argv.empty() && argv[0] == "etcdctl") {
        std::string out = "etcdctl";
        for (std::size_t i = 1; i < argv.size(); ++i) {
            if (argv[i].rfind("--", 0) != 0 || argv[i] == "--prefix") {
                out += " " + argv[i];
            }
        }
        return out;
    }
    return argv.size() > 1 ? argv[0] + " " + argv[1] : argv.at(0);
}

struct Rig {
    Inventory inv = inventory();
    std::shared_ptr<CallLog> log = std::make_shared<CallLog>();
    RecordingTransport pg1{"pg1", log}, pg2{"pg2", log}, pg3{"pg3", log};
    TransportMap hosts{{"pg1", &pg1}, {"pg2", &pg2}, {"pg3", &pg3}};
    EtcdCtl etcd{inv, hosts};
    fakes::ManualClock clock;
    int observed = 0;
    int recovery_asked = 0;
    std::vector<std::string> said;

    Rig() {
        for (auto* t : {&pg1, &pg2, &pg3}) {
            t->on({"sh", "-c"}, [](const std::vector<std::string>& argv, const RunOptions&) {
                CommandResult r;
                r.exit_status = 0;
                if (argv.size() > 3 && argv[3] == "pgdr-restore-probe") {
                    r.out = "patroni=inactive postgres=3\n";
                }
                return r;
            });
            t->on(backup_info_argv(inv), 0, k_info);
            // Patroni promotes the restored member a moment after it takes the leader key.
            t->on({"runuser", "-u", "postgres", "--", "psql"},
                  [this](const std::vector<std::string>& argv, const RunOptions&) {
                      CommandResult r;
                      r.exit_status = 0;
                      r.out = argv.back() == "select pg_is_in_recovery()" && ++recovery_asked < 2
                                  ? "t\n"
                                  : (argv.back() == "select pg_is_in_recovery()" ? "f\n" : "t\n");
                      return r;
                  });
        }
    }

    ClusterRestoreSeams seams() {
        ClusterRestoreSeams s{inv, hosts, etcd, clock, {}, {}, {}, nullptr};
        s.observe = [this] {
            ++observed;
            ClusterView v;
            v.leader = observed >= 2 ? "pg2" : "";  // Patroni takes the lock on the second look
            v.healthy = observed >= 4;
            v.problems = {"pg1: replica_not_streaming"};
            return v;
        };
        s.progress = [this](const std::string& m) { said.push_back(m); };
        return s;
    }

    std::vector<std::string> record() const {
        std::vector<std::string> out;
        for (const auto& c : log->calls()) {
            out.push_back(c.host + ": " + label(c.argv));
        }
        return out;
    }
};

ExitCode code_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return ExitCode::ok;
}

}  // namespace

TEST_CASE("restore --cluster: the plan's steps", "[pg][restore]") {
    const auto inv = inventory();
    ClusterRestoreRequest req;
    req.target = parse_restore_target("2026-12-05T16:20:00Z");
    req.first = "pg2";
    req.leader = "pg1";
    std::vector<std::string> names;
    for (const auto& s : plan_cluster_restore(inv, req)) {
        names.push_back(s.name + (s.host.empty() ? "" : "@" + s.host));
    }
    CHECK(names == std::vector<std::string>{
                       "check_repository@pg2", "reach_members", "stop_member@pg2",
                       "stop_member@pg3", "stop_member@pg1", "clear_dcs", "restore_first@pg2",
                       "hand_over_first@pg2", "wait_leader@pg2", "backup_new_timeline@pg2",
                       "empty_member@pg1", "start_member@pg1", "empty_member@pg3",
                       "start_member@pg3", "wait_healthy"});
    // To the end of the archive: no new backup, the replicas follow the new timeline from the
    // existing one.
    req.target = parse_restore_target("latest");
    req.first.clear();
    const auto latest = plan_cluster_restore(inv, req);
    CHECK(latest.front().host == "pg1");
    for (const auto& s : latest) {
        CHECK(s.name != "backup_new_timeline");
    }
    CHECK(patroni_dcs_prefix(inv) == "/postgresql-common/17-main/");
    req.first = "scratch";
    CHECK(code_of([&] { plan_cluster_restore(inv, req); }) == ExitCode::usage);
}

TEST_CASE("restore --cluster: what runs where, in order", "[pg][restore]") {
    Rig rig;
    ClusterRestoreRequest req;
    req.target = parse_restore_target("2026-12-05T16:20:00Z");
    req.first = "pg2";
    req.leader = "pg1";
    req.confirm_cluster = "lab";
    const auto r = run_cluster_restore(rig.seams(), req);
    CHECK(r.leader == "pg2");
    REQUIRE(r.backup);
    CHECK(r.backup->label == "20261205-010000F");
    CHECK(r.steps.size() == 15);
    CHECK(rig.record() == std::vector<std::string>{
                              "pg2: pgbackrest info",  // check_repository
                              "pg1: true",             // reach_members
                              "pg2: true",
                              "pg3: true",
                              "pg2: pgdr-restore-stop",
                              "pg3: pgdr-restore-stop",
                              "pg1: pgdr-restore-stop",  // the old leader last
                              "pg1: etcdctl del --prefix /postgresql-common/17-main/",
                              "pg2: pgdr-restore-probe",  // run_restore
                              "pg2: pgbackrest restore",
                              "pg2: pg_ctlcluster 17",
                              "pg2: psql",
                              "pg2: pgdr-restore-handover",
                              "pg2: psql",             // leads, still in recovery
                              "pg2: psql",             // leads, promoted
                              "pg2: pgbackrest info",  // run_backup: the repository answers
                              "pg2: /usr/local/sbin/pgdr-backup full",
                              "pg2: pgbackrest info",  // the new backup, as run_backup reads it
                              "pg1: pgdr-restore-empty",
                              "pg1: systemctl start",
                              "pg3: pgdr-restore-empty",
                              "pg3: systemctl start",
                          });
    for (const auto& c : rig.log->calls()) {
        CHECK(c.sudo);
    }
    CHECK(rig.observed == 4);  // leader on the 2nd look, promoted on the 3rd, healthy on the 4th
    REQUIRE(rig.said.size() > 15);
    CHECK(rig.said.front() ==
          "[1/15] check_repository on pg2: the repository answers and holds a backup");
    CHECK(r.excluded.empty());
}

TEST_CASE("restore --cluster: refusals stop before anything changes", "[pg][restore]") {
    SECTION("without the typed cluster name") {
        Rig rig;
        ClusterRestoreRequest req;
        req.confirm_cluster = "prod";
        CHECK(code_of([&] { run_cluster_restore(rig.seams(), req); }) == ExitCode::usage);
        CHECK(rig.log->calls().empty());
    }
    SECTION("an empty repository") {
        Rig rig;
        ClusterRestoreRequest req;
        req.confirm_cluster = "lab";
        RecordingTransport empty("pg1", rig.log);
        empty.on(backup_info_argv(rig.inv), 0, k_info_empty);
        rig.hosts["pg1"] = &empty;
        CHECK(code_of([&] { run_cluster_restore(rig.seams(), req); }) == ExitCode::postgres);
        CHECK(rig.record() == std::vector<std::string>{"pg1: pgbackrest info"});
    }
    SECTION("a member that does not stop") {
        Rig rig;
        RecordingTransport stuck("pg3", rig.log);
        stuck.on({"sh", "-c"}, 1, "", "");
        stuck.on(backup_info_argv(rig.inv), 0, k_info);
        rig.hosts["pg3"] = &stuck;
        ClusterRestoreRequest req;
        req.confirm_cluster = "lab";
        CHECK(code_of([&] { run_cluster_restore(rig.seams(), req); }) == ExitCode::postgres);
        const auto rec = rig.record();
        CHECK(rec.back() == "pg3: pgdr-restore-stop");  // nothing after: etcd untouched
    }
    SECTION("the restored member does not lead in time") {
        Rig rig;
        auto s = rig.seams();
        s.observe = [] { return ClusterView{}; };
        ClusterRestoreRequest req;
        req.confirm_cluster = "lab";
        req.wait_timeout = std::chrono::seconds(30);
        CHECK(code_of([&] { run_cluster_restore(s, req); }) == ExitCode::verification_failed);
        CHECK(rig.record().back() == "pg1: pgdr-restore-handover");  // no replica was emptied
    }
}

TEST_CASE("restore --cluster: an unreachable member stops it before anything is stopped",
          "[pg][restore]") {
    Rig rig;
    rig.pg3.set_unreachable(true);
    ClusterRestoreRequest req;
    req.first = "pg2";
    req.leader = "pg1";
    req.confirm_cluster = "lab";
    try {
        run_cluster_restore(rig.seams(), req);
        FAIL("restored with pg3 unreachable");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::unreachable);
        CHECK(std::string(e.what()).find("pg3 cannot be reached; nothing was stopped") !=
              std::string::npos);
        CHECK(e.hint().find("--exclude pg3") != std::string::npos);
    }
    CHECK(rig.record() ==
          std::vector<std::string>{"pg2: pgbackrest info", "pg1: true", "pg2: true"});
}

TEST_CASE("restore --cluster --exclude: the rest is restored, the lost member left alone",
          "[pg][restore]") {
    Rig rig;
    rig.pg3.set_unreachable(true);  // lost with its host
    ClusterRestoreRequest req;
    req.target = parse_restore_target("2026-12-05T16:20:00Z");
    req.first = "pg2";
    req.leader = "pg1";
    req.confirm_cluster = "lab";
    req.exclude = {"pg3"};
    const auto r = run_cluster_restore(rig.seams(), req);
    CHECK(r.leader == "pg2");
    CHECK(r.excluded == std::vector<std::string>{"pg3"});
    const auto rec = rig.record();
    CHECK(rec == std::vector<std::string>{
                     "pg2: pgbackrest info", "pg1: true", "pg2: true", "pg2: pgdr-restore-stop",
                     "pg1: pgdr-restore-stop",
                     "pg1: etcdctl del --prefix /postgresql-common/17-main/",
                     "pg2: pgdr-restore-probe", "pg2: pgbackrest restore", "pg2: pg_ctlcluster 17",
                     "pg2: psql", "pg2: pgdr-restore-handover", "pg2: psql", "pg2: psql",
                     "pg2: pgbackrest info",  // run_backup: the repository answers
                     "pg2: /usr/local/sbin/pgdr-backup full", "pg2: pgbackrest info",
                     "pg1: pgdr-restore-empty", "pg1: systemctl start"});
    REQUIRE_FALSE(rig.said.empty());
    CHECK(rig.said[1].find("every member but pg3 (excluded) answers") != std::string::npos);
}

TEST_CASE("restore --cluster --exclude: an excluded member with Patroni running is refused",
          "[pg][restore]") {
    Rig rig;  // pg3 answers, and `systemctl is-active` says Patroni runs there
    ClusterRestoreRequest req;
    req.first = "pg2";
    req.leader = "pg1";
    req.confirm_cluster = "lab";
    req.exclude = {"pg3"};
    try {
        run_cluster_restore(rig.seams(), req);
        FAIL("restored with an excluded member's Patroni running");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::usage);
        CHECK(std::string(e.what()).find("--exclude pg3: Patroni runs there") != std::string::npos);
    }
    const auto rec = rig.record();
    REQUIRE_FALSE(rec.empty());
    CHECK(rec.back() == "pg3: systemctl is-active");  // nothing stopped
    // Its Patroni stopped (the host up): the restore goes on without it.
    Rig stopped;
    stopped.pg3.on({"systemctl", "is-active"}, 3, "");
    const auto r = run_cluster_restore(stopped.seams(), req);
    CHECK(r.excluded == std::vector<std::string>{"pg3"});
    for (const auto& line : stopped.record()) {
        CHECK((line.rfind("pg3: ", 0) != 0 || line == "pg3: systemctl is-active"));
    }
}

TEST_CASE("restore --cluster --exclude: refusals", "[pg][restore]") {
    const auto inv = inventory();
    ClusterRestoreRequest req;
    auto refused = [&](std::vector<std::string> exclude, const std::string& first,
                       const std::string& says) {
        req.exclude = std::move(exclude);
        req.first = first;
        try {
            plan_cluster_restore(inv, req);
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::usage);
            CHECK(std::string(e.what()).find(says) != std::string::npos);
            return true;
        }
        return false;
    };
    CHECK(refused({"pg2", "pg3"}, "", "leaves 1 of 3 members"));
    CHECK(refused({"scratch"}, "", "--exclude scratch: not a postgres member"));
    CHECK(refused({"pg3"}, "pg3", "--target pg3 is excluded"));
    CHECK_FALSE(refused({"pg3"}, "", ""));
    // Without --target the first member not excluded is restored first.
    req.exclude = {"pg3"};
    req.first.clear();
    CHECK(plan_cluster_restore(inv, req).front().host == "pg1");
    // Five members, etcd on two of them and a third host: two members excluded are a minority,
    // but etcd would keep one member of three.
    const auto five = parse_inventory(R"(cluster: lab
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres]}
  - {name: pg4, address: 198.18.0.14, services: [postgres]}
  - {name: pg5, address: 198.18.0.15, services: [postgres, haproxy]}
  - {name: e3, address: 198.18.0.16, services: [etcd]}
backup:
  repo: {endpoint: s3.lab.internal:9443, region: lab, bucket: pgdr-lab, uri_style: path}
)",
                                      "");
    req.exclude = {"pg1", "pg2"};
    try {
        plan_cluster_restore(five, req);
        FAIL("accepted an exclusion that leaves etcd without a quorum");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::usage);
        CHECK(std::string(e.what()).find("leaves 1 of 3 etcd members") != std::string::npos);
    }
    req.exclude = {"pg3", "pg4"};
    CHECK(plan_cluster_restore(five, req).front().host == "pg1");
}

TEST_CASE("restore --cluster --exclude: health without the excluded members' findings",
          "[pg][restore]") {
    const std::vector<Finding> findings{
        {"member_unreachable", Severity::critical, "pg3", "pg3: Patroni does not answer"},
        {"etcd_member_down", Severity::warning, "pg3", "pg3: etcd does not answer"}};
    const auto without = judge_without("pg2", findings, {"pg3"});
    CHECK(without.healthy);
    CHECK(without.leader == "pg2");
    CHECK(without.problems.empty());
    const auto with = judge_without("pg2", findings, {});
    CHECK_FALSE(with.healthy);
    CHECK(with.problems.size() == 2);
    std::vector<Finding> other = findings;
    other.push_back({"replica_not_streaming", Severity::critical, "pg1", "pg1: not streaming"});
    CHECK_FALSE(judge_without("pg2", other, {"pg3"}).healthy);
}
