#include "pg/stage_backup.hpp"

#include "core/backup_repo.hpp"
#include "core/error.hpp"
#include "pg/debian_paths.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/plan_actions.hpp"
#include "pg/stage_files.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

namespace {

using std::chrono::seconds;
using Argv = std::vector<std::string>;

RunCommand install_pgbackrest(const Inventory& inv) {
    const Argv packages{"pgbackrest"};
    Argv argv{"sh", "-c",
              "export DEBIAN_FRONTEND=noninteractive; "
              "apt-get install -y -q --no-install-recommends \"$@\" || "
              "{ apt-get update -q && apt-get install -y -q --no-install-recommends \"$@\"; }",
              "pgdr-install", "pgbackrest"};
    return plan_command(argv, "install pgbackrest (" + pgbackrest_version(inv.release) + ")",
                        packages_installed(packages), seconds(1200));
}

// The stanza exists in the repository: info (as `user`) says ok (0) or no valid backup yet (2).
std::string stanza_exists_script(const std::string& user) {
    return R"PY(
import json, subprocess, sys
out = subprocess.run(["runuser", "-u", ")PY" +
           user + R"PY(", "--", "pgbackrest", "--stanza=" + sys.argv[1],
                      "--output=json", "info"], capture_output=True, text=True, timeout=60)
info = json.loads(out.stdout or "[]")
sys.exit(0 if info and info[0].get("status", {}).get("code") in (0, 2) else 1)
)PY";
}

// The TLS server: enabled, restarted when its configuration or certificate changed, running.
void server_actions(std::vector<Action>& actions, const std::string& cert) {
    const std::string server = k_pgbackrest_server_unit;
    actions.emplace_back(plan_command({"systemctl", "enable", "--quiet", server},
                                      "enable " + server,
                                      Argv{"systemctl", "is-enabled", "--quiet", server}));
    auto restart = plan_command({"systemctl", "restart", server}, "restart " + server);
    restart.when_changed = {k_pgbackrest_conf, "/etc/systemd/system/" + server, cert};
    actions.emplace_back(restart);
    actions.emplace_back(plan_command({"systemctl", "start", server}, "start " + server,
                                      Argv{"systemctl", "is-active", "--quiet", server}));
}

// The schedule's timers, checked by systemd and enabled (where the backup script runs).
void timer_actions(std::vector<Action>& actions, const Inventory& inv) {
    const std::pair<const char*, const std::string*> schedule[] = {
        {"full", &inv.backup->schedule.full}, {"diff", &inv.backup->schedule.diff}};
    for (const auto& [type, calendar] : schedule) {
        if (calendar->empty()) {
            continue;
        }
        const std::string timer = backup_unit_name(type, "timer");
        auto check = plan_command(
            {"systemd-analyze", "calendar", *calendar},
            "systemd accepts the " + std::string(type) + " schedule '" + *calendar + "'");
        check.check_only = true;
        actions.emplace_back(check);
        actions.emplace_back(plan_command({"systemctl", "enable", "--quiet", "--now", timer},
                                          "enable " + timer,
                                          Argv{"sh", "-c",
                                               "systemctl is-enabled --quiet \"$1\" && "
                                               "systemctl is-active --quiet \"$1\"",
                                               "pgdr-timer", timer}));
        auto restart_timer = plan_command({"systemctl", "restart", timer}, "restart " + timer);
        restart_timer.when_changed = {"/etc/systemd/system/" + timer};
        actions.emplace_back(restart_timer);
    }
}

const char* const k_log_dir = "/var/log/pgbackrest";

// A directory owned by `user`, 0750, made when missing.
RunCommand owned_directory(const std::string& path, const std::string& user,
                           const std::string& what) {
    return plan_command({"install", "-d", "-o", user, "-g", user, "-m", "0750", path}, what,
                        Argv{"test", "-d", path});
}

// The same, also put right when it exists with another owner or mode: Debian's package makes
// pgBackRest's directories for postgres, or root where there is no postgres (the repository
// host).
RunCommand owned_exactly(const std::string& path, const std::string& user,
                         const std::string& what) {
    auto c = owned_directory(path, user, what);
    c.unless = Argv{"sh",         "-c", "[ \"$(stat -c %U:%G:%a \"$1\" 2>/dev/null)\" = \"$2\" ]",
                    "pgdr-owned", path, user + ":" + user + ":750"};
    return c;
}

// pgBackRest on `h`: the package, `dirs` (its log directory, the repository host's user and
// repository), then its files; systemd reloaded when a unit changed.
HostActions pgbackrest_host(const Inventory& inv, const HostSpec& h, const HostSpec& primary,
                            const Secrets& secrets, std::vector<RunCommand> dirs) {
    HostActions ha{h.name, {}};
    // The package first: it may ship a configuration file pgdr's would otherwise conflict with.
    ha.actions.emplace_back(install_pgbackrest(inv));
    for (auto& d : dirs) {
        ha.actions.emplace_back(std::move(d));
    }
    std::vector<std::string> units;
    for (auto& f : stage_files(inv, h, primary, secrets, Stage::backup)) {
        if (f.path.rfind("/etc/systemd/system/", 0) == 0) {
            units.push_back(f.path);
        }
        ha.actions.emplace_back(std::move(f));
    }
    auto reload = plan_command({"systemctl", "daemon-reload"}, "reload systemd's units");
    reload.when_changed = units;
    ha.actions.emplace_back(reload);
    return ha;
}

