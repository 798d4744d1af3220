#include "drills/haproxy_stats.hpp"

#include <map>
#include <sstream>

#include "pg/haproxy_csv.hpp"

namespace pgdr::drills {

std::string haproxy_stats_url(const std::string& address, int port) {
    return pg::haproxy_stats_url(address, port);
}

std::vector<HaproxyServerState> parse_haproxy_csv(const std::string& csv) {
    std::vector<HaproxyServerState> out;
    for (const auto& row : pg::parse_haproxy_csv(csv)) {
        out.push_back({row.backend == pg::k_write_backend ? HaproxyPort::write : HaproxyPort::read,
                       row.server, row.status});
    }
    return out;
}

std::unique_ptr<Probe> make_haproxy_stats_probe(HaproxyStatsOptions options, HttpClient& http,
                                                Clock& clock) {
    struct State {
        std::map<std::pair<int, std::string>, std::string> last;
        bool failing = false;
    };
    auto state = std::make_shared<State>();
    auto interval = options.interval;
    return std::make_unique<PollingProbe>(
        "haproxy stats", clock, interval,
        [state, options = std::move(options), &http](Timeline& t) {
            HttpRequest req;
            req.url = options.url;
            if (!options.authorization.empty()) {
                req.headers["Authorization"] = options.authorization;
            }
            req.timeout = options.timeout;
            req.connect_timeout = options.timeout;
            std::string problem;
            std::vector<HaproxyServerState> rows;
            try {
                auto resp = http.send(req);
                if (resp.status != 200) {
                    problem = "HTTP " + std::to_string(resp.status);
                } else {
                    rows = parse_haproxy_csv(resp.body);
                    if (rows.empty()) {
                        problem = "no primary/replicas servers in the statistics";
                    }
                }
            } catch (const HttpTransportError& e) {
                problem = e.what();
            }
            if (!problem.empty()) {
                if (!state->failing) {
                    t.record(Note{"haproxy stats " + options.url + ": " + problem});
                }
                state->failing = true;
                return;
            }
            state->failing = false;
            for (const auto& r : rows) {
                auto key = std::make_pair(static_cast<int>(r.port), r.server);
                auto it = state->last.find(key);
                if (it == state->last.end() || it->second != r.status) {
                    state->last[key] = r.status;
                    t.record(r);
                }
            }
        });
}

}  // namespace pgdr::drills
