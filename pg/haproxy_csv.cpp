#include "pg/haproxy_csv.hpp"

#include <sstream>

#include "core/strings.hpp"

namespace pgdr::pg {

std::string haproxy_stats_url(const std::string& address, int port) {
    const bool v6 = address.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port) + "/;csv";
}

std::vector<HaproxyServerRow> parse_haproxy_csv(const std::string& csv) {
    std::vector<HaproxyServerRow> out;
    std::istringstream in(csv);
    std::string line;
    if (!std::getline(in, line) || line.rfind("# ", 0) != 0) {
        return out;
    }
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    // HAProxy's CSV has no quoting: fields never contain commas.
    const auto header = split(line.substr(2), ',');
    std::size_t px = header.size();
    std::size_t sv = header.size();
    std::size_t status = header.size();
    for (std::size_t i = 0; i < header.size(); ++i) {
        if (header[i] == "pxname") {
            px = i;
        } else if (header[i] == "svname") {
            sv = i;
        } else if (header[i] == "status") {
            status = i;
        }
    }
    if (px == header.size() || sv == header.size() || status == header.size()) {
        return out;
    }
    for (const auto& l :
         lines(csv.substr(csv.find('\n') == std::string::npos ? csv.size() : csv.find('\n') + 1))) {
        const auto f = split(l, ',');
        if (f.size() <= status || f.size() <= px || f.size() <= sv) {
            continue;
        }
        const auto& proxy = f[px];
        const auto& server = f[sv];
        if ((proxy != k_write_backend && proxy != k_read_backend) || server == "FRONTEND" ||
            server == "BACKEND") {
            continue;
        }
        out.push_back({proxy, server, f[status]});
    }
    return out;
}

}  // namespace pgdr::pg
