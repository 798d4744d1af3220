#include "drills/live_probes.hpp"

#include "drills/haproxy_stats.hpp"
#include "drills/node_sampler.hpp"
#include "drills/persistent_probe.hpp"
#include "drills/sql_probes.hpp"

namespace pgdr::drills {

ProbeCadence cadence_of(const LiveProbeSettings& settings) {
    return {settings.write_interval.count(), settings.sample_interval.count(),
            settings.stats_interval.count()};
}

std::vector<std::unique_ptr<Probe>> make_live_probes(
    const DrillTopology& topology, ClusterReach& reach, const ProbeCredentials& credentials,
    HttpClient& http, Clock& clock, const std::string& run, const LiveProbeSettings& settings) {
    std::vector<std::unique_ptr<Probe>> out;
    const auto& hp = topology.probe_haproxy();
    const Endpoint write = reach.endpoint(hp.address, topology.write_port);
    const Endpoint read = reach.endpoint(hp.address, topology.read_port);
    SqlProbeOptions w{
        write.host, write.port, credentials, run, settings.write_interval, settings.client_timeout};
    out.push_back(make_writer_probe(w, topology, clock));
    // The outage cross-check: its own connection through the same write port.
    SqlProbeOptions p = w;
    p.interval = settings.persistent_interval;
    out.push_back(make_persistent_probe(p, clock));
    SqlProbeOptions r{
        read.host, read.port, credentials, run, settings.read_interval, settings.client_timeout};
    out.push_back(make_reader_probe(r, topology, clock));
    for (const auto& n : topology.postgres) {
        NodeSamplerOptions o;
        o.node = n;
        o.rest_url = reach.endpoint(n.address, topology.rest_port).url("https");
        const Endpoint pg = reach.endpoint(n.address, topology.pg_port);
        o.pg_host = pg.host;
        o.pg_port = pg.port;
        o.credentials = credentials;
        o.interval = settings.sample_interval;
        o.rest_timeout = settings.client_timeout;
        o.sql_timeout = settings.client_timeout;
        out.push_back(make_node_sampler(o, http, clock));
    }
    HaproxyStatsOptions s;
    const Endpoint stats = reach.endpoint(hp.address, topology.stats_port);
    s.url = haproxy_stats_url(stats.host, stats.port);
    s.authorization = settings.haproxy_authorization;
    s.interval = settings.stats_interval;
    s.timeout = settings.client_timeout;
    out.push_back(make_haproxy_stats_probe(s, http, clock));
    return out;
}

}  // namespace pgdr::drills
