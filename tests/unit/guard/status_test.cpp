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

TEST_CASE("guard status: armed while as many agents live as the quorum", "[guard]") {
    GuardStatus s;
    s.agents = {{"lb1", true, {}, {}}, {"lb2", true, {}, {}}, {"old", true, {}, {}}};
    auto r = readiness_of(s, {"lb1", "lb2", "pg3"}, 2);
    CHECK(r.live == 2);  // an agent the inventory no longer names does not count
    CHECK(r.armed());
    CHECK(render_readiness(r) ==
          "fenced failover: armed (2 of 3 agents live, quorum 2; the loss of one agent host "
          "disarms it)\n");
    s.agents.push_back({"pg3", true, {}, {}});
    CHECK(render_readiness(readiness_of(s, {"lb1", "lb2", "pg3"}, 2)) ==
          "fenced failover: armed (3 of 3 agents live, quorum 2; survives the loss of 1 agent "
          "host(s))\n");
    s.agents = {{"lb1", false, {}, {}}, {"lb2", true, {}, {}}};
    r = readiness_of(s, {"lb1", "lb2"}, 2);
    CHECK_FALSE(r.armed());
    CHECK(render_readiness(r) ==
          "fenced failover: NOT ARMED (1 of 2 agents live, quorum 2): a dead leader waits for "
          "Patroni's TTL until the agents are back\n");
}

TEST_CASE("guard status: pgdr status's section, the last decision per expected agent", "[guard]") {
    GuardStatus s;
    AgentStatus lb1{"lb1", true, {}, {}};
    lb1.decision = {{"action", "failed_over"},
                    {"at_ms", 1800000000000LL},
                    {"reason", "pg1 fenced; pg2 named in /failover; the leader key released"}};
    s.agents = {lb1};
    s.failovers = {
        {{"at_ms", 1800000000000LL}, {"leader", "pg1"}, {"candidate", "pg2"}, {"agent", "lb1"}}};
    const auto j = summary_json(s, {"lb1", "lb2"}, 2);
    CHECK(j["armed"] == false);
    CHECK(j["live_agents"] == 1);
    CHECK(j["agents"][1] ==
          nlohmann::json{{"agent", "lb2"}, {"live", false}, {"last_decision", nullptr}});
    CHECK(j["failovers"] == 1);
    CHECK(render_summary(j) ==
          "guard: fenced failover: NOT ARMED (1 of 2 agents live, quorum 2): a dead leader waits "
          "for Patroni's TTL until the agents are back\n"
          "  lb1: 2027-01-15T08:00:00.000Z failed_over: pg1 fenced; pg2 named in /failover; the "
          "leader key released\n"
          "  lb2 (NOT RUNNING)\n"
          "  last failover: 2027-01-15T08:00:00.000Z pg1 -> pg2 by lb1\n");
}
