// The guard against taking over a cluster pgdr did not build (issue 13 item 1): an existing
// hand-built Patroni + etcd cluster, or pgdr's own from a lost state directory, passes every
// data-directory check, so bootstrap would rewrite its patroni.yml and wipe its etcd.
#pragma once

#include <map>
#include <string>

#include "core/inventory.hpp"
#include "pg/facts.hpp"

namespace pgdr::pg {

// Host facts by inventory host name (the same alias as bootstrap_plan.hpp's).
using FactsMap = std::map<std::string, HostFacts>;

// Throws pgdr::Error (ExitCode::postgres) unless adopt is set when
//   - an etcd host without pgdr's marker holds an etcd member that is not Debian's pristine
//     single node (more than one member, any key, or a member that could not be asked);
//   - Patroni runs on a PostgreSQL host with a configuration that is not pgdr's for this cluster
//     (its first line), or runs while the state directory records no system identifier.
// The message says what was found; the hint names `pgdr bootstrap -i INVENTORY --adopt`.
// With adopt, such an etcd member is kept as it is (never reset) and Patroni is taken over.
void check_foreign_cluster(const Inventory& inv, const FactsMap& facts,
                           const std::string& expected_sysid, bool adopt,
                           const std::string& inventory_path);

// Throws pgdr::Error (invalid_config) when a PostgreSQL host records another cluster or other
// passwords (secrets_fingerprint_path()) than `fingerprint` (pg::secrets_fingerprint of the
// state directory's secrets): the state directory was lost, regenerated or is another cluster's,
// and its passwords would break authentication on the running cluster. Not bypassed by --adopt.
// A host that records nothing (not bootstrapped yet) passes.
void check_secrets_match(const Inventory& inv, const FactsMap& facts,
                         const std::string& fingerprint);

// The line recorded on the hosts for this cluster and fingerprint.
std::string secrets_record(const Inventory& inv, const std::string& fingerprint);

// The first line pgdr writes into patroni.yml for this cluster.
std::string pgdr_patroni_header(const Inventory& inv);

}  // namespace pgdr::pg
