// A plain text table for terminal output: columns padded to the widest cell.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace pgdr::cmd {

class Table {
  public:
    explicit Table(std::vector<std::string> header) : m_header(std::move(header)) {}
    void add(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
    void print(std::ostream& os) const;

  private:
    std::vector<std::string> m_header;
    std::vector<std::vector<std::string>> m_rows;
};

}  // namespace pgdr::cmd
