#include "drills/sql_probes.hpp"

#include "core/error.hpp"
#include "pg/libpq.hpp"

namespace pgdr::drills {

const char* const k_create_drill_table =
    "CREATE TABLE IF NOT EXISTS pgdr_drill (run text NOT NULL, seq bigint NOT NULL, "
    "at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run, seq))";

pg::ConnParams conn_params(const SqlProbeOptions& o) {
    pg::ConnParams p;
    p.host = o.host;
    p.port = o.port;
    p.dbname = o.credentials.database;
    p.user = o.credentials.user;
    p.password = o.credentials.password;
    p.application_name = "pgdr-drill";
    p.connect_timeout = o.timeout;
    p.statement_timeout = o.timeout;
    return p;
}

namespace {

// One connection kept across samples, reopened after any failure.
class Session {
  public:
    explicit Session(pg::ConnParams params) : m_params(std::move(params)) {}

    // The open connection, or the connect error.
    pg::Connection* get(pg::PgError& error) {
        if (m_conn && m_conn->alive()) {
            return m_conn.get();
        }
        m_conn.reset();
        auto r = pg::Connection::connect(m_params);
        if (!r.connection) {
            error = r.error;
            return nullptr;
        }
        m_conn = std::move(r.connection);
        return m_conn.get();
    }
    void drop() { m_conn.reset(); }

  private:
    pg::ConnParams m_params;
    std::unique_ptr<pg::Connection> m_conn;
};

// The writer: a PollingProbe preceded by the table creation, so a cluster the probes cannot
// write to stops the drill before the fault.
class WriterProbe final : public Probe {
  public:
    WriterProbe(SqlProbeOptions o, const DrillTopology& topology, Clock& clock)
        : m_options(std::move(o)),
          m_session(std::make_shared<Session>(conn_params(m_options))),
          m_poller("writer", clock, m_options.interval, make_sample(topology)) {}

    std::string name() const override { return "writer"; }

    void start(Timeline& timeline) override {
        pg::PgError error;
        auto* conn = m_session->get(error);
        if (conn == nullptr) {
            throw Error(ExitCode::verification_failed,
                        "the write probe cannot connect through HAProxy " + m_options.host + ":" +
                            std::to_string(m_options.port) + ": " + error.describe(),
                        "run `pgdr bootstrap` again: the probe role and database come from it");
        }
        auto r = conn->exec(k_create_drill_table, m_options.timeout * 5);
        if (!r.ok) {
            throw Error(ExitCode::verification_failed,
                        "the write probe cannot create the drill table: " + r.error.describe());
        }
        m_poller.start(timeline);
    }
    void stop() noexcept override { m_poller.stop(); }

  private:
    PollingProbe::SampleFn make_sample(const DrillTopology& topology) {
        auto session = m_session;
        auto run = m_options.run;
        auto timeout = m_options.timeout;
        auto seq = std::make_shared<std::int64_t>(0);
        return [session, run, timeout, seq, &topology](Timeline& t) {
            const std::int64_t n = ++*seq;
            t.record(WriteSent{n});
            pg::PgError error;
            auto* conn = session->get(error);
            if (conn == nullptr) {
                t.record(WriteFailed{n, "connect: " + error.describe(), ""});
                return;
            }
            auto r = conn->exec(
                "INSERT INTO pgdr_drill (run, seq) VALUES ($1, $2) "
                "RETURNING host(inet_server_addr())",
                {run, std::to_string(n)}, timeout);
            if (r.ok) {
                t.record(WriteAcked{n, topology.node_for_address(r.value(0, 0).value_or(""))});
                return;
            }
            t.record(WriteFailed{n, r.error.describe(), ""});
            // Reconnect after any error: a read-only answer means HAProxy still routes this
            // session to a demoted node; a new connection follows HAProxy's current choice.
            session->drop();
        };
    }

    SqlProbeOptions m_options;
    std::shared_ptr<Session> m_session;
    PollingProbe m_poller;
};

}  // namespace

std::unique_ptr<Probe> make_writer_probe(SqlProbeOptions options, const DrillTopology& topology,
                                         Clock& clock) {
    return std::make_unique<WriterProbe>(std::move(options), topology, clock);
}

std::unique_ptr<Probe> make_reader_probe(SqlProbeOptions options, const DrillTopology& topology,
                                         Clock& clock) {
    auto session = std::make_shared<Session>(conn_params(options));
    auto run = options.run;
    auto timeout = options.timeout;
    return std::make_unique<PollingProbe>(
        "reader", clock, options.interval, [session, run, timeout, &topology](Timeline& t) {
            pg::PgError error;
            auto* conn = session->get(error);
            if (conn == nullptr) {
                t.record(ReadResult{false, "", "connect: " + error.describe(), std::nullopt});
                return;
            }
            auto r = conn->exec(
                "SELECT max(seq), host(inet_server_addr()) FROM pgdr_drill WHERE run = $1", {run},
                timeout);
            if (!r.ok) {
                t.record(ReadResult{false, "", r.error.describe(), std::nullopt});
                session->drop();
                return;
            }
            ReadResult rr;
            rr.ok = true;
            rr.backend = topology.node_for_address(r.value(0, 1).value_or(""));
            if (auto v = r.value(0, 0)) {
                rr.max_seq_seen = std::stoll(*v);
            }
            t.record(rr);
        });
}

}  // namespace pgdr::drills
