// The restore drill's steps (drills/restore_drill_run.hpp) against a scripted primary: markers
// kept in memory with the real clock's timestamps, a pg_stat_archiver that catches up with the
// switched segment (or not), a stanza with one backup, and a scratch host that is a recording
// transport whose restored rows are the markers up to the target the restore seam was given
// (or, for a broken restore, all of them).
#include "drills/restore_drill_run.hpp"

#include <catch2/catch.hpp>
#include <mutex>

#include "core/error.hpp"
#include "fakes/recording_transport.hpp"
#include "pg/lsn.hpp"

using namespace pgdr;
using namespace pgdr::drills;
using pgdr::testing::RecordingTransport;

namespace {

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct FakePrimary {
    std::mutex mutex;
    std::vector<MarkerRow> rows;
    std::string run;
    int fail_every = 0;  // every Nth insert is not acknowledged
    std::string switched = "000000010000000000000007";
    bool archives = true;
    bool backup_before = true;
    bool restore_ignores_target = false;
    bool restore_throws = false;
    std::optional<std::int64_t> restored_to;
    bool scratch_made = false;
    bool scratch_prepared = false;
    bool scratch_removed = false;
    bool prepare_throws = false;
    bool remove_throws = false;
    // What the provider made: a lab host unless a test makes it an OVH instance.
    ScratchMachine machine{"lab", "scr100", "scr100", "198.18.0.100", "", "", "", "", false};
    std::unique_ptr<RecordingTransport> scratch = std::make_unique<RecordingTransport>("scr100");

    std::string restored_rows() {
        std::lock_guard lock(mutex);
        std::string out;
        for (const auto& r : rows) {
            if (restore_ignores_target || r.committed_at_us <= *restored_to) {
                out += std::to_string(r.id) + "|" + std::to_string(r.committed_at_us) + "\n";
            }
        }
        return out;
    }
};

RestoreDrillSeams seams(FakePrimary& p, Clock& clock) {
    RestoreDrillSeams s{clock, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, nullptr};
    s.prepare_markers = [] {};
    s.insert_marker = [&p](const std::string& run, std::int64_t id) {
        std::lock_guard lock(p.mutex);
        p.run = run;
        MarkerInsert m;
        if (p.fail_every > 0 && id % p.fail_every == 0) {
            m.error = "SQLSTATE 25006: read-only";
            return m;
        }
        m.ok = true;
        m.committed_at_us = now_us();
        p.rows.push_back({id, m.committed_at_us});
        return m;
    };
    s.server_now_us = [] { return now_us(); };
    s.archiver = [&p] {
        pg::ArchiverState a;
        a.last_archived_wal = p.archives ? p.switched : "000000010000000000000006";
        a.last_archived_time = static_cast<double>(now_us() - 2000000) / 1e6;
        return a;
    };
    s.switch_wal = [&p] { return p.switched; };
    s.backup_info = [&p] {
        pg::StanzaInfo st;
        pg::BackupRecord b;
        b.label = "20261205-150000F";
        b.stop = now_us() / 1000000 + (p.backup_before ? -3600 : 3600);
        b.lsn_stop = "0/5000100";
        st.backups.push_back(b);
        return st;
    };
    s.create_scratch = [&p] {
        p.scratch_made = true;
        p.scratch->on({"runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v", "ON_ERROR_STOP=1"},
                      [&p](const std::vector<std::string>& argv, const RunOptions&) {
                          CommandResult r;
                          r.exit_status = 0;
                          const bool lsn =
                              argv.back().find("pg_last_wal_replay_lsn") != std::string::npos;
                          r.out = lsn ? "0/9000F00\n" : p.restored_rows();
                          return r;
                      });
        return std::make_unique<ScratchHost>(p.machine, *p.scratch, [&p] {
            if (p.remove_throws) {
                throw Error(ExitCode::cloud_api, "the scratch instance i-9 was NOT deleted",
                            "delete it: DELETE /v2/publicCloud/project/p1/compute/instance/i-9");
            }
            p.scratch_removed = true;
        });
    };
    s.prepare_scratch = [&p](ScratchHost& host) {
        CHECK(&host.transport() == p.scratch.get());
        if (p.prepare_throws) {
            throw Error(ExitCode::postgres, "installing postgresql and pgbackrest on " +
                                                host.name() + " failed: E: Unable to locate");
        }
        p.scratch_prepared = true;
    };
    s.restore = [&p](Transport&, const pg::RestoreRequest& req) {
        if (p.restore_throws) {
            throw Error(ExitCode::postgres, "pgbackrest restore on scr100: [095] wrong passphrase");
        }
        p.restored_to = parse_target_time(req.target.value);
        pg::RestoreResult r;
        r.host = req.host;
        r.restore_elapsed = std::chrono::milliseconds(1200);
        r.ready_elapsed = std::chrono::milliseconds(800);
        return r;
    };
    return s;
}

RestoreDrillOptions quick() {
    RestoreDrillOptions o;
    o.cluster = "lab";
    o.provider = "lab";
    o.marker_interval = std::chrono::milliseconds(5);
    o.baseline = std::chrono::milliseconds(120);
    o.margin = std::chrono::milliseconds(30);
    o.after_target = std::chrono::milliseconds(80);
    o.archive_timeout = std::chrono::milliseconds(1500);
    return o;
}

}  // namespace

