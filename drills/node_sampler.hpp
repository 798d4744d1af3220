// The per-node sampler (DESIGN.md §5): one probe per Patroni member, on its own thread, that
// every `interval` (~50 ms) records one NodeSample from
//   - Patroni's REST API: GET /patroni (role, state, timeline, WAL position) and GET /cluster
//     (the leader this member sees), each bounded by rest_timeout;
//   - PostgreSQL over libpq as the probe role, to the member's own port 5432:
//       SELECT pg_is_in_recovery(), <replay or current LSN>, <timeline of the current WAL
//       file when not in recovery>
//     bounded by sql_timeout, one connection kept between samples.
// When SQL is down the REST fields fill the sample (timeline, WAL position); when the REST API
// is down, the SQL ones. A sample where neither answered carries the errors.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/http.hpp"
#include "drills/probe.hpp"
#include "drills/topology.hpp"

namespace pgdr::drills {

struct NodeSamplerOptions {
    DrillNode node;
    std::string rest_url;  // where to connect for its REST API: "http://HOST:PORT"
    std::string pg_host;   // where to connect for SQL; "" = node.address
    int pg_port = 5432;
    ProbeCredentials credentials;
    std::chrono::milliseconds interval{50};
    std::chrono::milliseconds rest_timeout{1000};
    std::chrono::milliseconds sql_timeout{1000};
    bool use_sql = true;  // false: REST only (tests, or no probe role)
};

// `http` must be safe to call from several threads (CurlHttpClient is) and outlive the probe.
std::unique_ptr<Probe> make_node_sampler(NodeSamplerOptions options, HttpClient& http,
                                         Clock& clock);

// The timeline id in a WAL file name ("000000030000000000000004" -> 3); nullopt otherwise.
std::optional<int> timeline_from_walfile(const std::string& walfile);

}  // namespace pgdr::drills
