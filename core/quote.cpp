#include "core/quote.hpp"

#include <stdexcept>

namespace pgdr {

namespace {
bool is_safe(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '/' || c == ':' || c == ',' || c == '+' || c == '@' ||
           c == '%' || c == '=';
}
}  // namespace

std::string shell_quote(std::string_view word) {
    if (word.find('\0') != std::string_view::npos) {
        throw std::invalid_argument("a command word contains a NUL byte");
    }
    bool safe = !word.empty();
    for (char c : word) {
        if (!is_safe(c)) {
            safe = false;
            break;
        }
    }
    // A leading '=' or '%' is harmless, but a leading '-' is the caller's business (argv
    // semantics), not quoting's; '~' is not in the safe set so it never expands.
    if (safe) {
        return std::string(word);
    }
    std::string out = "'";
    for (char c : word) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    out += '\'';
    return out;
}

std::string shell_join(const std::vector<std::string>& argv) {
    if (argv.empty()) {
        throw std::invalid_argument("empty command");
    }
    std::string out;
    for (const auto& word : argv) {
        if (!out.empty()) {
            out += ' ';
        }
        out += shell_quote(word);
    }
    return out;
}

}  // namespace pgdr
