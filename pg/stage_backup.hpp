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
//   stanza      `stanza-create` on the leader (skipped when `info` finds the stanza).
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

}  // namespace pgdr::pg
