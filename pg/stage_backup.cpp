#include "pg/stage_backup.hpp"

#include "core/error.hpp"
#include "pg/debian_paths.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/plan_actions.hpp"
#include "pg/stage_files.hpp"

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

// The stanza exists in the repository: info says ok (0) or no valid backup yet (2).
const char* const k_stanza_exists = R"PY(
import json, subprocess, sys
out = subprocess.run(["runuser", "-u", "postgres", "--", "pgbackrest", "--stanza=" + sys.argv[1],
                      "--output=json", "info"], capture_output=True, text=True, timeout=60)
info = json.loads(out.stdout or "[]")
sys.exit(0 if info and info[0].get("status", {}).get("code") in (0, 2) else 1)
)PY";

HostActions member_actions(const Inventory& inv, const HostSpec& h, const HostSpec& primary,
                           const Secrets& secrets) {
    HostActions ha{h.name, {}};
    // The package first: it may ship a configuration file pgdr's would otherwise conflict with.
    ha.actions.emplace_back(install_pgbackrest(inv));
    ha.actions.emplace_back(plan_command(
        {"install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0750", "/var/log/pgbackrest"},
        "create pgBackRest's log directory", Argv{"test", "-d", "/var/log/pgbackrest"}));
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
    const std::string server = k_pgbackrest_server_unit;
    ha.actions.emplace_back(plan_command({"systemctl", "enable", "--quiet", server},
                                         "enable " + server,
                                         Argv{"systemctl", "is-enabled", "--quiet", server}));
    auto restart = plan_command({"systemctl", "restart", server}, "restart " + server);
    restart.when_changed = {k_pgbackrest_conf, "/etc/systemd/system/" + server,
                            "/etc/pgdr/tls/postgres.crt"};
    ha.actions.emplace_back(restart);
    ha.actions.emplace_back(plan_command({"systemctl", "start", server}, "start " + server,
                                         Argv{"systemctl", "is-active", "--quiet", server}));
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
        ha.actions.emplace_back(check);
        ha.actions.emplace_back(plan_command({"systemctl", "enable", "--quiet", "--now", timer},
                                             "enable " + timer,
                                             Argv{"sh", "-c",
                                                  "systemctl is-enabled --quiet \"$1\" && "
                                                  "systemctl is-active --quiet \"$1\"",
                                                  "pgdr-timer", timer}));
        auto restart_timer = plan_command({"systemctl", "restart", timer}, "restart " + timer);
        restart_timer.when_changed = {"/etc/systemd/system/" + timer};
        ha.actions.emplace_back(restart_timer);
    }
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
    Argv argv{"runuser", "-u", "postgres", "--", "pgbackrest", "--stanza=" + inv.cluster};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

void plan_backup(Plan& plan, const Inventory& inv, const HostSpec& primary,
                 const Secrets& secrets) {
    if (!inv.backup) {
        return;
    }
    if (inv.backup->repo.type == "posix") {
        throw config_error(
            "backup.repo.type posix: bootstrap cannot plan a repository host yet (it needs a "
            "pgBackRest TLS certificate of its own)",
            "use an S3 repository (type s3), or remove the backup section");
    }
    auto& members = plan.add_step(Stage::backup, "pgBackRest on the members");
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        members.hosts.push_back(member_actions(inv, *h, primary, secrets));
    }
    auto& move = plan.add_step(Stage::backup, "archive to pgBackRest");
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        move.hosts.push_back({h->name, {move_from_cp_archive(inv)}});
    }
    plan.add_step(Stage::backup, "stanza", HostOrder::sequential)
        .hosts.push_back(
            {primary.name,
             {plan_command(pgbackrest_argv(inv, {"stanza-create"}),
                           "create the stanza " + inv.cluster + " in the repository",
                           Argv{"python3", "-c", k_stanza_exists, inv.cluster}, seconds(300))}});
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
