// `pgdr guard status` on what the agents store in etcd, read as etcdctl prints it.
#include "guard/status.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/base64.hpp"

using namespace pgdr;
using namespace pgdr::guard;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string k_prefix = "/pgdr/shop-db/guard/";

json kv(const std::string& key, const std::string& value, long long lease = 0) {
    json j = {{"key", base64_encode(key)},
              {"value", base64_encode(value)},
              {"create_revision", 5},
              {"mod_revision", 9},
              {"version", 1}};
    if (lease != 0) {
        j["lease"] = lease;
    }
    return j;
}

// etcdctl get --prefix /pgdr/shop-db/guard/ -w json, as etcd 3.5 prints it: lb1 live, lb2's
// observation gone (its host is down) but its last decision kept, one failover.
std::string etcdctl_output() {
    const std::string obs =
        R"({"agent":"lb1","leader":"pg2","last_ok_ms":1800000009800,"at_ms":1800000010000,)"
        R"("unreachable":false,"machine_answers":false})";
    const std::string failover =
        R"({"agent":"lb2","action":"failed_over","leader":"pg1","candidate":"pg2",)"
        R"("reason":"pg1 fenced; pg2 named in /failover; the leader key released",)"
        R"("at_ms":1800000002400,"phases":[{"name":"detected","at_ms":1800000002100},)"
        R"({"name":"quorum","at_ms":1800000002400},{"name":"fenced","at_ms":1800000002650},)"
        R"({"name":"key_released","at_ms":1800000002700}]})";
    json out = {
        {"header", {{"revision", 42}}},
        {"kvs",
         {kv(k_prefix + "agents/lb1", obs, 7587869387440563212LL),
          kv(k_prefix + "decisions/lb1",
             R"({"agent":"lb1","action":"none","leader":"pg2","reason":"pg2 answers",)"
             R"("at_ms":1800000003000,"phases":[]})"),
          kv(k_prefix + "decisions/lb2", failover),
          kv(k_prefix + "failovers/2027-01-15T08:00:02.400Z-lb2", failover),
          kv(k_prefix + "failovers/garbage", "not json"), kv("/pgdr/other/guard/agents/x", obs)}},
        {"count", 6}};
    return out.dump();
}

}  // namespace

TEST_CASE("guard status: agents, decisions, failovers from etcdctl's JSON", "[guard]") {
    const auto kvs = etcdctl_kvs(etcdctl_output());
    REQUIRE(kvs.size() == 6);
    CHECK(kvs[0].lease == 7587869387440563212LL);
    const GuardStatus s = guard_status(kvs, k_prefix);
    REQUIRE(s.agents.size() == 2);
    CHECK(s.agents[0].agent == "lb1");
    CHECK(s.agents[0].live);
    CHECK(s.agents[0].last.leader == "pg2");
    CHECK(s.agents[1].agent == "lb2");
    CHECK_FALSE(s.agents[1].live);
    CHECK(s.agents[1].decision["action"] == "failed_over");
    REQUIRE(s.failovers.size() == 1);  // the unreadable one skipped
    CHECK(s.fence_lock.empty());

    const std::string text = render_text(s, {"lb1", "lb2"}, TimePoint(1800000010250ms));
    CHECK(text ==
          "agents:\n"
          "  lb2  NOT RUNNING (no observation: the agent or its host is down)\n"
          "  lb1  watching pg2, last probe 250 ms ago, leader answers\n"
          "      last decision none at 2027-01-15T08:00:03.000Z: pg2 answers\n"
          "fence lock: free\n"
          "failovers: 1\n"
          "  2027-01-15T08:00:02.400Z  pg1 -> pg2 by lb2: detected 0 ms quorum 300 ms fenced "
          "550 ms key_released 600 ms\n");
    const json j = to_json(s);
    CHECK(j["agents"][0]["observed_at"] == "2027-01-15T08:00:10.000Z");
    CHECK(j["agents"][1]["live"] == false);
    CHECK(j["failovers"][0]["candidate"] == "pg2");
}

TEST_CASE("guard status: nothing stored yet, a held lock, bad input", "[guard]") {
    CHECK(etcdctl_kvs(R"({"header":{"revision":3}})").empty());
    CHECK_THROWS_AS(etcdctl_kvs("Error: context deadline exceeded"), std::invalid_argument);
    const GuardStatus s = guard_status({{k_prefix + "fence-lock", "lb1", 1, 1}}, k_prefix);
    CHECK(s.fence_lock == "lb1");
    CHECK(render_text(s, {}, TimePoint(0ms)) == "agents:\nfence lock: held by lb1\nfailovers: 0\n");
}
