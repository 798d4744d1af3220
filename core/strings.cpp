#include "core/strings.hpp"

#include <sstream>

namespace pgdr {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += (i == 0 ? "" : sep) + items[i];
    }
    return out;
}

std::string trim(const std::string& text) {
    const char* const k_space = " \t\r\n";
    const auto first = text.find_first_not_of(k_space);
    if (first == std::string::npos) {
        return "";
    }
    return text.substr(first, text.find_last_not_of(k_space) - first + 1);
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::string::size_type start = 0;
    for (;;) {
        const auto at = text.find(sep, start);
        if (at == std::string::npos) {
            out.push_back(text.substr(start));
            return out;
        }
        out.push_back(text.substr(start, at - start));
        start = at + 1;
    }
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        if (!l.empty() && l.back() == '\r') {
            l.pop_back();
        }
        if (!l.empty()) {
            out.push_back(l);
        }
    }
    return out;
}

std::string first_line(const std::string& text) {
    auto l = lines(text);
    return l.empty() ? "" : l.front();
}

}  // namespace pgdr
