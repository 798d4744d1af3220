#include "pg/libpq.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace pgdr::pg {

namespace {

using Steady = std::chrono::steady_clock;

// One line: libpq's messages span several ("FATAL: ...\nSSL connection has been closed"),
// and they end up in one-line report cells.
std::string trimmed(const char* text) {
    std::string s = text == nullptr ? "" : text;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    std::string out;
    for (char c : s) {
        if (c == '\n') {
            out += "; ";
        } else {
            out += c;
        }
    }
    return out;
}

// Server notices (NOTICE: relation exists, skipping) are not the operator's business.
void ignore_notice(void*, const char*) {}

int remaining_ms(Steady::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}

// Waits until the socket is ready for `events` or the deadline passes. false: deadline.
bool wait_socket(int fd, short events, Steady::time_point deadline) {
    for (;;) {
        int left = remaining_ms(deadline);
        if (left <= 0) {
            return false;
        }
        pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, left);
        if (n > 0) {
            return true;
        }
        if (n == 0) {
            return false;
        }
        if (errno != EINTR) {
            return true;  // let libpq report the socket's error
        }
    }
}

PgError client_error(std::string message, bool timeout = false) {
    PgError e;
    e.message = std::move(message);
    e.client_timeout = timeout;
    return e;
}

PgError result_error(PGconn* conn, const PGresult* res) {
    PgError e;
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    e.sqlstate = state == nullptr ? "" : state;
    e.message = primary != nullptr ? trimmed(primary) : trimmed(PQerrorMessage(conn));
    return e;
}

}  // namespace

std::string PgError::describe() const {
    return sqlstate.empty() ? message : "SQLSTATE " + sqlstate + ": " + message;
}

std::optional<std::string> QueryResult::value(std::size_t row, std::size_t col) const {
    if (row >= rows.size() || col >= rows[row].size()) {
        return std::nullopt;
    }
    return rows[row][col];
}

void Connection::Finish::operator()(pg_conn* conn) const {
    PQfinish(conn);
}

Connection::Connection(pg_conn* conn) : m_conn(conn) {}
Connection::~Connection() = default;

bool Connection::alive() const {
    return m_conn && PQstatus(m_conn.get()) == CONNECTION_OK;
}

namespace {
std::mutex g_tls_mutex;
std::string g_cluster_ca;  // guarded by g_tls_mutex
}  // namespace

void use_cluster_ca(const std::string& ca_file) {
    std::lock_guard lock(g_tls_mutex);
    g_cluster_ca = ca_file;
}

ConnectResult Connection::connect(const ConnParams& p) {
    const auto deadline = Steady::now() + p.connect_timeout;
    const std::string port = std::to_string(p.port);
    // libpq's own connect_timeout (whole seconds, rounded up) backs up the poll loop below,
    // which is what bounds the attempt to the millisecond.
    const std::string timeout_s =
        std::to_string(std::max<long long>(1, (p.connect_timeout.count() + 999) / 1000));
    std::string options;
    if (p.statement_timeout) {
        options = "-c statement_timeout=" + std::to_string(p.statement_timeout->count());
    }
    std::vector<const char*> keys{
        "host", "port", "dbname", "user", "application_name", "connect_timeout", "gssencmode"};
    std::vector<const char*> values{p.host.c_str(),
                                    port.c_str(),
                                    p.dbname.c_str(),
                                    p.user.c_str(),
                                    p.application_name.c_str(),
                                    timeout_s.c_str(),
                                    "disable"};
    if (!p.password.empty()) {
        keys.push_back("password");
        values.push_back(p.password.c_str());
    }
    if (!options.empty()) {
        keys.push_back("options");
        values.push_back(options.c_str());
    }
    std::string ca;
    {
        std::lock_guard lock(g_tls_mutex);
        ca = g_cluster_ca;
    }
    if (!ca.empty()) {
        keys.push_back("sslmode");
        values.push_back("verify-full");
        keys.push_back("sslrootcert");
        values.push_back(ca.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);

    ConnectResult out;
    std::unique_ptr<pg_conn, Finish> conn(PQconnectStartParams(keys.data(), values.data(), 0));
    if (!conn) {
        out.error = client_error("cannot allocate a libpq connection");
        return out;
    }
    if (PQstatus(conn.get()) == CONNECTION_BAD) {
        out.error = client_error(trimmed(PQerrorMessage(conn.get())));
        return out;
    }
    // PQconnectPoll protocol: wait for writability first, then as the last poll said.
    PostgresPollingStatusType state = PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK) {
        if (state == PGRES_POLLING_FAILED) {
            out.error = client_error(trimmed(PQerrorMessage(conn.get())));
            return out;
        }
        short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        if (!wait_socket(PQsocket(conn.get()), events, deadline)) {
            out.error = client_error("connection to " + p.host + ":" + port + " timed out after " +
                                         std::to_string(p.connect_timeout.count()) + " ms",
                                     true);
            return out;
        }
        state = PQconnectPoll(conn.get());
    }
    PQsetNoticeProcessor(conn.get(), ignore_notice, nullptr);
    out.connection.reset(new Connection(conn.release()));
    return out;
}

