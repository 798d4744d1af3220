// pg::run_dr_rebuild on a scripted pair after a promotion (tests/golden/inventories/lab-dr.yaml,
// roles swapped: r2 leads, r1 is rebuilt): the judgement of each member's data against the
// promoted cluster's timeline history, the order of the steps (fence, judge, set aside or keep,
// DCS cleared, bootstrap, DR link), and the refusals that change nothing.
#include "pg/dr_rebuild.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <set>

#include "core/reach.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/recording_http_client.hpp"

using namespace pgdr;
using namespace pgdr::pg;

namespace {

const PrimaryHistory k_history{"7300000000000000001", 2, {{1, *Lsn::parse("0/5000118")}}};

MemberData member(const std::string& host, const std::string& state, int tli,
                  const std::string& checkpoint, const std::string& sysid = "7300000000000000001") {
    MemberData d;
    d.host = host;
    d.read = true;
    d.data = true;
    d.sysid = sysid;
    d.state = state;
    d.timeline = tli;
    d.checkpoint = checkpoint;
    d.history = std::vector<TimelineSwitch>{};  // timeline 1 has none
    return d;
}

struct Pair {
    Inventory original = load_inventory(std::string(PGDR_GOLDEN_DIR) + "/inventories/lab-dr.yaml");
    Inventory primary = swap_dr_roles(original);
    Inventory standby = dr_inventory(primary);
    fakes::RecordingHttpClient http;
    DirectReach reach;
    fakes::ManualClock clock;
    bool standby_runs = false;  // the rebuilt cluster has a standby leader already
    std::map<std::string, MemberData> data;
    std::set<std::string> unreachable;
    int link_reads_before_streaming = 1;
    std::string bootstrap_error;
    std::mutex mutex;
    std::vector<std::string> steps;  // in order

    Pair() {
        data["r1-pg1"] = member("r1-pg1", "shut down in recovery", 1, "0/5000060");
        data["r1-pg2"] = member("r1-pg2", "shut down", 1, "0/50000A0");  // the old leader
        data["r1-pg3"] = member("r1-pg3", "shut down in recovery", 1, "0/5000060");
        http.set_handler([this](const HttpRequest& r) { return answer(r); });
    }
    void step(const std::string& s) {
        const std::lock_guard lock(mutex);
        steps.push_back(s);
    }

    fakes::RecordingHttpClient::Outcome answer(const HttpRequest& r) {
        const bool r2 = r.url.find("198.18.0.14") != std::string::npos ||
                        r.url.find("198.18.0.15") != std::string::npos;
        if (!r.url.ends_with("/cluster")) {
            return HttpFailure::connect;
        }
        nlohmann::json ms = nlohmann::json::array();
        if (r2) {
            ms.push_back({{"name", "r2-pg1"},
                          {"role", "leader"},
                          {"state", "running"},
                          {"host", "198.18.0.14"}});
            ms.push_back({{"name", "r2-pg2"},
                          {"role", "sync_standby"},
                          {"state", "streaming"},
                          {"host", "198.18.0.15"}});
        } else if (standby_runs) {
            ms.push_back({{"name", "r1-pg1"},
                          {"role", "standby_leader"},
                          {"state", "streaming"},
                          {"host", "198.18.0.11"}});
        } else {
            return HttpFailure::connect;  // fenced: no Patroni answers
        }
        return fakes::RecordingHttpClient::make(200, nlohmann::json{{"members", ms}}.dump());
    }

    ClusterAccess access() {
        return {reach, http,
                [this](const Endpoint&, const std::string& sql, std::chrono::milliseconds) {
                    QueryResult q;
                    q.ok = true;
                    if (sql == k_primary_history_sql) {
                        q.rows.push_back(
                            {"7300000000000000001|2|1\t0/5000118\tno recovery target specified\n"});
                    } else if (sql.find("slot_name") != std::string::npos) {
                        const bool on = link_reads_before_streaming-- <= 0;
                        q.rows.push_back({on ? "t" : "f", "0", on ? "r1-pg2" : "",
                                          on ? "streaming" : "", "0", std::nullopt});
                    }
                    return q;
                }};
    }

