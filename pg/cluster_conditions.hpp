// The plan's waits on the cluster (WaitForCluster, core/plan.hpp) judged as `pgdr status` judges
// the cluster: the one snapshot (pg/cluster_snapshot.hpp), taken through the ClusterAccess that
// cmd/ builds for status, drills and switchover, and the one assessment (pg/assessment.hpp).
// Bootstrap waits this way for "Patroni names a synchronous standby" and "only the leader UP
// behind the write port": no script on a host repeats those rules.
#pragma once

#include <string>
#include <vector>

#include "core/apply.hpp"
#include "pg/assessment.hpp"
#include "pg/cluster_snapshot.hpp"

namespace pgdr::pg {

class AssessedConditions final : public ClusterConditions {
  public:
    // `access` must outlive this object; it is used from several threads at once (the real
    // one allows it: one curl handle per request, a locked reach, a connection per query).
    AssessedConditions(ClusterTargets targets, const ClusterAccess& access,
                       AssessCriteria criteria);

    // Takes a snapshot of the parts the wait's codes judge (snapshot_for), assesses it and
    // returns the messages of the findings the wait names, about its member or the cluster as
    // a whole. HAProxy's routing is judged per HAProxy: a wait about one reads that one only.
    // Throws std::invalid_argument for a code no rule yields.
    std::vector<std::string> unmet(const WaitForCluster& wait) override;

  private:
    ClusterTargets m_targets;
    ClusterAccess m_access;
    AssessCriteria m_criteria;
};

}  // namespace pgdr::pg