namespace {

// Sends the statement and flushes it, without blocking past the deadline; the error, if any.
std::optional<PgError> send_query(PGconn* conn, const std::string& sql,
                                  const std::vector<std::optional<std::string>>& params,
                                  Steady::time_point deadline) {
    std::vector<const char*> values;
    for (const auto& v : params) {
        values.push_back(v ? v->c_str() : nullptr);
    }
    if (PQsetnonblocking(conn, 1) != 0 ||
        PQsendQueryParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0) == 0) {
        return client_error(trimmed(PQerrorMessage(conn)));
    }
    for (int f = PQflush(conn); f != 0; f = PQflush(conn)) {
        if (f < 0) {
            return client_error(trimmed(PQerrorMessage(conn)));
        }
        if (!wait_socket(PQsocket(conn), POLLIN | POLLOUT, deadline)) {
            return client_error("query timed out (client side)", true);
        }
        if (PQconsumeInput(conn) == 0) {
            return client_error(trimmed(PQerrorMessage(conn)));
        }
    }
    return std::nullopt;
}

// Reads the server's answer until a result (or the end of results) is ready; the error, if any.
std::optional<PgError> await_result(PGconn* conn, Steady::time_point deadline,
                                    std::chrono::milliseconds timeout) {
    while (PQisBusy(conn) != 0) {
        if (!wait_socket(PQsocket(conn), POLLIN, deadline)) {
            return client_error(
                "query timed out after " + std::to_string(timeout.count()) + " ms (client side)",
                true);
        }
        if (PQconsumeInput(conn) == 0) {
            return client_error(trimmed(PQerrorMessage(conn)));
        }
    }
    return std::nullopt;
}

// One result into `out`: its error, or its columns, rows (NULL as std::nullopt) and the number
// of rows the command affected.
void take_result(PGconn* conn, PGresult* res, QueryResult& out) {
    auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        out.ok = false;
        out.error = result_error(conn, res);
        return;
    }
    out.ok = true;
    out.columns.clear();
    out.rows.clear();
    int ncols = PQnfields(res);
    for (int c = 0; c < ncols; ++c) {
        out.columns.emplace_back(PQfname(res, c));
    }
    int nrows = PQntuples(res);
    out.rows.reserve(static_cast<std::size_t>(nrows));
    for (int r = 0; r < nrows; ++r) {
        std::vector<std::optional<std::string>> row;
        row.reserve(static_cast<std::size_t>(ncols));
        for (int c = 0; c < ncols; ++c) {
            if (PQgetisnull(res, r, c) != 0) {
                row.emplace_back(std::nullopt);
            } else {
                row.emplace_back(std::string(PQgetvalue(res, r, c),
                                             static_cast<std::size_t>(PQgetlength(res, r, c))));
            }
        }
        out.rows.push_back(std::move(row));
    }
    const char* tuples = PQcmdTuples(res);
    out.affected = tuples != nullptr && tuples[0] != '\0' ? std::atoll(tuples) : 0;
}

}  // namespace

QueryResult Connection::exec(const std::string& sql,
                             const std::vector<std::optional<std::string>>& params,
                             std::chrono::milliseconds timeout) {
    QueryResult out;
    if (!alive()) {
        out.error = client_error("not connected");
        return out;
    }
    PGconn* conn = m_conn.get();
    const auto deadline = Steady::now() + timeout;
    auto fail = [&](PgError e) {
        // Closing is the only safe answer: the server may still run the statement, and the
        // protocol state of a half-read answer is unknown.
        m_conn.reset();
        out.ok = false;
        out.error = std::move(e);
        return out;
    };
    if (auto error = send_query(conn, sql, params, deadline)) {
        return fail(std::move(*error));
    }
    bool have = false;
    for (;;) {
        if (auto error = await_result(conn, deadline, timeout)) {
            return fail(std::move(*error));
        }
        std::unique_ptr<PGresult, void (*)(PGresult*)> res(PQgetResult(conn), PQclear);
        if (!res) {
            break;
        }
        // One statement gives one result; keep the first error, else the last result.
        if (have && !out.ok) {
            continue;
        }
        have = true;
        take_result(conn, res.get(), out);
    }
    if (!have) {
        return fail(client_error("no result: " + trimmed(PQerrorMessage(conn))));
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        m_conn.reset();
    }
    return out;
}

}  // namespace pgdr::pg
