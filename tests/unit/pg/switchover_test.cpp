// pg::run_ha on a scripted Patroni cluster: pre-checks (streaming in pg_stat_replication,
// timelines, lag bound, one leader), the REST request (URL, body, password in the Authorization
// header only), the waits (GET /primary, HAProxy routing to the new leader alone, the old leader
// streaming, timelines) and their timeouts on a manual clock.
#include "pg/switchover.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>

#include "fakes/manual_clock.hpp"
#include "pg/patroni_api.hpp"
#include "unit/runbook/fake_ha_cluster.hpp"

using pgdr::pg::HaAction;
using pgdr::pg::HaRequest;
using pgdr::pg::HaResult;
using pgdr::test::FakeHaCluster;

namespace {

const std::string k_password = "rest-Pa$$word-'quoted'";

struct Harness {
    FakeHaCluster cluster;
    pgdr::fakes::ManualClock clock;
    std::vector<std::string> progress;
    int confirmations = 0;
    bool answer = true;

    HaResult run(HaRequest req) {
        req.timeout = std::chrono::seconds(30);
        pgdr::pg::HaSeams seams{cluster.inv,
                                cluster.access(),
                                clock,
                                "patroni",
                                k_password,
                                [this](const HaResult&) {
                                    ++confirmations;
                                    return answer;
                                },
                                [this](const std::string& m) { progress.push_back(m); },
                                nullptr};
        return pgdr::pg::run_ha(seams, req);
    }
};

HaRequest reinit_of(const std::string& member) {
    HaRequest r;
    r.action = HaAction::reinit;
    r.target = member;
    return r;
}

HaRequest switchover_to(const std::string& target) {
    HaRequest r;
    r.action = HaAction::switchover;
    r.target = target;
    return r;
}

HaRequest failover_to(const std::string& target) {
    HaRequest r;
    r.action = HaAction::failover;
    r.target = target;
    return r;
}

const pgdr::pg::HaCheck* check_named(const HaResult& r, const std::string& name) {
    for (const auto& c : r.checks) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

// The password anywhere but the Authorization header: a URL, a body, an argv.
// pg1, the leader, is gone: its REST API does not answer; pg2 lags 500 bytes, pg3 100.
void lose_leader(FakeHaCluster& c) {
    c.members["pg1"].registered = false;
    c.members["pg1"].role = "replica";
    c.members["pg2"].patroni_lag = 500;
    c.members["pg3"].patroni_lag = 100;
    c.haproxy_up.clear();
}

bool password_outside_auth(const FakeHaCluster& c) {
    for (const auto& r : c.http.requests()) {
        if (r.url.find(k_password) != std::string::npos ||
            r.body.find(k_password) != std::string::npos) {
            return true;
        }
    }
    return !c.log->calls().empty();
}

}  // namespace

TEST_CASE("switchover: the request goes to the leader, the password only in its header", "[ha]") {
    Harness h;
    auto r = h.run(switchover_to("pg2"));
    INFO(pgdr::pg::render_ha_text(r));
    REQUIRE(r.ok());
    REQUIRE(h.cluster.posts.size() == 1);
    const auto& post = h.cluster.posts.front();
    CHECK(post.host == "pg1");
    CHECK(post.url == "https://198.18.0.11:8008/switchover");
    CHECK(nlohmann::json::parse(post.body) ==
          nlohmann::json{{"leader", "pg1"}, {"candidate", "pg2"}});
    CHECK(post.authorization == "Basic " + pgdr::pg::base64("patroni:" + k_password));
    CHECK_FALSE(password_outside_auth(h.cluster));
    CHECK(h.confirmations == 1);
    CHECK(r.old_leader == "pg1");
    CHECK(r.target == "pg2");
    CHECK(r.http_status == 200);
}

TEST_CASE("switchover: waits for promotion, HAProxy, the old leader and timelines", "[ha]") {
    Harness h;
    auto r = h.run(switchover_to("pg2"));
    REQUIRE(r.ok());
    std::vector<std::string> names;
    for (const auto& p : r.phases) {
        CHECK(p.ok);
        names.push_back(p.name);
    }
    CHECK(names == std::vector<std::string>{
                       "pg2 promoted (GET /primary 200)", "HAProxy routes writes to pg2 alone",
                       "pg1 streams from pg2", "every member on the new leader's timeline"});
    CHECK(h.cluster.leader() == "pg2");
    auto json = pgdr::pg::ha_to_json(r);
    CHECK(json["ok"] == true);
    CHECK(json["call"]["body"]["candidate"] == "pg2");
    CHECK(json["phases"].size() == 4);
}

TEST_CASE(
    "switchover: a replica Patroni calls streaming but absent from pg_stat_replication "
    "is refused (a 'running' replica may not stream)",
    "[ha]") {
    Harness h;
    h.cluster.replication.erase("pg2");
    auto r = h.run(switchover_to("pg2"));
    CHECK_FALSE(r.ok());
    const auto* c = check_named(r, "candidate can take over");
    REQUIRE(c != nullptr);
    CHECK_FALSE(c->ok);
    CHECK(c->detail == "pg2 is not streaming from pg1 (absent from pg_stat_replication)");
    CHECK(h.cluster.posts.empty());
    CHECK(h.confirmations == 0);
    CHECK(r.failure.rfind("pre-checks failed: candidate can take over", 0) == 0);
}

TEST_CASE("switchover: lag over maximum_lag_on_failover is refused", "[ha]") {
    Harness h;
    h.cluster.replication["pg2"].lag = 5000;
    auto r = h.run(switchover_to("pg2"));
    CHECK_FALSE(r.ok());
    const auto* c = check_named(r, "candidate can take over");
    REQUIRE(c != nullptr);
    CHECK_FALSE(c->ok);
    CHECK(c->detail == "pg2 lags 5000 bytes, over the bound of 1000");
    CHECK(h.cluster.posts.empty());
}

TEST_CASE("switchover: a member behind the leader's timeline blocks it", "[ha]") {
    Harness h;
    h.cluster.members["pg1"].timeline = 4;
    h.cluster.members["pg2"].timeline = 4;
    h.cluster.members["pg3"].timeline = 3;
    auto r = h.run(switchover_to("pg2"));
    CHECK_FALSE(r.ok());
    const auto* c = check_named(r, "every member on the leader's timeline");
    REQUIRE(c != nullptr);
    CHECK(c->detail == "leader on 4; pg3 on 3 (wait until they catch up)");
    CHECK(h.cluster.posts.empty());
}

TEST_CASE("switchover: without --to the synchronous standby is chosen", "[ha]") {
    Harness h;
    h.cluster.replication["pg2"] = {"streaming", "sync", 200};
    h.cluster.replication["pg3"] = {"streaming", "async", 0};
    auto r = h.run(switchover_to(""));
    REQUIRE(r.ok());
    CHECK(r.target == "pg2");
    // Without synchronous replication, the least lag wins.
    Harness h2;
    h2.cluster.inv.patroni.synchronous_mode = false;
    h2.cluster.members["pg2"].role = "replica";
    h2.cluster.replication["pg2"] = {"streaming", "async", 200};
    h2.cluster.replication["pg3"] = {"streaming", "async", 10};
    auto r2 = h2.run(switchover_to(""));
    CHECK(r2.target == "pg3");
}

TEST_CASE("switchover: with synchronous_mode only a synchronous standby is a candidate", "[ha]") {
    // Patroni answers 412 "candidate name does not match with sync_standby" otherwise (lab).
    Harness h;
    auto r = h.run(switchover_to("pg3"));
    CHECK_FALSE(r.ok());
    const auto* c = check_named(r, "candidate can take over");
    REQUIRE(c != nullptr);
    CHECK_FALSE(c->ok);
    CHECK(c->detail ==
          "pg3 is replica; with synchronous_mode Patroni hands over to pg2 only (omit --to to pick "
          "it)");
    CHECK(h.cluster.posts.empty());
    CHECK(h.confirmations == 0);

    Harness async;
    async.cluster.inv.patroni.synchronous_mode = false;
    auto r2 = async.run(switchover_to("pg3"));
    CHECK(r2.ok());
}

TEST_CASE("switchover: --dry-run checks and shows the call but sends nothing", "[ha]") {
    Harness h;
    auto req = switchover_to("pg2");
    req.dry_run = true;
    auto r = h.run(req);
    CHECK(r.ok());
    REQUIRE(r.call.has_value());
    CHECK(r.call->url == "https://198.18.0.11:8008/switchover");
    CHECK(h.cluster.posts.empty());
    CHECK(h.confirmations == 0);
    CHECK(pgdr::pg::render_ha_text(r).find("dry run: pre-checks passed; nothing was sent") !=
          std::string::npos);
}

TEST_CASE("switchover: a declined confirmation sends nothing", "[ha]") {
    Harness h;
    h.answer = false;
    auto r = h.run(switchover_to("pg2"));
    CHECK(r.declined);
    CHECK_FALSE(r.ok());
    CHECK(h.cluster.posts.empty());
}

TEST_CASE("switchover: Patroni's refusal is reported with its status", "[ha]") {
    Harness h;
    h.cluster.post_status = 412;
    auto r = h.run(switchover_to("pg2"));
    CHECK_FALSE(r.ok());
    CHECK(r.failure == "Patroni refused: HTTP 412 refused");
    CHECK(r.phases.empty());
}

TEST_CASE("switchover: HAProxy still routing to the old leader fails after the bound", "[ha]") {
    Harness h;
    h.cluster.switch_haproxy = false;
    auto r = h.run(switchover_to("pg2"));
    CHECK_FALSE(r.ok());
    REQUIRE(r.phases.size() == 2);
    CHECK(r.phases[0].ok);
    CHECK_FALSE(r.phases[1].ok);
    CHECK(r.phases[1].detail == "not within 30.0 s: pg3 routes writes to [pg1]");
    CHECK(r.failure == "HAProxy routes writes to pg2 alone: " + r.phases[1].detail);
    // Polled once a second until the bound.
    CHECK(h.clock.sleeps().size() == 30);
}

TEST_CASE("switchover: the old leader not streaming again fails verification", "[ha]") {
    Harness h;
    h.cluster.follow_old_leader = false;
    auto r = h.run(switchover_to("pg2"));
    CHECK_FALSE(r.ok());
    CHECK(r.phases.back().name == "pg1 streams from pg2");
    CHECK(r.phases.back().detail == "not within 30.0 s: not streaming from pg2: pg1 (absent)");
}

TEST_CASE("switchover: --at schedules, Patroni answers 202 and nothing is waited for", "[ha]") {
    Harness h;
    h.cluster.post_status = 202;
    auto req = switchover_to("pg2");
    req.scheduled_at = "2030-01-01T02:00:00+00:00";
    auto r = h.run(req);
    CHECK(r.ok());
    CHECK(r.scheduled);
    REQUIRE(h.cluster.posts.size() == 1);
    CHECK(nlohmann::json::parse(h.cluster.posts[0].body)["scheduled_at"] ==
          "2030-01-01T02:00:00+00:00");
    CHECK(r.phases.empty());
}

TEST_CASE("failover: refused while a leader runs", "[ha]") {
    Harness h;
    HaRequest req;
    req.action = HaAction::failover;
    req.target = "pg2";
    auto r = h.run(req);
    CHECK_FALSE(r.ok());
    const auto* c = check_named(r, "no leader");
    REQUIRE(c != nullptr);
    CHECK(c->detail == "pg1 leads: use `pgdr switchover` for a planned change");
    CHECK(h.cluster.posts.empty());
}

TEST_CASE("failover: with the leader gone, 'auto' promotes the best replica on its own API",
          "[ha]") {
    Harness h;
    h.cluster.inv.patroni.synchronous_mode = false;
    lose_leader(h.cluster);
    h.cluster.members["pg2"].role = "replica";
    auto r = h.run(failover_to("auto"));
    INFO(pgdr::pg::render_ha_text(r));
    REQUIRE(r.ok());
    CHECK(r.target == "pg3");
    REQUIRE(h.cluster.posts.size() == 1);
    CHECK(h.cluster.posts[0].host == "pg3");
    CHECK(h.cluster.posts[0].url == "https://198.18.0.13:8008/failover");
    CHECK(nlohmann::json::parse(h.cluster.posts[0].body) == nlohmann::json{{"candidate", "pg3"}});
    CHECK(r.phases.size() == 4);  // promoted, HAProxy, pg2 streams, timelines
    CHECK(r.phases[2].name == "pg2 stream from pg3");
}

TEST_CASE("failover: under synchronous_mode only the synchronous standby", "[ha]") {
    // Patroni refuses a failover to another member (412); the one candidate picker agrees.
    Harness h;
    lose_leader(h.cluster);
    auto r = h.run(failover_to("auto"));
    INFO(pgdr::pg::render_ha_text(r));
    REQUIRE(r.ok());
    CHECK(r.target == "pg2");

    Harness named;
    lose_leader(named.cluster);
    auto refused = named.run(failover_to("pg3"));
    CHECK_FALSE(refused.ok());
    const auto detail = check_named(refused, "candidate can take over")->detail;
    CHECK(detail.rfind("pg3 is replica; with synchronous_mode Patroni hands over to pg2 only", 0) ==
          0);
    // Issue 13 item 4: the refusal names the override and what it costs.
    CHECK(detail.find("accepting lost writes, run `pgdr failover --to pg3 --force`") !=
          std::string::npos);
    CHECK(named.cluster.posts.empty());
}

TEST_CASE("failover: --force promotes a replica that may lack acknowledged writes", "[ha]") {
    // Issue 13 item 4: only an explicit --force gets past the synchronous standby rule and an
    // unknown lag.
    Harness forced;
    lose_leader(forced.cluster);
    auto req = failover_to("pg3");
    req.force = true;
    auto r = forced.run(req);
    INFO(pgdr::pg::render_ha_text(r));
    CHECK(r.ok());
    CHECK(check_named(r, "candidate can take over")->detail.find("--force given") !=
          std::string::npos);
    CHECK(forced.cluster.posts.size() == 1);

    Harness unknown;
    lose_leader(unknown.cluster);
    unknown.cluster.members["pg2"].patroni_lag = -1;
    auto u = unknown.run(failover_to("pg2"));
    CHECK_FALSE(u.ok());
    const auto* lag = check_named(u, "candidate lag");
    REQUIRE(lag != nullptr);
    CHECK_FALSE(lag->ok);
    CHECK(lag->required);
    CHECK(lag->detail.find("pgdr failover --to pg2 --force") != std::string::npos);
    CHECK(unknown.cluster.posts.empty());

    Harness unknown_forced;
    lose_leader(unknown_forced.cluster);
    unknown_forced.cluster.members["pg2"].patroni_lag = -1;
    auto uf_req = failover_to("pg2");
    uf_req.force = true;
    auto uf = unknown_forced.run(uf_req);
    CHECK(check_named(uf, "candidate lag")->ok);
    CHECK(unknown_forced.cluster.posts.size() == 1);
}

TEST_CASE("reinit: POST /reinitialize on the member, then it must stream again", "[ha]") {
    Harness h;
    HaRequest req = reinit_of("pg3");
    auto r = h.run(req);
    REQUIRE(r.ok());
    REQUIRE(h.cluster.posts.size() == 1);
    CHECK(h.cluster.posts[0].host == "pg3");
    CHECK(h.cluster.posts[0].url == "https://198.18.0.13:8008/reinitialize");
    REQUIRE(r.phases.size() == 3);
    CHECK(r.phases[0].name == "pg3 runs a rebuilt PostgreSQL (new start time)");
    CHECK(r.phases[0].detail ==
          "pg3 is streaming, PostgreSQL started 2026-12-07 01:00:01.000000+00:00");
    CHECK(r.phases[1].name == "pg3 streams from pg1");
    CHECK(r.phases[2].name == "every member on the leader's timeline");
    CHECK(h.cluster.reinits_done == 1);

    Harness leader;
    req.target = "pg1";
    auto refused = leader.run(req);
    CHECK_FALSE(refused.ok());
    CHECK(check_named(refused, "member is not the leader")->detail ==
          "pg1 leads: switch over first");
    CHECK(leader.cluster.posts.empty());
}

TEST_CASE("reinit: not done while the member's old PostgreSQL still streams", "[ha]") {
    // Patroni answers POST /reinitialize before it stops PostgreSQL: the leader still lists
    // the member's old walreceiver as streaming. Seen on the lab: "reinit ok in 3.4 s", then
    // the member "starting". Here the rebuild never ends: the old code called it done.
    Harness h;
    h.cluster.apply_posts = false;
    HaRequest req = reinit_of("pg3");
    auto r = h.run(req);
    INFO(pgdr::pg::render_ha_text(r));
    CHECK_FALSE(r.ok());
    REQUIRE(r.phases.size() == 1);
    CHECK_FALSE(r.phases[0].ok);
    CHECK(r.failure ==
          "pg3 runs a rebuilt PostgreSQL (new start time): not within 30.0 s: pg3 is streaming, "
          "PostgreSQL started 2026-12-07 00:00:00.000000+00:00, as before the call");

    // The start time before the call is read again when the first request gets no answer: an
    // empty one would let the old PostgreSQL pass for the rebuilt one.
    Harness blip;
    blip.cluster.apply_posts = false;
    blip.cluster.patroni_get_failures = 1;
    auto b = blip.run(req);
    CHECK_FALSE(b.ok());
    CHECK(b.failure.find("as before the call") != std::string::npos);

    // A slow rebuild is waited for; the streaming check comes after it.
    Harness slow;
    slow.cluster.reinit_polls = 8;
    auto s = slow.run(req);
    INFO(pgdr::pg::render_ha_text(s));
    CHECK(s.ok());
    REQUIRE(s.phases.size() == 3);
    CHECK(s.phases[0].after_ms >= 7000);  // polled every second
    CHECK(s.phases[1].after_ms >= s.phases[0].after_ms);
}

TEST_CASE("reinit: a member still busy starting is asked again until it takes the request",
          "[ha]") {
    // pg3's host just came back: Patroni answers 503 while it starts PostgreSQL (lab).
    Harness h;
    h.cluster.post_answers = {{503, "restarting after failure already in progress"},
                              {503, "restarting after failure already in progress"}};
    HaRequest req = reinit_of("pg3");
    auto r = h.run(req);
    INFO(pgdr::pg::render_ha_text(r));
    CHECK(r.ok());
    CHECK(h.cluster.posts.size() == 3);
    CHECK(std::count_if(h.progress.begin(), h.progress.end(), [](const std::string& m) {
              return m.find("busy (restarting after failure already in progress)") !=
                     std::string::npos;
          }) == 2);

    // A reinitialize already under way is what was asked: waited for, not sent again.
    Harness under_way;
    under_way.cluster.members["pg3"].reinit_left = 2;  // started by somebody else
    under_way.cluster.post_answers = {{503, "reinitialize already in progress"}};
    auto u = under_way.run(req);
    CHECK(u.ok());
    CHECK(under_way.cluster.posts.size() == 1);

    // Busy for longer than the timeout: a failure that says so.
    Harness busy;
    for (int i = 0; i < 40; ++i) {
        busy.cluster.post_answers.emplace_back(503, "restarting after failure already in progress");
    }
    auto b = busy.run(req);
    CHECK_FALSE(b.ok());
    CHECK(b.failure.find("still busy after 30 s") != std::string::npos);
    CHECK(busy.cluster.posts.size() >= 14);

    // Any other refusal is final at once.
    Harness refused;
    refused.cluster.post_answers = {{503, "Cluster has no leader, can not reinitialize"}};
    auto f = refused.run(req);
    CHECK_FALSE(f.ok());
    CHECK(refused.cluster.posts.size() == 1);
}

TEST_CASE("switchover: no member answering is a failed pre-check, not an exception", "[ha]") {
    Harness h;
    h.cluster.rest_down = true;
    auto r = h.run(switchover_to("pg2"));
    CHECK_FALSE(r.ok());
    REQUIRE(r.checks.size() == 1);
    CHECK(r.checks[0].name == "Patroni answers");
    CHECK(r.checks[0].detail.rfind("no member's Patroni REST API answered", 0) == 0);
}

TEST_CASE("ha parsers: schedule times, replication rows", "[ha]") {
    CHECK(pgdr::pg::valid_schedule_time("2026-03-01T02:00:00+00:00"));
    CHECK(pgdr::pg::valid_schedule_time("2026-03-01T02:00Z"));
    CHECK_FALSE(pgdr::pg::valid_schedule_time("2026-03-01T02:00:00"));  // no zone
    CHECK_FALSE(pgdr::pg::valid_schedule_time("tomorrow"));

    std::vector<pgdr::pg::ClusterMember> members(2);
    members[0].name = "db-2.a";
    members[1].name = "pg3";
    pgdr::pg::QueryResult q;
    q.ok = true;
    q.rows = {{"db_2_a", "streaming", "sync", "0/1", "0/1", "0"},
              {"pg3", "catchup", "", "", "", std::nullopt}};
    auto rows = pgdr::pg::replication_rows(q, members);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].member == "db-2.a");  // matched through its slot name
    CHECK(rows[0].sync_state == "sync");
    CHECK(rows[0].lag_bytes == 0);
    CHECK(rows[1].state == "catchup");
    CHECK_FALSE(rows[1].lag_bytes);
}
