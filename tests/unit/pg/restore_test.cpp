// `pgdr restore`'s core (pg/restore.hpp) on a recording transport: the target's forms, the
// refusal to restore over a running member, and the steps of a restore.
#include "pg/restore.hpp"

#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/recording_transport.hpp"

using namespace pgdr;
using namespace pgdr::pg;
using pgdr::testing::RecordingTransport;

namespace {

Inventory inventory() {
    return parse_inventory(R"(cluster: lab
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy]}
  - {name: scratch, address: 198.18.0.30, services: []}
backup:
  repo: {endpoint: s3.lab.internal:9443, region: lab, bucket: pgdr-lab, uri_style: path}
)",
                           "");
}

ExitCode code_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return ExitCode::ok;
}

}  // namespace

TEST_CASE("restore: the target's three forms", "[pg][restore]") {
    CHECK(parse_restore_target("latest").kind == RestoreTarget::Kind::latest);
    auto t = parse_restore_target("2026-12-05T16:20:00Z");
    CHECK(t.kind == RestoreTarget::Kind::time);
    CHECK(t.value == "2026-12-05 16:20:00+00");
    CHECK(parse_restore_target("2026-12-05 17:20:00.25+01:00").value ==
          "2026-12-05 17:20:00.25+01:00");
    auto l = parse_restore_target("0/5000060");
    CHECK(l.kind == RestoreTarget::Kind::lsn);
    for (const char* bad : {"yesterday", "2026-12-05T16:20:00", "2026-12-05", "0/XYZ", ""}) {
        CAPTURE(bad);
        CHECK(code_of([&] { parse_restore_target(bad); }) == ExitCode::usage);
    }
    const auto inv = inventory();
    CHECK(restore_argv(inv, t) ==
          std::vector<std::string>{"runuser", "-u", "postgres", "--", "pgbackrest", "--stanza=lab",
                                   "--delta", "--type=time", "--target=2026-12-05 16:20:00+00",
                                   "--target-action=promote", "restore"});
    CHECK(restore_argv(inv, {}) == std::vector<std::string>{"runuser", "-u", "postgres", "--",
                                                            "pgbackrest", "--stanza=lab", "--delta",
                                                            "--type=default", "restore"});
}

TEST_CASE("restore: never over a running member without --force and the typed name",
          "[pg][restore]") {
    const auto inv = inventory();
    CHECK(parse_restore_probe("patroni=active postgres=0\n").patroni_active);
    CHECK(parse_restore_probe("patroni=inactive postgres=3\n").postgres_running == false);
    CHECK(parse_restore_probe("patroni=failed postgres=0").postgres_running);

    RestoreRequest req;
    req.host = "pg2";
    const RestoreHostState running{true, true};
    CHECK(code_of([&] { check_restore_allowed(inv, req, running); }) == ExitCode::usage);
    req.force = true;
    CHECK(code_of([&] { check_restore_allowed(inv, req, running); }) == ExitCode::usage);
    req.confirm_cluster = "prod";
    CHECK(code_of([&] { check_restore_allowed(inv, req, running); }) == ExitCode::usage);
    req.confirm_cluster = "lab";
    CHECK(code_of([&] { check_restore_allowed(inv, req, running); }) == ExitCode::ok);
    RestoreRequest scratch;
    scratch.host = "scratch";
    CHECK(code_of([&] { check_restore_allowed(inv, scratch, RestoreHostState{}); }) ==
          ExitCode::ok);
    scratch.host = "nowhere";
    CHECK(code_of([&] { check_restore_allowed(inv, scratch, RestoreHostState{}); }) ==
          ExitCode::usage);
}

