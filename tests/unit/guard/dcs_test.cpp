// What pgdr guard reads of Patroni's keys (as Patroni 3.0.2 and 4.0.7 write them) and the
// candidate the one picker chooses from them.
#include "guard/dcs.hpp"

#include <catch2/catch.hpp>

using namespace pgdr;
using namespace pgdr::guard;

namespace {

const std::string k_prefix = "/postgresql-common/17-main/";

EtcdKv kv(const std::string& rel, const std::string& value, std::int64_t lease = 0) {
    return {k_prefix + rel, value, lease, 1};
}

// Patroni 4.0.7's keys: pg1 leads, pg2 is the synchronous standby, pg3 an async replica.
std::vector<EtcdKv> patroni4(bool sync_mode = true) {
    return {
        kv("config", std::string(R"({"ttl":30,"loop_wait":10,"synchronous_mode":)") +
                         (sync_mode ? "true" : "false") + R"(,"maximum_lag_on_failover":1048576})"),
        kv("leader", "pg1", 7587869387440563212),
        kv("sync", R"({"leader":"pg1","sync_standby":"pg2"})"),
        kv("members/pg1",
           R"({"conn_url":"postgres://198.18.0.11:5432/postgres","api_url":"https://198.18.0.11:8008/patroni",)"
           R"("state":"running","role":"primary","version":"4.0.7","xlog_location":67108864,"timeline":3})",
           7587869387440563212),
        kv("members/pg2",
           R"({"conn_url":"postgres://198.18.0.12:5432/postgres","state":"running","role":"replica",)"
           R"("version":"4.0.7","xlog_location":67108000,"replay_lsn":67108000,"receive_lsn":67108864,)"
           R"("replication_state":"streaming","timeline":3})",
           7587869387440563300),
        kv("members/pg3",
           R"({"conn_url":"postgres://198.18.0.13:5432/postgres","state":"running","role":"replica",)"
           R"("version":"4.0.7","xlog_location":67000000,"replication_state":"streaming","timeline":3})",
           7587869387440563400),
        {"/postgresql-common/other/leader", "x", 0, 1},  // another scope: ignored
    };
}

}  // namespace

TEST_CASE("guard dcs: Patroni 4's keys", "[guard]") {
    const DcsView v = parse_dcs(patroni4(), k_prefix);
    CHECK(v.leader == "pg1");
    CHECK(v.leader_lease == 7587869387440563212);
    CHECK_FALSE(v.paused);
    CHECK(v.synchronous_mode);
    CHECK(v.maximum_lag_on_failover == 1048576);
    CHECK(v.sync_standbys == std::vector<std::string>{"pg2"});
    REQUIRE(v.members.size() == 3);
    CHECK(v.members[0].is_leader());
    CHECK(v.members[1].role == pg::MemberRole::sync_standby);
    CHECK(v.members[1].lag_bytes == 864);
    CHECK(v.members[2].role == pg::MemberRole::replica);
    CHECK(v.members[2].lag_bytes == 108864);
    CHECK(v.members[2].timeline == 3);
    std::string why;
    CHECK(failover_candidate(v, why) == std::string("pg2"));
    CHECK(why.find("pg2 (sync_standby") == 0);
}

TEST_CASE("guard dcs: Patroni 3.0.2's keys, maintenance mode, a stale sync key", "[guard]") {
    std::vector<EtcdKv> keys = {
        kv("config", R"({"ttl":30,"pause":true})"),
        kv("leader", "pg2", 99),
        kv("sync", R"({"leader":"pg1","sync_standby":"pg3"})"),  // written for an old leader
        kv("members/pg2",
           R"({"conn_url":"postgres://198.18.0.12:5432/postgres","state":"running","role":"master",)"
           R"("version":"3.0.2","xlog_location":50331648,"timeline":2})"),
        kv("members/pg3", R"({"state":"running","role":"replica","version":"3.0.2",)"
                          R"("xlog_location":50331648,"timeline":2,"tags":{"nofailover":true}})"),
        kv("failover", R"({"member":"pg3"})"),
    };
    const DcsView v = parse_dcs(keys, k_prefix);
    CHECK(v.paused);
    CHECK_FALSE(v.synchronous_mode);
    CHECK(v.maximum_lag_on_failover == 1048576);  // Patroni's default
    CHECK(v.sync_standbys.empty());
    CHECK(v.failover == R"({"member":"pg3"})");
    REQUIRE(v.members.size() == 2);
    CHECK(v.members[1].nofailover);
    std::string why;
    CHECK_FALSE(failover_candidate(v, why));
    CHECK(why == "no replica can take over: pg3 is tagged nofailover");
}

TEST_CASE("guard dcs: the candidate under each policy", "[guard]") {
    std::string why;
    SECTION("synchronous_mode without a synchronous standby: nobody") {
        auto keys = patroni4();
        keys.erase(keys.begin() + 2);  // no /sync
        CHECK_FALSE(failover_candidate(parse_dcs(keys, k_prefix), why));
        CHECK(why.find("a synchronous standby only") != std::string::npos);
    }
    SECTION("asynchronous: the least lag within maximum_lag_on_failover") {
        auto keys = patroni4(false);
        keys.erase(keys.begin() + 2);
        CHECK(failover_candidate(parse_dcs(keys, k_prefix), why) == std::string("pg2"));
    }
    SECTION("asynchronous: every replica lags too far") {
        auto keys = patroni4(false);
        keys.erase(keys.begin() + 2);
        keys[0].value = R"({"synchronous_mode":false,"maximum_lag_on_failover":100})";
        CHECK_FALSE(failover_candidate(parse_dcs(keys, k_prefix), why));
        CHECK(why.find("pg2 lags 864 bytes, over the bound of 100") != std::string::npos);
    }
    SECTION("a replica on an older timeline is not a candidate") {
        auto keys = patroni4(false);
        keys.erase(keys.begin() + 2);
        keys[3].value =
            R"({"state":"running","role":"replica","xlog_location":67108000,"timeline":2})";
        CHECK(failover_candidate(parse_dcs(keys, k_prefix), why) == std::string("pg3"));
    }
    CHECK(failover_value("pg2") == R"({"member":"pg2"})");
}