    DrRebuildResult run(DrRebuildRequest req = {}) {
        DrRebuildSeams seams{primary,
                             standby,
                             access(),
                             access(),
                             clock,
                             [this](const HostSpec& h) {
                                 FenceOutcome f;
                                 if (unreachable.count(h.name)) {
                                     f.detail = "cannot connect";
                                     return f;
                                 }
                                 step("fence " + h.name);
                                 f.fenced = true;
                                 return f;
                             },
                             [this](const HostSpec& h) {
                                 step("read " + h.name);
                                 return data.at(h.name);
                             },
                             [this](const HostSpec& h) {
                                 step("set aside " + h.name);
                                 return "/var/lib/postgresql/17/main.pgdr-rebuild-X";
                             },
                             [this](const HostSpec& h) { step("keep " + h.name); },
                             [this] { step("clear dcs"); },
                             [this] {
                                 step("bootstrap");
                                 return bootstrap_error;
                             },
                             nullptr,
                             nullptr};
        return run_dr_rebuild(seams, req);
    }
    // The steps without the fences (they run in parallel, in any order).
    std::vector<std::string> after_fence() const {
        std::vector<std::string> out;
        for (const auto& s : steps) {
            if (!s.starts_with("fence ")) {
                out.push_back(s);
            }
        }
        return out;
    }
};

}  // namespace

TEST_CASE("dr rebuild: timeline history and pg_controldata", "[pg][dr]") {
    const auto h = parse_timeline_history(
        "1\t0/3000160\tno recovery target specified\n\n2\t0/5000118\tbefore 2026-12-07\n");
    REQUIRE(h);
    REQUIRE(h->size() == 2);
    CHECK((*h)[0].parent == 1);
    CHECK((*h)[0].switch_lsn == *Lsn::parse("0/3000160"));
    CHECK((*h)[1].parent == 2);
    CHECK(parse_timeline_history("")->empty());  // timeline 1 has no history file
    CHECK_FALSE(parse_timeline_history("x\t0/1\n"));
    CHECK_FALSE(parse_timeline_history("1\tnot-an-lsn\n"));

    const auto d = parse_controldata("r1-pg2",
                                     "pg_control version number:            1700\n"
                                     "Database system identifier:           7300000000000000001\n"
                                     "Database cluster state:               shut down\n"
                                     "Latest checkpoint location:           0/50000A0\n"
                                     "Latest checkpoint's REDO location:    0/50000A0\n"
                                     "Latest checkpoint's TimeLineID:       1\n"
                                     "--- history\n");
    CHECK(d.data);
    CHECK(d.sysid == "7300000000000000001");
    CHECK(d.state == "shut down");
    CHECK(d.checkpoint == "0/50000A0");
    CHECK(d.timeline == 1);
    REQUIRE(d.history);
    CHECK(d.history->empty());  // timeline 1: no history file
    CHECK_FALSE(parse_controldata("r1-pg2", "Database cluster state: shut down\n").history);
    CHECK_FALSE(parse_controldata("r1-pg1", "").data);  // no data directory
    const auto two = parse_controldata("r2-pg1",
                                       "Database system identifier:           7300000000000000001\n"
                                       "Database cluster state:               shut down\n"
                                       "Latest checkpoint's TimeLineID:       2\n"
                                       "--- history\n"
                                       "1\t0/5000118\tno recovery target specified\n");
    CHECK(two.timeline == 2);
    REQUIRE(two.history);
    REQUIRE(two.history->size() == 1);
    CHECK((*two.history)[0].switch_lsn == *Lsn::parse("0/5000118"));
}

