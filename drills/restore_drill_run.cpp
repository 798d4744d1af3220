#include "drills/restore_drill_run.hpp"

#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "core/poll.hpp"
#include "core/strings.hpp"
#include "drills/engine.hpp"
#include "pg/backup.hpp"
#include "pg/debian_paths.hpp"
#include "pg/lsn.hpp"
#include "pg/secrets.hpp"

namespace pgdr::drills {

ScratchHost::ScratchHost(ScratchMachine machine, Transport& transport, std::function<void()> remove)
    : m_machine(std::move(machine)), m_transport(transport), m_remove(std::move(remove)) {}

ScratchHost::~ScratchHost() {
    try {
        remove();
    } catch (...) {
        // The destructor is the last resort (an exception is unwinding): the drill's report
        // already says the scratch host was not removed, and how to remove it.
    }
}

void ScratchHost::remove() {
    if (m_remove) {
        auto f = std::move(m_remove);
        m_remove = nullptr;
        f();
    }
}

const char* const k_create_marker_table =
    "CREATE TABLE IF NOT EXISTS pgdr_restore_markers (run text NOT NULL, id bigint NOT NULL, "
    "committed_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (run, id))";

const char* const k_insert_marker =
    "INSERT INTO pgdr_restore_markers (run, id) VALUES ($1, $2) "
    "RETURNING (extract(epoch from committed_at) * 1000000)::bigint";

std::vector<std::string> marker_rows_argv(const std::string& run) {
    return pg::local_psql_argv(pg::k_probe_database, {{"run", run}});
}

std::string marker_rows_sql() {
    return "SELECT id, (extract(epoch from committed_at) * 1000000)::bigint "
           "FROM pgdr_restore_markers WHERE run = :'run' ORDER BY id;\n";
}

std::vector<std::string> replay_lsn_argv() {
    return pg::local_psql_command("SELECT pg_last_wal_replay_lsn()");
}

namespace {

using std::chrono::milliseconds;

Millis since(Clock& clock, std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<milliseconds>(clock.steady_now() - start).count();
}

// The writer thread: one marker every interval until stopped; the acknowledged ones kept.
class MarkerWriter {
  public:
    MarkerWriter(const RestoreDrillSeams& seams, std::string run, milliseconds interval)
        : m_seams(seams), m_run(std::move(run)), m_interval(interval) {}
    ~MarkerWriter() { stop(); }

    void start() {
        m_thread = std::thread([this] { loop(); });
    }
    void stop() {
        m_stop = true;
        if (m_thread.joinable()) {
            m_thread.join();
        }
    }
    std::vector<MarkerAck> acks() const {
        std::lock_guard lock(m_mutex);
        return m_acks;
    }
    std::int64_t failed() const { return m_failed; }
    std::string last_error() const {
        std::lock_guard lock(m_mutex);
        return m_last_error;
    }

  private:
    void loop() {
        Clock& clock = m_seams.clock;
        for (std::int64_t id = 1; !m_stop; ++id) {
            const auto sent = clock.steady_now();
            MarkerInsert r;
            try {
                r = m_seams.insert_marker(m_run, id);
            } catch (const std::exception& e) {
                r.error = e.what();
            }
            const auto rtt =
                std::chrono::duration_cast<std::chrono::microseconds>(clock.steady_now() - sent)
                    .count();
            {
                std::lock_guard lock(m_mutex);
                if (r.ok) {
                    m_acks.push_back({id, r.committed_at_us, rtt});
                } else {
                    ++m_failed;
                    m_last_error = r.error;
                }
            }
            const auto spent = clock.steady_now() - sent;
            if (spent < m_interval) {
                clock.sleep_for(std::chrono::duration_cast<milliseconds>(m_interval - spent));
            }
        }
    }

    const RestoreDrillSeams& m_seams;
    std::string m_run;
    milliseconds m_interval;
    std::atomic<bool> m_stop{false};
    std::atomic<std::int64_t> m_failed{0};
    mutable std::mutex m_mutex;
    std::vector<MarkerAck> m_acks;
    std::string m_last_error;
    std::thread m_thread;
};

struct Interrupted {};

// e.what(), with pgdr::Error's hint (how to remove a machine by hand) in parentheses.
std::string with_hint(const std::exception& e) {
    const auto* error = dynamic_cast<const Error*>(&e);
    if (error == nullptr || error->hint().empty()) {
        return e.what();
    }
    return std::string(e.what()) + " (" + error->hint() + ")";
}

class DrillRun {
  public:
    DrillRun(const RestoreDrillSeams& seams, const RestoreDrillOptions& options)
        : m_seams(seams),
          m_o(options),
          m_run("restore-" + make_run_id(options.cluster, seams.clock.wall_now(), 1)) {
        m_r.cluster = options.cluster;
        m_r.provider = options.provider;
        m_r.objectives = options.objectives;
        m_r.started_at = format_utc(seams.clock.wall_now());
    }

    RestoreDrillReport run(bool* interrupted_out);

