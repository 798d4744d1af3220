// Issue 13 item 10: the local WAL archive is bounded by archive_command itself. The command is
// run here by a real sh on a scratch directory, as PostgreSQL would run it.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/local_transport.hpp"
#include "pg/postgres_conf.hpp"
#include "unit/core/temp_dir.hpp"

namespace {

std::string segment(int n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "00000001%08X%08X", n / 256, n % 256);
    return buf;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
    return s;
}

}  // namespace

TEST_CASE("wal archive: archive_command keeps the newest segments only", "[pg][archive]") {
    pgdr::test::TempDir dir;
    const std::string archive = dir.path() + "/wal_archive";
    const std::string pg_wal = dir.path() + "/pg_wal";
    std::filesystem::create_directories(archive);
    std::filesystem::create_directories(pg_wal);
    const int keep = pgdr::pg::k_archive_keep_segments;
    for (int i = 0; i < keep + 10; ++i) {
        std::ofstream(archive + "/" + segment(i)) << "old";
    }
    std::ofstream(archive + "/00000002.history") << "history";
    std::ofstream(archive + "/000000010000000000000003.00000028.backup") << "label";

    const std::string next = segment(keep + 10);
    std::ofstream(pg_wal + "/" + next) << "new";
    std::string cmd = pgdr::pg::archive_command(archive);
    cmd = replace_all(replace_all(cmd, "%p", pg_wal + "/" + next), "%f", next);

    pgdr::LocalTransport sh;
    pgdr::RunOptions o;
    o.timeout = std::chrono::seconds(20);
    auto r = sh.run({"sh", "-c", cmd}, o);
    INFO(r.err);
    REQUIRE(r.ok());
    std::set<std::string> left;
    for (const auto& e : std::filesystem::directory_iterator(archive)) {
        left.insert(e.path().filename().string());
    }
    CHECK(left.size() == static_cast<size_t>(keep) + 2);
    CHECK(left.count(next) == 1);        // the new segment is archived
    CHECK(left.count(segment(0)) == 0);  // the oldest are gone
    CHECK(left.count(segment(10)) == 0);
    CHECK(left.count(segment(11)) == 1);
    CHECK(left.count("00000002.history") == 1);  // timeline history is kept
    CHECK(left.count("000000010000000000000003.00000028.backup") == 1);

    // An existing segment is never overwritten: the command fails, PostgreSQL retries.
    auto again = sh.run({"sh", "-c", cmd}, o);
    CHECK_FALSE(again.ok());
}
