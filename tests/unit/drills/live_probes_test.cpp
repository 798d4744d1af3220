// The real probes against a throwaway local PostgreSQL (skipped without initdb) and a scripted
// Patroni REST API, and the Patroni REST client's parsing.
#include <catch2/catch.hpp>
#include <thread>

#include "core/error.hpp"
#include "drills/node_sampler.hpp"
#include "drills/sql_probes.hpp"
#include "fakes/recording_http_client.hpp"
#include "pg/patroni_api.hpp"
#include "unit/pg/libpq_server.hpp"

using namespace pgdr;
using namespace pgdr::drills;
using pgdr::test::LocalPostgres;

namespace {

LocalPostgres* server() {
    static std::string why_not;
    static std::unique_ptr<LocalPostgres> pg = LocalPostgres::start(why_not);
    if (!pg) {
        WARN("SKIPPED: no local PostgreSQL for the probe tests: " << why_not);
    }
    return pg.get();
}

DrillTopology local_topology() {
    DrillTopology t;
    t.cluster = "local";
    t.postgres = {{"local", "127.0.0.1"}, {"other", "127.0.0.2"}};
    return t;
}

template <typename T>
std::vector<T> of(const std::vector<Event>& events) {
    std::vector<T> out;
    for (const auto& e : events) {
        if (const auto* x = std::get_if<T>(&e.data)) {
            out.push_back(*x);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("writer and reader probes through a real server", "[drills][probes][server]") {
    auto* srv = server();
    if (srv == nullptr) {
        return;
    }
    auto topology = local_topology();
    SystemClock clock;
    Timeline timeline(clock);
    SqlProbeOptions o;
    o.host = "127.0.0.1";
    o.port = srv->port();
    o.credentials = {LocalPostgres::k_user, srv->password(), "postgres"};
    o.run = "writer-test";
    o.interval = std::chrono::milliseconds(10);
    auto writer = make_writer_probe(o, topology, clock);
    auto ro = o;
    ro.interval = std::chrono::milliseconds(20);
    auto reader = make_reader_probe(ro, topology, clock);
    writer->start(timeline);
    reader->start(timeline);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    reader->stop();
    writer->stop();
    auto events = timeline.events();
    auto sent = of<WriteSent>(events);
    auto acked = of<WriteAcked>(events);
    CHECK(sent.size() >= 5);
    CHECK(acked.size() + of<WriteFailed>(events).size() == sent.size());
    CHECK(of<WriteFailed>(events).empty());
    for (std::size_t i = 0; i < acked.size(); ++i) {
        CHECK(acked[i].seq == static_cast<std::int64_t>(i + 1));
        CHECK(acked[i].backend == "local");  // inet_server_addr() mapped to the member
    }
    auto reads = of<ReadResult>(events);
    REQUIRE_FALSE(reads.empty());
    CHECK(reads.back().ok);
    CHECK(reads.back().backend == "local");
    CHECK(reads.back().max_seq_seen.value_or(0) >= 1);

    // Every acknowledged row is in the table, and nothing else of this run.
    auto conn = pg::Connection::connect(srv->params());
    REQUIRE(conn.connection);
    auto r = conn.connection->exec("SELECT count(*), max(seq) FROM pgdr_drill WHERE run = $1",
                                   {o.run}, std::chrono::milliseconds(2000));
    REQUIRE(r.ok);
    CHECK(std::stoul(*r.value(0, 0)) == acked.size());
}

TEST_CASE("writer probe: a port nobody listens on stops the drill at start", "[drills][probes]") {
    auto topology = local_topology();
    SystemClock clock;
    Timeline timeline(clock);
    SqlProbeOptions o;
    o.host = "127.0.0.1";
    o.port = 1;  // privileged, nothing listens there
    o.credentials = {"pgdr_probe", "x", "pgdr"};
    o.run = "r";
    auto writer = make_writer_probe(o, topology, clock);
    try {
        writer->start(timeline);
        FAIL("the writer started without a server");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::verification_failed);
    }
    writer->stop();
    CHECK(timeline.size() == 0);
}

TEST_CASE("node sampler: SQL fields when REST is down, REST fields when SQL is down",
          "[drills][sampler][server]") {
    auto* srv = server();
    SystemClock clock;
    fakes::RecordingHttpClient http;
    http.set_handler([](const HttpRequest& req) -> fakes::RecordingHttpClient::Outcome {
        if (req.url.find("10.9.9.9") != std::string::npos) {
            return HttpFailure::connect;
        }
        if (req.url.find("/patroni") != std::string::npos) {
            return fakes::RecordingHttpClient::make(
                200, R"({"state":"streaming","role":"replica","timeline":4,)"
                     R"("xlog":{"received_location":50331744,"replayed_location":50331700},)"
                     R"("patroni":{"version":"4.0.7","scope":"17-main","name":"pg2"}})");
        }
        return fakes::RecordingHttpClient::make(
            200, R"({"members":[{"name":"pg1","role":"leader","state":"running"},)"
                 R"({"name":"pg2","role":"replica","state":"streaming","lag":"unknown"}]})");
    });

    SECTION("REST only: role, state, timeline, WAL position and the leader seen") {
        NodeSamplerOptions o;
        o.node = {"pg2", "127.0.0.1"};
        o.rest_url = "http://127.0.0.1:8008";
        o.pg_port = 1;
        o.credentials = {"pgdr_probe", "x", "pgdr"};
        o.sql_timeout = std::chrono::milliseconds(300);
        Timeline timeline(clock);
        auto p = make_node_sampler(o, http, clock);
        p->start(timeline);
        std::this_thread::sleep_for(std::chrono::milliseconds(120));
        p->stop();
        auto samples = of<NodeSample>(timeline.events());
        REQUIRE_FALSE(samples.empty());
        const auto& s = samples.front();
        CHECK(s.node == "pg2");
        CHECK(s.role == NodeRole::replica);
        CHECK(s.patroni_state == "streaming");
        CHECK(s.timeline == std::optional<int>(4));
        CHECK(s.lsn == std::optional<std::uint64_t>(50331700));
        CHECK(s.leader_seen == std::optional<std::string>("pg1"));
        CHECK_FALSE(s.in_recovery.has_value());
        CHECK(s.error.find("sql: ") != std::string::npos);
    }
    SECTION("SQL only: in recovery, LSN and timeline from the server") {
        if (srv == nullptr) {
            return;
        }
        NodeSamplerOptions o;
        o.node = {"local", "127.0.0.1"};
        o.rest_url = "http://10.9.9.9:8008";
        o.pg_port = srv->port();
        o.credentials = {LocalPostgres::k_user, srv->password(), "postgres"};
        Timeline timeline(clock);
        auto p = make_node_sampler(o, http, clock);
        p->start(timeline);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        p->stop();
        auto samples = of<NodeSample>(timeline.events());
        REQUIRE_FALSE(samples.empty());
        const auto& s = samples.back();
        CHECK(s.role == NodeRole::unknown);
        CHECK(s.in_recovery == std::optional<bool>(false));
        CHECK(s.timeline == std::optional<int>(1));
        CHECK(s.lsn.value_or(0) > 0);
        CHECK(s.error.find("10.9.9.9") != std::string::npos);
        CHECK(s.answered());
    }
}

TEST_CASE("Patroni REST client: Patroni 3 and 4 answers", "[pg][patroni]") {
    auto s3 = pg::parse_patroni_status(
        R"({"state":"running","role":"master","timeline":3,"xlog":{"location":67108960}})");
    REQUIRE(s3);
    CHECK(s3->role == "master");
    CHECK(s3->wal_position == std::optional<std::uint64_t>(67108960));
    CHECK_FALSE(pg::parse_patroni_status("not json").has_value());
    CHECK_FALSE(pg::parse_patroni_status("[]").has_value());

    auto members = pg::parse_cluster_members(
        R"({"members":[{"name":"pg1","role":"replica","state":"running","timeline":2,"lag":0},)"
        R"({"name":"pg2","role":"leader","state":"running","timeline":2},)"
        R"({"name":"pg3","role":"replica","state":"stopped","lag":"unknown"}],"scope":"15-main"})");
    REQUIRE(members);
    CHECK(pg::leaders_of(*members) == std::vector<std::string>{"pg2"});
    REQUIRE(members->size() == 3);
    CHECK((*members)[0].lag_bytes == std::optional<std::int64_t>(0));
    CHECK_FALSE((*members)[2].lag_bytes.has_value());
    auto no_leader = pg::parse_cluster_members(R"({"members":[]})");
    REQUIRE(no_leader);
    CHECK(pg::leaders_of(*no_leader).empty());

    CHECK(pg::base64("") == "");
    CHECK(pg::base64("f") == "Zg==");
    CHECK(pg::base64("fo") == "Zm8=");
    CHECK(pg::base64("foo") == "Zm9v");
    CHECK(pg::base64("foobar") == "Zm9vYmFy");

    fakes::RecordingHttpClient http;
    pg::PatroniApi api(http);
    http.respond(503, R"({"state":"stopped","role":"replica"})");  // PostgreSQL down
    auto st = api.status("http://10.0.0.1:8008");
    REQUIRE(st.ok());
    CHECK(st.value->state == "stopped");
    http.fail(HttpFailure::timeout);
    auto failed = api.cluster("http://10.0.0.1:8008");
    CHECK_FALSE(failed.ok());
    CHECK(failed.error.find("GET http://10.0.0.1:8008/cluster") == 0);
    http.respond(412, "candidate name does not match with sync_standby");
    auto sw = api.switchover("http://10.0.0.1:8008", "pg1", "pg3", "patroni", "pw");
    CHECK_FALSE(sw.ok);
    CHECK(sw.status == 412);
    CHECK(sw.message == "candidate name does not match with sync_standby");
    auto reqs = http.requests();
    CHECK(reqs[0].timeout == std::chrono::milliseconds(2000));
    CHECK(reqs.back().method == "POST");
}
