// pg::run_dr_promote on a scripted pair of clusters (tests/golden/inventories/lab-dr.yaml): the
// fence (replicas first, the leader last, its end of WAL), the refusal to promote past members
// that could not be fenced, the wait for replay, the PATCH (password only in its header), the
// waits for GET /primary and a write, RPO and RTO.
#include "pg/dr_promote.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <mutex>
#include <set>

#include "core/reach.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/recording_http_client.hpp"
#include "pg/patroni_api.hpp"

using namespace pgdr;
using namespace pgdr::pg;

namespace {

const std::string k_password = "rest-'pw'";

struct Pair {
    Inventory primary = load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-dr.yaml");
    Inventory dr = dr_inventory(primary);
    fakes::RecordingHttpClient http;
    DirectReach reach;
    fakes::ManualClock clock;
    bool primary_answers = true;
    bool promoted = false;
    int primary_polls_after_patch = 2;  // GET /primary 503 this many times, then 200
    std::string replay = "0/5000000";
    std::string received = "0/5000100";
    std::mutex fence_mutex;             // the replicas are fenced together
    std::vector<std::string> fenced;    // in order
    std::set<std::string> unreachable;  // fence fails
    int writes_failing = 1;             // writes through HAProxy refused first
    bool link_streaming = true;         // the DR slot's walsender
    std::vector<std::string> unfenced;  // in order
    std::vector<std::string> progress;

    Pair() {
        http.set_handler([this](const HttpRequest& r) { return answer(r); });
    }

    std::string member_at(const std::string& url) const {
        const auto start = url.find("//") + 2;
        const auto address = url.substr(start, url.find(':', start) - start);
        for (const auto* inv : {&primary, &dr}) {
            for (const auto& h : inv->hosts) {
                if (h.address == address) {
                    return h.name;
                }
            }
        }
        return "";
    }

    fakes::RecordingHttpClient::Outcome answer(const HttpRequest& r) {
        const std::string name = member_at(r.url);
        const bool in_dr = name.rfind("r2-", 0) == 0;
        if (!in_dr && !primary_answers) {
            return HttpFailure::connect;
        }
        if (r.url.ends_with("/cluster")) {
            nlohmann::json ms = nlohmann::json::array();
            if (in_dr) {
                ms.push_back({{"name", "r2-pg1"},
                              {"role", promoted ? "leader" : "standby_leader"},
                              {"state", promoted ? "running" : "streaming"},
                              {"host", "198.18.0.14"}});
                ms.push_back({{"name", "r2-pg2"},
                              {"role", "replica"},
                              {"state", "streaming"},
                              {"host", "198.18.0.15"}});
            } else {
                ms.push_back({{"name", "r1-pg1"},
                              {"role", "replica"},
                              {"state", "streaming"},
                              {"host", "198.18.0.11"}});
                ms.push_back({{"name", "r1-pg2"},
                              {"role", "leader"},
                              {"state", "running"},
                              {"host", "198.18.0.12"}});
                ms.push_back({{"name", "r1-pg3"},
                              {"role", "sync_standby"},
                              {"state", "streaming"},
                              {"host", "198.18.0.13"}});
            }
            return fakes::RecordingHttpClient::make(200, nlohmann::json{{"members", ms}}.dump());
        }
        if (r.method == "PATCH" && r.url.ends_with("/config")) {
            promoted = true;
            return fakes::RecordingHttpClient::make(200, "{}");
        }
        if (r.url.ends_with("/primary")) {
            if (promoted && primary_polls_after_patch-- <= 0) {
                return fakes::RecordingHttpClient::make(200, "");
            }
            return fakes::RecordingHttpClient::make(503, "");
        }
        return HttpFailure::connect;
    }

