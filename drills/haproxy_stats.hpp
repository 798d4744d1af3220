// The HAProxy statistics sampler: GET http://HAPROXY:stats_port/;csv every `interval`, and a
// HaproxyServerState event for every server of the "primary" (write port) and "replicas"
// (read port) proxies whose status changed since the previous sample (all of them on the
// first sample). A failed request records a Note once per run of failures.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/http.hpp"
#include "drills/probe.hpp"
#include "drills/timeline.hpp"

namespace pgdr::drills {

// The server rows of the two proxies pgdr's haproxy.cfg defines ("primary", "replicas"), from
// HAProxy's CSV (first line "# pxname,svname,...,status,..."); FRONTEND/BACKEND rows and other
// proxies are skipped. Empty for an unparsable page.
std::vector<HaproxyServerState> parse_haproxy_csv(const std::string& csv);

struct HaproxyStatsOptions {
    std::string url;            // "http://ADDR:7000/;csv"
    std::string authorization;  // "Basic ...": the stats page's password (pg/secrets.hpp)
    std::chrono::milliseconds interval{100};
    std::chrono::milliseconds timeout{1000};
};

std::unique_ptr<Probe> make_haproxy_stats_probe(HaproxyStatsOptions options, HttpClient& http,
                                                Clock& clock);

// "http://ADDR:PORT/;csv".
std::string haproxy_stats_url(const std::string& address, int port);

}  // namespace pgdr::drills
