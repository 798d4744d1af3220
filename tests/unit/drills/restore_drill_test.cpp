// The restore drill's pure half (drills/restore_drill.hpp) and its report renderings
// (drills/restore_report.hpp, goldens in tests/golden/drills/restore-*).
#include "drills/restore_drill.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "drills/restore_report.hpp"
#include "unit/pg/golden.hpp"

using namespace pgdr;
using namespace pgdr::drills;

namespace {

constexpr std::int64_t k_t0 = 1764950400000000;  // 2025-12-05T16:00:00Z in microseconds

// Markers 1..n every 100 ms from k_t0, each acknowledged within 4 ms.
std::vector<MarkerAck> acks(int n) {
    std::vector<MarkerAck> out;
    for (int i = 1; i <= n; ++i) {
        out.push_back({i, k_t0 + (i - 1) * 100000, 4000});
    }
    return out;
}

std::vector<MarkerRow> rows_until(const std::vector<MarkerAck>& a, std::int64_t target) {
    std::vector<MarkerRow> out;
    for (const auto& m : a) {
        if (m.committed_at_us <= target) {
            out.push_back({m.id, m.committed_at_us});
        }
    }
    return out;
}

// A finished drill as the runner fills it: a restore to 16:00:00.450Z that passed.
RestoreDrillReport passing_report() {
    RestoreDrillReport r;
    r.cluster = "lab";
    r.started_at = "2025-12-05T15:59:57.000Z";
    r.provider = "lab";
    r.target = format_iso_us(k_t0 + 450000);
    r.target_source = "now - margin";
    r.scratch_host = "scr100";
    r.scratch_address = "198.18.0.100";
    r.scratch_provider = "lab";
    r.scratch_id = "scr100";
    r.scratch_create_ms = 12300;
    r.scratch_ready_ms = 41250;
    r.backup_label = "20251205-150000F";
    r.backup_stop = "2025-12-05T15:02:10Z";
    r.backup_lsn_stop = "0/5000100";
    r.backup_age_ms = 3469450;
    r.restore_rto_ms = 18400;
    r.restore_copy_ms = 9100;
    r.recovery_ms = 9200;
    r.replay_lsn = "0/9000F00";
    r.wal_replayed_bytes = 0x9000F00 - 0x5000100;
    r.wal_replay_rate_bytes_per_s = 7295000.0;
    r.rpo_ms = 2150;
    r.last_archived_wal = "000000010000000000000008";
    r.last_archived_at = "2025-12-05T15:59:58.300Z";
    r.switched_wal = "000000010000000000000009";
    r.target_covered = true;
    const auto a = acks(20);
    apply_comparison(r, compare_markers(a, rows_until(a, k_t0 + 450000), k_t0 + 450000));
    r.restored = true;
    judge_restore_drill(r);
    return r;
}

}  // namespace

TEST_CASE("restore drill: markers before, around and after the target", "[drills][restore]") {
    const auto a = acks(10);  // 16:00:00.0 .. 16:00:00.9
    // The target 2 ms after marker 5's committed_at: its commit may lie on either side.
    const std::int64_t target = k_t0 + 400000 + 2000;
    auto c = compare_markers(a, rows_until(a, target), target);
    CHECK(c.acknowledged == 10);
    CHECK(c.expected == 4);
    CHECK(c.found == 4);
    CHECK(c.uncertain == 1);
    CHECK(c.after_target == 0);
    CHECK(c.rows == 5);
    CHECK(c.missing.empty());

    SECTION("a restore that stops early misses markers") {
        c = compare_markers(a, rows_until(a, k_t0 + 150000), target);
        CHECK(c.found == 2);
        CHECK(c.missing == std::vector<std::int64_t>{3, 4});
    }
    SECTION("a restore that replays past the target brings rows after it") {
        c = compare_markers(a, rows_until(a, k_t0 + 10000000), target);
        CHECK(c.found == 4);
        CHECK(c.after_target == 5);
        CHECK(c.after_target_ids == std::vector<std::int64_t>{6, 7, 8, 9, 10});
    }
    SECTION("rows the writer never saw acknowledged are judged by their time only") {
        auto rows = rows_until(a, target);
        rows.push_back({11, k_t0 + 50000});  // committed, acknowledgement lost: fine
        rows.push_back({12, target + 1});    // after the target: counted
        c = compare_markers(a, rows, target);
        CHECK(c.found == 4);
        CHECK(c.after_target == 1);
        CHECK(c.after_target_ids == std::vector<std::int64_t>{12});
    }
}

