// Errors and exit codes (DESIGN.md §6).
//
// Exceptions abort a command; expected failures (non-zero remote exit, HTTP status, a failed
// probe sample) are values. Every pgdr::Error carries the exit code the process ends with and a
// hint that tells the operator what to do. Messages never contain secrets.
#pragma once

#include <stdexcept>
#include <string>

namespace pgdr {

enum class ExitCode : int {
    ok = 0,
    internal = 1,
    usage = 2,
    invalid_config = 3,
    cloud_api = 4,
    unreachable = 5,
    postgres = 6,
    verification_failed = 7,
    objectives_missed = 8,
    interrupted = 130,
};

class Error : public std::runtime_error {
  public:
    Error(ExitCode code, const std::string& what, std::string hint = {})
        : std::runtime_error(what), m_code(code), m_hint(std::move(hint)) {}
    ExitCode code() const noexcept { return m_code; }
    const std::string& hint() const noexcept { return m_hint; }

  private:
    ExitCode m_code;
    std::string m_hint;
};

// Raised when the user's input (options, inventory, runbook) is wrong.
inline Error usage_error(const std::string& what, std::string hint = {}) {
    return Error(ExitCode::usage, what, std::move(hint));
}
inline Error config_error(const std::string& what, std::string hint = {}) {
    return Error(ExitCode::invalid_config, what, std::move(hint));
}

}  // namespace pgdr
