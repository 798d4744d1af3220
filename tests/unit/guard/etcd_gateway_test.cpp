// The etcd v3 JSON gateway client of pgdr guard: what goes over the wire (base64 keys, int64 as
// strings, the range end of a prefix, the transactions) and how answers and failures are read.
#include "guard/etcd_gateway.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/base64.hpp"
#include "fakes/recording_http_client.hpp"

using namespace pgdr;
using namespace pgdr::guard;
using nlohmann::json;

namespace {

json sent(const HttpRequest& r) {
    return json::parse(r.body);
}

}  // namespace

TEST_CASE("etcd gateway: a prefix read asks for the range up to the prefix's end", "[guard]") {
    CHECK(prefix_end("/a/") == "/a0");
    CHECK(prefix_end(std::string("a\xff", 2)) == "b");
    fakes::RecordingHttpClient http;
    http.respond(200, json{{"kvs",
                            {{{"key", base64_encode("/s/leader")},
                              {"value", base64_encode("pg1")},
                              {"lease", "7587869387440563212"},
                              {"mod_revision", "42"}}}}}
                          .dump());
    EtcdGateway etcd(http, {"https://198.18.0.11:2379"}, std::chrono::milliseconds(700));
    const auto kvs = etcd.get_prefix("/s/");
    REQUIRE(kvs.size() == 1);
    CHECK(kvs[0].key == "/s/leader");
    CHECK(kvs[0].value == "pg1");
    CHECK(kvs[0].lease == 7587869387440563212LL);
    CHECK(kvs[0].mod_revision == 42);
    const auto req = http.requests().at(0);
    CHECK(req.method == "POST");
    CHECK(req.url == "https://198.18.0.11:2379/v3/kv/range");
    CHECK(req.timeout == std::chrono::milliseconds(700));
    CHECK(sent(req) == json{{"key", base64_encode("/s/")}, {"range_end", base64_encode("/s0")}});
}

TEST_CASE("etcd gateway: an empty range, an absent key", "[guard]") {
    fakes::RecordingHttpClient http;
    http.respond(200, R"({"header":{"revision":"7"}})");
    http.respond(200, R"({"header":{"revision":"7"}})");
    EtcdGateway etcd(http, {"https://e1:2379"}, std::chrono::milliseconds(500));
    CHECK(etcd.get_prefix("/x/").empty());
    CHECK_FALSE(etcd.get("/x/y"));
    CHECK_FALSE(sent(http.requests().at(1)).contains("range_end"));
}

TEST_CASE("etcd gateway: puts, leases and transactions as etcd's gateway wants them", "[guard]") {
    fakes::RecordingHttpClient http;
    http.respond(200, R"({"ID":"7587869387440563300","TTL":"5"})");
    http.respond(200, "{}");
    http.respond(200, R"({"succeeded":true})");
    http.respond(200, R"({"header":{}})");  // a failed txn: etcd omits "succeeded"
    http.respond(200, R"({"result":{"ID":"7587869387440563300","TTL":"4"}})");
    http.respond(200, R"({"result":{"ID":"7587869387440563300"}})");
    http.respond(200, "{}");
    EtcdGateway etcd(http, {"https://e1:2379"}, std::chrono::milliseconds(500));
    const auto lease = etcd.grant(std::chrono::seconds(5));
    CHECK(lease == 7587869387440563300LL);
    etcd.put("/g/agents/lb1", "{}", lease);
    CHECK(etcd.put_if_absent("/g/fence-lock", "lb1", lease));
    CHECK_FALSE(etcd.remove_if("/g/fence-lock", "lb1"));
    CHECK(etcd.keep_alive(lease));
    CHECK_FALSE(etcd.keep_alive(lease));  // no TTL: expired
    etcd.revoke(lease);
    const auto reqs = http.requests();
    CHECK(reqs[0].url == "https://e1:2379/v3/lease/grant");
    CHECK(sent(reqs[0]) == json{{"TTL", "5"}});
    CHECK(sent(reqs[1]) == json{{"key", base64_encode("/g/agents/lb1")},
                                {"value", base64_encode("{}")},
                                {"lease", "7587869387440563300"}});
    const json txn = sent(reqs[2]);
    CHECK(reqs[2].url == "https://e1:2379/v3/kv/txn");
    CHECK(txn["compare"][0] == json{{"key", base64_encode("/g/fence-lock")},
                                    {"target", "CREATE"},
                                    {"result", "EQUAL"},
                                    {"create_revision", "0"}});
    CHECK(txn["success"][0]["request_put"]["lease"] == "7587869387440563300");
    CHECK(sent(reqs[3])["compare"][0]["target"] == "VALUE");
    CHECK(sent(reqs[3])["success"][0].contains("request_delete_range"));
    CHECK(reqs[6].url == "https://e1:2379/v3/lease/revoke");
    CHECK(sent(reqs[6]) == json{{"ID", "7587869387440563300"}});
}

