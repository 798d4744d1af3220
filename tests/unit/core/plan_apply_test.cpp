#include <algorithm>
#include <catch2/catch.hpp>
#include <mutex>
#include <sstream>

#include "core/apply.hpp"
#include "core/error.hpp"
#include "core/plan.hpp"
#include "fakes/recording_transport.hpp"

using namespace pgdr;
using pgdr::testing::CallLog;
using pgdr::testing::FakeFile;
using pgdr::testing::RecordedCall;
using pgdr::testing::RecordingTransport;
using pgdr::testing::starts_with;

namespace {

// Steady time that only moves when someone sleeps: waits run instantly and exactly.
class ManualClock : public Clock {
  public:
    std::chrono::steady_clock::time_point steady_now() override { return m_now; }
    std::chrono::system_clock::time_point wall_now() override {
        return std::chrono::system_clock::time_point{};
    }
    void sleep_for(std::chrono::milliseconds d) override {
        m_now += d;
        m_slept += d;
    }
    std::chrono::milliseconds slept() const { return m_slept; }

  private:
    std::chrono::steady_clock::time_point m_now{};
    std::chrono::milliseconds m_slept{0};
};

struct Lab {
    std::shared_ptr<CallLog> log = std::make_shared<CallLog>();
    RecordingTransport pg1{"pg1", log};
    RecordingTransport pg2{"pg2", log};
    RecordingTransport pg3{"pg3", log};
    std::ostringstream log_sink;
    Logger logger{log_sink, 3};
    ManualClock clock;

    TransportMap transports() { return {{"pg1", &pg1}, {"pg2", &pg2}, {"pg3", &pg3}}; }
    ApplyReport run(const Plan& plan, bool dry_run = false, std::ostream* out = nullptr,
                    ClusterConditions* cluster = nullptr) {
        ApplyOptions opts;
        opts.dry_run = dry_run;
        opts.out = out;
        opts.clock = &clock;
        opts.cluster = cluster;
        return apply(plan, transports(), logger, opts);
    }
};

PutFile put(const std::string& path, const std::string& content, const std::string& mode = "0644",
            const std::string& owner = "") {
    PutFile f;
    f.path = path;
    f.content = content;
    f.spec.mode = mode;
    f.spec.owner = owner;
    return f;
}

RunCommand cmd(std::vector<std::string> argv, std::optional<std::vector<std::string>> unless = {}) {
    RunCommand c;
    c.argv = std::move(argv);
    c.unless = std::move(unless);
    return c;
}

// A small but complete plan: config files on every host, a one-time initialisation guarded by
// a marker file, a reload tied to the config file, a health wait, a check.
Plan sample_plan() {
    Plan plan;
    auto& files = plan.add_step(Stage::etcd, "write etcd config");
    for (const char* h : {"pg1", "pg2", "pg3"}) {
        files.hosts.push_back(
            {h, {put("/etc/default/etcd", std::string("ETCD_NAME=\"") + h + "\"\n")}});
    }
    auto& init = plan.add_step(Stage::etcd, "initialise etcd");
    for (const char* h : {"pg1", "pg2", "pg3"}) {
        RunCommand reload = cmd({"systemctl", "restart", "etcd"});
        reload.when_changed = {"/etc/default/etcd"};
        init.hosts.push_back(
            {h,
             {cmd({"touch", "/var/lib/etcd/pgdr-initialised"},
                  std::vector<std::string>{"test", "-e", "/var/lib/etcd/pgdr-initialised"}),
              reload}});
    }
    auto& patroni =
        plan.add_step(Stage::patroni, "start patroni, leader first", HostOrder::sequential);
    for (const char* h : {"pg1", "pg2", "pg3"}) {
        WaitFor w;
        w.probe = {"curl", "-fsS", "-m", "2", std::string("http://") + h + ":8008/health"};
        w.timeout = std::chrono::seconds(10);
        patroni.hosts.push_back(
            {h,
             {put("/etc/patroni/17-main.yml", "name: " + std::string(h) + "\n", "0600", "postgres"),
              cmd({"systemctl", "enable", "--now", "patroni@17-main"},
                  std::vector<std::string>{"systemctl", "is-active", "patroni@17-main"}),
              w}});
    }
    RunCommand check = cmd({"haproxy", "-c", "-f", "/etc/haproxy/haproxy.cfg"});
    check.check_only = true;
    plan.add_step(Stage::haproxy, "check haproxy").hosts.push_back({"pg3", {check}});
    return plan;
}

// Makes `systemctl enable --now X` start X, so `systemctl is-active X` tells the truth.
void simulate_systemd(RecordingTransport& t) {
    auto active = std::make_shared<std::set<std::string>>();
    auto mutex = std::make_shared<std::mutex>();
    t.on({"systemctl", "is-active"}, [=](const std::vector<std::string>& argv, const RunOptions&) {
        std::lock_guard lock(*mutex);
        CommandResult r;
        r.exit_status = active->count(argv.back()) ? 0 : 3;
        return r;
    });
    t.on({"systemctl", "enable", "--now"},
         [=](const std::vector<std::string>& argv, const RunOptions&) {
             std::lock_guard lock(*mutex);
             active->insert(argv.back());
             CommandResult r;
             r.exit_status = 0;
             return r;
         });
}

std::vector<std::string> hosts_in_order(const std::vector<RecordedCall>& calls,
                                        const std::vector<std::string>& prefix) {
    std::vector<std::string> out;
    for (const auto& c : calls) {
        if (starts_with(c.argv, prefix)) {
            out.push_back(c.host);
        }
    }
    return out;
}

std::size_t index_of_first(const std::vector<RecordedCall>& calls,
                           const std::vector<std::string>& prefix) {
    for (std::size_t i = 0; i < calls.size(); ++i) {
        if (starts_with(calls[i].argv, prefix)) {
            return i;
        }
    }
    return calls.size();
}

}  // namespace

