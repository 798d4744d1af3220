// Reading what Alertmanager says is firing (pgdr alerts, and the drills' alert timing).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/http.hpp"
#include "core/inventory.hpp"
#include "core/reach.hpp"

namespace pgdr::monitoring {

struct Alert {
    std::string name;                       // labels.alertname
    std::string severity;                   // labels.severity
    std::string instance;                   // labels.instance, "" for a cluster-wide alert
    std::string state;                      // active | suppressed | unprocessed
    std::string starts_at;                  // as Alertmanager wrote it (RFC 3339)
    std::optional<long long> starts_at_ms;  // milliseconds since the epoch
    std::string summary;                    // annotations.summary
    std::map<std::string, std::string> labels;
};

// Alertmanager's GET /api/v2/alerts answer. Throws pgdr::Error (unreachable) on a body that is
// not that list.
std::vector<Alert> parse_alertmanager_alerts(const std::string& body);

// "2026-12-05T05:30:00.123456789Z" or with an offset ("+01:00") → milliseconds since the epoch.
std::optional<long long> parse_rfc3339_ms(const std::string& text);

// The alerts of `inv`'s cluster on the first monitor host that answers, reached through `reach`
// (forwarded over SSH on OVH's network shape). Throws pgdr::Error (unreachable) naming every
// monitor host tried, or (invalid_config) when no host runs the monitor service.
std::vector<Alert> fetch_alerts(const Inventory& inv, ClusterReach& reach, HttpClient& http);

nlohmann::json alerts_to_json(const std::vector<Alert>& alerts);

// One of Prometheus' scrape targets (GET /api/v1/targets, activeTargets).
struct ScrapeTarget {
    std::string job;         // labels.job
    std::string instance;    // labels.instance (pgdr names it after the host)
    std::string url;         // scrapeUrl
    std::string health;      // up | down | unknown
    std::string last_error;  // lastError, "" when the last scrape worked
};

// Prometheus' /api/v1/targets answer. Throws pgdr::Error (unreachable) on any other body.
std::vector<ScrapeTarget> parse_prometheus_targets(const std::string& body);

// The scrape targets of `inv`'s cluster on the first monitor host whose Prometheus answers
// (errors as fetch_alerts).
std::vector<ScrapeTarget> fetch_targets(const Inventory& inv, ClusterReach& reach,
                                        HttpClient& http);

nlohmann::json targets_to_json(const std::vector<ScrapeTarget>& targets);

}  // namespace pgdr::monitoring
