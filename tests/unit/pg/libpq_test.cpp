// The libpq wrapper and the LSN type. Tests that need a server start a throwaway one
// (libpq_server.hpp) and are skipped, with a warning, where no initdb exists.
#include "pg/libpq.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "pg/lsn.hpp"
#include "unit/pg/libpq_server.hpp"

using namespace pgdr;
using pgdr::test::LocalPostgres;

namespace {

// One server for every test of this binary run; null when none can be started.
LocalPostgres* server() {
    static std::string why_not;
    static std::unique_ptr<LocalPostgres> pg = LocalPostgres::start(why_not);
    if (!pg) {
        WARN("SKIPPED: no local PostgreSQL for libpq tests: " << why_not);
    }
    return pg.get();
}

std::unique_ptr<pg::Connection> connect(const pg::ConnParams& p) {
    auto r = pg::Connection::connect(p);
    INFO(r.error.describe());
    REQUIRE(r.connection);
    return std::move(r.connection);
}

// A listening socket that never answers: the TCP handshake completes (backlog), the startup
// packet is never read. Closed on destruction.
struct SilentListener {
    int fd = -1;
    int port = 0;
    SilentListener() {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd, 4);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~SilentListener() { ::close(fd); }
};

using Ms = std::chrono::milliseconds;

}  // namespace

TEST_CASE("lsn: parse, print, difference", "[pg][lsn]") {
    auto a = pg::Lsn::parse("0/3000060");
    REQUIRE(a);
    CHECK(a->bytes() == 0x3000060u);
    CHECK(a->str() == "0/3000060");
    auto b = pg::Lsn::parse("1/a0");
    REQUIRE(b);
    CHECK(b->bytes() == 0x1000000A0ull);
    CHECK(b->str() == "1/A0");
    CHECK(b->minus(*a) == static_cast<std::int64_t>(0x1000000A0ull - 0x3000060ull));
    CHECK(a->minus(*b) == -b->minus(*a));
    CHECK(*a < *b);
    CHECK(pg::Lsn::parse("FFFFFFFF/FFFFFFFF")->bytes() == ~0ull);
    for (const char* bad :
         {"", "/", "0/", "/1", "3000060", "0/3000060x", "g/1", "123456789/0", "0/-1", " 0/1"}) {
        INFO(bad);
        CHECK_FALSE(pg::Lsn::parse(bad).has_value());
    }
}

TEST_CASE("libpq: failures are values, never exceptions", "[pg][libpq]") {
    SECTION("connection refused") {
        SilentListener l;
        int port = l.port;
        ::close(l.fd);
        l.fd = -1;
        pg::ConnParams p;
        p.host = "127.0.0.1";
        p.port = port;
        p.dbname = "x";
        p.user = "x";
        auto r = pg::Connection::connect(p);
        CHECK_FALSE(r.connection);
        CHECK_FALSE(r.error.message.empty());
        CHECK_FALSE(r.error.client_timeout);
    }
    SECTION("a server that never answers: bounded by the client-side connect timeout") {
        SilentListener l;
        pg::ConnParams p;
        p.host = "127.0.0.1";
        p.port = l.port;
        p.dbname = "x";
        p.user = "x";
        p.password = "not-used";
        p.connect_timeout = Ms(300);
        auto t0 = std::chrono::steady_clock::now();
        auto r = pg::Connection::connect(p);
        auto took = std::chrono::steady_clock::now() - t0;
        CHECK_FALSE(r.connection);
        CHECK(r.error.client_timeout);
        CHECK(took < std::chrono::milliseconds(1500));
        CHECK(r.error.message.find("not-used") == std::string::npos);
    }
}

TEST_CASE("libpq: queries against a local server", "[pg][libpq][server]") {
    auto* srv = server();
    if (srv == nullptr) {
        return;
    }
    auto conn = connect(srv->params());
    CHECK(conn->alive());

    SECTION("parameters, NULL, columns, affected rows") {
        auto r = conn->exec("SELECT $1::int + 1 AS n, $2::text AS t, NULL::text AS z",
                            {std::string("41"), std::string("it's \"quoted\"; --")}, Ms(2000));
        REQUIRE(r.ok);
        CHECK(r.columns == std::vector<std::string>{"n", "t", "z"});
        CHECK(r.value(0, 0) == std::optional<std::string>("42"));
        CHECK(r.value(0, 1) == std::optional<std::string>("it's \"quoted\"; --"));
        CHECK_FALSE(r.value(0, 2).has_value());
        CHECK_FALSE(r.value(5, 0).has_value());
        REQUIRE(conn->exec("CREATE TEMP TABLE t (x int)", Ms(2000)).ok);
        auto ins = conn->exec("INSERT INTO t SELECT generate_series(1, 7)", Ms(2000));
        CHECK(ins.ok);
        CHECK(ins.affected == 7);
        auto null_param = conn->exec("SELECT $1::text IS NULL", {std::nullopt}, Ms(2000));
        CHECK(null_param.value(0, 0) == std::optional<std::string>("t"));
    }
    SECTION("a server error carries its SQLSTATE and leaves the connection usable") {
        auto r = conn->exec("SELEC 1", Ms(2000));
        CHECK_FALSE(r.ok);
        CHECK(r.error.sqlstate == "42601");
        CHECK(r.error.describe().rfind("SQLSTATE 42601: ", 0) == 0);
        CHECK(conn->alive());
        CHECK(conn->exec("SELECT 1", Ms(2000)).ok);
        // One statement per call (the extended protocol refuses several).
        CHECK(conn->exec("BEGIN; SELECT 1", Ms(2000)).error.sqlstate == "42601");
        REQUIRE(conn->exec("SET default_transaction_read_only = on", Ms(2000)).ok);
        auto ro = conn->exec("CREATE TEMP TABLE never (x int)", Ms(2000));
        CHECK(ro.error.sqlstate == "25006");  // what a writer sees on a demoted primary
    }
    SECTION("statement_timeout from the connection options") {
        auto p = srv->params();
        p.statement_timeout = Ms(200);
        auto c2 = connect(p);
        auto r = c2->exec("SELECT pg_sleep(2)", Ms(5000));
        CHECK_FALSE(r.ok);
        CHECK(r.error.sqlstate == "57014");
        CHECK(c2->alive());
    }
    SECTION("the client-side deadline closes the connection") {
        auto t0 = std::chrono::steady_clock::now();
        auto r = conn->exec("SELECT pg_sleep(3)", Ms(300));
        auto took = std::chrono::steady_clock::now() - t0;
        CHECK_FALSE(r.ok);
        CHECK(r.error.client_timeout);
        CHECK(took < std::chrono::milliseconds(1500));
        CHECK_FALSE(conn->alive());
        CHECK_FALSE(conn->exec("SELECT 1", Ms(300)).ok);
    }
    SECTION("a wrong password is refused with 28P01 and never echoed") {
        auto p = srv->params();
        p.password = "wrong-" + srv->password();
        auto r = pg::Connection::connect(p);
        CHECK_FALSE(r.connection);
        CHECK(r.error.message.find(p.password) == std::string::npos);
        CHECK(r.error.message.find("password authentication failed") != std::string::npos);
    }
    SECTION("LSN arithmetic agrees with pg_wal_lsn_diff") {
        auto r = conn->exec(
            "SELECT pg_current_wal_lsn()::text, "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/1000028')::bigint",
            Ms(2000));
        REQUIRE(r.ok);
        auto now = pg::Lsn::parse(*r.value(0, 0));
        REQUIRE(now);
        CHECK(now->minus(*pg::Lsn::parse("0/1000028")) == std::stoll(*r.value(0, 1)));
    }
}