TEST_CASE("apply converges, and a second apply changes nothing", "[plan][apply]") {
    Lab lab;
    for (auto* t : {&lab.pg1, &lab.pg2, &lab.pg3}) {
        simulate_systemd(*t);
    }
    const Plan plan = sample_plan();
    REQUIRE(plan.action_count() == 3 + 6 + 9 + 1);

    auto first = lab.run(plan);
    REQUIRE(first.ok());
    // 3 etcd files + 3 markers + 3 restarts + 3 patroni files + 3 enables.
    CHECK(first.count(Outcome::changed) == 15);
    CHECK(first.count(Outcome::failed) == 0);
    CHECK(first.results.size() == plan.action_count());
    auto f = lab.pg2.file("/etc/patroni/17-main.yml");
    REQUIRE(f);
    CHECK(f->content == "name: pg2\n");
    CHECK(f->mode == "600");
    CHECK(f->owner == "postgres:root");
    CHECK(lab.pg1.file("/var/lib/etcd/pgdr-initialised"));

    const auto calls_before = lab.log->calls().size();
    auto second = lab.run(plan);
    REQUIRE(second.ok());
    CHECK(second.count(Outcome::changed) == 0);
    CHECK(second.count(Outcome::unchanged) == plan.action_count());
    // Nothing that writes ran the second time: only reads, checks and probes.
    std::vector<RecordedCall> new_calls;
    auto all = lab.log->calls();
    new_calls.assign(all.begin() + static_cast<std::ptrdiff_t>(calls_before), all.end());
    for (const auto& c : new_calls) {
        bool read_only = starts_with(c.argv, {"sh", "-c"}) && c.argv.at(3) == "pgdr-read";
        read_only = read_only || starts_with(c.argv, {"test"}) ||
                    starts_with(c.argv, {"systemctl", "is-active"}) ||
                    starts_with(c.argv, {"curl"}) || starts_with(c.argv, {"haproxy", "-c"});
        INFO(c.host << ": " << c.argv.at(0) << " " << c.argv.at(1));
        CHECK(read_only);
    }
}

TEST_CASE("apply rewrites a file whose mode or owner drifted", "[plan][apply]") {
    Lab lab;
    lab.pg1.set_file("/etc/pgdr.pass", FakeFile{"secret-line\n", "644", "root:root"});
    Plan plan;
    PutFile f = put("/etc/pgdr.pass", "secret-line\n", "0600", "postgres:postgres");
    plan.add_step(Stage::replication, "passfile").hosts.push_back({"pg1", {f}});
    auto report = lab.run(plan);
    REQUIRE(report.results.size() == 1);
    CHECK(report.results[0].outcome == Outcome::changed);
    CHECK(report.results[0].diff == "mode 644 -> 600\nowner root:root -> postgres:postgres\n");
    CHECK(lab.pg1.file("/etc/pgdr.pass")->owner == "postgres:postgres");
    CHECK(lab.run(plan).count(Outcome::changed) == 0);
}

