// pgBackRest's restore progress lines (pg/restore_progress.hpp), in the formats its
// documentation and its own tests record: 2.45 (no bundles), 2.55 (bundles, "repo1:"), with the
// log file's timestamp prefix and without.
#include "pg/restore_progress.hpp"

#include <catch2/catch.hpp>

using namespace pgdr;
using namespace pgdr::pg;

TEST_CASE("restore progress: pgBackRest's sizes", "[pg][restore]") {
    CHECK(parse_pgbackrest_size("0B") == 0);
    CHECK(parse_pgbackrest_size("4B") == 4);
    CHECK(parse_pgbackrest_size("8KB") == 8192);
    CHECK(parse_pgbackrest_size("1.5MB") == 1572864);
    CHECK(parse_pgbackrest_size("2GB") == 2LL * 1024 * 1024 * 1024);
    CHECK(parse_pgbackrest_size("22.6") == -1);
    CHECK(parse_pgbackrest_size("KB") == -1);
}

TEST_CASE("restore progress: the newest line wins", "[pg][restore]") {
    // 2.55.1 in the log file (timestamp, process, level), a bundled file, then a plain one.
    const std::string log255 =
        "2026-12-05 16:30:01.120 P00   INFO: repo1: restore backup set 20261205-010000F, "
        "recovery will start at 2026-12-05 01:00:00\n"
        "2026-12-05 16:30:02.004 P01 DETAIL: restore file /var/lib/postgresql/17/main/base/1/113 "
        "- exists and matches backup (bundle 20261205-010000F/1/58072, 8KB, 5.76%) checksum "
        "1cd643347b87a472ff001ae124e4b532ce998d2f\n"
        "2026-12-05 16:30:02.310 P02 DETAIL: restore file /var/lib/postgresql/17/main/base/5/16384 "
        "(1.5MB, 41.25%) checksum 9bbd4f25b106d88a2c938f5c0d57c390e7ca9d63\n";
    const auto p = parse_restore_progress(log255);
    REQUIRE(p);
    CHECK(p->backup_set == "20261205-010000F");
    CHECK(p->fraction == Approx(0.4125));
    CHECK(p->last_file == "/var/lib/postgresql/17/main/base/5/16384");
    CHECK_FALSE(p->files_done);

    // 2.45 on the console: no bundle, a 100% line, then the summary.
    const std::string log245 =
        "P00   INFO: restore backup set 20161219-212741F\n"
        "P01 DETAIL: restore file /var/lib/postgresql/15/main/PG_VERSION - exists and matches "
        "backup (4B, 100%) checksum 797e375b924134687cbf9eacd37a4355f3d825e4\n"
        "P00   INFO: restore size = 22.6MB, file total = 937\n";
    const auto q = parse_restore_progress(log245);
    REQUIRE(q);
    CHECK(q->backup_set == "20161219-212741F");
    CHECK(q->fraction == 1.0);
    CHECK(q->files_done);

    CHECK_FALSE(parse_restore_progress(""));
    CHECK_FALSE(parse_restore_progress("P00   INFO: restore command begin 2.55.1\n"));
}

TEST_CASE("restore progress: the terminal line", "[pg][restore]") {
    RestoreProgress p;
    p.fraction = 0.25;
    CHECK(render_restore_progress(p, 4LL << 30, 10.0) ==
          "restore:  25.0%  1.0 GiB of 4.0 GiB  102.4 MiB/s  ETA 30s");
    CHECK(render_restore_progress(p, 0, 10.0) == "restore:  25.0%  10s");
    p.files_done = true;
    CHECK(render_restore_progress(p, 4LL << 30, 42.0) ==
          "restore: files restored in 42s; PostgreSQL next");
}

TEST_CASE("restore progress: the log is read from where this restore began", "[pg][restore]") {
    const auto inv = parse_inventory(R"(cluster: lab
network: {cidr: 198.18.0.0/24}
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy]}
)",
                                     "");
    CHECK(restore_log_path(inv) == "/var/log/pgbackrest/lab-restore.log");
    const auto tail = restore_log_tail_argv(inv, 1000);
    CHECK(tail.back() == "1001");
    CHECK(tail[tail.size() - 2] == "/var/log/pgbackrest/lab-restore.log");
}