TEST_CASE("restore drill: marker rows as psql prints them", "[drills][restore]") {
    auto rows = parse_marker_rows("1|1764950400000000\n2|1764950400100000\n\n");
    REQUIRE(rows.size() == 2);
    CHECK(rows[1].id == 2);
    CHECK(rows[1].committed_at_us == 1764950400100000);
    CHECK(parse_marker_rows("").empty());
    for (const char* bad : {"1,2", "x|1", "1|", "1|2|3", "ERROR:  relation does not exist"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_marker_rows(bad), Error);
    }
}

TEST_CASE("restore drill: target times", "[drills][restore]") {
    CHECK(format_target_time(k_t0 + 123456) == "2025-12-05 16:00:00.123456+00");
    CHECK(format_iso_us(k_t0 + 123456) == "2025-12-05T16:00:00.123Z");
    CHECK(parse_target_time("2025-12-05T16:00:00Z") == k_t0);
    CHECK(parse_target_time("2025-12-05 16:00:00.123456+00") == k_t0 + 123456);
    CHECK(parse_target_time("2025-12-05T17:30:00.5+01:30") == k_t0 + 500000);
    CHECK(parse_target_time("2025-12-05T15:00:00-0100") == k_t0);
    CHECK(parse_target_time("2025-12-05T16:00:00.25Z") == k_t0 + 250000);
    CHECK(parse_target_time(format_target_time(k_t0 + 7)) == k_t0 + 7);
    for (const char* bad : {"2025-12-05T16:00:00", "2025-13-05T16:00:00Z", "latest", "0/5000060",
                            "2025-12-05T16:00:00.1234567Z", ""}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_target_time(bad).has_value());
    }
}

TEST_CASE("restore drill: the backup a time target restores from", "[drills][restore]") {
    pg::StanzaInfo s;
    const std::int64_t t0 = k_t0 / 1000000;
    auto backup = [&](const char* label, std::int64_t start, std::int64_t stop) {
        pg::BackupRecord b;
        b.label = label;
        b.start = start;
        b.stop = stop;
        s.backups.push_back(b);
    };
    backup("F1", t0 - 7200, t0 - 7000);
    backup("I2", t0 - 3600, t0 - 3500);
    backup("I3", t0 - 60, t0 + 60);  // ends after the target
    CHECK(backup_for_target(s, k_t0)->label == "I2");
    s.backups[1].error = true;  // checksum errors: not chosen
    CHECK(backup_for_target(s, k_t0)->label == "F1");
    CHECK(backup_for_target(s, (t0 - 7001) * 1000000) == nullptr);
}

TEST_CASE("restore drill: WAL file order", "[drills][restore]") {
    CHECK(wal_archived_past("000000010000000000000009", "000000010000000000000009"));
    CHECK(wal_archived_past("00000001000000010000000A", "0000000100000000000000FF"));
    CHECK(wal_archived_past("000000020000000000000003", "000000010000000000000009"));
    CHECK_FALSE(wal_archived_past("000000010000000000000008", "000000010000000000000009"));
    CHECK_FALSE(wal_archived_past("", "000000010000000000000009"));
    CHECK_FALSE(wal_archived_past("000000010000000000000009.partial", "000000010000000000000009"));
}

