// The backup stage of bootstrap (issue 14): pgBackRest on every member, planned only with the
// inventory's backup section (pg/pgbackrest_conf.hpp renders its files).
//
//   members     pgbackrest installed (Debian 12: 2.45, 13: 2.55.1), then its files; the TLS
//               server (backups read a standby's files through it) restarted when its
//               configuration changed; the schedule's timers checked (systemd-analyze calendar)
//               and enabled;
//   move        a member still archiving with the local cp archive (paths.archive_dir) is moved:
//               the patroni stage then sets pgBackRest's archive_command; the old directory is
//               left for the operator to delete, and the plan says so;
//   repo host   with backup.repo.type posix (pgBackRest's dedicated repository host over TLS):
//               pgbackrest, the repository's directory (0750 pgbackrest), its files, its TLS
//               server, the timers; its user pgbackrest is made by the packages stage (before
//               the certificates stage writes its pair);
//   stanza      `stanza-create` where the repository is managed: the repository host, else the
//               leader (skipped when `info` finds the stanza).
// The verify stage then runs `pgbackrest check` on the leader (a WAL segment reaches the
// repository): after the patroni stage has switched archive_command.
#pragma once

#include "core/inventory.hpp"
#include "core/plan.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

void plan_backup(Plan& plan, const Inventory& inv, const HostSpec& primary, const Secrets& secrets);

// `pgbackrest check` on the leader, for the verify stage; nullopt without a backup section.
std::optional<RunCommand> backup_check_action(const Inventory& inv);

// pgBackRest as postgres on a member: runuser -u postgres -- pgbackrest --stanza=CLUSTER args...
std::vector<std::string> pgbackrest_argv(const Inventory& inv,
                                         const std::vector<std::string>& args);
// The same as `user` (pgbackrest on the repository host).
std::vector<std::string> pgbackrest_argv_as(const std::string& user, const Inventory& inv,
                                            const std::vector<std::string>& args);
// The user pgBackRest runs as on `host`: pgbackrest on the repository host, else postgres.
std::string pgbackrest_user_on(const Inventory& inv, const std::string& host);

// The packages stage on the repository host: its user pgbackrest (useradd --system), unless
// `id -u pgbackrest` finds it.
RunCommand repo_user_action();

}  // namespace pgdr::pg
