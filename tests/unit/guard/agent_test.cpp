// Two pgdr-guard agents (lb1, lb2) on one etcd (an in-memory one behind the JSON gateway's
// routes) with Patroni's keys, a scripted network and a recording provider: the whole loop
// (lease, probe, publish, quorum, lock, candidate, fence, /failover, lease revoke, records) per
// failure kind, on a manual clock.
#include "guard/agent.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "core/host_control.hpp"
#include "fakes/fake_etcd.hpp"
#include "pki/certificate.hpp"

using namespace pgdr;
using namespace pgdr::guard;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string k_dcs = "/postgresql-common/17-main/";
const std::string k_own = "/pgdr/shop-db/guard/";

class RecordingProvider final : public HostControl {
  public:
    MachineState machine = MachineState::running;
    bool fail = false;
    std::vector<std::string> calls;

    MachineState state(const std::string& host) override {
        calls.push_back("state " + host);
        if (fail) {
            throw std::runtime_error("HTTP 503 Service Unavailable");
        }
        return machine;
    }
    void kill_host(const std::string& host) override { calls.push_back("stop " + host); }
    void start_host(const std::string& host) override { calls.push_back("start " + host); }
    void reboot_host(const std::string& host) override {
        calls.push_back("reboot " + host);
        if (fail) {
            throw std::runtime_error("HTTP 503 Service Unavailable");
        }
    }
    void partition_host(const std::string&) override {}
    void heal_host(const std::string&) override {}
};

AgentConfig config_for(const std::string& agent) {
    AgentConfig c;
    c.agent = agent;
    c.cluster = "shop-db";
    c.dcs_prefix = k_dcs;
    c.guard_prefix = k_own;
    c.etcd_endpoints = {"https://198.18.64.11:2379"};
    c.members = {{"pg1", "198.18.64.11", 5432, 8008},
                 {"pg2", "198.18.64.12", 5432, 8008},
                 {"pg3", "198.18.64.13", 5432, 8008}};
    return c;
}

// Patroni's keys: pg1 leads (on its own lease, shared with its member key), pg2 is synchronous.
std::int64_t seed_patroni(fakes::FakeEtcd& etcd) {
    const auto lease = etcd.grant_lease();
    etcd.set(k_dcs + "config", R"({"ttl":30,"synchronous_mode":true})");
    etcd.set(k_dcs + "leader", "pg1", lease);
    etcd.set(k_dcs + "sync", R"({"leader":"pg1","sync_standby":"pg2"})");
    etcd.set(k_dcs + "members/pg1",
             R"({"state":"running","role":"primary","xlog_location":1000,"timeline":1})", lease);
    etcd.set(k_dcs + "members/pg2",
             R"({"state":"running","role":"replica","xlog_location":1000,"timeline":1})");
    etcd.set(k_dcs + "members/pg3",
             R"({"state":"running","role":"replica","xlog_location":900,"timeline":1})");
    return lease;
}

struct Cluster {
    fakes::FakeEtcd etcd;
    RecordingProvider provider;
    TimePoint now = TimePoint(std::chrono::milliseconds(1'800'000'000'000LL));
    std::map<std::string, Reach> leader_reach = {{"lb1", Reach::ok}, {"lb2", Reach::ok}};
    std::ostringstream out;
    AgentConfig c1 = config_for("lb1");
    AgentConfig c2 = config_for("lb2");
    EtcdGateway g1{etcd, c1.etcd_endpoints, 500ms};
    EtcdGateway g2{etcd, c2.etcd_endpoints, 500ms};
    std::int64_t leader_lease = seed_patroni(etcd);

    AgentWorld world(const std::string& agent, EtcdGateway& gateway) {
        return AgentWorld{gateway,
                          provider,
                          [this, agent](const std::string& address, int) {
                              return address == "198.18.64.11" ? leader_reach.at(agent) : Reach::ok;
                          },
                          [this] { return now; },
                          [this](std::chrono::milliseconds d) { now += d; },
                          out};
    }
};

// Both agents step every 300 ms for `ms`; the decisions of each.
std::vector<std::pair<Decision, Decision>> run(Cluster& c, Agent& a1, Agent* a2, int ms) {
    std::vector<std::pair<Decision, Decision>> out;
    for (int t = 0; t < ms; t += 300) {
        Decision d1 = a1.step();
        Decision d2 = a2 != nullptr ? a2->step() : Decision{};
        out.emplace_back(d1, d2);
        c.now += 300ms;
    }
    return out;
}