TEST_CASE("restore drill: checks and verdict", "[drills][restore]") {
    auto r = passing_report();
    CHECK(r.verdict == Verdict::pass);
    CHECK(exit_code(r) == ExitCode::ok);
    CHECK(r.markers_expected == 5);
    CHECK(r.markers_found == 5);
    CHECK(r.markers_after_target == 0);
    for (const char* name : {"target_covered", "restore_completed", "markers_verified",
                             "all_markers_found", "none_after_target", "scratch_removed"}) {
        CAPTURE(name);
        REQUIRE(r.find_check(name) != nullptr);
        CHECK(r.find_check(name)->passed);
    }
    CHECK(r.find_check("max_rto") == nullptr);

    SECTION("a row after the target fails") {
        r.markers_after_target = 1;
        r.markers_after_target_ids = {7};
        judge_restore_drill(r);
        CHECK(r.verdict == Verdict::fail);
        CHECK(exit_code(r) == ExitCode::objectives_missed);
        CHECK(r.find_check("none_after_target")->detail ==
              "1 row(s) committed after the target: 7");
    }
    SECTION("interrupted before a scratch host was ready: no empty name in the detail") {
        r.scratch_host.clear();
        judge_restore_drill(r);
        CHECK(r.find_check("scratch_removed")->detail == "nothing left of the scratch host");
        r.restored = false;
        judge_restore_drill(r);
        CHECK(r.find_check("scratch_removed")->detail == "the scratch host was not removed");
    }
    SECTION("the RTO objective") {
        r.objectives.max_rto_ms = 10000;
        judge_restore_drill(r);
        CHECK_FALSE(r.find_check("max_rto")->passed);
        r.objectives.max_rto_ms = 20000;
        judge_restore_drill(r);
        CHECK(r.find_check("max_rto")->passed);
        CHECK(r.verdict == Verdict::pass);
    }
    SECTION("no marker before the default target verifies nothing") {
        apply_comparison(r, compare_markers({}, {}, k_t0));
        judge_restore_drill(r);
        CHECK_FALSE(r.find_check("markers_verified")->passed);
        CHECK(r.verdict == Verdict::fail);
    }
    SECTION("--to before every marker: none may come back") {
        const auto a = acks(5);
        r.target_source = "--to";
        apply_comparison(r, compare_markers(a, {}, k_t0 - 1000000));
        judge_restore_drill(r);
        CHECK(r.find_check("markers_verified")->passed);
        CHECK(r.verdict == Verdict::pass);
    }
    SECTION("a scratch host left behind or an error fails") {
        r.restored = false;
        judge_restore_drill(r);
        CHECK(r.verdict == Verdict::fail);
        r.restored = true;
        r.errors.push_back("interrupted");
        judge_restore_drill(r);
        CHECK(r.verdict == Verdict::fail);
    }
}

TEST_CASE("golden: a restore drill report in every format", "[drills][restore][golden]") {
    const auto r = passing_report();
    pgdr::testing::check_golden("drills/restore-report.txt", render_restore_text(r));
    pgdr::testing::check_golden("drills/restore-report.json", render_restore_json(r));
    pgdr::testing::check_golden("drills/restore-report.md", render_restore_markdown(r));
    pgdr::testing::check_golden("drills/restore-report.xml", render_restore_junit(r));

    auto failed = passing_report();
    // On OVH: where it restored is the instance (id, flavor, region).
    failed.provider = "ovh";
    failed.scratch_provider = "ovh";
    failed.scratch_host = "pgdr-lab-restore-drill-20251205-160001";
    failed.scratch_id = "3f49128c-48b0-44ce-ac0c-f17a68078a5c";
    failed.scratch_flavor = "b3-8";
    failed.scratch_region = "GRA11";
    failed.scratch_address = "10.0.0.140";
    failed.scratch_create_ms = 95400;
    failed.scratch_ready_ms = 131650;  // with apt on a bare image
    failed.markers_found = 3;
    failed.missing_markers = {4, 5};
    failed.markers_after_target = 2;
    failed.markers_after_target_ids = {6, 7};
    failed.warnings.push_back("1 marker insert(s) not acknowledged; last: <timeout> | \"x\"");
    judge_restore_drill(failed);
    pgdr::testing::check_golden("drills/restore-report-failed.json", render_restore_json(failed));
    pgdr::testing::check_golden("drills/restore-report-failed.md", render_restore_markdown(failed));
}

TEST_CASE("restore drill: the JSON report's fixed fields", "[drills][restore]") {
    const auto j = nlohmann::json::parse(render_restore_json(passing_report()));
    for (const char* key : {"drill", "cluster", "started_at", "restore_rto_ms", "backup_age_ms",
                            "wal_replayed_bytes", "markers_expected", "markers_found",
                            "markers_after_target", "verdict", "checks", "restored"}) {
        CAPTURE(key);
        CHECK(j.contains(key));
    }
    CHECK(j["drill"] == "restore");
    CHECK(j["markers_after_target"] == 0);
    CHECK(j["verdict"] == "pass");
    CHECK(j["wal_replayed_bytes"] == 0x9000F00 - 0x5000100);
    RestoreDrillReport empty;
    judge_restore_drill(empty);
    const auto e = nlohmann::json::parse(render_restore_json(empty));
    CHECK(e["restore_rto_ms"].is_null());
    CHECK(e["markers_expected"].is_null());
    CHECK(e["verdict"] == "fail");
    CHECK_THROWS_AS(render_restore_report(empty, ReportFormat::svg), Error);
}
