// A small libpq wrapper: one RAII connection, bounded connect and query, results and errors as
// values (DESIGN.md §6: a failed query is data, not an exception).
//
// Every call is bounded on the client side: connect() and exec() take a deadline in
// milliseconds and run libpq's non-blocking API under poll(), so a silent network (a partition
// drops packets) cannot hang a caller past it. A query that outlives its deadline leaves the
// connection broken (it is closed: the server may still be working on it); the caller
// reconnects. The server-side statement_timeout of ConnParams bounds the statement on the
// server as well.
//
// The password travels only in memory, in libpq's keyword/value arrays; pgdr never builds or
// prints a conninfo string. Error messages are libpq's and the server's, which never contain
// the password.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct pg_conn;

namespace pgdr::pg {

// From now on every connection of this process requires TLS and verifies the server's
// certificate and address against `ca_file` (sslmode=verify-full): the cluster CA in the state
// directory (pki/cluster_certs.hpp). Called once by the wiring; "" turns it off (tests).
void use_cluster_ca(const std::string& ca_file);

struct ConnParams {
    std::string host;  // name or address
    int port = 5432;
    std::string dbname;
    std::string user;
    std::string password;  // empty: none (peer/trust, or a passfile)
    std::string application_name = "pgdr";
    // Client-side bound of connect() (TCP, TLS, authentication), milliseconds.
    std::chrono::milliseconds connect_timeout{2000};
    // Server-side statement_timeout set at connection start; std::nullopt leaves the default.
    std::optional<std::chrono::milliseconds> statement_timeout;
};

// What went wrong, as data. sqlstate is the server's SQLSTATE (e.g. "25006" for a read-only
// transaction, "57014" for a statement timeout); empty for client-side failures (connect,
// client timeout, lost connection).
struct PgError {
    std::string sqlstate;
    std::string message;
    bool client_timeout = false;  // the client-side deadline expired

    std::string describe() const;  // "SQLSTATE 25006: ..." or the message alone
};

// The outcome of one statement. rows hold text values (libpq's text format); NULL is
// std::nullopt. For a failed statement ok is false and error says why.
struct QueryResult {
    bool ok = false;
    PgError error;
    std::vector<std::string> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;
    long long affected = 0;  // PQcmdTuples: rows inserted/updated/deleted, 0 when none

    // The value at (row, col); std::nullopt when NULL or out of range.
    std::optional<std::string> value(std::size_t row, std::size_t col) const;
};

class Connection;

struct ConnectResult {
    std::unique_ptr<Connection> connection;  // null on failure
    PgError error;
};

class Connection {
  public:
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Connects within params.connect_timeout. Never throws for a failed connection.
    static ConnectResult connect(const ConnParams& params);

    // Runs one statement with text parameters ($1, $2, ...; std::nullopt is NULL) and waits at
    // most `timeout` for its complete answer. Never throws. On a client timeout or a lost
    // connection the connection is closed and alive() turns false.
    QueryResult exec(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                     std::chrono::milliseconds timeout);
    QueryResult exec(const std::string& sql, std::chrono::milliseconds timeout) {
        return exec(sql, {}, timeout);
    }

    bool alive() const;

  private:
    struct Finish {
        void operator()(pg_conn* conn) const;
    };
    explicit Connection(pg_conn* conn);

    std::unique_ptr<pg_conn, Finish> m_conn;
};

}  // namespace pgdr::pg