  private:
    void say(const std::string& m) const {
        if (m_seams.progress) {
            m_seams.progress(m);
        }
    }
    void check_interrupt() const {
        if (m_seams.interrupted != nullptr && m_seams.interrupted->load()) {
            throw Interrupted{};
        }
    }
    // Sleeps `d` in slices, stopping early at Ctrl-C.
    void wait(milliseconds d) const {
        const auto end = m_seams.clock.steady_now() + d;
        while (m_seams.clock.steady_now() < end) {
            check_interrupt();
            const auto left =
                std::chrono::duration_cast<milliseconds>(end - m_seams.clock.steady_now());
            m_seams.clock.sleep_for(std::min(left, milliseconds(100)));
        }
    }
    void write_markers_and_pick_target(MarkerWriter& writer);
    void pick_target();
    void wait_archived();
    void pick_backup();
    std::unique_ptr<ScratchHost> create_scratch();
    void prepare_scratch(ScratchHost& scratch);
    void restore_and_verify(ScratchHost& scratch);
    void read_restored(ScratchHost& scratch);

    const RestoreDrillSeams& m_seams;
    const RestoreDrillOptions& m_o;
    std::string m_run;
    RestoreDrillReport m_r;
    std::int64_t m_target_us = 0;
    std::vector<MarkerAck> m_acks;
    const pg::BackupRecord* m_backup = nullptr;
    pg::StanzaInfo m_stanza;
    std::chrono::steady_clock::time_point m_scratch_started;
};

void DrillRun::pick_target() {
    const std::int64_t now = m_seams.server_now_us();
    if (m_o.to) {
        const auto t = parse_target_time(*m_o.to);
        if (!t) {
            throw usage_error("--to " + *m_o.to + ": not a time with a zone",
                              "e.g. --to 2026-12-05T16:20:00Z");
        }
        m_target_us = *t;
        m_r.target_source = "--to";
        if (m_target_us > now) {
            // The target lies ahead: markers run until it has passed on the primary's clock.
            wait(milliseconds((m_target_us - now) / 1000 + 1));
        }
    } else {
        m_target_us =
            now - std::chrono::duration_cast<std::chrono::microseconds>(m_o.margin).count();
        m_r.target_source = "now - margin";
    }
    m_r.target = format_iso_us(m_target_us);
    const auto archiver = m_seams.archiver();
    m_r.last_archived_wal = archiver.last_archived_wal;
    if (archiver.last_archived_time) {
        const auto archived_us = static_cast<std::int64_t>(*archiver.last_archived_time * 1e6);
        m_r.last_archived_at = format_iso_us(archived_us);
        m_r.rpo_ms = std::max<std::int64_t>(0, (m_target_us - archived_us) / 1000);
    } else {
        m_r.warnings.push_back("nothing archived yet when the target was set: no RPO figure");
    }
}

void DrillRun::write_markers_and_pick_target(MarkerWriter& writer) {
    say("writing markers through the write port every " +
        std::to_string(m_o.marker_interval.count()) + " ms (run " + m_run + ")");
    writer.start();
    wait(m_o.baseline);
    pick_target();
    say("target " + m_r.target + " (" + m_r.target_source + ")");
    wait(m_o.after_target);
    writer.stop();
    m_acks = writer.acks();
    m_r.markers_failed = writer.failed();
    if (m_r.markers_failed > 0) {
        m_r.warnings.push_back(std::to_string(m_r.markers_failed) +
                               " marker insert(s) not acknowledged; last: " + writer.last_error());
    }
}

void DrillRun::wait_archived() {
    m_r.switched_wal = m_seams.switch_wal();
    say("waiting for WAL " + m_r.switched_wal + " to reach the repository");
    std::string seen;
    const auto outcome =
        poll_until(m_seams.clock, m_o.archive_timeout, milliseconds(500), m_seams.interrupted, [&] {
            const auto a = m_seams.archiver();
            seen = a.last_archived_wal;
            return wal_archived_past(seen, m_r.switched_wal);
        });
    check_interrupt();
    m_r.target_covered = outcome == PollOutcome::holds;
    if (!m_r.target_covered) {
        throw Error(ExitCode::verification_failed,
                    "WAL " + m_r.switched_wal + " was not archived within " +
                        std::to_string(m_o.archive_timeout.count() / 1000) +
                        " s (last archived: " + (seen.empty() ? "none" : seen) + ")",
                    "`pgdr backup check` and `pgdr status` say why archiving fails");
    }
}

void DrillRun::pick_backup() {
    m_stanza = m_seams.backup_info();
    m_backup = backup_for_target(m_stanza, m_target_us);
    if (m_backup == nullptr) {
        throw Error(ExitCode::verification_failed,
                    "no backup of " + m_o.cluster + " ended before the target " + m_r.target,
                    "run `pgdr backup run` first, or give a later --to");
    }
    m_r.backup_label = m_backup->label;
    m_r.backup_stop = pg::format_utc(m_backup->stop);
    m_r.backup_lsn_stop = m_backup->lsn_stop;
    m_r.backup_age_ms = m_target_us / 1000 - m_backup->stop * 1000;
}

void DrillRun::read_restored(ScratchHost& scratch) {
    RunOptions o;
    o.sudo = true;
    o.timeout = std::chrono::seconds(60);
    auto argv = marker_rows_argv(m_run);
    o.stdin_data = marker_rows_sql();
    auto rows = scratch.transport().run(argv, o);
    if (!rows.ok()) {
        throw Error(ExitCode::postgres, "reading the markers on " + scratch.name() + " failed: " +
                                            trim(rows.err.empty() ? rows.out : rows.err));
    }
    apply_comparison(m_r, compare_markers(m_acks, parse_marker_rows(rows.out), m_target_us));
    o.stdin_data.reset();
    auto lsn = scratch.transport().run(replay_lsn_argv(), o);
    const auto replay = pg::Lsn::parse(trim(lsn.out));
    const auto stop = pg::Lsn::parse(m_r.backup_lsn_stop);
    if (lsn.ok() && replay && stop) {
        m_r.replay_lsn = replay->str();
        m_r.wal_replayed_bytes = std::max<std::int64_t>(0, replay->minus(*stop));
    } else {
        m_r.warnings.push_back("no WAL replay figure: replay LSN '" + trim(lsn.out) +
                               "', backup stop LSN '" + m_r.backup_lsn_stop + "'");
    }
}

void DrillRun::restore_and_verify(ScratchHost& scratch) {
    pg::RestoreRequest req;
    req.host = scratch.name();
    req.target.kind = pg::RestoreTarget::Kind::time;
    req.target.value = format_target_time(m_target_us);
    req.timeout = m_o.restore_timeout;
    say("restoring " + m_r.backup_label + " + WAL to " + req.target.value + " on " +
        scratch.name());
    const auto start = m_seams.clock.steady_now();
    const auto result = m_seams.restore(scratch.transport(), req);
    m_r.restore_rto_ms = since(m_seams.clock, start);
    m_r.restore_copy_ms = result.restore_elapsed.count();
    m_r.recovery_ms = result.ready_elapsed.count();
    check_interrupt();
    read_restored(scratch);
    if (m_r.wal_replayed_bytes && m_r.recovery_ms && *m_r.recovery_ms > 0) {
        m_r.wal_replay_rate_bytes_per_s = static_cast<double>(*m_r.wal_replayed_bytes) * 1000.0 /
                                          static_cast<double>(*m_r.recovery_ms);
    }
}

// The provider's machine, timed apart from the restore (scratch_create_ms).
std::unique_ptr<ScratchHost> DrillRun::create_scratch() {
    say("creating a scratch host");
    m_scratch_started = m_seams.clock.steady_now();
    auto scratch = m_seams.create_scratch();
    const auto& m = scratch->machine();
    m_r.scratch_host = m.name;
    m_r.scratch_address = m.address;
    m_r.scratch_provider = m.provider;
    m_r.scratch_id = m.id;
    m_r.scratch_flavor = m.flavor;
    m_r.scratch_region = m.region;
    m_r.scratch_create_ms = since(m_seams.clock, m_scratch_started);
    say("scratch host up: " + m.describe());
    return scratch;
}

// Packages and files; scratch_ready_ms counts from the creation's start.
void DrillRun::prepare_scratch(ScratchHost& scratch) {
    m_seams.prepare_scratch(scratch);
    m_r.scratch_ready_ms = since(m_seams.clock, m_scratch_started);
}

RestoreDrillReport DrillRun::run(bool* interrupted_out) {
    std::unique_ptr<ScratchHost> scratch;
    try {
        m_seams.prepare_markers();
        {
            MarkerWriter writer(m_seams, m_run, m_o.marker_interval);
            write_markers_and_pick_target(writer);
        }
        wait_archived();
        pick_backup();
        check_interrupt();
        scratch = create_scratch();
        check_interrupt();
        prepare_scratch(*scratch);
        check_interrupt();
        restore_and_verify(*scratch);
    } catch (const Interrupted&) {
        if (interrupted_out != nullptr) {
            *interrupted_out = true;
        }
        m_r.errors.push_back("interrupted");
    } catch (const std::exception& e) {
        m_r.errors.push_back(e.what());
        // Ctrl-C while a seam waited (the provider's machine booting): an interruption too.
        if (interrupted_out != nullptr && m_seams.interrupted != nullptr &&
            m_seams.interrupted->load()) {
            *interrupted_out = true;
        }
    }
    if (scratch) {
        say("removing the scratch host " + scratch->name());
        try {
            scratch->remove();
            m_r.restored = true;
        } catch (const std::exception& e) {
            m_r.errors.push_back("removing the scratch host " + scratch->name() + ": " +
                                 with_hint(e));
        }
    } else {
        m_r.restored = true;  // nothing was made
    }
    m_r.markers_acknowledged = static_cast<std::int64_t>(m_acks.size());
    judge_restore_drill(m_r);
    return m_r;
}

}  // namespace

RestoreDrillReport run_restore_drill(const RestoreDrillSeams& seams,
                                     const RestoreDrillOptions& options, bool* interrupted_out) {
    DrillRun run(seams, options);
    return run.run(interrupted_out);
}

}  // namespace pgdr::drills
