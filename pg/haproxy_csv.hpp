// HAProxy's statistics page as CSV (GET http://ADDR:stats_port/;csv): the server rows of the
// two proxies pgdr's haproxy.cfg defines, "primary" (the write port) and "replicas" (the read
// port). The one parser of that page: columns are found by the header's names (first line
// "# pxname,svname,...,status,..."), not by position, so a HAProxy release that adds columns
// does not move them. Pure; throws nothing.
#pragma once

#include <string>
#include <vector>

namespace pgdr::pg {

inline constexpr const char* k_write_backend = "primary";
inline constexpr const char* k_read_backend = "replicas";

struct HaproxyServerRow {
    std::string backend;  // "primary" or "replicas"
    std::string server;   // the member name as in haproxy.cfg
    std::string status;   // "UP", "DOWN", "UP 1/2", "MAINT", ...

    bool up() const { return status.rfind("UP", 0) == 0; }
};

// FRONTEND/BACKEND rows and other proxies are skipped; empty for a page that is not the CSV.
std::vector<HaproxyServerRow> parse_haproxy_csv(const std::string& csv);

// "http://ADDR:PORT/;csv" (brackets around an IPv6 address).
std::string haproxy_stats_url(const std::string& address, int port);

}  // namespace pgdr::pg
