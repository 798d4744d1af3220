// The link between a primary cluster and its DR cluster (issue 16): how far the DR cluster's
// standby leader is behind, read on the primary cluster's leader, where the DR slot lives.
//
//   bytes    pg_current_wal_lsn() - replay_lsn of the walsender serving the DR slot (what the
//            DR cluster would lose if the primary region went now, at most);
//   seconds  pg_stat_replication.replay_lag of that walsender (PostgreSQL's own measure: how
//            long ago the WAL just replayed was flushed on the primary); 0 when nothing is
//            behind (PostgreSQL then reports no lag), unknown otherwise;
//   retained what the slot keeps on the primary (pg_current_wal_lsn() - restart_lsn): grows
//            while the DR cluster is away, until the disk fills.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "pg/cluster_snapshot.hpp"

namespace pgdr::pg {

struct DrLink {
    bool read = false;
    std::string error;  // why it could not be read
    std::string slot;
    bool slot_exists = false;
    bool slot_active = false;  // a walsender streams through it
    std::optional<std::int64_t> retained_bytes;
    std::string standby;  // the walsender's application_name: the DR cluster's standby leader
    std::string state;    // "streaming", "catchup", ...; "" when none streams
    std::optional<std::int64_t> lag_bytes;
    std::optional<double> lag_seconds;

    bool streaming() const { return slot_active && state == "streaming"; }
};

// The statement for `slot` (a validated slot name: lowercase letters, digits, '_').
std::string dr_link_sql(const std::string& slot);
// Its result (no row: the slot does not exist). Throws nothing.
DrLink parse_dr_link(const QueryResult& result, const std::string& slot);
// Read on `leader` (a member of targets) through the access's reach.
DrLink read_dr_link(const ClusterTargets& targets, const ClusterAccess& access,
                    const std::string& leader, const std::string& slot,
                    std::chrono::milliseconds timeout = k_snapshot_read_timeout);

nlohmann::json dr_link_to_json(const DrLink& link);
// "streaming to r2-pg1: 0 B, 0.000 s behind; slot pgdr_dr retains 16384 B" and the like.
std::string dr_link_text(const DrLink& link);

}  // namespace pgdr::pg
