// pgdr guard status, and what `pgdr bootstrap`'s guard stage needs from this machine.
#pragma once

#include "cmd/context.hpp"
#include "core/apply.hpp"
#include "core/inventory.hpp"
#include "core/state.hpp"
#include "drills/engine.hpp"
#include "pg/secrets.hpp"

namespace pgdr::cmd {

// The guard stage's inputs (guard.enabled): one guard.json per guard host, the agents' key
// (guard.credentials_file, refused when others may read it) rewritten for the hosts' endpoint,
// the provider's CA and the pgdr-guard binary (PGDR_GUARD_BINARY, else beside this pgdr, else
// the build tree's). Its secrets are registered with the log's redaction. Throws pgdr::Error
// (invalid_config) naming what is missing.
pg::GuardInputs load_guard_inputs(Context& ctx, const Inventory& inv, const ClusterState& state);

// Every failover pgdr-guard recorded in etcd (/pgdr/<cluster>/guard/failovers/), read with
// etcdctl on an etcd member: the drills' guard_phases.
std::vector<drills::GuardFailoverRecord> guard_failover_records(const Inventory& inv,
                                                                TransportMap transports);

// `pgdr status`'s guard section (guard::summary_json) when the inventory enables the guard;
// null when it does not. An etcd that cannot be read is {"error": ...}.
nlohmann::json guard_summary(const Inventory& inv, TransportMap transports);

}  // namespace pgdr::cmd