TEST_CASE("apply respects stage, step and host order", "[plan][apply]") {
    Lab lab;
    for (auto* t : {&lab.pg1, &lab.pg2, &lab.pg3}) {
        simulate_systemd(*t);
    }
    Plan plan;
    // Filled out of order on purpose: the plan keeps stages in execution order.
    plan.add_step(Stage::patroni, "patroni", HostOrder::sequential).hosts = {
        {"pg2", {cmd({"start-patroni", "leader"})}},
        {"pg1", {cmd({"start-patroni", "replica"}), cmd({"check-streaming"})}},
        {"pg3", {cmd({"start-patroni", "replica"}), cmd({"check-streaming"})}},
    };
    plan.add_step(Stage::etcd, "etcd").hosts = {{"pg1", {cmd({"start-etcd"})}},
                                                {"pg2", {cmd({"start-etcd"})}},
                                                {"pg3", {cmd({"start-etcd"})}}};
    plan.add_step(Stage::etcd, "etcd health").hosts = {{"pg1", {cmd({"etcd-health"})}}};
    REQUIRE(plan.stages.size() == 2);
    CHECK(plan.stages[0].stage == Stage::etcd);

    REQUIRE(lab.run(plan).ok());
    const auto calls = lab.log->calls();
    // Every etcd start (parallel step) precedes the health check, which precedes Patroni.
    auto health = index_of_first(calls, {"etcd-health"});
    auto first_patroni = index_of_first(calls, {"start-patroni"});
    CHECK(hosts_in_order(calls, {"start-etcd"}).size() == 3);
    for (std::size_t i = 0; i < calls.size(); ++i) {
        if (starts_with(calls[i].argv, {"start-etcd"})) {
            CHECK(i < health);
        }
    }
    CHECK(health < first_patroni);
    // Sequential step: the leader first, then each replica with all its actions, in list order.
    std::vector<std::string> patroni_calls;
    for (const auto& c : calls) {
        if (starts_with(c.argv, {"start-patroni"}) || starts_with(c.argv, {"check-streaming"})) {
            patroni_calls.push_back(c.host + ":" + c.argv[0]);
        }
    }
    CHECK(patroni_calls == std::vector<std::string>{"pg2:start-patroni", "pg1:start-patroni",
                                                    "pg1:check-streaming", "pg3:start-patroni",
                                                    "pg3:check-streaming"});
}

TEST_CASE("a failure stops its stage and the stages after it", "[plan][apply]") {
    Lab lab;
    lab.pg2.on({"start-etcd"}, 1, "", "etcd: bind: address already in use\n");
    Plan plan;
    plan.add_step(Stage::etcd, "start etcd").hosts = {
        {"pg1", {cmd({"start-etcd"}), cmd({"after-etcd"})}},
        {"pg2", {cmd({"start-etcd"}), cmd({"after-etcd"})}},
        {"pg3", {cmd({"start-etcd"}), cmd({"after-etcd"})}},
    };
    plan.add_step(Stage::etcd, "etcd health").hosts = {{"pg1", {cmd({"etcd-health"})}}};
    plan.add_step(Stage::patroni, "patroni").hosts = {{"pg1", {cmd({"start-patroni"})}}};

    auto report = lab.run(plan);
    CHECK_FALSE(report.ok());
    REQUIRE(report.failed_stage);
    CHECK(*report.failed_stage == Stage::etcd);
    CHECK(report.results.size() == plan.action_count());
    CHECK(report.count(Outcome::failed) == 1);
    // pg1 and pg3 are independent of pg2 in a parallel step and finish it; pg2 stops.
    CHECK(report.count(Outcome::changed) == 4);
    CHECK(report.count(Outcome::skipped) == 3);  // pg2's after-etcd, the health check, patroni
    const auto calls = lab.log->calls();
    CHECK(hosts_in_order(calls, {"etcd-health"}).empty());
    CHECK(hosts_in_order(calls, {"start-patroni"}).empty());
    CHECK(lab.pg2.calls().size() == 1);
    for (const auto& r : report.results) {
        if (r.outcome == Outcome::failed) {
            CHECK(r.host == "pg2");
            CHECK(r.error.find("exit status 1") != std::string::npos);
            CHECK(r.error.find("address already in use") != std::string::npos);
        }
    }
}

