// The independent outage cross-check (issue 19): a second write probe that shares nothing with
// the writer (sql_probes.hpp) but HAProxy's write port and the drill table.
//
// Probe: one libpq connection through the write endpoint, kept open from one INSERT to the
// next, an INSERT every 10 ms on its own thread:
//     INSERT INTO pgdr_drill (run, seq) VALUES ($1, $2)      -- run = "<run id>/persistent"
// Each answer is recorded as a PersistentWrite (ok or not, and whether the attempt had to open
// a new connection). After a failure the connection is dropped; the next attempt reconnects
// (bounded by the connect timeout), so the probe follows HAProxy to the new leader. It never
// stops a drill: a probe that cannot connect records failed writes, and the cross-check says
// it has no figure.
//
// Cross-check (pure): the probe's outage is the longest gap between two of its consecutive
// acknowledged writes that ends after the fault (from the last acknowledged write before it to
// the first after it), or, when it never wrote again, from its last acknowledged write to the
// end of the observation (not recovered). It is compared with the writer's outage
// (Report::write_outage_ms); a difference over k_cross_check_tolerance_ms beyond the outages'
// resolution (the longer of the two attempts that ended them: a reconnect through HAProxy —
// TCP, TLS, SCRAM, a backend fork — and the INSERT, 5-20 ms on a quiet lab, 180 ms and more on
// a loaded machine) is a warning in the report, never a failed drill: the two probes see the
// same HAProxy, so a larger difference means one of them measured something else (a stalled
// connect, a slow client) and the figure deserves a look.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/clock.hpp"
#include "drills/probe.hpp"
#include "drills/report.hpp"
#include "drills/sql_probes.hpp"

namespace pgdr::drills {

inline constexpr Millis k_cross_check_tolerance_ms = 100;

// options.run is the drill's run id; the probe writes its rows as "<run>/persistent".
std::unique_ptr<Probe> make_persistent_probe(SqlProbeOptions options, Clock& clock);

// The writer's side of the comparison.
struct WriterOutage {
    std::optional<Millis> outage_ms;
    bool recovered = true;
    std::optional<Millis> recovery_attempt_ms;  // its write that ended the outage, sent -> acked
};

// The cross-check from the PersistentWrite events of a timeline (stamps since the drill's
// start), the fault's stamp and the writer's outage. Empty when the timeline holds no
// PersistentWrite (the probe did not run).
std::optional<CrossCheck> cross_check(const std::vector<Event>& events,
                                      std::optional<Millis> fault_at_abs,
                                      const WriterOutage& writer);

}  // namespace pgdr::drills
