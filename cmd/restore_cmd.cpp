// pgdr restore: a backup plus WAL up to a point onto one host (--target), or the whole cluster
// rebuilt from the repository (--cluster) (man/pgdr-restore.1). Options, confirmation, wiring
// and output only; the steps are pg/restore's and pg/cluster_restore's.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cmd/context.hpp"
#include "cmd/wiring.hpp"
#include "core/apply.hpp"
#include "core/interrupt.hpp"
#include "core/poll.hpp"
#include "core/strings.hpp"
#include "pg/backup.hpp"
#include "pg/cluster_restore.hpp"
#include "pg/restore.hpp"
#include "pg/restore_progress.hpp"
#include "pg/restore_scratch.hpp"
#include "pg/secrets.hpp"
#include "pg/status.hpp"

namespace pgdr::cmd {

namespace {

struct RestoreOptions {
    std::string to = "latest";
    std::string target;
    bool cluster = false;
    bool force = false;
    std::string yes_really;
    std::string break_lock;
    std::vector<std::string> exclude;  // --exclude HOST (with --cluster)
};

// pgBackRest's errors may quote its configuration: its secrets are redacted from what we print.
void register_backup_secrets(Context& ctx, const Inventory& inv) {
    pg::Secrets s;
    try {
        s.backup = pg::load_backup_secrets(inv);
    } catch (const Error&) {
        return;  // the hosts hold the configuration; a missing local file is no reason to stop
    }
    pg::register_secrets(s, *ctx.log);
}

// The cluster's name, given with --yes-really or typed at the prompt (the convention of every
// destructive pgdr command: `pgdr destroy`, `provision --prune`). The caller compares it.
std::string typed_cluster_name(const Inventory& inv, const std::string& yes_really,
                               const std::string& what, const std::string& command) {
    if (!yes_really.empty()) {
        if (yes_really != inv.cluster) {
            throw usage_error("--yes-really " + yes_really + ": the cluster is " + inv.cluster);
        }
        return yes_really;
    }
    if (::isatty(STDIN_FILENO) == 0) {
        throw usage_error("refusing to " + what +
                              " without the typed cluster name: stdin is "
                              "not a terminal",
                          "run `" + command + " --yes-really " + inv.cluster + "`");
    }
    std::cerr << "This will " << what << " (cluster " << inv.cluster
              << (inv.production ? ", PRODUCTION" : "") << ").\nType the cluster name to confirm: ";
    std::string answer;
    if (!std::getline(std::cin, answer)) {
        std::cerr << "\n";
    }
    return answer;
}

// pgBackRest's restore log read from a second session while the restore runs, as one line
// rewritten on the terminal (bytes, rate, ETA).
class RestoreWatch {
  public:
    RestoreWatch(Context& ctx, const Inventory& inv, pg::StanzaInfo info)
        : m_ctx(ctx), m_inv(inv), m_info(std::move(info)) {}
    ~RestoreWatch() { stop(); }
    RestoreWatch(const RestoreWatch&) = delete;
    RestoreWatch& operator=(const RestoreWatch&) = delete;

    void start(const HostSpec& host) {
        stop();
        try {
            m_session = ssh_transport(m_ctx, host);
            RunOptions o;
            o.sudo = true;
            o.timeout = std::chrono::seconds(20);
            const auto r = m_session->run(pg::restore_log_size_argv(m_inv), o);
            m_offset = r.ok() ? std::stoll("0" + trim(r.out)) : 0;
        } catch (const std::exception&) {
            return;  // progress is best effort
        }
        m_done = false;
        m_start = std::chrono::steady_clock::now();
        m_thread = std::thread([this] { loop(); });
    }

    void stop() {
        m_done = true;
        if (m_thread.joinable()) {
            m_thread.join();
            std::cerr << "\r\033[K" << std::flush;
        }
    }

  private:
    void loop() {
        while (!m_done) {
            for (int i = 0; i < 20 && !m_done; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            if (m_done) {
                return;
            }
            try {
                RunOptions o;
                o.sudo = true;
                o.timeout = std::chrono::seconds(20);
                const auto r = m_session->run(pg::restore_log_tail_argv(m_inv, m_offset), o);
                const auto p = pg::parse_restore_progress(r.out);
                if (p) {
                    const double secs =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start)
                            .count();
                    std::cerr << "\r" << pg::render_restore_progress(*p, total(*p), secs)
                              << "\033[K" << std::flush;
                }
            } catch (const std::exception&) {
                // the restore's own result decides
            }
        }
    }

    // The size of the backup set pgBackRest chose (the newest when it has not said yet).
    std::int64_t total(const pg::RestoreProgress& p) const {
        for (const auto& b : m_info.backups) {
            if (b.label == p.backup_set) {
                return b.size;
            }
        }
        return m_info.backups.empty() ? 0 : m_info.backups.back().size;
    }

