#include "pg/cluster_conditions.hpp"

#include <algorithm>

namespace pgdr::pg {

AssessedConditions::AssessedConditions(ClusterTargets targets, const ClusterAccess& access,
                                       AssessCriteria criteria)
    : m_targets(std::move(targets)), m_access(access), m_criteria(criteria) {}

std::vector<std::string> AssessedConditions::unmet(const WaitForCluster& wait) {
    const SnapshotOptions options = snapshot_for(wait.absent);
    ClusterTargets targets = m_targets;
    const auto is_member = [&wait](const ClusterNode& n) { return n.name == wait.member; };
    if (std::any_of(targets.haproxy.begin(), targets.haproxy.end(), is_member)) {
        std::erase_if(targets.haproxy, [&](const ClusterNode& n) { return !is_member(n); });
    }
    std::vector<std::string> out;
    for (const auto& f : assess(targets, take_snapshot(targets, m_access, options), m_criteria)) {
        const bool named =
            std::find(wait.absent.begin(), wait.absent.end(), f.code) != wait.absent.end();
        const bool concerned = wait.member.empty() || f.member.empty() || f.member == wait.member;
        if (named && concerned) {
            out.push_back(f.message);
        }
    }
    return out;
}

}  // namespace pgdr::pg
