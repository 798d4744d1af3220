#include "core/duration.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace pgdr {

std::string format_seconds(std::chrono::milliseconds duration, int decimals) {
    static const long long k_scale[] = {1000, 100, 10, 1};
    if (decimals < 0 || decimals > 3) {
        decimals = 2;
    }
    const long long ms = duration.count();
    const char* sign = ms < 0 ? "-" : "";
    const long long unit = k_scale[decimals];
    const long long units = (std::llabs(ms) + unit / 2) / unit;  // in 10^-decimals seconds
    const long long per_second = 1000 / unit;
    char buf[48];
    if (decimals == 0) {
        std::snprintf(buf, sizeof buf, "%s%lld s", sign, units);
    } else {
        std::snprintf(buf, sizeof buf, "%s%lld.%0*lld s", sign, units / per_second, decimals,
                      units % per_second);
    }
    return buf;
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
    std::size_t i = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
        ++i;
    }
    if (i == 0 || i > 9) {
        return std::nullopt;
    }
    const long long n = std::stoll(text.substr(0, i));
    const std::string unit = text.substr(i);
    long long ms = 0;
    if (unit == "ms") {
        ms = n;
    } else if (unit.empty() || unit == "s") {
        ms = n * 1000;
    } else if (unit == "m") {
        ms = n * 60 * 1000;
    } else if (unit == "h") {
        ms = n * 3600 * 1000;
    } else {
        return std::nullopt;
    }
    if (ms <= 0) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(ms);
}

std::string format_duration_spec(std::chrono::milliseconds d) {
    const long long ms = d.count();
    if (ms % 3600000 == 0) {
        return std::to_string(ms / 3600000) + "h";
    }
    if (ms % 60000 == 0) {
        return std::to_string(ms / 60000) + "m";
    }
    if (ms % 1000 == 0) {
        return std::to_string(ms / 1000) + "s";
    }
    return std::to_string(ms) + "ms";
}

}  // namespace pgdr