TEST_CASE("a failure in a sequential step stops the hosts after it", "[plan][apply]") {
    Lab lab;
    lab.pg1.on({"start-patroni"}, 2);
    Plan plan;
    plan.add_step(Stage::patroni, "patroni", HostOrder::sequential).hosts = {
        {"pg1", {cmd({"start-patroni"})}},
        {"pg2", {cmd({"start-patroni"})}},
        {"pg3", {cmd({"start-patroni"})}}};
    auto report = lab.run(plan);
    CHECK(report.failed_stage == Stage::patroni);
    CHECK(hosts_in_order(lab.log->calls(), {"start-patroni"}) == std::vector<std::string>{"pg1"});
    CHECK(report.count(Outcome::skipped) == 2);
}

TEST_CASE("an unreachable host fails its action and is reported", "[plan][apply]") {
    Lab lab;
    lab.pg3.set_unreachable(true);
    auto report = lab.run(sample_plan());
    CHECK(report.failed_stage == Stage::etcd);
    CHECK(report.unreachable == std::vector<std::string>{"pg3"});
    CHECK(lab.pg1.file("/etc/default/etcd"));  // the parallel step finished on the others
    CHECK(lab.pg1.file("/etc/patroni/17-main.yml") == std::nullopt);
}

TEST_CASE("a host without a transport is refused before anything runs", "[plan][apply]") {
    Lab lab;
    std::ostringstream sink;
    Logger logger(sink);
    Plan plan = sample_plan();
    TransportMap partial{{"pg1", &lab.pg1}, {"pg2", &lab.pg2}};
    CHECK_THROWS_AS(apply(plan, partial, logger), Error);
    CHECK(lab.log->calls().empty());
}

TEST_CASE("dry run reads, diffs and prints, and changes nothing", "[plan][apply]") {
    Lab lab;
    for (auto* t : {&lab.pg1, &lab.pg2, &lab.pg3}) {
        simulate_systemd(*t);
    }
    lab.pg1.set_file("/etc/default/etcd", FakeFile{"ETCD_NAME=\"old\"\n"});
    lab.pg2.set_file("/etc/default/etcd", FakeFile{"ETCD_NAME=\"pg2\"\n"});
    const auto files_before = lab.pg1.files();

    std::ostringstream out;
    auto report = lab.run(sample_plan(), true, &out);
    const std::string listing = out.str();
    CHECK(report.dry_run);
    CHECK(report.ok());
    // pg1: update, pg2: equal, pg3: create
    CHECK(listing.find("--- /etc/default/etcd (on host)\n") != std::string::npos);
    CHECK(listing.find("-ETCD_NAME=\"old\"\n") != std::string::npos);
    CHECK(listing.find("+ETCD_NAME=\"pg1\"\n") != std::string::npos);
    CHECK(listing.find("[pg3] would create /etc/default/etcd") != std::string::npos);
    CHECK(listing.find("[pg2] would update /etc/default/etcd") == std::string::npos);
    CHECK(listing.find("[pg1] would run: touch /var/lib/etcd/pgdr-initialised") !=
          std::string::npos);
    // Triggered by the (would-be) change of the config: pg1 and pg3, not pg2.
    CHECK(listing.find("[pg1] would run: systemctl restart etcd") != std::string::npos);
    CHECK(listing.find("[pg2] would run: systemctl restart etcd") == std::string::npos);
    CHECK(listing.find("would wait (up to 10s): curl") != std::string::npos);
    CHECK(listing.find("would check: haproxy -c") != std::string::npos);
    CHECK(listing.find("== stage patroni\n") != std::string::npos);
    CHECK(report.count(Outcome::changed) == 2 + 3 + 2 + 3 + 3);

    for (auto* t : {&lab.pg1, &lab.pg2, &lab.pg3}) {
        INFO(t->host_name());
        CHECK(t->writes({{"systemctl", "is-active"}}).empty());
    }
    CHECK(lab.pg1.files().size() == files_before.size());
    CHECK(lab.pg1.file("/etc/default/etcd")->content == "ETCD_NAME=\"old\"\n");
    CHECK_FALSE(lab.pg3.file("/etc/default/etcd"));
}

