// pgdr backup run|list|check: pgBackRest's backups of the cluster (man/pgdr-backup.1). Options,
// wiring and output only; the commands and the reading of pgBackRest's answers are pg/backup's.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cmd/context.hpp"
#include "cmd/wiring.hpp"
#include "core/strings.hpp"
#include "pg/backup.hpp"
#include "pg/cluster_snapshot.hpp"
#include "pg/secrets.hpp"

namespace pgdr::cmd {

namespace {

struct BackupOptions {
    std::string type = "full";
    std::string break_lock;
};

// The leader, as Patroni says (the backup script refuses anything else).
const HostSpec& find_leader(Context& ctx, const Inventory& inv) {
    ClusterWiring cluster(ctx, inv);
    pg::SnapshotOptions so;
    so.replication = false;
    so.etcd = false;
    so.haproxy = false;
    const auto snap = pg::take_snapshot(pg::cluster_targets(inv), cluster.access(), so);
    if (snap.leader.empty()) {
        throw Error(ExitCode::verification_failed,
                    snap.patroni_answered
                        ? "the cluster has no single leader ([" + join(snap.leaders, ",") + "])"
                        : "no member's Patroni answered: " + snap.patroni_error,
                    "`pgdr status` shows the cluster; backups run on the leader");
    }
    const auto* h = inv.find_host(snap.leader);
    if (h == nullptr) {
        throw Error(ExitCode::verification_failed,
                    "the leader " + snap.leader + " is not a host of the inventory");
    }
    return *h;
}

// The operator's view of a Secrets' backup part: registered for redaction (pgBackRest's errors
// may quote its configuration).
void register_backup_secrets(Context& ctx, const Inventory& inv) {
    pg::Secrets s;
    try {
        s.backup = pg::load_backup_secrets(inv);
    } catch (const Error&) {
        return;  // the members hold the configuration; a missing local file is no reason to stop
    }
    pg::register_secrets(s, *ctx.log);
}

std::string progress_line(const pg::StanzaInfo& s, std::chrono::steady_clock::time_point start) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    char buf[160];
    if (s.progress && s.progress_total > 0) {
        const double rate = secs > 0 ? static_cast<double>(s.progress_bytes) / secs : 0;
        const double left =
            rate > 0 ? static_cast<double>(s.progress_total - s.progress_bytes) / rate : 0;
        std::snprintf(buf, sizeof buf, "backup: %5.1f%%  %s of %s  %s/s  ETA %.0fs  ",
                      *s.progress * 100, pg::format_bytes(s.progress_bytes).c_str(),
                      pg::format_bytes(s.progress_total).c_str(),
                      pg::format_bytes(static_cast<std::int64_t>(rate)).c_str(), left);
    } else {
        std::snprintf(buf, sizeof buf, "backup: running for %.0fs  ", secs);
    }
    return buf;
}

int backup_run(Context& ctx, const BackupOptions& o) {
    Inventory inv = resolved_inventory(ctx);
    pg::require_backup(inv);
    register_backup_secrets(ctx, inv);
    auto lock = take_cluster_lock(ctx, inv, o.break_lock);
    refuse_left_fault(ctx, inv, lock->hosts.by_name);
    // pgBackRest backs up on the repository host when there is one, else on the leader.
    const std::string repo = pg::backup_host(inv);
    const HostSpec& leader = repo.empty() ? find_leader(ctx, inv) : *inv.find_host(repo);
    auto run_on = ssh_transport(ctx, leader);
    const bool tty = ::isatty(STDERR_FILENO) != 0 && !ctx.json();
    std::unique_ptr<Transport> watch = tty ? ssh_transport(ctx, leader) : nullptr;
    const auto start = std::chrono::steady_clock::now();
    ctx.log->info("backup: " + o.type + " backup of " + inv.cluster +
                  (repo.empty() ? " from " : " on the repository host ") + leader.name +
                  " (reading a streaming standby's files when one streams)");
    pg::BackupRunOptions ro;
    ro.type = o.type;
    ro.watch = watch.get();
    if (tty) {
        ro.progress = [&](const pg::StanzaInfo& s) {
            std::cerr << "\r" << progress_line(s, start) << std::flush;
        };
    }
    const auto b = pg::run_backup(inv, *run_on, ro);
    if (tty) {
        std::cerr << "\r\033[K";
    }
    if (ctx.json()) {
        pg::StanzaInfo one;
        one.name = inv.cluster;
        one.backups = {b};
        std::cout << pg::backups_to_json(one)["backups"][0].dump(2) << std::endl;
    } else {
        std::cout << b.type << " backup " << b.label << " on " << leader.name << ": "
                  << pg::format_bytes(b.size) << " (" << pg::format_bytes(b.repo_size)
                  << " in the repository) in " << b.duration_s() << " s, WAL " << b.wal_start
                  << " .. " << b.wal_stop << "\n";
    }
    return 0;
}

// `info` from the repository host, else the first member that answers (any member reads the
// same repository).
pg::StanzaInfo info_from_a_member(Context& ctx, const Inventory& inv) {
    std::string errors;
    auto hosts = inv.hosts_with(Service::postgres);
    if (const auto* repo = inv.find_host(pg::backup_host(inv))) {
        hosts.insert(hosts.begin(), repo);
    }
    for (const auto* h : hosts) {
        try {
            auto t = ssh_transport(ctx, *h);
            return pg::read_backup_info(inv, *t);
        } catch (const Error& e) {
            if (e.code() != ExitCode::unreachable ||
                e.hint().find("repository") != std::string::npos) {
                throw;  // pgBackRest answered: another member would say the same
            }
            errors += "\n  " + h->name + ": " + e.what();
        }
    }
    throw Error(ExitCode::unreachable, "no member answered:" + errors,
                "`pgdr check` diagnoses SSH");
}

int backup_list(Context& ctx) {
    Inventory inv = resolved_inventory(ctx);
    pg::require_backup(inv);
    register_backup_secrets(ctx, inv);
    const auto info = info_from_a_member(ctx, inv);
    if (ctx.json()) {
        std::cout << ctx.log->redact(pg::backups_to_json(info).dump(2)) << std::endl;
    } else {
        std::cout << ctx.log->redact(pg::render_backup_table(info));
    }
    return 0;
}

int backup_check(Context& ctx) {
    Inventory inv = resolved_inventory(ctx);
    pg::require_backup(inv);
    register_backup_secrets(ctx, inv);
    const HostSpec& leader = find_leader(ctx, inv);
    auto t = ssh_transport(ctx, leader);
    const auto c = pg::check_backup(inv, *t);
    const bool failing = c.archiver_read && c.archiver.failing();
    if (ctx.json()) {
        nlohmann::json j = {{"leader", leader.name},
                            {"check", c.ok},
                            {"archiver_read", c.archiver_read},
                            {"archive_failing", failing}};
        if (c.archiver_read) {
            j["archiver"] = {{"archived_count", c.archiver.archived_count},
                             {"last_archived_wal", c.archiver.last_archived_wal},
                             {"failed_count", c.archiver.failed_count},
                             {"last_failed_wal", c.archiver.last_failed_wal}};
        } else {
            j["archiver_error"] = c.archiver_error;
        }
        std::cout << ctx.log->redact(j.dump(2)) << std::endl;
    } else {
        std::cout << "pgbackrest check on " << leader.name
                  << ": ok (a WAL segment reached the repository)\n";
        if (c.archiver_read) {
            std::cout << "archiver: " << c.archiver.archived_count << " archived (last "
                      << (c.archiver.last_archived_wal.empty() ? "none"
                                                               : c.archiver.last_archived_wal)
                      << "), " << c.archiver.failed_count << " failed"
                      << (c.archiver.last_failed_wal.empty()
                              ? std::string()
                              : " (last " + c.archiver.last_failed_wal + ")")
                      << (failing ? ": FAILING now" : "") << "\n";
        } else {
            std::cout << "archiver: not read (" << c.archiver_error << ")\n";
        }
    }
    return failing ? static_cast<int>(ExitCode::verification_failed) : 0;
}

}  // namespace

void register_backup_commands(CLI::App& app, Context& ctx) {
    auto* backup = app.add_subcommand(
        "backup", "pgBackRest backups of the cluster: run one, list them, check the archive");
    backup->require_subcommand(1);

    auto o = std::make_shared<BackupOptions>();
    auto* run = backup->add_subcommand(
        "run",
        "Take a backup now on the leader, or the repository host (from a streaming standby's "
        "files when one streams)");
    run->add_option("--type", o->type, "full, diff or incr (default full)")
        ->check(CLI::IsMember({"full", "diff", "incr"}));
    add_break_lock_option(run, o->break_lock);
    run->callback([&ctx, o] { ctx.action = [&ctx, o] { return backup_run(ctx, *o); }; });

    auto* list = backup->add_subcommand(
        "list", "The repository's backups: label, type, times, duration, sizes, WAL range");
    list->callback([&ctx] { ctx.action = [&ctx] { return backup_list(ctx); }; });

    auto* check = backup->add_subcommand(
        "check", "pgbackrest check on the leader (WAL reaches the repository) and its archiver");
    check->callback([&ctx] { ctx.action = [&ctx] { return backup_check(ctx); }; });
}

}  // namespace pgdr::cmd
