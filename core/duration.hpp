// Durations as operators read and write them. Integer arithmetic throughout: rounding a double
// would print 0.005 s as "0.01 s" on one libc and "0.00 s" on another, and golden files must
// not depend on that.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace pgdr {

// "1.50 s" (decimals 2), "30.0 s" (decimals 1), "-0.25 s"; rounded half away from zero.
// decimals is 0 to 3.
std::string format_seconds(std::chrono::milliseconds duration, int decimals = 2);

// "500ms", "30s", "5m", "1h" or a bare number of seconds; std::nullopt for anything else or
// a duration that is not positive.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);
// The shortest of the forms parse_duration reads: "1h", "5m", "30s", "1500ms".
std::string format_duration_spec(std::chrono::milliseconds duration);

}  // namespace pgdr