TEST_CASE("dr rebuild: a timeline of the same number but another history is never kept",
          "[pg][dr]") {
    // The promoted cluster: timeline 3, forked from 1 at 0/5000118 (its timeline 2), from 2 at
    // 0/6000000. The old side promoted on its own during the split: its timeline 2 forked from 1
    // at 0/5100000.
    const PrimaryHistory primary{
        "7300000000000000001", 3, {{1, *Lsn::parse("0/5000118")}, {2, *Lsn::parse("0/6000000")}}};
    auto other = member("r1-pg1", "shut down", 2, "0/5800000");
    other.history = std::vector<TimelineSwitch>{{1, *Lsn::parse("0/5100000")}};
    auto d = decide_rebuild({other}, primary);
    CHECK(d[0].fate == MemberFate::set_aside);
    CHECK_THAT(d[0].why, Catch::Contains("has a history of its own"));
    // The same number and the primary's own history: before the fork at 0/6000000, kept.
    auto same = other;
    same.history = std::vector<TimelineSwitch>{{1, *Lsn::parse("0/5000118")}};
    d = decide_rebuild({same}, primary);
    CHECK(d[0].fate == MemberFate::keep);
    // Timeline 2 without its history file: unknown, set aside.
    auto missing = other;
    missing.history = std::vector<TimelineSwitch>{};
    CHECK(decide_rebuild({missing}, primary)[0].fate == MemberFate::set_aside);
    missing.history.reset();
    CHECK(decide_rebuild({missing}, primary)[0].fate == MemberFate::set_aside);
}

TEST_CASE("dr rebuild: the member that stops before the fork is kept, the others set aside",
          "[pg][dr]") {
    const auto d =
        decide_rebuild({member("r1-pg1", "shut down in recovery", 1, "0/5000060"),
                        member("r1-pg2", "shut down", 1, "0/50000A0"),
                        member("r1-pg3", "shut down", 1, "0/50000A0"),
                        MemberData{"r1-pg4", true, "", false, "", "", 0, "", std::nullopt}},
                       k_history);
    REQUIRE(d.size() == 4);
    // A replica's restartpoint says nothing of how far it replayed: its data goes aside.
    CHECK(d[0].fate == MemberFate::set_aside);
    CHECK_THAT(d[0].why, Catch::Contains("not cleanly shut down as a primary"));
    CHECK(d[1].fate == MemberFate::keep);
    CHECK_THAT(d[1].why, Catch::Contains("before the switch point 0/5000118"));
    CHECK(d[2].fate == MemberFate::set_aside);  // one member at most is kept
    CHECK(d[3].fate == MemberFate::empty);
}

TEST_CASE("dr rebuild: diverged or foreign data is never kept", "[pg][dr]") {
    // The old primary went on writing after the DR cluster's last replay (a region loss).
    auto d = decide_rebuild({member("r1-pg2", "shut down", 1, "0/6000028")}, k_history);
    CHECK(d[0].fate == MemberFate::set_aside);
    CHECK_THAT(d[0].why, Catch::Contains("diverged: its WAL ends at 0/6000028, past the switch "
                                         "point 0/5000118 of timeline 1"));
    // Exactly at the switch point: its last record was not replayed by the promoted cluster.
    d = decide_rebuild({member("r1-pg2", "shut down", 1, "0/5000118")}, k_history);
    CHECK(d[0].fate == MemberFate::set_aside);
    // A timeline the promoted cluster never forked from.
    d = decide_rebuild({member("r1-pg2", "shut down", 3, "0/5000000")}, k_history);
    CHECK(d[0].fate == MemberFate::set_aside);
    CHECK_THAT(d[0].why, Catch::Contains("timeline 3 is not in the history"));
    // Crashed (not shut down cleanly): its end of WAL is unknown.
    d = decide_rebuild({member("r1-pg2", "in production", 1, "0/5000000")}, k_history);
    CHECK(d[0].fate == MemberFate::set_aside);
    // Another system's data: refused, never set aside.
    CHECK_THROWS_WITH(
        decide_rebuild({member("r1-pg2", "shut down", 1, "0/5000000", "111")}, k_history),
        Catch::Contains("r1-pg2 holds cluster 111, not 7300000000000000001"));
}

