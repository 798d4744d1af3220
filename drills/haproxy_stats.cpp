#include "drills/haproxy_stats.hpp"

#include <map>
#include <sstream>

namespace pgdr::drills {

namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
    // HAProxy's CSV has no quoting: fields never contain commas.
    std::vector<std::string> out;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, ',')) {
        out.push_back(field);
    }
    if (!line.empty() && line.back() == ',') {
        out.emplace_back();
    }
    return out;
}

}  // namespace

std::string haproxy_stats_url(const std::string& address, int port) {
    bool v6 = address.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port) + "/;csv";
}

std::vector<HaproxyServerState> parse_haproxy_csv(const std::string& csv) {
    std::vector<HaproxyServerState> out;
    std::istringstream in(csv);
    std::string line;
    if (!std::getline(in, line) || line.rfind("# ", 0) != 0) {
        return out;
    }
    auto header = split_csv_line(line.substr(2));
    int px = -1;
    int sv = -1;
    int status = -1;
    for (std::size_t i = 0; i < header.size(); ++i) {
        if (header[i] == "pxname") {
            px = static_cast<int>(i);
        } else if (header[i] == "svname") {
            sv = static_cast<int>(i);
        } else if (header[i] == "status") {
            status = static_cast<int>(i);
        }
    }
    if (px < 0 || sv < 0 || status < 0) {
        return out;
    }
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        auto f = split_csv_line(line);
        if (f.size() <= static_cast<std::size_t>(status)) {
            continue;
        }
        const auto& proxy = f[static_cast<std::size_t>(px)];
        const auto& server = f[static_cast<std::size_t>(sv)];
        if ((proxy != "primary" && proxy != "replicas") || server == "FRONTEND" ||
            server == "BACKEND") {
            continue;
        }
        out.push_back({proxy == "primary" ? HaproxyPort::write : HaproxyPort::read, server,
                       f[static_cast<std::size_t>(status)]});
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
