#include "pg/restore.hpp"

#include <regex>

#include "core/error.hpp"
#include "core/poll.hpp"
#include "core/strings.hpp"
#include "pg/backup.hpp"
#include "pg/debian_paths.hpp"
#include "pg/stage_backup.hpp"

namespace pgdr::pg {

namespace {

using Argv = std::vector<std::string>;

CommandResult run_sudo(Transport& t, const Argv& argv, std::chrono::milliseconds timeout) {
    RunOptions o;
    o.sudo = true;
    o.timeout = timeout;
    return t.run(argv, o);
}

void require_ok(const CommandResult& r, const std::string& what, const std::string& host) {
    if (!r.ok()) {
        throw Error(ExitCode::postgres,
                    what + " on " + host + " failed: " + trim(r.err.empty() ? r.out : r.err));
    }
}

}  // namespace

RestoreTarget parse_restore_target(const std::string& text) {
    static const std::regex k_time(
        R"(^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(\.\d{1,6})?)(Z|[+-]\d{2}(:?\d{2})?)$)");
    static const std::regex k_lsn("^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$");
    RestoreTarget t;
    std::smatch m;
    if (text == "latest") {
        return t;
    }
    if (text.size() < 64 && std::regex_match(text, m, k_time)) {
        t.kind = RestoreTarget::Kind::time;
        const std::string zone = m[4].str() == "Z" ? "+00" : m[4].str();
        t.value = m[1].str() + " " + m[2].str() + zone;
        return t;
    }
    if (std::regex_match(text, k_lsn)) {
        t.kind = RestoreTarget::Kind::lsn;
        t.value = text;
        return t;
    }
    throw usage_error("--to " + text + ": not latest, a time with a zone, or an LSN",
                      "e.g. --to latest, --to 2026-12-05T16:20:00Z, --to '2026-12-05 "
                      "17:20:00+01:00', --to 0/5000060");
}

Argv restore_argv(const Inventory& inv, const RestoreTarget& target) {
    Argv args{"--delta"};
    switch (target.kind) {
        case RestoreTarget::Kind::latest:
            args.push_back("--type=default");
            break;
        case RestoreTarget::Kind::time:
            args.push_back("--type=time");
            args.push_back("--target=" + target.value);
            args.push_back("--target-action=promote");
            break;
        case RestoreTarget::Kind::lsn:
            args.push_back("--type=lsn");
            args.push_back("--target=" + target.value);
            args.push_back("--target-action=promote");
            break;
    }
    args.push_back("restore");
    return pgbackrest_argv(inv, args);
}

Argv restore_probe_argv(const Inventory& inv) {
    const auto paths = debian_paths(inv);
    return {"sh",
            "-c",
            "echo \"patroni=$(systemctl is-active \"$1\" 2>/dev/null || true) "
            "postgres=$(pg_ctlcluster \"$2\" main status >/dev/null 2>&1; echo $?)\"",
            "pgdr-restore-probe",
            paths.patroni_unit,
            std::to_string(inv.postgres_version)};
}

RestoreHostState parse_restore_probe(const std::string& out) {
    RestoreHostState s;
    for (const auto& word : split(trim(out), ' ')) {
        if (word == "patroni=active" || word == "patroni=activating" ||
            word == "patroni=reloading") {
            s.patroni_active = true;
        }
        if (word == "postgres=0") {
            s.postgres_running = true;
        }
    }
    return s;
}

void check_restore_allowed(const Inventory& inv, const RestoreRequest& req,
                           const RestoreHostState& state) {
    const auto* h = inv.find_host(req.host);
    if (h == nullptr) {
        throw usage_error("--target " + req.host + ": no such host in the inventory");
    }
    const bool running = state.patroni_active || state.postgres_running;
    if (!running) {
        return;
    }
    const std::string what =
        req.host + " runs " + (state.patroni_active ? std::string("Patroni") : "PostgreSQL") +
        (h->runs(Service::postgres) ? " (a member of " + inv.cluster + ")" : std::string());
    if (!req.force) {
        throw usage_error("refusing to restore over a running server: " + what,
                          "restore onto a scratch host; to replace this one's data anyway, add "
                          "--force --yes-really " +
                              inv.cluster);
    }
    if (req.confirm_cluster != inv.cluster) {
        throw usage_error("--force over a running server needs the cluster's name typed: " + what,
                          "add --yes-really " + inv.cluster + " (or type it when asked)");
    }
}

RestoreResult run_restore(const Inventory& inv, Transport& host, const RestoreRequest& req,
                          Clock& clock, const std::function<void(const std::string&)>& progress) {
    auto say = [&](const std::string& m) {
        if (progress) {
            progress(m);
        }
    };
    const auto paths = debian_paths(inv);
    const std::string v = std::to_string(inv.postgres_version);
    RestoreResult out;
    out.host = req.host;
    auto probe = run_sudo(host, restore_probe_argv(inv), std::chrono::seconds(30));
    require_ok(probe, "reading what runs", req.host);
    const auto state = parse_restore_probe(probe.out);
    check_restore_allowed(inv, req, state);
    if (state.patroni_active || state.postgres_running) {
        say("stopping Patroni and PostgreSQL on " + req.host + " (--force)");
        require_ok(run_sudo(host,
                            {"sh", "-c",
                             "systemctl stop \"$1\" 2>/dev/null || true; "
                             "pg_ctlcluster \"$2\" main stop --force 2>/dev/null || true; "
                             "! pg_ctlcluster \"$2\" main status >/dev/null 2>&1",
                             "pgdr-restore-stop", paths.patroni_unit, v},
                            std::chrono::minutes(5)),
                   "stopping PostgreSQL", req.host);
        out.stopped_member = true;
    }
    say("restoring " + inv.cluster + " onto " + req.host + " (pgbackrest restore)");
    const auto start = clock.steady_now();
    auto r = run_sudo(host, restore_argv(inv, req.target), req.timeout);
    if (!r.ok()) {
        throw_pgbackrest_failure("pgbackrest restore", req.host, r, &inv);
    }
    out.restore_elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady_now() - start);
    say("starting PostgreSQL on " + req.host + "; it replays WAL to the target");
    const auto started = clock.steady_now();
    const auto started_pg =
        run_sudo(host, {"pg_ctlcluster", v, "main", "start"}, std::chrono::minutes(10));
    if (!started_pg.ok()) {
        // The usual cause: the target lies in WAL the leader has not archived yet (a segment
        // goes to the repository when it is full or after archive_timeout), and PostgreSQL
        // stops with "recovery ended before configured recovery target was reached".
        const auto log =
            run_sudo(host, {"tail", "-n", "30", paths.log_file}, std::chrono::seconds(10));
        if (log.out.find("recovery ended before configured recovery target was reached") !=
            std::string::npos) {
            throw Error(ExitCode::postgres,
                        "the archive does not reach " + req.target.value +
                            " yet: the WAL "
                            "holding it is not in the repository (PostgreSQL on " +
                            req.host + " stopped: recovery ended before the target)",
                        "the leader archives a WAL segment when it is full or after "
                        "archive_timeout: switch it (`select pg_switch_wal()` as postgres on "
                        "the leader) or wait, then restore again");
        }
        require_ok(started_pg, "pg_ctlcluster start", req.host);
    }
    const Argv promoted{"runuser", "-u", "postgres", "--", "psql",
                        "-XAtq",   "-d", "postgres", "-c", "select not pg_is_in_recovery()"};
    const auto outcome = poll_until(clock, req.timeout, std::chrono::seconds(1), nullptr, [&] {
        auto q = run_sudo(host, promoted, std::chrono::seconds(10));
        return q.ok() && trim(q.out) == "t";
    });
    if (outcome != PollOutcome::holds) {
        throw Error(
            ExitCode::postgres,
            "PostgreSQL on " + req.host + " did not finish recovery and accept writes in time",
            "its log (/var/log/postgresql/) says how far the replay got");
    }
    out.ready_elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady_now() - started);
    return out;
}

}  // namespace pgdr::pg
