// A host outside the cluster made ready for `pgdr restore --target HOST` (issue 14: "into a
// scratch or new host"): PostgreSQL of the cluster's major version and pgBackRest from Debian,
// Debian's auto-created cluster stopped (the restore replaces its data directory; its
// configuration in /etc/postgresql/ stays), pgBackRest's log directory, and the restore
// configuration (the repository and pg1 only: render_pgbackrest_restore_conf) with the
// repository's CA. Idempotent: a prepared host changes nothing. The members need none of it
// (bootstrap's backup stage configured them).
#pragma once

#include "core/inventory.hpp"
#include "core/plan.hpp"
#include "pg/secrets.hpp"

namespace pgdr::pg {

// One step of stage backup, for `host`. Throws pgdr::Error (invalid_config) like
// render_pgbackrest_restore_conf, or a usage error for a host that runs postgres (a member).
Plan plan_restore_scratch(const Inventory& inv, const HostSpec& host, const Secrets& secrets);

}  // namespace pgdr::pg
