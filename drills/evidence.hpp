// Server-side evidence of a drill (DESIGN.md §5): what the hosts' own logs and data say
// happened, each moment in the host's wall clock, parsed by pure functions from what pgdr
// collects over SSH after the drill (evidence_collect.hpp):
//
//   patroni_log   journald (`journalctl -o json`) of patroni@V-main: the leader lock taken
//                 ("promoted self to leader by acquiring session lock", "... because I had the
//                 session lock", a switchover's "Cleaning up failover key after acquiring
//                 leader lock"), a leader demoting ("demoting myself", "Demoting self",
//                 "demoted self because ...", "Leader key released"), and every member's view
//                 of the key ("Lock owner: pg2; I am pg3", "Lock owner: None; ...": a member
//                 can log the new holder before the holder logs its own promotion)
//   postgres_log  the collector's file (log_line_prefix '%m [%p] ': millisecond timestamps
//                 with the zone): "received promote request", "selected new timeline ID",
//                 "archive recovery complete", "database system is ready to accept connections"
//   haproxy_log   journald of haproxy: "Server primary/pg2 is UP|DOWN" (the check state
//                 changes, HAProxy logs them to stdout in RFC 5424 with its own microsecond
//                 timestamp; the journal's receive time otherwise)
//   probe         the probe's own rows: pgdr_drill.at (now() on the server that committed)
//
// Journal lines carry the embedded timestamp of the program when it has one (Patroni's
// "2026-12-05 05:14:03,123" is local time: its zone is taken from the journal's UTC receive
// time, rounded to a quarter hour), else the journal's receive time.
//
// Clock offsets: offset = remote - (sent + received) / 2, bound = (received - sent) / 2, from
// an exchange that reads the host's clock (`date +%s%N`); the exchange with the smallest round
// trip of several wins.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drills/report.hpp"

namespace pgdr::drills {

// Microseconds since the Unix epoch, in some host's wall clock.
using WallMicros = std::int64_t;

// One journal entry of `journalctl -o json` (one JSON object a line).
struct JournalLine {
    WallMicros received_us = 0;  // __REALTIME_TIMESTAMP
    std::string unit;            // _SYSTEMD_UNIT, else SYSLOG_IDENTIFIER
    std::string message;
};
// Lines that are not JSON objects with a __REALTIME_TIMESTAMP and a text MESSAGE are skipped.
std::vector<JournalLine> parse_journal_json(std::string_view text);

namespace evidence {
inline constexpr const char* lock_acquired = "lock_acquired";
inline constexpr const char* demoted = "demoted";        // or released the key
inline constexpr const char* lock_owner = "lock_owner";  // subject holds the key (seen by host)
inline constexpr const char* no_leader = "no_leader";    // host saw no leader key
inline constexpr const char* promote_requested = "promote_requested";
inline constexpr const char* new_timeline = "new_timeline";
inline constexpr const char* recovery_ended = "recovery_ended";
inline constexpr const char* accepting_connections = "accepting_connections";
inline constexpr const char* server_up = "server_up";
inline constexpr const char* server_down = "server_down";
inline constexpr const char* row_written = "row_written";
}  // namespace evidence

// One moment a host's log or data shows.
struct ServerEvent {
    std::string host;     // whose clock stamped it
    std::string source;   // source::patroni_log, postgres_log, haproxy_log, probe
    std::string kind;     // evidence::...
    std::string subject;  // the node it is about: the host itself; HAProxy's server
    std::string port;     // haproxy_log: "write" (listen primary) or "read" (listen replicas)
    WallMicros at_us = 0;
    WallMicros resolution_us = 0;  // the timestamp's granularity
    std::int64_t seq = 0;          // probe: the row's sequence number
    std::string text;              // the log line (without its timestamp) or "seq N"
};

std::vector<ServerEvent> patroni_events(const std::string& host,
                                        const std::vector<JournalLine>& lines);
std::vector<ServerEvent> haproxy_events(const std::string& host,
                                        const std::vector<JournalLine>& lines);
// The PostgreSQL log file's text; lines without a parsable '%m' prefix are skipped.
std::vector<ServerEvent> postgres_events(const std::string& host, std::string_view log);

// Timestamps: "2026-12-05 05:14:03.123 UTC" (PostgreSQL %m; zones UTC, GMT, +HH, +HHMM,
// +HH:MM), "2026-12-05T05:14:03.123456+00:00" (RFC 5424 / ISO 8601, Z accepted); std::nullopt
// otherwise. `resolution_us` receives the granularity of the fraction.
std::optional<WallMicros> parse_timestamp(std::string_view text, WallMicros* resolution_us);

struct OffsetSample {
    WallMicros sent_us = 0;      // operator clock, before asking
    WallMicros remote_us = 0;    // the host's clock, as it answered
    WallMicros received_us = 0;  // operator clock, after the answer
};
// The sample with the smallest round trip; std::nullopt without a sane sample.
std::optional<ClockOffset> clock_offset(const std::string& host,
                                        const std::vector<OffsetSample>& samples);

// A server event on the drill's time axis: milliseconds relative to the fault.
struct AlignedEvent {
    ServerEvent event;
    double at_ms = 0;
    double uncertainty_ms = 0;  // clock bound + timestamp granularity
};
// `fault_wall_us`: the fault's moment on the operator's clock. Events of hosts without an
// offset are aligned with offset 0 and an unknown bound (uncertainty k_unknown_offset_ms).
std::vector<AlignedEvent> align(const std::vector<ServerEvent>& events,
                                const std::vector<ClockOffset>& offsets, WallMicros fault_wall_us);
inline constexpr double k_unknown_offset_ms = 1000;

}  // namespace pgdr::drills
