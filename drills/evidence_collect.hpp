// Collecting a drill's server-side evidence over SSH (evidence.hpp parses it): run by the
// engine once the probes stopped, from every postgres host and the probes' HAProxy host.
//
//   clock offsets  three `date +%s%N` per host through the host's Transport, the operator's
//                  wall clock read before and after each; the smallest round trip wins
//   journal        journalctl -o json --output-fields=MESSAGE,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER
//                  -u <patroni unit> -u haproxy --since @<drill start> --no-pager, narrowed with
//                  --grep to the lines evidence.hpp reads (rerun without --grep when this
//                  journalctl has no pattern support)
//   PostgreSQL     the lines of the collector's log file that evidence.hpp reads (grep -E)
//
// A host that does not answer is skipped, its reason in `errors` (the report's warnings): the
// phases then keep the samplers' times.
#pragma once

#include <string>
#include <vector>

#include "core/clock.hpp"
#include "drills/evidence.hpp"
#include "drills/faults.hpp"
#include "drills/topology.hpp"

namespace pgdr::drills {

std::vector<std::string> journal_argv(const std::string& patroni_unit, WallMicros since_us,
                                      bool with_grep);
std::vector<std::string> postgres_log_argv(const std::string& log_file);

// Every postgres host and the probes' HAProxy host, once each, in topology order.
std::vector<std::string> evidence_hosts(const DrillTopology& topology);

std::vector<ClockOffset> measure_clock_offsets(const std::vector<std::string>& hosts,
                                               const TransportFor& transport, Clock& clock,
                                               std::vector<std::string>& errors);

std::vector<ServerEvent> collect_log_events(const DrillTopology& topology,
                                            const TransportFor& transport, WallMicros since_us,
                                            std::vector<std::string>& errors);

}  // namespace pgdr::drills
