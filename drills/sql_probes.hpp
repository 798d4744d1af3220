// The client probes (DESIGN.md §5): a writer and a reader through HAProxy, over libpq, each on
// its own thread with its own connection, stamped by the timeline's steady clock.
//
// Writer: at start creates the drill table if needed
//     pgdr_drill(run text, seq bigint, at timestamptz default now(), primary key (run, seq))
// then every `interval` sends the next sequence number:
//     INSERT INTO pgdr_drill (run, seq) VALUES ($1, $2) RETURNING host(inet_server_addr())
// recording WriteSent, then WriteAcked (backend = the member whose address answered, in the
// same statement) or WriteFailed (connect error, timeout, read-only, reset). After a failure
// the connection is dropped and the next attempt reconnects; a failed connect is a failed
// write of that sequence number. Connect and statement are bounded by `timeout` on the client
// (and statement_timeout on the server), 1 s by default.
//
// Reader: every `interval` SELECT max(seq), host(inet_server_addr()) FROM pgdr_drill WHERE
// run = $1 on the read port, recording a ReadResult.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "drills/probe.hpp"
#include "drills/topology.hpp"
#include "pg/libpq.hpp"

namespace pgdr::drills {

struct SqlProbeOptions {
    std::string host;  // HAProxy's address
    int port = 0;      // write or read port
    ProbeCredentials credentials;
    std::string run;  // this drill's run id (the `run` column)
    std::chrono::milliseconds interval{10};
    std::chrono::milliseconds timeout{1000};
};

// The statement that creates the drill table (idempotent).
extern const char* const k_create_drill_table;

// The connection of a probe: its host and port, the probe role, application_name pgdr-drill,
// connect and statement bounded by `timeout`.
pg::ConnParams conn_params(const SqlProbeOptions& options);

// `topology` maps server addresses to member names; it must outlive the probe.
std::unique_ptr<Probe> make_writer_probe(SqlProbeOptions options, const DrillTopology& topology,
                                         Clock& clock);
std::unique_ptr<Probe> make_reader_probe(SqlProbeOptions options, const DrillTopology& topology,
                                         Clock& clock);

}  // namespace pgdr::drills