HostActions member_actions(const Inventory& inv, const HostSpec& h, const HostSpec& primary,
                           const Secrets& secrets) {
    auto ha = pgbackrest_host(
        inv, h, primary, secrets,
        {owned_directory(k_log_dir, "postgres", "create pgBackRest's log directory")});
    server_actions(ha.actions, tls_paths().postgres_cert);
    if (backup_repo_host(inv) == nullptr) {
        timer_actions(ha.actions, inv);
    }
    return ha;
}

// The repository host: its user (made by the packages stage already; again here for a
// `--stage backup` run), the repository's directory (repo1-path) and the log directory owned by
// it, its TLS server, the timers.
HostActions repo_host_actions(const Inventory& inv, const HostSpec& h, const HostSpec& primary,
                              const Secrets& secrets) {
    const std::string& path = inv.backup->repo.path;
    const std::string user = k_pgbackrest_repo_user;
    auto ha = pgbackrest_host(
        inv, h, primary, secrets,
        {repo_user_action(),
         owned_exactly(path, user, "the repository's directory " + path + ", owned by " + user),
         owned_exactly(k_log_dir, user, "pgBackRest's log directory, owned by " + user)});
    server_actions(ha.actions, tls_paths().pgbackrest_cert);
    timer_actions(ha.actions, inv);
    return ha;
}

// A member whose PostgreSQL still archives with cp into paths.archive_dir: says what changes.
// The patroni stage's configuration does the switch; the directory is never deleted by pgdr.
RunCommand move_from_cp_archive(const Inventory& inv) {
    const auto paths = debian_paths(inv);
    const std::string& dir = inv.paths.archive_dir;
    return plan_command(
        {"sh", "-c",
         "echo \"pgdr: WAL archiving moves from the local cp archive in $1 to pgBackRest; $1 is "
         "left in place: delete it once 'pgdr backup list' shows a full backup\"",
         "pgdr-archive-move", dir},
        "move WAL archiving from the local cp archive to pgBackRest (" + dir +
            " is left in place: delete it once `pgdr backup list` shows a full backup)",
        Argv{"sh", "-c", "! grep -qsF \"cp %p $1/\" \"$2\" \"$3\"", "pgdr-archive-cp", dir,
             paths.patroni_config, paths.include_file});
}

}  // namespace

std::vector<std::string> pgbackrest_argv(const Inventory& inv,
                                         const std::vector<std::string>& args) {
    return pgbackrest_argv_as("postgres", inv, args);
}

std::vector<std::string> pgbackrest_argv_as(const std::string& user, const Inventory& inv,
                                            const std::vector<std::string>& args) {
    Argv argv{"runuser", "-u", user, "--", "pgbackrest", "--stanza=" + inv.cluster};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

std::string pgbackrest_user_on(const Inventory& inv, const std::string& host) {
    return is_backup_repo_host(inv, host) ? k_pgbackrest_repo_user : "postgres";
}

void plan_backup(Plan& plan, const Inventory& inv, const HostSpec& primary,
                 const Secrets& secrets) {
    if (reads_primary_archive(inv)) {
        // A DR cluster: pgBackRest reads the primary's archive (restore_command); no server,
        // timers, stanza or archiving of its own.
        auto& members = plan.add_step(Stage::backup, "pgBackRest on the members (archive-get)");
        for (const auto* h : inv.hosts_with(Service::postgres)) {
            members.hosts.push_back(pgbackrest_host(
                inv, *h, primary, secrets,
                {owned_directory(k_log_dir, "postgres", "create pgBackRest's log directory")}));
        }
        return;
    }
    if (!inv.backup) {
        return;
    }
    const HostSpec* repo = backup_repo_host(inv);
    auto& members = plan.add_step(Stage::backup, "pgBackRest on the members");
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        members.hosts.push_back(member_actions(inv, *h, primary, secrets));
    }
    if (repo != nullptr) {
        plan.add_step(Stage::backup, "pgBackRest repository host")
            .hosts.push_back(repo_host_actions(inv, *repo, primary, secrets));
    }
    auto& move = plan.add_step(Stage::backup, "archive to pgBackRest");
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        move.hosts.push_back({h->name, {move_from_cp_archive(inv)}});
    }
    // stanza-create runs where the repository is: the repository host, else the leader.
    const HostSpec& on = repo != nullptr ? *repo : primary;
    const std::string user = pgbackrest_user_on(inv, on.name);
    plan.add_step(Stage::backup, "stanza", HostOrder::sequential)
        .hosts.push_back(
            {on.name,
             {plan_command(pgbackrest_argv_as(user, inv, {"stanza-create"}),
                           "create the stanza " + inv.cluster + " in the repository",
                           Argv{"python3", "-c", stanza_exists_script(user), inv.cluster},
                           seconds(300))}});
}

RunCommand repo_user_action() {
    const std::string user = k_pgbackrest_repo_user;
    return plan_command({"useradd", "--system", "--user-group", "--home-dir", "/var/lib/" + user,
                         "--shell", "/usr/sbin/nologin", user},
                        "create the user " + user + " (owns the backup repository)",
                        Argv{"id", "-u", user});
}

std::optional<RunCommand> backup_check_action(const Inventory& inv) {
    if (!inv.backup) {
        return std::nullopt;
    }
    auto check = plan_command(pgbackrest_argv(inv, {"check"}),
                              "pgbackrest check: a WAL segment reaches the repository, the stanza "
                              "matches the cluster",
                              std::nullopt, seconds(300));
    check.check_only = true;
    return check;
}

}  // namespace pgdr::pg