TEST_CASE("etcd gateway: a silent member is skipped, etcd's own errors are not", "[guard]") {
    fakes::RecordingHttpClient http;
    http.fail(HttpFailure::connect);
    http.respond(200, R"({"kvs":[{"key":"L3gveQ==","value":"dg=="}]})");
    http.respond(404, R"({"error":"etcdserver: requested lease not found","code":5,)"
                      R"("message":"etcdserver: requested lease not found"})");
    EtcdGateway etcd(http, {"https://e1:2379", "https://e2:2379"}, std::chrono::milliseconds(500));
    const auto kv = etcd.get("/x/y");
    REQUIRE(kv);
    CHECK(kv->value == "v");
    CHECK(kv->lease == 0);
    // The next call starts at the member that answered, and an error status is thrown as is.
    CHECK_THROWS_WITH(etcd.revoke(1), Catch::Contains("requested lease not found") &&
                                          Catch::Contains("https://e2:2379"));
    const auto reqs = http.requests();
    REQUIRE(reqs.size() == 3);
    CHECK(reqs[0].url.rfind("https://e1:2379", 0) == 0);
    CHECK(reqs[1].url.rfind("https://e2:2379", 0) == 0);
    CHECK(reqs[2].url.rfind("https://e2:2379", 0) == 0);
}

TEST_CASE("etcd gateway: no member answers", "[guard]") {
    fakes::RecordingHttpClient http;
    http.fail(HttpFailure::connect);
    http.fail(HttpFailure::timeout);
    EtcdGateway etcd(http, {"https://e1:2379", "https://e2:2379"}, std::chrono::milliseconds(500));
    CHECK_THROWS_WITH(etcd.get("/k"), Catch::StartsWith("no etcd member answered /v3/kv/range"));
    CHECK_THROWS_AS(EtcdGateway(http, {}, std::chrono::milliseconds(1)), EtcdError);
}

TEST_CASE("etcd gateway: a fenced member's endpoint is left before the next call", "[guard]") {
    fakes::RecordingHttpClient http;
    http.respond(200, "{}");
    http.respond(200, "{}");
    EtcdGateway etcd(http, {"https://198.18.64.11:2379", "https://198.18.64.12:2379"},
                     std::chrono::milliseconds(800));
    etcd.avoid("198.18.64.12");  // not the current one: nothing changes
    etcd.put("/k", "v");
    etcd.avoid("198.18.64.11");
    etcd.put("/k", "w");
    const auto reqs = http.requests();
    CHECK(reqs[0].url.rfind("https://198.18.64.11:2379", 0) == 0);
    CHECK(reqs[1].url.rfind("https://198.18.64.12:2379", 0) == 0);
    CHECK(reqs[1].connect_timeout == std::chrono::milliseconds(400));
}

namespace {

// etcd 3.5's answers as its gateway wrote them on the twin (ids are uint64 strings).
const char* k_members =
    R"({"header":{"member_id":"16425482509711780750"},"members":[)"
    R"({"ID":"3038291873799778967","name":"pg2","clientURLs":["https://198.18.64.11:2379"]},)"
    R"({"ID":"3693174552744040044","name":"pg1","clientURLs":["https://198.18.64.10:2379"]},)"
    R"({"ID":"16425482509711780750","name":"pg3","clientURLs":["https://198.18.64.12:2379"]}]})";

std::string status_with_leader(const std::string& id) {
    return R"({"header":{"member_id":"16425482509711780750"},"version":"3.5.16","leader":")" + id +
           R"("})";
}

}  // namespace

TEST_CASE("etcd gateway: leadership is handed away from the machine about to be fenced",
          "[guard]") {
    fakes::RecordingHttpClient http;
    http.respond(200, k_members);
    http.respond(200, status_with_leader("3693174552744040044"));  // pg1 leads
    http.respond(200, R"({"header":{}})");
    EtcdGateway etcd(http, {"https://198.18.64.12:2379", "https://198.18.64.10:2379"},
                     std::chrono::milliseconds(800));
    CHECK(etcd.hand_off_leadership("198.18.64.10") == "etcd's leadership moved from pg1 to pg2");
    const auto reqs = http.requests();
    REQUIRE(reqs.size() == 3);
    CHECK(reqs[0].url == "https://198.18.64.12:2379/v3/cluster/member/list");
    CHECK(reqs[1].url == "https://198.18.64.12:2379/v3/maintenance/status");
    // MoveLeader goes to the leader itself, names a member on another machine, and may wait
    // for a few heartbeats.
    CHECK(reqs[2].url == "https://198.18.64.10:2379/v3/maintenance/transfer-leadership");
    CHECK(sent(reqs[2]) == json{{"targetID", "3038291873799778967"}});
    CHECK(reqs[2].timeout == std::chrono::milliseconds(1600));
}

TEST_CASE("etcd gateway: nothing is moved when etcd's leader is elsewhere or unknown", "[guard]") {
    fakes::RecordingHttpClient http;
    http.respond(200, k_members);
    http.respond(200, status_with_leader("16425482509711780750"));  // pg3 leads
    EtcdGateway etcd(http, {"https://198.18.64.12:2379"}, std::chrono::milliseconds(800));
    CHECK(etcd.hand_off_leadership("198.18.64.10") ==
          "etcd's leader (pg3) is not on 198.18.64.10: nothing to move");
    CHECK(http.requests().size() == 2);

    http.respond(200, k_members);
    http.respond(200, status_with_leader("99"));
    CHECK_THROWS_WITH(etcd.hand_off_leadership("198.18.64.10"),
                      Catch::Contains("not in its member list"));

    // The leader does not answer (its machine is gone after all): etcd elects by itself.
    http.respond(200, k_members);
    http.respond(200, status_with_leader("3693174552744040044"));
    http.fail(HttpFailure::connect);
    CHECK_THROWS_WITH(etcd.hand_off_leadership("198.18.64.10"),
                      Catch::Contains("etcd's leader pg1 did not answer"));
}
