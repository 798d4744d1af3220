#include "monitoring/alerts.hpp"

#include <ctime>
#include <regex>

#include "core/error.hpp"
#include "monitoring/config.hpp"

namespace pgdr::monitoring {

namespace {

std::string text_of(const nlohmann::json& obj, const char* key) {
    if (!obj.is_object()) {
        return "";
    }
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::optional<long long> parse_rfc3339_ms(const std::string& text) {
    static const std::regex re(
        R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$)");
    std::smatch m;
    if (text.size() > 64 || !std::regex_match(text, m, re)) {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = std::stoi(m[1]) - 1900;
    tm.tm_mon = std::stoi(m[2]) - 1;
    tm.tm_mday = std::stoi(m[3]);
    tm.tm_hour = std::stoi(m[4]);
    tm.tm_min = std::stoi(m[5]);
    tm.tm_sec = std::stoi(m[6]);
    long long ms = static_cast<long long>(::timegm(&tm)) * 1000;
    if (m[7].matched) {
        std::string frac = m[7].str().substr(1) + "000";
        ms += std::stoll(frac.substr(0, 3));
    }
    if (m[9].matched) {
        const long long offset_min = std::stoll(m[10]) * 60 + std::stoll(m[11]);
        ms -= (m[9] == "+" ? 1 : -1) * offset_min * 60 * 1000;
    }
    return ms;
}

std::vector<Alert> parse_alertmanager_alerts(const std::string& body) {
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (!doc.is_array()) {
        throw Error(ExitCode::unreachable,
                    "Alertmanager's /api/v2/alerts did not answer with a list of alerts");
    }
    std::vector<Alert> out;
    for (const auto& a : doc) {
        Alert alert;
        const auto labels =
            a.is_object() ? a.value("labels", nlohmann::json::object()) : nlohmann::json::object();
        for (const auto& [k, v] : labels.items()) {
            if (v.is_string()) {
                alert.labels[k] = v.get<std::string>();
            }
        }
        alert.name = text_of(labels, "alertname");
        alert.severity = text_of(labels, "severity");
        alert.instance = text_of(labels, "instance");
        alert.state =
            a.is_object() ? text_of(a.value("status", nlohmann::json::object()), "state") : "";
        alert.starts_at = text_of(a, "startsAt");
        alert.starts_at_ms = parse_rfc3339_ms(alert.starts_at);
        alert.summary = a.is_object()
                            ? text_of(a.value("annotations", nlohmann::json::object()), "summary")
                            : "";
        if (!alert.name.empty()) {
            out.push_back(std::move(alert));
        }
    }
    return out;
}

namespace {

// GET `path` on the first monitor host's `port` that answers 200, through `reach`.
template <typename Parse>
auto query_monitors(const Inventory& inv, ClusterReach& reach, HttpClient& http, int port,
                    const std::string& path, const char* what, Parse parse) {
    const auto monitors = monitor_hosts(inv);
    if (monitors.empty()) {
        throw Error(ExitCode::invalid_config,
                    "no host of cluster " + inv.cluster + " runs the monitor service",
                    "add `monitor` to a host's services and run `pgdr bootstrap`");
    }
    std::string failures;
    for (const auto* m : monitors) {
        std::string why;
        try {
            HttpRequest req;
            req.url = reach.endpoint(m->address, port).url() + path;
            req.timeout = std::chrono::seconds(5);
            req.connect_timeout = std::chrono::seconds(3);
            auto resp = http.send(req);
            if (resp.status == 200) {
                return parse(resp.body);
            }
            why = "HTTP " + std::to_string(resp.status);
        } catch (const HttpTransportError& e) {
            why = e.what();
        } catch (const Error& e) {
            why = e.what();
        }
        failures += (failures.empty() ? "" : "; ") + m->name + ": " + why;
    }
    throw Error(ExitCode::unreachable, std::string("no ") + what + " answered (" + failures + ")",
                "check the monitoring stage with `pgdr bootstrap --stage monitoring`");
}

}  // namespace

std::vector<Alert> fetch_alerts(const Inventory& inv, ClusterReach& reach, HttpClient& http) {
    return query_monitors(inv, reach, http, k_alertmanager_port, "/api/v2/alerts", "Alertmanager",
                          [&inv](const std::string& body) {
                              auto all = parse_alertmanager_alerts(body);
                              std::vector<Alert> mine;
                              for (auto& a : all) {
                                  auto it = a.labels.find("cluster");
                                  if (it == a.labels.end() || it->second == inv.cluster) {
                                      mine.push_back(std::move(a));
                                  }
                              }
                              return mine;
                          });
}

std::vector<ScrapeTarget> parse_prometheus_targets(const std::string& body) {
    auto doc = nlohmann::json::parse(body, nullptr, false);
    const auto* active = doc.is_object() && doc.value("status", "") == "success" &&
                                 doc.contains("data") && doc["data"].is_object() &&
                                 doc["data"].contains("activeTargets") &&
                                 doc["data"]["activeTargets"].is_array()
                             ? &doc["data"]["activeTargets"]
                             : nullptr;
    if (active == nullptr) {
        throw Error(ExitCode::unreachable,
                    "Prometheus' /api/v1/targets did not answer with its active targets");
    }
    std::vector<ScrapeTarget> out;
    for (const auto& t : *active) {
        const auto labels =
            t.is_object() ? t.value("labels", nlohmann::json::object()) : nlohmann::json::object();
        out.push_back({text_of(labels, "job"), text_of(labels, "instance"), text_of(t, "scrapeUrl"),
                       text_of(t, "health"), text_of(t, "lastError")});
    }
    return out;
}

std::vector<ScrapeTarget> fetch_targets(const Inventory& inv, ClusterReach& reach,
                                        HttpClient& http) {
    return query_monitors(inv, reach, http, k_prometheus_port, "/api/v1/targets?state=active",
                          "Prometheus", parse_prometheus_targets);
}

nlohmann::json targets_to_json(const std::vector<ScrapeTarget>& targets) {
    auto out = nlohmann::json::array();
    for (const auto& t : targets) {
        out.push_back({{"job", t.job},
                       {"instance", t.instance},
                       {"url", t.url},
                       {"health", t.health},
                       {"last_error", t.last_error}});
    }
    return out;
}

nlohmann::json alerts_to_json(const std::vector<Alert>& alerts) {
    auto out = nlohmann::json::array();
    for (const auto& a : alerts) {
        out.push_back({{"name", a.name},
                       {"severity", a.severity},
                       {"instance", a.instance},
                       {"state", a.state},
                       {"starts_at", a.starts_at},
                       {"summary", a.summary},
                       {"labels", a.labels}});
    }
    return out;
}

}  // namespace pgdr::monitoring
