#include "cmd/table.hpp"

#include <algorithm>

namespace pgdr::cmd {

void Table::print(std::ostream& os) const {
    std::vector<size_t> width(m_header.size(), 0);
    auto measure = [&](const std::vector<std::string>& row) {
        for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
            width[i] = std::max(width[i], row[i].size());
        }
    };
    measure(m_header);
    for (const auto& r : m_rows) {
        measure(r);
    }
    auto line = [&](const std::vector<std::string>& row) {
        std::string out;
        for (size_t i = 0; i < width.size(); ++i) {
            const std::string cell = i < row.size() ? row[i] : "";
            out += cell;
            if (i + 1 < width.size()) {
                out += std::string(width[i] - cell.size() + 2, ' ');
            }
        }
        while (!out.empty() && out.back() == ' ') {
            out.pop_back();
        }
        os << out << '\n';
    };
    line(m_header);
    for (const auto& r : m_rows) {
        line(r);
    }
}

}  // namespace pgdr::cmd
