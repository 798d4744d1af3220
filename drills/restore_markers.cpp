#include "drills/restore_markers.hpp"

#include "core/error.hpp"

namespace pgdr::drills {

WritePortSession::WritePortSession(pg::ConnParams params, std::chrono::milliseconds timeout)
    : m_params(std::move(params)), m_timeout(timeout) {
    m_params.application_name = "pgdr-restore-drill";
    m_params.connect_timeout = timeout;
    m_params.statement_timeout = timeout;
}

pg::QueryResult WritePortSession::exec(const std::string& sql,
                                       const std::vector<std::optional<std::string>>& params) {
    if (!m_conn || !m_conn->alive()) {
        m_conn.reset();
        auto c = pg::Connection::connect(m_params);
        if (!c.connection) {
            pg::QueryResult failed;
            failed.error = c.error;
            return failed;
        }
        m_conn = std::move(c.connection);
    }
    auto r = m_conn->exec(sql, params, m_timeout);
    if (!r.ok) {
        m_conn.reset();  // a failover, a read-only backend, a timeout: a new connection next time
    }
    return r;
}

std::optional<std::int64_t> single_integer(const pg::QueryResult& r) {
    if (!r.ok || r.rows.size() != 1) {
        return std::nullopt;
    }
    const auto v = r.value(0, 0);
    if (!v || v->empty()) {
        return std::nullopt;
    }
    try {
        std::size_t used = 0;
        const long long n = std::stoll(*v, &used);
        if (used != v->size()) {
            return std::nullopt;
        }
        return n;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void WritePortSession::prepare_markers() {
    const auto r = exec(k_create_marker_table, {});
    if (!r.ok) {
        throw Error(
            ExitCode::postgres,
            "creating the marker table through the write port failed: " + r.error.describe(),
            "`pgdr status` shows whether the cluster has a writable primary");
    }
}

MarkerInsert WritePortSession::insert_marker(const std::string& run, std::int64_t id) {
    const auto r = exec(k_insert_marker, {run, std::to_string(id)});
    MarkerInsert out;
    if (auto at = single_integer(r)) {
        out.ok = true;
        out.committed_at_us = *at;
    } else {
        out.error = r.ok ? "unexpected answer" : r.error.describe();
    }
    return out;
}

std::int64_t WritePortSession::server_now_us() {
    const auto r = exec("SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint", {});
    const auto now = single_integer(r);
    if (!now) {
        throw Error(ExitCode::postgres, "reading the primary's clock through the write port: " +
                                            (r.ok ? "unexpected answer" : r.error.describe()));
    }
    return *now;
}

}  // namespace pgdr::drills
