// The restore drill's statements through the cluster's write port (HAProxy -> the primary),
// over libpq as the probe role on the probe database: the real seams of
// drills/restore_drill_run.hpp for the marker table, the markers and the primary's clock.
// One object per thread: each keeps one connection and reopens it after any failure.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "drills/restore_drill_run.hpp"
#include "pg/libpq.hpp"

namespace pgdr::drills {

class WritePortSession {
  public:
    // `params`: the write port as the reach maps it, the probe role's credentials.
    explicit WritePortSession(pg::ConnParams params,
                              std::chrono::milliseconds timeout = std::chrono::seconds(2));

    // CREATE TABLE IF NOT EXISTS pgdr_restore_markers; throws pgdr::Error (postgres).
    void prepare_markers();
    // One marker; failures are values.
    MarkerInsert insert_marker(const std::string& run, std::int64_t id);
    // clock_timestamp() of the primary, epoch microseconds; throws pgdr::Error (postgres).
    std::int64_t server_now_us();

  private:
    pg::QueryResult exec(const std::string& sql,
                         const std::vector<std::optional<std::string>>& params);

    pg::ConnParams m_params;
    std::chrono::milliseconds m_timeout;
    std::unique_ptr<pg::Connection> m_conn;
};

// The first value of a one-row answer as an integer; std::nullopt when it is not that.
std::optional<std::int64_t> single_integer(const pg::QueryResult& result);

}  // namespace pgdr::drills
