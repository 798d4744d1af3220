// Logging to stderr with redaction (DESIGN.md §6, §7).
//
// Results go to stdout; logs go to stderr through a Logger. Every secret pgdr knows (generated
// passwords, OVH keys, signatures) is registered with add_secret() and replaced by "[redacted]"
// in every line, so a secret cannot reach a log even by mistake. Thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

namespace pgdr {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3, trace = 4 };

class Logger {
  public:
    // verbosity: 0 = warnings and errors, 1 (-v) = info, 2 (-vv) = debug, 3 (-vvv) = trace.
    explicit Logger(std::ostream& sink, int verbosity = 0, bool color = false);

    void add_secret(const std::string& secret);
    std::string redact(std::string text) const;

    bool enabled(LogLevel level) const { return static_cast<int>(level) <= m_verbosity + 1; }
    void log(LogLevel level, const std::string& message);
    void error(const std::string& m) { log(LogLevel::error, m); }
    void warn(const std::string& m) { log(LogLevel::warn, m); }
    void info(const std::string& m) { log(LogLevel::info, m); }
    void debug(const std::string& m) { log(LogLevel::debug, m); }
    void trace(const std::string& m) { log(LogLevel::trace, m); }
    int verbosity() const { return m_verbosity; }

  private:
    std::ostream& m_sink;
    int m_verbosity;
    bool m_color;
    mutable std::mutex m_mutex;
    std::vector<std::string> m_secrets;
};

}  // namespace pgdr