TEST_CASE("restore drill run: a point-in-time restore that stops at the target passes",
          "[drills][restore]") {
    SystemClock clock;
    FakePrimary p;
    const auto r = run_restore_drill(seams(p, clock), quick());
    INFO(r.errors.size());
    CHECK(r.errors.empty());
    CHECK(r.verdict == Verdict::pass);
    REQUIRE(r.markers_expected.has_value());
    CHECK(*r.markers_expected > 5);
    CHECK(r.markers_found == r.markers_expected);
    CHECK(r.markers_after_target == 0);
    CHECK(r.markers_acknowledged > *r.markers_expected);  // markers went on after the target
    CHECK(r.target_source == "now - margin");
    CHECK(r.target == format_iso_us(*p.restored_to));
    CHECK(r.target_covered);
    CHECK(r.rpo_ms.has_value());
    CHECK(r.backup_label == "20261205-150000F");
    REQUIRE(r.backup_age_ms.has_value());
    CHECK(*r.backup_age_ms > 3590 * 1000);
    CHECK(r.wal_replayed_bytes == 0x9000F00 - 0x5000100);
    CHECK(r.replay_lsn == "0/9000F00");
    CHECK(r.restore_copy_ms == 1200);
    CHECK(r.recovery_ms == 800);
    CHECK(r.restore_rto_ms.has_value());
    CHECK(r.scratch_host == "scr100");
    CHECK(r.scratch_provider == "lab");
    CHECK(r.scratch_create_ms.has_value());
    REQUIRE(r.scratch_ready_ms.has_value());
    CHECK(*r.scratch_ready_ms >= *r.scratch_create_ms);
    CHECK(p.scratch_prepared);
    CHECK(r.restored);
    CHECK(p.scratch_removed);
    // The run id goes to psql as a variable, the statement on stdin: no SQL built from it.
    const auto calls = p.scratch->calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].sudo);
    CHECK(std::find(calls[0].argv.begin(), calls[0].argv.end(), "run=" + p.run) !=
          calls[0].argv.end());
    CHECK(calls[0].stdin_data == marker_rows_sql());
    CHECK(calls[0].argv == marker_rows_argv(p.run));
    CHECK(calls[1].argv == replay_lsn_argv());
}

TEST_CASE("restore drill run: rows after the target fail the drill", "[drills][restore]") {
    SystemClock clock;
    FakePrimary p;
    p.restore_ignores_target = true;
    const auto r = run_restore_drill(seams(p, clock), quick());
    CHECK(r.verdict == Verdict::fail);
    REQUIRE(r.markers_after_target.has_value());
    CHECK(*r.markers_after_target > 0);
    CHECK_FALSE(r.find_check("none_after_target")->passed);
    CHECK(r.find_check("all_markers_found")->passed);
    CHECK(p.scratch_removed);
}

TEST_CASE("restore drill run: unacknowledged markers are counted, not expected",
          "[drills][restore]") {
    SystemClock clock;
    FakePrimary p;
    p.fail_every = 3;
    const auto r = run_restore_drill(seams(p, clock), quick());
    CHECK(r.markers_failed > 0);
    CHECK(r.verdict == Verdict::pass);
    REQUIRE_FALSE(r.warnings.empty());
    CHECK(r.warnings.front().find("read-only") != std::string::npos);
}

