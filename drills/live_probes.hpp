// The real probes of a drill run, in start order: the writer (through HAProxy's write port),
// the persistent-connection probe (the same port, its own connection: persistent_probe.hpp),
// the reader (read port), one sampler per Patroni member, the HAProxy statistics sampler.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/http.hpp"
#include "core/reach.hpp"
#include "drills/evidence_phases.hpp"
#include "drills/probe.hpp"
#include "drills/topology.hpp"

namespace pgdr::drills {

struct LiveProbeSettings {
    std::chrono::milliseconds write_interval{10};
    std::chrono::milliseconds persistent_interval{10};  // the outage cross-check's writes
    std::chrono::milliseconds read_interval{100};
    std::chrono::milliseconds sample_interval{50};
    std::chrono::milliseconds stats_interval{100};
    std::chrono::milliseconds client_timeout{1000};  // connect and statement, each probe
    std::string haproxy_authorization;               // the stats page's "Basic ..." header
};

// topology, http and clock must outlive the probes. Every port is asked of `reach` once, here,
// before the probes' threads start.
// The intervals of these probes, for the phases' uncertainty (evidence_phases.hpp).
ProbeCadence cadence_of(const LiveProbeSettings& settings);

std::vector<std::unique_ptr<Probe>> make_live_probes(
    const DrillTopology& topology, ClusterReach& reach, const ProbeCredentials& credentials,
    HttpClient& http, Clock& clock, const std::string& run, const LiveProbeSettings& settings = {});

}  // namespace pgdr::drills