TEST_CASE("restore: onto a scratch host, then promoted", "[pg][restore]") {
    const auto inv = inventory();
    RecordingTransport host("scratch");
    fakes::ManualClock clock;
    host.on({"sh", "-c"}, 0, "patroni=inactive postgres=3\n");
    int asked = 0;
    host.on({"runuser", "-u", "postgres", "--", "psql"},
            [&](const std::vector<std::string>&, const RunOptions&) {
                CommandResult r;
                r.exit_status = 0;
                r.out = ++asked < 3 ? "f\n" : "t\n";  // in recovery twice, then promoted
                return r;
            });
    RestoreRequest req;
    req.host = "scratch";
    req.target = parse_restore_target("2026-12-05T16:20:00Z");
    std::vector<std::string> said;
    const auto r =
        run_restore(inv, host, req, clock, [&](const std::string& m) { said.push_back(m); });
    CHECK_FALSE(r.stopped_member);
    CHECK(asked == 3);
    const auto calls = host.calls();
    REQUIRE(calls.size() == 6);
    CHECK(calls[1].argv == restore_argv(inv, req.target));
    CHECK(calls[2].argv == std::vector<std::string>{"pg_ctlcluster", "17", "main", "start"});
    CHECK(said.size() == 2);
}

TEST_CASE("restore: a running member is refused before anything changes", "[pg][restore]") {
    const auto inv = inventory();
    RecordingTransport host("pg2");
    fakes::ManualClock clock;
    host.on({"sh", "-c"}, 0, "patroni=active postgres=0\n");
    RestoreRequest req;
    req.host = "pg2";
    CHECK(code_of([&] { run_restore(inv, host, req, clock, {}); }) == ExitCode::usage);
    CHECK(host.calls().size() == 1);  // the probe only
}

TEST_CASE("restore: pgBackRest's failure keeps its exit code", "[pg][restore]") {
    const auto inv = inventory();
    RecordingTransport host("scratch");
    fakes::ManualClock clock;
    host.on({"sh", "-c"}, 0, "patroni=inactive postgres=3\n");
    host.on({"runuser", "-u", "postgres", "--", "pgbackrest"}, 49, "",
            "P00  ERROR: [049]: unable to get address for 's3.lab.internal': [-2] Name or "
            "service not known\n");
    RestoreRequest req;
    req.host = "scratch";
    CHECK(code_of([&] { run_restore(inv, host, req, clock, {}); }) == ExitCode::unreachable);
}

TEST_CASE("restore: a target the archive does not reach yet says so", "[pg][restore]") {
    // Recorded on the lab: a restore --target to a time one second old, before the leader had
    // archived the segment holding it.
    const auto inv = inventory();
    RecordingTransport host("scratch");
    fakes::ManualClock clock;
    host.on({"sh", "-c"}, 0, "patroni=inactive postgres=3\n");
    host.on({"pg_ctlcluster", "17", "main", "start"}, 1, "",
            "Job for postgresql@17-main.service failed because the service did not take the "
            "steps required by its unit configuration.\n");
    host.on({"tail", "-n", "30"}, 0,
            "2026-12-06 19:36:07.868 P00   INFO: unable to find 000000020000000000000009 in the "
            "archive\n"
            "2026-12-06 19:36:07.873 UTC [440] FATAL:  recovery ended before configured recovery "
            "target was reached\n");
    RestoreRequest req;
    req.host = "scratch";
    req.target = parse_restore_target("2026-12-06T19:35:54Z");
    try {
        run_restore(inv, host, req, clock, {});
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::postgres);
        CHECK(std::string(e.what()).find("the archive does not reach " + req.target.value +
                                         " yet") != std::string::npos);
        CHECK(e.hint().find("pg_switch_wal()") != std::string::npos);
    }
    CHECK(
        host.calls().back().argv ==
        std::vector<std::string>{"tail", "-n", "30", "/var/log/postgresql/postgresql-17-main.log"});

    // Another start failure keeps systemd's words.
    RecordingTransport other("scratch");
    other.on({"sh", "-c"}, 0, "patroni=inactive postgres=3\n");
    other.on({"pg_ctlcluster", "17", "main", "start"}, 1, "", "Job failed: no space left\n");
    other.on({"tail", "-n", "30"}, 0, "FATAL:  could not write to file\n");
    try {
        run_restore(inv, other, req, clock, {});
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("pg_ctlcluster start on scratch failed: Job failed") !=
              std::string::npos);
    }
}
