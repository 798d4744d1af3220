// The link between a primary cluster and its DR cluster, read on the primary's leader.
#include "pg/dr_link.hpp"

#include <catch2/catch.hpp>

using namespace pgdr::pg;

namespace {

QueryResult row(std::vector<std::optional<std::string>> values) {
    QueryResult r;
    r.ok = true;
    r.columns = {"active", "retained", "application_name", "state", "lag_bytes", "lag_seconds"};
    r.rows.push_back(std::move(values));
    return r;
}

}  // namespace

TEST_CASE("dr link: the statement names the slot", "[pg][dr]") {
    const auto sql = dr_link_sql("pgdr_dr");
    CHECK_THAT(sql, Catch::Contains("WHERE s.slot_name = 'pgdr_dr'"));
    CHECK_THAT(sql, Catch::Contains("replay_lag"));
    CHECK_THAT(sql, Catch::Contains("r.pid = s.active_pid"));
}

TEST_CASE("dr link: streaming, behind, caught up, away", "[pg][dr]") {
    const auto behind =
        parse_dr_link(row({"t", "16777216", "r2-pg1", "streaming", "8192", "0.250"}), "pgdr_dr");
    CHECK(behind.read);
    CHECK(behind.slot_exists);
    CHECK(behind.streaming());
    CHECK(behind.standby == "r2-pg1");
    CHECK(behind.lag_bytes == 8192);
    REQUIRE(behind.lag_seconds);
    CHECK(*behind.lag_seconds == Approx(0.25));
    CHECK(behind.retained_bytes == 16777216);
    CHECK(dr_link_text(behind) ==
          "streaming to r2-pg1: 8192 B, 0.250 s behind; slot pgdr_dr retains 16777216 B");
    const auto j = dr_link_to_json(behind);
    CHECK(j["lag_bytes"] == 8192);
    CHECK(j["lag_seconds"] == Approx(0.25));
    CHECK(j["streaming"] == true);

    // PostgreSQL reports no replay_lag once nothing is behind: 0 s.
    const auto caught_up =
        parse_dr_link(row({"t", "0", "r2-pg1", "streaming", "0", std::nullopt}), "pgdr_dr");
    REQUIRE(caught_up.lag_seconds);
    CHECK(*caught_up.lag_seconds == 0.0);
    // Behind with no lag measure yet: unknown, not 0.
    const auto unknown =
        parse_dr_link(row({"t", "0", "r2-pg1", "catchup", "4096", std::nullopt}), "pgdr_dr");
    CHECK_FALSE(unknown.lag_seconds);
    CHECK_FALSE(unknown.streaming());
    CHECK(dr_link_to_json(unknown)["lag_seconds"].is_null());

    // The DR cluster away: the slot stays and retains WAL.
    const auto away =
        parse_dr_link(row({"f", "50331648", "", "", std::nullopt, std::nullopt}), "pgdr_dr");
    CHECK(away.slot_exists);
    CHECK_FALSE(away.streaming());
    CHECK_FALSE(away.lag_bytes);
    CHECK(dr_link_text(away) ==
          "NOT STREAMING (nothing uses the slot pgdr_dr); slot pgdr_dr retains 50331648 B");
}

TEST_CASE("dr link: no slot, no answer", "[pg][dr]") {
    QueryResult none;
    none.ok = true;
    const auto missing = parse_dr_link(none, "pgdr_dr");
    CHECK(missing.read);
    CHECK_FALSE(missing.slot_exists);
    CHECK(dr_link_text(missing) == "the slot pgdr_dr does not exist on the leader");
    const auto garbled =
        parse_dr_link(row({"t", "x", "r2-pg1", "streaming", "0", std::nullopt}), "pgdr_dr");
    CHECK_FALSE(garbled.read);
    CHECK_THAT(dr_link_text(garbled), Catch::Contains("unknown (unexpected answer"));
}