    ClusterAccess access() {
        return {reach, http,
                [this](const Endpoint&, const std::string& sql, std::chrono::milliseconds) {
                    QueryResult q;
                    q.ok = true;
                    if (sql.find("pg_last_wal_replay_lsn") != std::string::npos) {
                        q.rows.push_back({replay + " " + received});
                    } else if (sql.find("slot_name") != std::string::npos) {
                        q.rows.push_back({link_streaming ? "t" : "f", "0",
                                          link_streaming ? "r2-pg1" : "",
                                          link_streaming ? "streaming" : "", "0", std::nullopt});
                    }
                    return q;
                }};
    }

    DrPromoteResult run(DrPromoteRequest req = {}) {
        DrSeams seams{primary,
                      dr,
                      access(),
                      access(),
                      clock,
                      "patroni",
                      k_password,
                      [this](const HostSpec& h, bool clean) {
                          const std::lock_guard lock(fence_mutex);
                          FenceOutcome f;
                          if (unreachable.count(h.name)) {
                              f.detail = "cannot connect";
                              return f;
                          }
                          fenced.push_back(h.name + (clean ? "*" : ""));
                          f.fenced = true;
                          f.last_lsn = clean ? "0/50000A0" : "";
                          return f;
                      },
                      [this](const HostSpec& lb) {
                          CHECK(lb.name == "r2-pg1");
                          return writes_failing-- > 0 ? std::string("connection refused")
                                                      : std::string();
                      },
                      nullptr,
                      [this](const std::string& m) { progress.push_back(m); },
                      [this](const HostSpec& h) {
                          unfenced.push_back(h.name);
                          return true;
                      }};
        return run_dr_promote(seams, req);
    }
};

}  // namespace

TEST_CASE("dr promote: fence the primary, replay, promote, first write", "[pg][dr]") {
    Pair p;
    p.replay = "0/50000B8";  // past the fenced leader's last checkpoint record
    const auto r = p.run();
    INFO(render_dr_promote_text(r));
    REQUIRE(r.ok);
    CHECK(r.old_leader == "r1-pg2");
    CHECK(r.standby_leader == "r2-pg1");
    // Replicas first (killed: no clean stop), the leader last (a clean stop).
    REQUIRE(p.fenced.size() == 3);
    CHECK(p.fenced.back() == "r1-pg2*");
    CHECK(p.fenced[0].back() != '*');
    CHECK(p.fenced[1].back() != '*');
    CHECK(r.fenced == std::vector<std::string>{"r1-pg1", "r1-pg3", "r1-pg2"});
    CHECK(r.primary_last_lsn == "0/50000A0");
    CHECK(r.dr_replay_lsn == "0/50000B8");
    REQUIRE(r.lost_bytes);
    CHECK(*r.lost_bytes == 0);
    // PATCH on the standby leader, the password in the Authorization header only.
    const auto patches = p.http.count("PATCH", "/config");
    CHECK(patches == 1);
    for (const auto& req : p.http.requests()) {
        CHECK(req.url.find(k_password) == std::string::npos);
        CHECK(req.body.find(k_password) == std::string::npos);
        if (req.method == "PATCH") {
            CHECK(req.url == "https://198.18.0.14:8008/config");
            CHECK(nlohmann::json::parse(req.body) ==
                  nlohmann::json{{"standby_cluster", nullptr},
                                 {"synchronous_mode", true},
                                 {"synchronous_mode_strict", false},
                                 {"slots", {{"pgdr_dr", {{"type", "physical"}}}}}});
            CHECK(req.headers.at("Authorization") == "Basic " + base64("patroni:" + k_password));
        }
    }
    REQUIRE(r.rto_ms);
    std::vector<std::string> names;
    for (const auto& ph : r.phases) {
        names.push_back(ph.name);
    }
    CHECK(names == std::vector<std::string>{
                       "state read", "replicas of lab fenced", "primary cluster lab fenced",
                       "DR cluster replayed its WAL", "promotion requested", "r2-pg1 promoted",
                       "first write acknowledged through r2-pg1"});
    CHECK(*r.rto_ms == r.phases.back().after_ms);
    const auto j = dr_promote_to_json(r);
    CHECK(j["lost_bytes"] == 0);
    CHECK(j["fenced"].size() == 3);
}