    Context& m_ctx;
    const Inventory& m_inv;
    pg::StanzaInfo m_info;
    std::unique_ptr<Transport> m_session;
    std::int64_t m_offset = 0;
    std::atomic<bool> m_done{true};
    std::chrono::steady_clock::time_point m_start;
    std::thread m_thread;
};

bool progress_on_terminal(Context& ctx) {
    return ::isatty(STDERR_FILENO) != 0 && !ctx.json();
}

// A step's line: on a terminal always (as `pgdr drill` and `switchover` do), else as a log line.
void say_step(Context& ctx, const std::string& m) {
    if (::isatty(STDERR_FILENO) != 0) {
        std::cerr << "pgdr restore: " << ctx.log->redact(m) << "\n";
    } else {
        ctx.log->info("restore: " + m);
    }
}

std::string target_text(const pg::RestoreTarget& t) {
    return t.kind == pg::RestoreTarget::Kind::latest ? "the end of the archive" : t.value;
}

// A host outside the cluster: PostgreSQL, pgBackRest and the restore configuration first
// (the restore drill's scratch host is made ready the same way).
void prepare_scratch(Context& ctx, const Inventory& inv, const HostSpec& host, Transport& t) {
    pg::Secrets s;
    s.backup = pg::load_backup_secrets(inv);
    pg::load_restore_client(inv, s);
    pg::register_secrets(s, *ctx.log);
    say_step(ctx, "preparing " + host.name + " (PostgreSQL, pgBackRest and its configuration)");
    pg::prepare_scratch_host(inv, t, s, [&](const std::string& line) { say_step(ctx, line); });
}

// The leader before the restore, when Patroni still says (it is stopped last); "" otherwise.
std::string current_leader(ClusterWiring& cluster, const Inventory& inv) {
    try {
        pg::SnapshotOptions so;
        so.replication = false;
        so.etcd = false;
        so.haproxy = false;
        return pg::take_snapshot(pg::cluster_targets(inv), cluster.access(), so).leader;
    } catch (const std::exception&) {
        return "";
    }
}

// The WAL written up to now into the repository before a restore onto one host: the leader
// switches to a new segment and pgdr waits until the archiver has stored the completed one (a
// minute at most). Without it a target of the last minutes lies in WAL the leader has not
// archived yet (a segment goes when it is full or after archive_timeout), and the recovery stops
// short of it. The leader is the one snapshot's (Patroni's); none (a lost region): the archive as
// it is, said so.
void archive_current_wal(Context& ctx, const Inventory& inv) {
    ClusterWiring cluster(ctx, inv);
    const std::string leader = current_leader(cluster, inv);
    const auto* h = leader.empty() ? nullptr : inv.find_host(leader);
    if (h == nullptr) {
        say_step(ctx, "warning: no leader to switch its WAL: restoring from the archive as it is");
        return;
    }
    auto t = ssh_transport(ctx, *h);
    RunOptions o;
    o.sudo = true;
    o.timeout = std::chrono::seconds(15);
    auto psql = [&](const std::string& sql) {
        return t->run(
            {"runuser", "-u", "postgres", "--", "psql", "-XAtq", "-d", "postgres", "-c", sql}, o);
    };
    const auto sw = psql("select pg_walfile_name(pg_switch_wal())");
    if (!sw.ok()) {
        say_step(ctx, "warning: the leader " + h->name +
                          " did not switch its WAL: " + trim(sw.err.empty() ? sw.out : sw.err));
        return;
    }
    const std::string segment = trim(sw.out);
    say_step(ctx, "WAL switched on the leader " + h->name + "; waiting until " + segment +
                      " is archived");
    SystemClock clock;
    const auto outcome = poll_until(
        clock, std::chrono::seconds(60), std::chrono::seconds(1), &InterruptGuard::flag(), [&] {
            const auto a = psql("select coalesce(last_archived_wal, '') from pg_stat_archiver");
            return a.ok() && trim(a.out) >= segment;  // WAL file names sort in order
        });
    if (outcome != PollOutcome::holds) {
        say_step(ctx, "warning: " + segment +
                          " was not archived within 60 s: the restore may stop short of a recent "
                          "target (`pgdr backup check`)");
    }
}

int print_target_result(Context& ctx, const Inventory& inv, const pg::RestoreTarget& target,
                        const pg::RestoreResult& r) {
    if (ctx.json()) {
        std::cout << nlohmann::json{{"cluster", inv.cluster},
                                    {"host", r.host},
                                    {"to", target.kind == pg::RestoreTarget::Kind::latest
                                               ? std::string("latest")
                                               : target.value},
                                    {"stopped_member", r.stopped_member},
                                    {"restore_ms", r.restore_elapsed.count()},
                                    {"ready_ms", r.ready_elapsed.count()}}
                         .dump(2)
                  << std::endl;
    } else {
        std::cout << "restored " << inv.cluster << " onto " << r.host << " to "
                  << target_text(target) << ": files in " << r.restore_elapsed.count() / 1000.0
                  << " s, promoted and accepting writes " << r.ready_elapsed.count() / 1000.0
                  << " s later\n";
    }
    return 0;
}

int restore_target(Context& ctx, const RestoreOptions& o) {
    pg::RestoreRequest req;
    req.target = pg::parse_restore_target(o.to);
    req.host = o.target;
    Inventory inv = resolved_inventory(ctx);
    pg::require_backup(inv);
    register_backup_secrets(ctx, inv);
    req.force = o.force;
    const auto* host = inv.find_host(o.target);
    if (host == nullptr) {
        throw usage_error("--target " + o.target + ": no such host in the inventory",
                          "a scratch host goes in the inventory with `services: []`");
    }
    if (host->name == pg::backup_host(inv)) {
        throw usage_error("--target " + o.target +
                              " is the repository host: a restore there would replace its "
                              "pgBackRest configuration",
                          "restore onto a member (--force) or a scratch host (`services: []`)");
    }
    // Over a member, the cluster's lock: nothing else changes the cluster meanwhile.
    std::unique_ptr<ClusterLock> lock;
    if (host->runs(Service::postgres)) {
        lock = take_cluster_lock(ctx, inv, o.break_lock);
        refuse_left_fault(ctx, inv, lock->hosts.by_name);
    }
    auto t = ssh_transport(ctx, *host);
    if (!host->runs(Service::postgres)) {
        prepare_scratch(ctx, inv, *host, *t);
    }
    const auto info = pg::read_backup_info(inv, *t);  // a wrong passphrase fails here, early
    RunOptions probe_options;
    probe_options.sudo = true;
    probe_options.timeout = std::chrono::seconds(30);
    const auto state =
        pg::parse_restore_probe(t->run(pg::restore_probe_argv(inv), probe_options).out);
    if (o.force && (state.patroni_active || state.postgres_running)) {
        req.confirm_cluster = typed_cluster_name(
            inv, o.yes_really, "replace the data of " + host->name + " with the backup's",
            "pgdr -i " + ctx.inventory_path + " restore --to '" + o.to + "' --target " +
                host->name + " --force");
    }
    pg::check_restore_allowed(inv, req, state);
    archive_current_wal(ctx, inv);
    SystemClock clock;
    RestoreWatch watch(ctx, inv, info);
    const bool tty = progress_on_terminal(ctx);
    auto say = [&](const std::string& m) {
        watch.stop();
        say_step(ctx, m);
        if (tty && m.rfind("restoring ", 0) == 0) {
            watch.start(*host);
        }
    };
    const auto r = pg::run_restore(inv, *t, req, clock, say);
    watch.stop();
    return print_target_result(ctx, inv, req.target, r);
}

int print_cluster_result(Context& ctx, const Inventory& inv, const pg::RestoreTarget& target,
                         const pg::ClusterRestoreResult& r) {
    if (ctx.json()) {
        nlohmann::json steps = nlohmann::json::array();
        for (const auto& s : r.steps) {
            steps.push_back({{"step", s.step}, {"host", s.host}, {"ms", s.elapsed.count()}});
        }
        nlohmann::json j{
            {"cluster", inv.cluster},
            {"to",
             target.kind == pg::RestoreTarget::Kind::latest ? std::string("latest") : target.value},
            {"leader", r.leader},
            {"restore_ms", r.restore.restore_elapsed.count()},
            {"total_ms", r.total.count()},
            {"steps", steps}};
        if (r.backup) {
            j["new_backup"] = r.backup->label;
        }
        j["excluded"] = r.excluded;
        std::cout << j.dump(2) << std::endl;
        return 0;
    }
    for (const auto& s : r.steps) {
        char line[120];
        std::snprintf(line, sizeof line, "  %-20s %-8s %8.1f s\n", s.step.c_str(), s.host.c_str(),
                      static_cast<double>(s.elapsed.count()) / 1000.0);
        std::cout << line;
    }
    std::cout << "restored cluster " << inv.cluster << " to " << target_text(target) << " in "
              << r.total.count() / 1000 << " s: " << r.leader
              << (r.excluded.empty()
                      ? " leads, every member streams, the cluster is healthy"
                      : " leads, every member but " + join(r.excluded, ", ") + " streams")
              << (r.backup ? "; new full backup " + r.backup->label : std::string()) << "\n";
    for (const auto& name : r.excluded) {
        std::cout << name << " was left out (--exclude): when it is back, run `pgdr -i "
                  << ctx.inventory_path << " reinit " << name
                  << "` (its data is of the old timeline)\n";
    }
    return 0;
}

int restore_cluster(Context& ctx, const RestoreOptions& o) {
    pg::ClusterRestoreRequest req;
    req.target = pg::parse_restore_target(o.to);
    Inventory inv = resolved_inventory(ctx);
    pg::require_backup(inv);
    register_backup_secrets(ctx, inv);
    req.first = o.target;
    req.exclude = o.exclude;
    pg::plan_cluster_restore(inv, req);  // a wrong --target or --exclude is refused first
    req.confirm_cluster = typed_cluster_name(
        inv, o.yes_really,
        "stop every member, replace all of the cluster's data with the backup's at " +
            target_text(req.target) + ", and re-create the replicas",
        "pgdr -i " + ctx.inventory_path + " restore --cluster --to '" + o.to + "'");
    auto lock = take_cluster_lock(ctx, inv, o.break_lock);
    refuse_left_fault(ctx, inv, lock->hosts.by_name);
    ClusterWiring cluster(ctx, inv);
    req.leader = current_leader(cluster, inv);
    auto hosts = connect_hosts(ctx, inv);
    pg::EtcdCtl etcd(inv, hosts.by_name);
    SystemClock clock;
    InterruptGuard guard;
    const std::string first = pg::plan_cluster_restore(inv, req).front().host;
    const auto info = pg::read_backup_info(inv, *hosts.by_name.at(first));  // fails early
    RestoreWatch watch(ctx, inv, info);
    const bool tty = progress_on_terminal(ctx);
    pg::ClusterRestoreSeams seams{inv, hosts.by_name,          etcd, clock, {}, {},
                                  {},  &InterruptGuard::flag()};
    seams.observe = [&] {
        pg::ClusterView v;
        try {
            const auto st = pg::collect_status(inv, cluster.access());
            v = pg::judge_without(st.leader(), st.findings, req.exclude);
        } catch (const std::exception& e) {
            v.problems = {e.what()};
        }
        return v;
    };
    seams.progress = [&](const std::string& m) { say_step(ctx, m); };
    seams.restoring = [&](const std::string& name, bool running) {
        if (running && tty) {
            watch.start(*inv.find_host(name));
        } else {
            watch.stop();
        }
    };
    const auto r = pg::run_cluster_restore(seams, req);
    return print_cluster_result(ctx, inv, req.target, r);
}

int restore(Context& ctx, const RestoreOptions& o) {
    if (!o.cluster && o.target.empty()) {
        throw usage_error("restore: give --target HOST (one host) or --cluster (every member)");
    }
    if (!o.cluster && !o.exclude.empty()) {
        throw usage_error("restore: --exclude is for --cluster (a member left out)");
    }
    if (o.cluster && o.force) {
        throw usage_error(
            "restore: --force is for --target; --cluster asks for the cluster's "
            "name anyway");
    }
    return o.cluster ? restore_cluster(ctx, o) : restore_target(ctx, o);
}

}  // namespace

void register_restore_commands(CLI::App& app, Context& ctx) {
    auto o = std::make_shared<RestoreOptions>();
    auto* cmd = app.add_subcommand(
        "restore",
        "Restore a backup plus WAL up to a point: onto one host (--target), or the whole "
        "cluster (--cluster)");
    cmd->add_option("--to", o->to,
                    "latest (the end of the archive, default), a time with a zone "
                    "(2026-12-05T16:20:00Z) or an LSN (0/5000060)");
    cmd->add_option("--target", o->target,
                    "The host to restore onto (an inventory host); with --cluster, the member "
                    "restored first (default: the first postgres host)");
    cmd->add_flag("--cluster", o->cluster,
                  "Rebuild the whole cluster from the repository (asks for the cluster's name)");
    cmd->add_flag("--force", o->force,
                  "With --target: restore over a running server (asks for the cluster's name)");
    cmd->add_option("--yes-really", o->yes_really,
                    "The cluster's name, instead of typing it (scripts)");
    cmd->add_option("--exclude", o->exclude,
                    "With --cluster: a member lost with its host, left out of the restore "
                    "(repeatable; a minority of the members, etcd keeping its quorum); "
                    "`pgdr reinit` it once it is back");
    add_break_lock_option(cmd, o->break_lock);
    cmd->callback([&ctx, o] { ctx.action = [&ctx, o] { return restore(ctx, *o); }; });
}

}  // namespace pgdr::cmd
