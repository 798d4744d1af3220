#include "drills/node_sampler.hpp"

#include "pg/libpq.hpp"
#include "pg/lsn.hpp"
#include "pg/patroni_api.hpp"

namespace pgdr::drills {

namespace {

// pg_walfile_name() raises an error during recovery, so the CASE keeps it to a primary; on a
// replica the timeline comes from Patroni.
const char* const k_sample_sql =
    "SELECT pg_is_in_recovery(), "
    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, "
    "CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END";

struct SamplerState {
    NodeSamplerOptions options;
    pg::PatroniApi api;
    std::unique_ptr<pg::Connection> conn;

    SamplerState(NodeSamplerOptions o, HttpClient& http)
        : options(std::move(o)), api(http, options.rest_timeout) {}

    void sample_rest(NodeSample& s) {
        auto st = api.status(options.rest_url);
        if (st.ok()) {
            s.role = parse_patroni_role(st.value->role);
            s.patroni_state = st.value->state;
            s.timeline = st.value->timeline;
            if (st.value->wal_position) {
                s.lsn = *st.value->wal_position;
            }
        } else {
            s.error = st.error;
            return;  // an unreachable API will not answer /cluster either
        }
        auto cl = api.cluster(options.rest_url);
        if (cl.ok()) {
            // The first of several leaders, as Patroni lists them (a split brain shows on the
            // other members' samples).
            const auto leaders = pg::leaders_of(*cl.value);
            s.leader_seen = leaders.empty() ? "" : leaders.front();
        }
    }

    void sample_sql(NodeSample& s) {
        if (!conn || !conn->alive()) {
            pg::ConnParams p;
            p.host = options.pg_host.empty() ? options.node.address : options.pg_host;
            p.port = options.pg_port;
            p.dbname = options.credentials.database;
            p.user = options.credentials.user;
            p.password = options.credentials.password;
            p.application_name = "pgdr-drill-sampler";
            p.connect_timeout = options.sql_timeout;
            p.statement_timeout = options.sql_timeout;
            auto r = pg::Connection::connect(p);
            if (!r.connection) {
                append_error(s, "sql: " + r.error.describe());
                return;
            }
            conn = std::move(r.connection);
        }
        auto r = conn->exec(k_sample_sql, options.sql_timeout);
        if (!r.ok) {
            append_error(s, "sql: " + r.error.describe());
            conn.reset();
            return;
        }
        auto rec = r.value(0, 0);
        if (rec) {
            s.in_recovery = *rec == "t";
        }
        if (auto lsn = pg::Lsn::parse(r.value(0, 1).value_or(""))) {
            s.lsn = lsn->bytes();
        }
        if (auto tl = timeline_from_walfile(r.value(0, 2).value_or(""))) {
            s.timeline = tl;
        }
    }

    static void append_error(NodeSample& s, const std::string& e) {
        s.error += (s.error.empty() ? "" : "; ") + e;
    }
};

}  // namespace

std::optional<int> timeline_from_walfile(const std::string& walfile) {
    if (walfile.size() != 24) {
        return std::nullopt;
    }
    try {
        std::size_t used = 0;
        auto v = std::stoul(walfile.substr(0, 8), &used, 16);
        if (used != 8 || v == 0) {
            return std::nullopt;
        }
        return static_cast<int>(v);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::unique_ptr<Probe> make_node_sampler(NodeSamplerOptions options, HttpClient& http,
                                         Clock& clock) {
    auto name = "sampler " + options.node.name;
    auto interval = options.interval;
    auto state = std::make_shared<SamplerState>(std::move(options), http);
    return std::make_unique<PollingProbe>(name, clock, interval, [state](Timeline& t) {
        NodeSample s;
        const Millis started = t.now_ms();
        s.node = state->options.node.name;
        state->sample_rest(s);
        if (state->options.use_sql) {
            state->sample_sql(s);
        }
        s.took_ms = t.now_ms() - started;
        t.record(std::move(s));
    });
}

}  // namespace pgdr::drills