TEST_CASE("dr promote: the DR cluster behind the fenced leader loses the difference", "[pg][dr]") {
    Pair p;
    p.replay = "0/5000000";  // never reaches 0/50000A0
    const auto r = p.run();
    REQUIRE(r.ok);
    REQUIRE(r.lost_bytes);
    CHECK(*r.lost_bytes == 0xA0);
    // The catch-up wait is bounded (10 s on the manual clock), then it promotes anyway.
    CHECK(r.phases[3].name == "DR cluster replayed its WAL");
    CHECK(r.phases[3].after_ms >= 10000);
}

TEST_CASE("dr promote: members that cannot be fenced stop it unless --force", "[pg][dr]") {
    Pair p;
    p.primary_answers = false;  // the region is lost: no Patroni, no SSH
    p.unreachable = {"r1-pg1", "r1-pg2", "r1-pg3"};
    auto r = p.run();
    CHECK_FALSE(r.ok);
    CHECK(r.old_leader.empty());
    CHECK(r.not_fenced.size() == 3);
    CHECK_THAT(r.error, Catch::Contains("cannot fence the primary cluster lab"));
    CHECK_FALSE(p.promoted);
    CHECK(p.http.count("PATCH", "/config") == 0);

    DrPromoteRequest force;
    force.force = true;
    r = p.run(force);
    INFO(render_dr_promote_text(r));
    REQUIRE(r.ok);
    CHECK(p.promoted);
    CHECK_FALSE(r.lost_bytes);  // the primary's end of WAL is unknown
    CHECK_THAT(render_dr_promote_text(r), Catch::Contains("RPO: unknown"));
    CHECK(r.phases[1].name == "primary cluster lab NOT fenced (--force)");
}

TEST_CASE("dr promote: refused without a standby leader; a dry run changes nothing", "[pg][dr]") {
    Pair p;
    p.promoted = true;  // the DR cluster leads already
    auto r = p.run();
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.error, Catch::Contains("already has a primary (r2-pg1)"));
    CHECK(p.fenced.empty());

    Pair q;
    DrPromoteRequest dry;
    dry.dry_run = true;
    r = q.run(dry);
    CHECK(r.ok);
    CHECK(q.fenced.empty());
    CHECK_FALSE(q.promoted);
    CHECK_THAT(render_dr_promote_text(r), Catch::Contains("would fence lab and promote r2-pg1"));
}

TEST_CASE("dr promote: the fence stops and disables Patroni, then reads the end of WAL",
          "[pg][dr]") {
    const Pair p;
    const auto argv = fence_argv(p.primary);
    REQUIRE(argv.size() == 7);
    CHECK_THAT(argv[2], Catch::Contains("systemctl disable --now --quiet \"$1\""));
    CHECK_THAT(argv[2], Catch::Contains("shut down$"));
    CHECK(argv[4] == "patroni@17-main");
    CHECK(argv[6] == "/var/lib/postgresql/17/main");
    // A replica of a known leader: disabled, then every process of the unit killed.
    const auto kill = fence_argv(p.primary, false);
    REQUIRE(kill.size() == 5);
    CHECK_THAT(kill[2], Catch::Contains("systemctl disable --quiet \"$1\""));
    CHECK_THAT(kill[2], Catch::Contains("systemctl kill --signal=KILL \"$1\""));
    CHECK(kill[4] == "patroni@17-main");
}

