// The one candidate picker: which replica should take over from the leader (switchover, the
// switchover drill) or in its place (failover). `pgdr switchover`, `pgdr failover` and
// `pgdr drill --switchover` all ask it, so the same cluster gets the same answer.
//
// A member can take over when it:
//   - is not a leader, is running ("running" or "streaming") and has no nofailover tag;
//   - with a leader: is on the leader's timeline and, when pg_stat_replication was read,
//     streams there; without one (failover): is on the highest timeline among the replicas;
//   - under synchronous_mode: is a synchronous or quorum standby (Patroni answers HTTP 412
//     "candidate name does not match with sync_standby" to any other);
//   - lags no more than the bound, when one is given; an unknown lag is refused unless the
//     policy allows it (the operator forced it).
// Among those, a synchronous standby first, then the least lag (the leader's
// pg_stat_replication when read, else Patroni's; unknown last), then the name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pg/cluster_snapshot.hpp"

namespace pgdr::pg {

struct CandidatePolicy {
    bool synchronous_mode = false;
    std::optional<std::int64_t> max_lag_bytes;  // empty: no bound
    bool allow_unknown_lag = false;
};

struct CandidateChoice {
    std::string name;  // "" when no member can take over
    std::string why;   // why it was chosen, or why none could be
};

CandidateChoice pick_candidate(const ClusterSnapshot& snapshot, const CandidatePolicy& policy);

// Why `name` cannot take over under `policy`; "" when it can. The same rules as the picker,
// for a candidate the operator named.
std::string candidate_refusal(const ClusterSnapshot& snapshot, const CandidatePolicy& policy,
                              const std::string& name);

}  // namespace pgdr::pg
