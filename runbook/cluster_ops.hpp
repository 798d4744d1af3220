// What runbook steps do to a cluster: run an argv on selected hosts and SQL as postgres over
// the local socket (the hosts' Transports), and evaluate conditions (who leads, who streams per
// the leader's pg_stat_replication, health) on the one snapshot and assessment that
// `pgdr status` uses (pg/cluster_snapshot.hpp, pg/assessment.hpp). Results are values; only
// programming errors throw.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "pg/status.hpp"
#include "runbook/model.hpp"

namespace pgdr::runbook {

struct Outcome {
    bool ok = false;
    bool timed_out = false;
    std::string output;  // what was seen (per host for several hosts)
    std::string error;   // why it failed
};

class ClusterOps {
  public:
    // psql_vars: set as psql variables (-v name=value) for every SQL step, so queries can use
    // :'name' instead of splicing values into the SQL text.
    ClusterOps(const Inventory& inv, const pg::TransportLookup& transports,
               pg::ClusterAccess access, std::map<std::string, std::string> psql_vars = {});

    Outcome run(const RunStep& step, std::chrono::milliseconds timeout);
    Outcome sql(const SqlStep& step, std::chrono::milliseconds timeout);
    // ok: the condition holds; output says what was observed.
    Outcome evaluate(const Condition& condition, std::chrono::milliseconds timeout);

    // Host names for a selector; roles are resolved through Patroni. Empty (and `error`) when
    // none or unknown.
    std::vector<std::string> resolve(const HostSelector& selector, std::string& error);

    // The argv of an SQL step on one host (the query goes on stdin).
    std::vector<std::string> psql_argv(const std::string& database) const;

  private:
    pg::ClusterSnapshot snapshot(bool replication) const;

    const Inventory& m_inv;
    const pg::TransportLookup& m_transports;
    pg::ClusterAccess m_access;
    std::map<std::string, std::string> m_psql_vars;
};

}  // namespace pgdr::runbook
