#include "drills/persistent_probe.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "pg/libpq.hpp"

namespace pgdr::drills {

namespace {

// One connection, opened on the first write and again only after it broke.
struct PersistentConnection {
    pg::ConnParams params;
    std::unique_ptr<pg::Connection> conn;
};

}  // namespace

std::unique_ptr<Probe> make_persistent_probe(SqlProbeOptions options, Clock& clock) {
    auto state = std::make_shared<PersistentConnection>();
    state->params = conn_params(options);
    state->params.application_name = "pgdr-drill-persistent";
    const std::string run = options.run + "/persistent";
    const auto timeout = options.timeout;
    auto seq = std::make_shared<std::int64_t>(0);
    return std::make_unique<PollingProbe>(
        "persistent", clock, options.interval, [state, run, timeout, seq, &clock](Timeline& t) {
            PersistentWrite w;
            w.seq = ++*seq;
            const auto started = clock.steady_now();
            const auto took = [&] {
                return std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady_now() -
                                                                             started)
                    .count();
            };
            if (!state->conn || !state->conn->alive()) {
                state->conn.reset();
                w.reconnected = true;
                auto r = pg::Connection::connect(state->params);
                if (!r.connection) {
                    w.message = "connect: " + r.error.describe();
                    w.took_ms = took();
                    t.record(std::move(w));
                    return;
                }
                state->conn = std::move(r.connection);
            }
            auto r = state->conn->exec("INSERT INTO pgdr_drill (run, seq) VALUES ($1, $2)",
                                       {run, std::to_string(w.seq)}, timeout);
            w.ok = r.ok;
            if (!r.ok) {
                w.message = r.error.describe();
                // A broken or read-only session: the next write opens a new connection, which
                // HAProxy routes to whoever it sees as the leader then.
                state->conn.reset();
            }
            w.took_ms = took();
            t.record(std::move(w));
        });
}

std::optional<CrossCheck> cross_check(const std::vector<Event>& events,
                                      std::optional<Millis> fault_at_abs,
                                      const WriterOutage& writer) {
    std::vector<Millis> acks;       // relative to the fault
    std::map<Millis, Millis> took;  // ack -> how long its attempt took
    CrossCheck c;
    c.tolerance_ms = k_cross_check_tolerance_ms;
    const Millis t0 = fault_at_abs.value_or(0);
    bool first_connection = true;
    for (const auto& e : events) {
        const auto* w = std::get_if<PersistentWrite>(&e.data);
        if (w == nullptr) {
            continue;
        }
        ++c.writes;
        if (w->reconnected) {
            c.reconnects += first_connection ? 0 : 1;
            first_connection = false;
        }
        if (w->ok) {
            ++c.acknowledged;
            acks.push_back(e.at_ms - t0);
            took[e.at_ms - t0] = w->took_ms;
        } else {
            ++c.failed;
        }
    }
    if (c.writes == 0) {
        return std::nullopt;
    }
    const Millis last = events.empty() ? 0 : events.back().at_ms - t0;
    if (!fault_at_abs) {
        c.error = "no fault marker";
        return c;
    }
    auto first_after = std::find_if(acks.begin(), acks.end(), [](Millis a) { return a > 0; });
    if (first_after == acks.begin()) {
        c.error = "the persistent probe acknowledged no write before the fault";
        return c;
    }
    // The longest gap between consecutive acknowledged writes that ends after the fault, or the
    // open one after the last acknowledged write.
    Millis best = -1;
    for (auto it = first_after; it != acks.end(); ++it) {
        if (*it - *(it - 1) > best) {
            best = *it - *(it - 1);
            c.last_ack_before_ms = *(it - 1);
            c.first_ack_after_ms = *it;
        }
    }
    const bool failed_at_the_end = std::any_of(events.begin(), events.end(), [&](const Event& e) {
        const auto* w = std::get_if<PersistentWrite>(&e.data);
        return w != nullptr && !w->ok && e.at_ms - t0 > acks.back();
    });
    if (failed_at_the_end && last - acks.back() > best) {
        best = last - acks.back();
        c.last_ack_before_ms = acks.back();
        c.first_ack_after_ms = std::nullopt;
        c.recovered = false;
    }
    if (best < 0) {
        c.error = "the persistent probe wrote nothing after the fault";
        return c;
    }
    c.persistent_probe_outage_ms = best;
    for (const auto& e : events) {
        const auto* w = std::get_if<PersistentWrite>(&e.data);
        if (w != nullptr && !w->ok && e.at_ms - t0 > *c.last_ack_before_ms) {
            c.first_failure_ms = e.at_ms - t0;
            c.first_failure = w->message;
            break;
        }
    }
    if (c.first_ack_after_ms) {
        c.persistent_recovery_attempt_ms = took[*c.first_ack_after_ms];
    }
    c.writer_recovery_attempt_ms = writer.recovery_attempt_ms;
    if (!writer.outage_ms) {
        c.error = "the writer has no outage figure to compare with";
        return c;
    }
    c.difference_ms = best - *writer.outage_ms;
    c.resolution_ms = std::max(c.persistent_recovery_attempt_ms.value_or(0),
                               c.writer_recovery_attempt_ms.value_or(0));
    c.agrees = c.recovered == writer.recovered &&
               std::llabs(*c.difference_ms) <= c.tolerance_ms + c.resolution_ms;
    return c;
}

}  // namespace pgdr::drills
