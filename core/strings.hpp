// Small string helpers used across pgdr: joining, trimming, splitting, lines of command output.
// Pure functions; nothing throws except std::bad_alloc.
#pragma once

#include <string>
#include <vector>

namespace pgdr {

// "a, b, c" (sep between items; "" for none).
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");
// Without leading and trailing spaces, tabs, CR and LF.
std::string trim(const std::string& text);
// Fields between `sep`; an empty text gives one empty field, "a|" gives {"a", ""}.
std::vector<std::string> split(const std::string& text, char sep);
// The non-empty lines of command output, without a trailing CR.
std::vector<std::string> lines(const std::string& text);
// The first non-empty line; "" when none.
std::string first_line(const std::string& text);

}  // namespace pgdr