TEST_CASE("dr rebuild: fence, judge, keep and set aside, clear the DCS, bootstrap, stream",
          "[pg][dr]") {
    Pair p;
    const auto r = p.run();
    INFO(render_dr_rebuild_text(r));
    REQUIRE(r.ok);
    CHECK(r.primary_cluster == "lab-dr");
    CHECK(r.standby_cluster == "lab");
    CHECK(r.primary_leader == "r2-pg1");
    CHECK(r.primary.timeline == 2);
    CHECK(r.fenced.size() == 3);
    CHECK(p.after_fence() ==
          std::vector<std::string>{"read r1-pg1", "read r1-pg2", "read r1-pg3", "set aside r1-pg1",
                                   "keep r1-pg2", "set aside r1-pg3", "clear dcs", "bootstrap"});
    CHECK(p.steps.size() == 11);  // three fences before
    REQUIRE(r.members.size() == 3);
    CHECK(r.members[0].set_aside_to == "/var/lib/postgresql/17/main.pgdr-rebuild-X");
    CHECK(r.link.streaming());
    const auto j = dr_rebuild_to_json(r);
    CHECK(j["members"][1]["fate"] == "kept");
    CHECK(j["link"]["streaming"] == true);
    CHECK_THAT(render_dr_rebuild_text(r),
               Catch::Contains("r1-pg1: set aside — not cleanly shut down as a primary"));
}

TEST_CASE("dr rebuild: refusals change nothing", "[pg][dr]") {
    SECTION("a member of the old primary cannot be reached: its region is not back") {
        Pair p;
        p.unreachable = {"r1-pg3"};
        const auto r = p.run();
        CHECK_FALSE(r.ok);
        CHECK_THAT(r.error, Catch::Contains("its region must be back"));
        CHECK(p.after_fence().empty());
    }
    SECTION("foreign data") {
        Pair p;
        p.data["r1-pg3"].sysid = "111";
        const auto r = p.run();
        CHECK_FALSE(r.ok);
        CHECK_THAT(r.error, Catch::Contains("r1-pg3 holds cluster 111"));
        CHECK(p.after_fence() ==
              std::vector<std::string>{"read r1-pg1", "read r1-pg2", "read r1-pg3"});
    }
    SECTION("already a standby cluster") {
        Pair p;
        p.standby_runs = true;
        const auto r = p.run();
        CHECK(r.ok);
        CHECK(r.nothing_to_do);
        CHECK(p.steps.empty());
    }
    SECTION("a dry run") {
        Pair p;
        DrRebuildRequest dry;
        dry.dry_run = true;
        const auto r = p.run(dry);
        CHECK(r.ok);
        CHECK(p.steps.empty());
        CHECK_THAT(render_dr_rebuild_text(r), Catch::Contains("would fence lab"));
    }
    SECTION("bootstrap fails: reported") {
        Pair p;
        p.bootstrap_error = "exit 5";
        const auto r = p.run();
        CHECK_FALSE(r.ok);
        CHECK_THAT(r.error, Catch::Contains("pgdr bootstrap of the pair failed: exit 5"));
    }
}

TEST_CASE("dr rebuild: the commands on a member", "[pg][dr]") {
    const Pair p;
    const auto cd = controldata_argv(p.standby);
    CHECK_THAT(cd[2], Catch::Contains("echo '--- history'"));
    CHECK_THAT(cd[2], Catch::Contains("printf %08X"));
    CHECK(cd[4] == "/usr/lib/postgresql/17/bin");
    CHECK(cd[5] == "/var/lib/postgresql/17/main");
    const auto aside = set_aside_argv(p.standby, "20261207T233000Z");
    CHECK_THAT(aside[2], Catch::Contains("mv \"$1\" \"$to\""));
    CHECK_THAT(aside[2], Catch::Contains("exists"));  // never over an earlier one
    CHECK(aside[5] == "20261207T233000Z");
    const auto keep = prepare_keep_argv(p.standby);
    CHECK_THAT(keep[2], Catch::Contains("standby.signal"));
    CHECK_THAT(keep[2], Catch::Contains("rm -f \"$1/patroni.dynamic.json\""));
}
