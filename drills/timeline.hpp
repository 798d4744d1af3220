// The drill timeline: every observation made during a drill, stamped by one steady clock
// (DESIGN.md §5 "All times come from one steady clock on the operator side").
//
// Probes (the write/read probes, the per-node samplers, the HAProxy stats sampler) and the
// fault injector append events from their own threads; analyze() (analysis.hpp) reads a
// snapshot afterwards. Times are milliseconds since the Timeline was created (the drill's
// start), read from Clock::steady_now() under the Timeline's lock, so the stored order is the
// stamp order. Wall-clock time is derived from the start (started_wall() + at_ms) for display
// only, never for measurement.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "monitoring/alerts.hpp"

namespace pgdr::drills {

// Milliseconds: since the drill's start on a Timeline, relative to the fault in a Report.
using Millis = std::int64_t;

// The write probe inserts one row per sequence number through the HAProxy write port.
// `backend` is the node that answered (e.g. from `SELECT current_setting('cluster_name')` in
// the same transaction, or inet_server_addr() mapped to a host name); empty when unknown.
struct WriteSent {
    std::int64_t seq = 0;
};
struct WriteAcked {  // COMMIT returned success to the client
    std::int64_t seq = 0;
    std::string backend;
};
struct WriteFailed {  // connect error, statement timeout, read-only transaction, reset, ...
    std::int64_t seq = 0;
    std::string message;
    std::string backend;
};

// One read through the HAProxy read port; max_seq_seen is the highest drill sequence number the
// replica returned, when the probe asked for it.
struct ReadResult {
    bool ok = false;
    std::string backend;
    std::string message;
    std::optional<std::int64_t> max_seq_seen;
};

// Patroni's role for a member, normalised across Patroni 3 ("master") and 4 ("primary").
enum class NodeRole { unknown, primary, replica, standby_leader };
std::string to_string(NodeRole role);
// Maps the `role` of Patroni's GET /patroni ("master", "primary", "replica", "standby_leader")
// or of a GET /cluster member ("leader", "replica", "sync_standby", "quorum_standby", ...).
NodeRole parse_patroni_role(const std::string& role);

// One sample of one node. A field is empty when its source did not answer in time: role is
// unknown when the REST API failed, in_recovery/timeline/lsn are empty when SQL failed. `error`
// says why (for the report's evidence), never a secret.
struct NodeSample {
    std::string node;
    NodeRole role = NodeRole::unknown;  // Patroni REST GET /patroni
    std::string patroni_state;          // "running", "starting", "stopped", "demoting", ...
    // The cluster leader as this member reports it (GET /cluster); "" = no leader key,
    // std::nullopt = not asked or not answered.
    std::optional<std::string> leader_seen;
    std::optional<bool> in_recovery;  // SELECT pg_is_in_recovery()
    std::optional<int> timeline;      // timeline id (pg_control_checkpoint() or Patroni)
    // Bytes: pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a replica.
    std::optional<std::uint64_t> lsn;
    std::string error;
    Millis took_ms = 0;  // from the start of the sample to its record

    bool answered() const { return role != NodeRole::unknown || in_recovery.has_value(); }
};

// A server's state on one HAProxy frontend, from the stats socket/page (`/;csv`). Probes may
// record every sample or only changes; analysis handles both.
enum class HaproxyPort { write, read };
struct HaproxyServerState {
    HaproxyPort port = HaproxyPort::write;
    std::string server;  // the node name as in haproxy.cfg
    std::string status;  // HAProxy's status column: "UP", "DOWN", "UP 1/2", "MAINT", ...

    bool up() const { return status.rfind("UP", 0) == 0; }
};

// Markers written by the fault injector. `fault` is the catalogue name ("kill-primary").
struct FaultInjected {
    std::string fault;
    std::string target;  // host or member the fault hit
    std::string detail;  // what was done, e.g. the command
};
struct FaultRestored {
    std::string fault;
    std::string target;
    bool ok = true;  // false: the restore step failed (detail says how)
    std::string detail;
};

struct Note {
    std::string text;
};

// One poll of Alertmanager by the drill's alert probe (drills/alert_watch.hpp): the cluster's
// active alerts, or why no Alertmanager answered (then `alerts` is empty).
struct AlertsPolled {
    std::vector<monitoring::Alert> alerts;
    std::string error;
};

// One INSERT of the independent persistent-connection probe (drills/persistent_probe.hpp),
// stamped when its answer came back: kept apart from the writer's WriteSent/WriteAcked so that
// the two outage figures come from separate connections and separate arithmetic.
struct PersistentWrite {
    std::int64_t seq = 0;
    bool ok = false;
    bool reconnected = false;  // this attempt opened a new connection (the first, or after a break)
    std::string message;       // why it failed
    Millis took_ms = 0;        // from the attempt's start (connect or INSERT) to its answer
};

using EventData =
    std::variant<WriteSent, WriteAcked, WriteFailed, ReadResult, NodeSample, HaproxyServerState,
                 FaultInjected, FaultRestored, Note, AlertsPolled, PersistentWrite>;

struct Event {
    Millis at_ms = 0;                            // since the drill's start (steady clock)
    std::chrono::system_clock::time_point wall;  // started_wall() + at_ms, for display only
    EventData data;
};

// Thread-safe, append-only. The Clock must outlive the Timeline and be safe to call from
// several threads (SystemClock is).
class Timeline {
  public:
    explicit Timeline(Clock& clock);

    Timeline(const Timeline&) = delete;
    Timeline& operator=(const Timeline&) = delete;

    // Stamps `data` with the current steady time and appends it; returns the stamp.
    Millis record(EventData data);

    // Milliseconds since the start, from the steady clock.
    Millis now_ms() const;
    std::chrono::system_clock::time_point started_wall() const { return m_started_wall; }
    std::chrono::system_clock::time_point wall_at(Millis at_ms) const;

    // A copy of every event so far, in stamp order.
    std::vector<Event> events() const;
    std::size_t size() const;

  private:
    Clock& m_clock;
    std::chrono::steady_clock::time_point m_started;
    std::chrono::system_clock::time_point m_started_wall;
    mutable std::mutex m_mutex;
    std::vector<Event> m_events;
};

}  // namespace pgdr::drills
