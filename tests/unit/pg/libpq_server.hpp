// A throwaway PostgreSQL server for libpq tests: initdb into a private temporary directory,
// postgres on 127.0.0.1 with a free port and its socket in that directory, stopped by its PID
// (fast shutdown, then SIGKILL) and removed when the object goes. Runs as the `postgres` user
// (or `nobody`) when the tests run as root, because initdb refuses root.
//
// start() returns null with the reason when no initdb is found (CI machines without a server):
// the caller prints SKIPPED and returns. The superuser's password is generated per run and
// kept in memory and in a 0600 file inside the temporary directory only.
#pragma once

#include <memory>
#include <string>

#include "pg/libpq.hpp"

namespace pgdr::test {

class LocalPostgres {
  public:
    static std::unique_ptr<LocalPostgres> start(std::string& why_not);
    ~LocalPostgres();
    LocalPostgres(const LocalPostgres&) = delete;
    LocalPostgres& operator=(const LocalPostgres&) = delete;

    int port() const { return m_port; }
    pg::ConnParams params(const std::string& dbname = "postgres") const;
    const std::string& password() const { return m_password; }
    static constexpr const char* k_user = "pgdr_test";

  private:
    LocalPostgres() = default;
    void stop() noexcept;

    std::string m_dir;
    std::string m_password;
    int m_port = 0;
    int m_pid = -1;
};

}  // namespace pgdr::test