bool any(const std::vector<std::pair<Decision, Decision>>& ds, Action a) {
    for (const auto& [d1, d2] : ds) {
        if (d1.action == a || d2.action == a) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("guard agents: dead services on a running machine are fenced and failed over",
          "[guard]") {
    Cluster c;
    Agent lb1(c.c1, c.world("lb1", c.g1));
    Agent lb2(c.c2, c.world("lb2", c.g2));
    auto quiet = run(c, lb1, &lb2, 1500);
    CHECK_FALSE(any(quiet, Action::failed_over));
    CHECK(json::parse(c.etcd.value(k_own + "agents/lb1"))["leader"] == "pg1");
    CHECK(c.etcd.lease_of(k_own + "agents/lb1") != 0);  // gone with the agent

    // etcd's leader runs on pg1's machine too: it must not go down with the reset.
    c.etcd.set_members({{"pg1", "https://198.18.64.11:2379"},
                        {"pg2", "https://198.18.64.12:2379"},
                        {"pg3", "https://198.18.64.13:2379"}},
                       "pg1");
    c.leader_reach = {{"lb1", Reach::refused}, {"lb2", Reach::refused}};  // Patroni killed
    auto ds = run(c, lb1, &lb2, 3000);
    REQUIRE(any(ds, Action::failed_over));
    CHECK(c.etcd.leader() == "pg2");
    CHECK(c.out.str().find("etcd's leadership moved from pg1 to pg2") != std::string::npos);
    CHECK(c.provider.calls == std::vector<std::string>{"state pg1", "reboot pg1"});
    CHECK(c.etcd.value(k_dcs + "failover") == R"({"member":"pg2"})");
    CHECK_FALSE(c.etcd.has(k_dcs + "leader"));       // the lease revoked...
    CHECK_FALSE(c.etcd.has(k_dcs + "members/pg1"));  // ...with the member key on it
    CHECK_FALSE(c.etcd.lease_alive(c.leader_lease));
    CHECK_FALSE(c.etcd.has(k_own + "fence-lock"));  // released
    // The failover is recorded with its phases, in order.
    const auto records = c.g1.get_prefix(k_own + "failovers/");
    REQUIRE(records.size() == 1);  // one agent fenced, the other was locked out or saw pg2 lead
    CHECK_FALSE(c.etcd.value(k_own + "decisions/lb1").empty());
    CHECK_FALSE(c.etcd.value(k_own + "decisions/lb2").empty());
    for (const auto& record : records) {
        const json d = json::parse(record.value);
        CHECK(d["action"] == "failed_over");
        CHECK(record.key.find("Z-lb") != std::string::npos);
        CHECK(d["candidate"] == "pg2");
        std::vector<std::string> names;
        long long last = 0;
        for (const auto& p : d["phases"]) {
            names.push_back(p["name"]);
            CHECK(p["at_ms"].get<long long>() >= last);
            last = p["at_ms"];
        }
        CHECK(names == std::vector<std::string>{"detected", "quorum", "fenced", "key_released"});
    }
    CHECK(c.out.str().find("failed_over pg1: pg1 fenced; pg2 named in /failover") !=
          std::string::npos);
}

TEST_CASE("guard agents: a machine the provider reports off is released without a power call",
          "[guard]") {
    Cluster c;
    c.provider.machine = MachineState::stopped;
    Agent lb1(c.c1, c.world("lb1", c.g1));
    Agent lb2(c.c2, c.world("lb2", c.g2));
    run(c, lb1, &lb2, 900);
    c.leader_reach = {{"lb1", Reach::silent}, {"lb2", Reach::silent}};  // powered off
    auto ds = run(c, lb1, &lb2, 3000);
    REQUIRE(any(ds, Action::failed_over));
    CHECK(c.provider.calls == std::vector<std::string>{"state pg1"});
    CHECK_FALSE(c.etcd.has(k_dcs + "leader"));
}

TEST_CASE("guard agents: nothing released without a confirmed fence", "[guard]") {
    Cluster c;
    Agent lb1(c.c1, c.world("lb1", c.g1));
    Agent lb2(c.c2, c.world("lb2", c.g2));
    run(c, lb1, &lb2, 900);

    SECTION("a partition: silent, and the provider says it runs") {
        c.leader_reach = {{"lb1", Reach::silent}, {"lb2", Reach::silent}};
        auto ds = run(c, lb1, &lb2, 6000);
        CHECK(any(ds, Action::not_fenced));
        CHECK_FALSE(any(ds, Action::failed_over));
        for (const auto& call : c.provider.calls) {
            CHECK(call == "state pg1");  // asked, never fenced
        }
    }
    SECTION("the provider API fails") {
        c.leader_reach = {{"lb1", Reach::refused}, {"lb2", Reach::refused}};
        c.provider.fail = true;
        auto ds = run(c, lb1, &lb2, 6000);
        CHECK((any(ds, Action::error) || any(ds, Action::fence_failed)));
        CHECK_FALSE(any(ds, Action::failed_over));
    }
    SECTION("one guard host lost: its observation goes with its lease, no quorum") {
        c.leader_reach = {{"lb1", Reach::refused}, {"lb2", Reach::refused}};
        c.etcd.expire(c.etcd.lease_of(k_own + "agents/lb2"));
        auto ds = run(c, lb1, nullptr, 6000);
        CHECK(any(ds, Action::no_quorum));
        CHECK_FALSE(any(ds, Action::failed_over));
        CHECK(c.provider.calls.empty());
    }
    SECTION("one agent still reaches the leader") {
        c.leader_reach = {{"lb1", Reach::refused}, {"lb2", Reach::ok}};
        auto ds = run(c, lb1, &lb2, 6000);
        CHECK(any(ds, Action::no_quorum));
        CHECK_FALSE(any(ds, Action::failed_over));
    }
    SECTION("etcd unreachable: the agent cannot even hold its lease") {
        c.leader_reach = {{"lb1", Reach::refused}, {"lb2", Reach::refused}};
        c.etcd.set_down(true);
        auto ds = run(c, lb1, &lb2, 6000);
        CHECK(any(ds, Action::error));
        CHECK(c.provider.calls.empty());
    }
    CHECK(c.etcd.has(k_dcs + "leader") == !c.etcd.has(k_dcs + "failover"));
    if (!c.etcd.has(k_dcs + "failover")) {
        CHECK(c.etcd.value(k_dcs + "leader") == "pg1");
    }
}

TEST_CASE("guard agents: observations as JSON", "[guard]") {
    Observation o;
    o.agent = "lb1";
    o.leader = "pg1";
    o.last_ok = TimePoint(1800000000123ms);
    o.at = TimePoint(1800000002500ms);
    o.unreachable = true;
    o.machine_answers = true;
    const auto back = observation_from_json(observation_json(o));
    CHECK(back.agent == "lb1");
    CHECK(back.last_ok == o.last_ok);
    CHECK(back.at == o.at);
    CHECK(back.unreachable);
    CHECK(back.machine_answers);
    CHECK_THROWS_AS(observation_from_json(R"({"agent":"x"})"), std::invalid_argument);
    CHECK(iso_ms(TimePoint(1800000000123ms)) == "2027-01-15T08:00:00.123Z");
}

namespace {

// A listening socket on 127.0.0.1 (an ephemeral port): {fd, port}.
std::pair<int, int> loopback_listener() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    socklen_t len = sizeof sa;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    return {fd, ntohs(sa.sin_port)};
}

}  // namespace

TEST_CASE("guard agents: a TCP probe tells a listener from a refusal", "[guard]") {
    const auto [fd, port] = loopback_listener();
    CHECK(tcp_reach("127.0.0.1", port, 500ms) == Reach::ok);
    ::close(fd);
    CHECK(tcp_reach("127.0.0.1", port, 500ms) == Reach::refused);
    CHECK_THROWS_AS(tcp_reach("pg1", port, 500ms), std::invalid_argument);
}

namespace {

// A one-connection TLS server on loopback: how the client's connection ended, as OpenSSL saw it.
struct TlsServer {
    int fd = -1;
    int port = 0;
    std::string outcome;  // "clean close", "handshake failed", ...
    std::thread thread;

    explicit TlsServer(const pgdr::pki::KeyPair& server) {
        std::tie(fd, port) = loopback_listener();
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        // No TLS 1.3 session tickets: written after the handshake, they would meet the closed
        // probe socket (SIGPIPE in this test process; Python, as Patroni, ignores SIGPIPE).
        SSL_CTX_set_num_tickets(ctx, 0);
        BIO* cb = BIO_new_mem_buf(server.cert_pem.data(), static_cast<int>(server.cert_pem.size()));
        X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
        BIO* kb = BIO_new_mem_buf(server.key_pem.data(), static_cast<int>(server.key_pem.size()));
        EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
        SSL_CTX_use_certificate(ctx, cert);
        SSL_CTX_use_PrivateKey(ctx, key);
        X509_free(cert);
        EVP_PKEY_free(key);
        BIO_free(cb);
        BIO_free(kb);
        thread = std::thread([this, ctx] {
            const int c = ::accept(fd, nullptr, nullptr);
            SSL* ssl = SSL_new(ctx);
            SSL_set_fd(ssl, c);
            if (SSL_accept(ssl) != 1) {
                outcome = "handshake failed";  // what Patroni logged as SSLEOFError
            } else {
                char buf[16];
                const int n = SSL_read(ssl, buf, sizeof buf);
                outcome = n == 0 && SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN
                              ? "clean close"
                              : "unexpected end";
            }
            SSL_free(ssl);
            ::close(c);
            SSL_CTX_free(ctx);
        });
    }
    ~TlsServer() {
        if (thread.joinable()) {
            thread.join();
        }
        ::close(fd);
    }
};

}  // namespace

TEST_CASE("guard agents: Patroni's TLS port is probed with a handshake, closed cleanly",
          "[guard]") {
    const auto ca = pgdr::pki::make_ca("test CA", std::chrono::hours(24));
    const auto leaf = pgdr::pki::issue(ca, {"pg1", {}, {"127.0.0.1"}});
    const TlsProbe probe("", "");
    int port = 0;
    {
        TlsServer server(leaf);
        port = server.port;
        CHECK(probe.reach("127.0.0.1", server.port, 1000ms) == Reach::ok);
        server.thread.join();
        CHECK(server.outcome == "clean close");
    }
    {
        // The old probe, a bare connect: the server's handshake fails (Patroni's traceback).
        TlsServer server(leaf);
        CHECK(tcp_reach("127.0.0.1", server.port, 1000ms) == Reach::ok);
        server.thread.join();
        CHECK(server.outcome == "handshake failed");
    }
    CHECK(probe.reach("127.0.0.1", port, 500ms) == Reach::refused);
}