TEST_CASE("dry run hides secrets", "[plan][apply]") {
    Lab lab;
    lab.logger.add_secret("s3cr3t-registered");
    Plan plan;
    PutFile yml = put("/etc/patroni/17-main.yml",
                      "name: pg1\nrestapi:\n  password: \"hunter2-unregistered\"\n", "0600");
    yml.secrecy = Secrecy::password_lines;
    PutFile pass = put("/var/lib/postgresql/pgdr.pgpass", "*:*:*:replicator:hunter3-anything\n");
    pass.secrecy = Secrecy::whole_file;
    PutFile plain = put("/etc/motd", "token s3cr3t-registered\n");
    RunCommand sql = cmd({"psql", "-f", "-"});
    sql.stdin_data = "ALTER ROLE replicator PASSWORD 'hunter4-stdin'";
    plan.add_step(Stage::patroni, "files").hosts = {{"pg1", {yml, pass, plain, sql}}};

    std::ostringstream out;
    auto report = lab.run(plan, true, &out);
    const std::string listing = out.str();
    CHECK(listing.find("+name: pg1") != std::string::npos);
    CHECK(listing.find("hunter2") == std::string::npos);
    CHECK(listing.find("+[line hidden: it holds a secret]") != std::string::npos);
    CHECK(listing.find("hunter3") == std::string::npos);
    CHECK(listing.find("(1 changed lines not shown: the file holds secrets)") != std::string::npos);
    CHECK(listing.find("s3cr3t-registered") == std::string::npos);
    CHECK(listing.find("token [redacted]") != std::string::npos);
    CHECK(listing.find("hunter4") == std::string::npos);
    for (const auto& r : report.results) {
        CHECK(r.diff.find("hunter") == std::string::npos);
    }
    CHECK(lab.log_sink.str().find("hunter") == std::string::npos);
}

TEST_CASE("WaitFor polls until the probe succeeds, within its timeout", "[plan][apply]") {
    Lab lab;
    auto attempts = std::make_shared<int>(0);
    lab.pg1.on({"probe"}, [attempts](const std::vector<std::string>&, const RunOptions&) {
        CommandResult r;
        r.exit_status = ++*attempts >= 3 ? 0 : 1;
        return r;
    });
    Plan plan;
    WaitFor w;
    w.probe = {"probe"};
    w.timeout = std::chrono::seconds(10);
    w.interval = std::chrono::milliseconds(500);
    plan.add_step(Stage::verify, "wait").hosts = {{"pg1", {w}}};
    auto report = lab.run(plan);
    CHECK(report.ok());
    CHECK(*attempts == 3);
    CHECK(lab.clock.slept() == std::chrono::milliseconds(1000));
    CHECK(report.results.at(0).outcome == Outcome::unchanged);
}

TEST_CASE("WaitFor fails when the timeout passes", "[plan][apply]") {
    Lab lab;
    lab.pg1.on({"probe"}, 1, "", "not yet\n");
    Plan plan;
    WaitFor w;
    w.probe = {"probe"};
    w.description = "the leader";
    w.timeout = std::chrono::seconds(5);
    w.interval = std::chrono::seconds(1);
    plan.add_step(Stage::verify, "wait").hosts = {{"pg1", {w}}};
    auto report = lab.run(plan);
    CHECK(report.failed_stage == Stage::verify);
    const auto& r = report.results.at(0);
    CHECK(r.outcome == Outcome::failed);
    CHECK(r.error.find("gave up after 5s waiting for the leader") != std::string::npos);
    CHECK(r.error.find("not yet") != std::string::npos);
    CHECK(lab.clock.slept() <= std::chrono::seconds(5));
    CHECK(lab.pg1.calls().size() >= 5);
}

namespace {

// ClusterConditions that answer from a script, one answer per call (the last one repeats),
// and record what they were asked.
class ScriptedConditions final : public ClusterConditions {
  public:
    explicit ScriptedConditions(std::vector<std::vector<std::string>> answers)
        : m_answers(std::move(answers)) {}

