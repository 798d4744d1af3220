#include "core/log.hpp"

#include <algorithm>

namespace pgdr {

Logger::Logger(std::ostream& sink, int verbosity, bool color)
    : m_sink(sink), m_verbosity(verbosity), m_color(color) {}

void Logger::add_secret(const std::string& secret) {
    // Very short strings would redact ordinary words; generated secrets are long.
    if (secret.size() < 6) {
        return;
    }
    std::lock_guard lock(m_mutex);
    if (std::find(m_secrets.begin(), m_secrets.end(), secret) == m_secrets.end()) {
        m_secrets.push_back(secret);
        // Longest first, so that a secret containing another is redacted whole.
        std::sort(m_secrets.begin(), m_secrets.end(),
                  [](const auto& a, const auto& b) { return a.size() > b.size(); });
    }
}

std::string Logger::redact(std::string text) const {
    std::lock_guard lock(m_mutex);
    for (const auto& secret : m_secrets) {
        std::string::size_type pos = 0;
        while ((pos = text.find(secret, pos)) != std::string::npos) {
            text.replace(pos, secret.size(), "[redacted]");
            pos += 10;
        }
    }
    return text;
}

void Logger::log(LogLevel level, const std::string& message) {
    if (!enabled(level)) {
        return;
    }
    static const char* k_names[] = {"error", "warning", "info", "debug", "trace"};
    static const char* k_colors[] = {"\033[31m", "\033[33m", "\033[36m", "\033[2m", "\033[2m"};
    const auto idx = static_cast<int>(level);
    std::string line = redact(message);
    std::lock_guard lock(m_mutex);
    if (m_color) {
        m_sink << k_colors[idx] << "pgdr: " << k_names[idx] << ":\033[0m " << line << '\n';
    } else {
        m_sink << "pgdr: " << k_names[idx] << ": " << line << '\n';
    }
    m_sink.flush();
}

}  // namespace pgdr