TEST_CASE("restore drill run: failures are the report's errors, the scratch host goes",
          "[drills][restore]") {
    SystemClock clock;
    FakePrimary p;
    SECTION("the restore fails") {
        p.restore_throws = true;
        const auto r = run_restore_drill(seams(p, clock), quick());
        CHECK(r.verdict == Verdict::fail);
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].find("wrong passphrase") != std::string::npos);
        CHECK_FALSE(r.find_check("restore_completed")->passed);
        CHECK(p.scratch_removed);
        CHECK(r.restored);
    }
    SECTION("the switched segment never reaches the repository") {
        p.archives = false;
        const auto r = run_restore_drill(seams(p, clock), quick());
        CHECK_FALSE(r.target_covered);
        CHECK_FALSE(r.find_check("target_covered")->passed);
        CHECK_FALSE(p.scratch_made);
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].find("000000010000000000000007 was not archived") != std::string::npos);
    }
    SECTION("no backup ended before the target") {
        p.backup_before = false;
        const auto r = run_restore_drill(seams(p, clock), quick());
        CHECK_FALSE(p.scratch_made);
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].find("no backup of lab ended before the target") != std::string::npos);
    }
    SECTION("Ctrl-C stops it") {
        std::atomic<bool> flag{true};
        auto s = seams(p, clock);
        s.interrupted = &flag;
        bool interrupted = false;
        const auto r = run_restore_drill(s, quick(), &interrupted);
        CHECK(interrupted);
        CHECK(r.verdict == Verdict::fail);
        CHECK_FALSE(p.scratch_made);
    }
}

TEST_CASE("restore drill run: an OVH instance as the scratch host, in the report",
          "[drills][restore]") {
    SystemClock clock;
    FakePrimary p;
    p.machine = {"ovh",        "i-9",       "pgdr-lab-restore-drill-20261206-050000",
                 "10.0.0.140", "51.68.1.2", "b3-8",
                 "GRA11",      "",          true};
    auto o = quick();
    o.provider = "ovh";
    const auto r = run_restore_drill(seams(p, clock), o);
    CHECK(r.verdict == Verdict::pass);
    CHECK(r.provider == "ovh");
    CHECK(r.scratch_host == "pgdr-lab-restore-drill-20261206-050000");
    CHECK(r.scratch_id == "i-9");
    CHECK(r.scratch_flavor == "b3-8");
    CHECK(r.scratch_region == "GRA11");
    CHECK(r.scratch_address == "10.0.0.140");
    CHECK(r.scratch_create_ms.has_value());
    CHECK(p.scratch_removed);
}

TEST_CASE("restore drill run: the scratch host goes whatever fails after it is made",
          "[drills][restore]") {
    SystemClock clock;
    FakePrimary p;
    SECTION("preparing it fails: removed, the drill fails") {
        p.prepare_throws = true;
        const auto r = run_restore_drill(seams(p, clock), quick());
        CHECK(r.verdict == Verdict::fail);
        CHECK(p.scratch_removed);
        CHECK(r.restored);
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].find("Unable to locate") != std::string::npos);
        CHECK_FALSE(r.scratch_ready_ms.has_value());
    }
    SECTION("removing it fails: the report says so, with the provider's hint") {
        p.remove_throws = true;
        const auto r = run_restore_drill(seams(p, clock), quick());
        CHECK(r.verdict == Verdict::fail);
        CHECK_FALSE(r.restored);
        CHECK_FALSE(r.find_check("scratch_removed")->passed);
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].find("NOT deleted") != std::string::npos);
        CHECK(r.errors[0].find("DELETE /v2/publicCloud/project/p1/compute/instance/i-9") !=
              std::string::npos);
    }
    SECTION("Ctrl-C while the provider makes it: an interruption") {
        std::atomic<bool> flag{false};
        auto s = seams(p, clock);
        s.interrupted = &flag;
        s.create_scratch = [&flag]() -> std::unique_ptr<ScratchHost> {
            flag = true;  // the provider saw it, removed what it made, and threw
            throw Error(ExitCode::interrupted, "interrupted while waiting for instance i-9");
        };
        bool interrupted = false;
        const auto r = run_restore_drill(s, quick(), &interrupted);
        CHECK(interrupted);
        CHECK(r.verdict == Verdict::fail);
        CHECK(r.restored);  // nothing is left: the provider removed it
    }
}

TEST_CASE("restore drill run: --to a time before the markers", "[drills][restore]") {
    SystemClock clock;
    FakePrimary p;
    auto o = quick();
    o.to = format_target_time(now_us() - 60 * 1000000LL);
    const auto r = run_restore_drill(seams(p, clock), o);
    CHECK(r.target_source == "--to");
    CHECK(r.markers_expected == 0);
    CHECK(r.markers_after_target == 0);
    CHECK(r.find_check("markers_verified")->passed);
    CHECK(r.verdict == Verdict::pass);
}