    std::vector<std::string> unmet(const WaitForCluster& wait) override {
        std::lock_guard lock(m_mutex);
        asked.push_back(wait);
        const auto i = std::min(asked.size(), m_answers.size()) - 1;
        if (m_answers[i].size() == 1 && m_answers[i][0] == "throw") {
            throw Error(ExitCode::unreachable, "no host to forward cluster ports from");
        }
        return m_answers[i];
    }

    std::vector<WaitForCluster> asked;

  private:
    std::mutex m_mutex;
    std::vector<std::vector<std::string>> m_answers;
};

Plan cluster_wait_plan(std::chrono::seconds timeout = std::chrono::seconds(10)) {
    WaitForCluster w;
    w.absent = {"haproxy_unreachable", "haproxy_write_not_leader"};
    w.member = "pg3";
    w.description = "only the leader UP behind the write port";
    w.timeout = timeout;
    w.interval = std::chrono::seconds(1);
    Plan plan;
    plan.add_step(Stage::haproxy, "configure HAProxy").hosts = {{"pg3", {w}}};
    return plan;
}

}  // namespace

TEST_CASE("WaitForCluster asks the cluster conditions until none is unmet, not the host",
          "[plan][apply]") {
    Lab lab;
    ScriptedConditions cluster({{"HAProxy on pg3 routes writes to [pg1,pg2]"}, {"throw"}, {}});
    auto report = lab.run(cluster_wait_plan(), false, nullptr, &cluster);
    CHECK(report.ok());
    CHECK(report.results.at(0).outcome == Outcome::unchanged);
    CHECK(report.results.at(0).description == "wait: only the leader UP behind the write port");
    REQUIRE(cluster.asked.size() == 3);
    CHECK(cluster.asked[0].member == "pg3");
    CHECK(cluster.asked[0].absent ==
          std::vector<std::string>{"haproxy_unreachable", "haproxy_write_not_leader"});
    CHECK(lab.clock.slept() == std::chrono::seconds(2));
    // A cluster that could not be read is polled again and blames no host.
    CHECK(report.unreachable.empty());
    CHECK(lab.pg3.calls().empty());
}

TEST_CASE("WaitForCluster fails at its timeout with what is still unmet", "[plan][apply]") {
    Lab lab;
    ScriptedConditions cluster(
        {{"HAProxy on pg3 routes writes to [pg1,pg2], not to the leader "
          "alone (pg1)"}});
    auto report = lab.run(cluster_wait_plan(std::chrono::seconds(5)), false, nullptr, &cluster);
    CHECK(report.failed_stage == Stage::haproxy);
    const auto& r = report.results.at(0);
    CHECK(r.outcome == Outcome::failed);
    CHECK(r.error ==
          "gave up after 5s waiting for only the leader UP behind the write port: HAProxy on pg3 "
          "routes writes to [pg1,pg2], not to the leader alone (pg1)");
    CHECK(cluster.asked.size() == 6);
    CHECK(lab.clock.slept() <= std::chrono::seconds(5));
}

TEST_CASE("WaitForCluster in a dry run is listed, not judged; a real run needs the conditions",
          "[plan][apply]") {
    Lab lab;
    std::ostringstream out;
    auto report = lab.run(cluster_wait_plan(), true, &out);
    CHECK(report.ok());
    CHECK(out.str().find("[pg3] would wait (up to 10s): the cluster's assessment has no "
                         "haproxy_unreachable or haproxy_write_not_leader finding about pg3 or "
                         "the cluster  # only the leader UP behind the write port") !=
          std::string::npos);
    CHECK_THROWS_AS(lab.run(cluster_wait_plan()), Error);
    WaitForCluster bare;
    bare.absent = {"no_sync_standby"};
    CHECK(describe(Action{bare}) ==
          "wait: the cluster's assessment has no no_sync_standby finding");
}

TEST_CASE("Plan::only keeps one stage; stage names round-trip", "[plan]") {
    Plan plan = sample_plan();
    auto only = plan.only(Stage::patroni);
    REQUIRE(only.stages.size() == 1);
    CHECK(only.action_count() == 9);
    for (Stage s : all_stages()) {
        CHECK(parse_stage(to_string(s)) == s);
    }
    CHECK_FALSE(parse_stage("etc"));
    CHECK(describe(Action{put("/etc/x", "", "0600", "postgres")}) == "put /etc/x (0600 postgres)");
    CHECK(describe(Action{cmd({"echo", "a b"})}) == "run: echo 'a b'");
}