TEST_CASE("dr promote: with no leader known every member stops cleanly", "[pg][dr]") {
    Pair p;
    p.unreachable = {"r1-pg1"};
    p.primary_answers = false;  // Patroni does not answer, SSH does
    DrPromoteRequest force;
    force.force = true;
    const auto r = p.run(force);
    REQUIRE(r.ok);
    CHECK(r.old_leader.empty());
    // Any of them may be the primary: none is killed.
    auto fenced = p.fenced;  // in parallel: in any order
    std::sort(fenced.begin(), fenced.end());
    CHECK(fenced == std::vector<std::string>{"r1-pg2*", "r1-pg3*"});
}

TEST_CASE("dr promote: a region known lost is neither read nor fenced", "[pg][dr]") {
    Pair p;
    p.primary_answers = false;
    DrPromoteRequest lost;
    lost.primary_lost = true;
    const auto r = p.run(lost);
    REQUIRE(r.ok);
    CHECK(p.fenced.empty());
    CHECK(r.not_fenced.size() == 3);
    for (const char* member : {"198.18.0.11:", "198.18.0.12:", "198.18.0.13:"}) {
        CHECK(p.http.count("GET", member) == 0);  // no request to the primary's members
    }
    CHECK(r.phases[1].name == "primary cluster lab NOT fenced (its region is lost)");
}

TEST_CASE("dr switchover (planned): promoted once the DR replayed the fenced leader's last record",
          "[pg][dr]") {
    Pair p;
    p.replay = "0/50000B8";  // past the fenced leader's shutdown checkpoint at 0/50000A0
    DrPromoteRequest planned;
    planned.planned = true;
    const auto r = p.run(planned);
    INFO(render_dr_promote_text(r));
    REQUIRE(r.ok);
    CHECK(p.promoted);
    CHECK_FALSE(r.rolled_back);
    CHECK(r.lost_bytes == std::optional<long long>(0));
    // The write outage runs from the fence (writes stop) to the first write on the DR cluster.
    REQUIRE(r.write_outage_ms);
    REQUIRE(r.rto_ms);
    CHECK(*r.write_outage_ms <= *r.rto_ms);
    CHECK(*r.write_outage_ms == *r.rto_ms - r.phases[0].after_ms);
    CHECK_THAT(render_dr_promote_text(r), Catch::Contains("write outage: "));
    CHECK(dr_promote_to_json(r)["write_outage_ms"] == *r.write_outage_ms);
}

TEST_CASE("dr switchover (planned): undone when the DR cluster does not replay to the end",
          "[pg][dr]") {
    Pair p;
    p.replay = "0/50000A0";  // at the start of the last record, not past it
    DrPromoteRequest planned;
    planned.planned = true;
    const auto r = p.run(planned);
    CHECK_FALSE(r.ok);
    CHECK_FALSE(p.promoted);
    CHECK(p.http.count("PATCH", "/config") == 0);
    CHECK_THAT(r.error,
               Catch::Contains("did not replay the fenced leader's end of WAL (0/50000A0)"));
    // The fence is undone, the old leader first (it holds the most WAL).
    CHECK(r.rolled_back);
    CHECK(p.unfenced == std::vector<std::string>{"r1-pg2", "r1-pg1", "r1-pg3"});
    CHECK(r.phases.back().name == "fence undone");
}

TEST_CASE("dr switchover (planned): refused without a streaming DR link or a full fence",
          "[pg][dr]") {
    Pair p;
    p.link_streaming = false;
    DrPromoteRequest planned;
    planned.planned = true;
    auto r = p.run(planned);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.error, Catch::Contains("the DR link does not stream"));
    CHECK(p.fenced.empty());

    Pair q;
    q.unreachable = {"r1-pg3"};
    planned.force = true;  // a planned switchover never promotes past an unfenced member
    r = q.run(planned);
    CHECK_FALSE(r.ok);
    CHECK_FALSE(q.promoted);
    CHECK_THAT(r.error, Catch::Contains("cannot fence the primary cluster lab"));
    // The members it did stop serve again.
    CHECK(q.unfenced == std::vector<std::string>{"r1-pg2", "r1-pg1"});
}
