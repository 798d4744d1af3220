// pgdr drill --lose-region REGION [--promote] (issue 16): a pair of clusters loses a region
// while two writers write marker rows, one through the primary cluster's HAProxy, one through
// the DR cluster's (a client that knows both and takes whichever accepts a write).
//
//   baseline   the DR cluster streams through its slot; its lag (bytes, seconds) is read
//              just before the fault: dr_lag_at_fault_bytes, and the expected loss window (the
//              replay lag plus one write interval: asynchronous replication between the
//              regions loses what the DR cluster had not received);
//   fault      every host of REGION loses its network (lab: partitioned; OVH: stopped);
//   detection  nothing of the primary cluster has answered for `lost_after` (the decision
//              rule: a region is lost, not a member);
//   decision   with --promote at once (pgdr dr promote --force: the lost hosts cannot be
//              fenced); without it the drill reports detection and waits for the operator no
//              further (a runbook step decides);
//   promotion  the DR cluster promoted; client re-routing: the first write acknowledged
//              through the DR cluster's HAProxy (rto_ms: from the fault);
//   loss       the primary writer's acknowledged rows missing on the promoted cluster
//              (lost_acknowledged_writes), each judged against the expected window;
//   restore    the region's network back; its old primary cluster fenced at once (it must not
//              serve writes beside the promoted one): the pair stays failed over.
// Losing the DR region instead: writes on the primary must go on; nothing is promoted.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/inventory.hpp"
#include "pg/dr_link.hpp"
#include "pg/dr_promote.hpp"

namespace pgdr::drills {

struct RegionDrillRequest {
    std::string region;
    bool promote = false;
    std::chrono::milliseconds lost_after{std::chrono::seconds(5)};
    std::chrono::milliseconds write_interval{50};
    std::chrono::milliseconds settle{std::chrono::seconds(2)};  // writes before the fault
    std::chrono::milliseconds timeout{std::chrono::seconds(180)};
    std::optional<long long> max_rto_ms;
    long long first_id = 1;  // the writers' first marker id (after the table's earlier rows)
};

struct RegionPhase {
    std::string name;
    long long at_ms = 0;  // after the fault (negative: before it)
    std::string detail;
};

struct RegionCheck {
    std::string name;
    bool ok = false;
    std::string detail;
};

struct RegionDrillReport {
    std::string region;
    std::string primary_cluster;
    std::string dr_cluster;
    bool losing_primary = false;  // REGION is the primary cluster's
    bool promoted = false;
    std::optional<long long> dr_lag_at_fault_bytes;
    std::optional<double> dr_lag_at_fault_seconds;
    std::optional<long long> expected_loss_window_ms;
    std::optional<long long> rto_ms;
    long long writes_acknowledged_primary = 0;
    long long writes_acknowledged_dr = 0;
    long long write_attempts_primary = 0;  // each a new connection through HAProxy
    long long write_attempts_dr = 0;
    std::string last_write_error_primary;  // the last failed attempt's reason
    std::string last_write_error_dr;
    std::optional<long long> lost_acknowledged_writes;
    std::vector<long long> lost_ids;
    std::optional<long long> oldest_lost_before_fault_ms;  // how long before the fault
    std::vector<RegionPhase> phases;
    std::vector<RegionCheck> checks;
    pg::DrPromoteResult promotion;
    std::string verdict;  // pass | fail | objectives_missed
    std::string error;
};

struct RegionDrillSeams {
    const Inventory& pair;  // the primary cluster's view, with its dr section
    Clock& clock;
    std::function<pg::DrLink()> dr_link;
    // The hosts lose their network (and get it back).
    std::function<void(const std::vector<std::string>& hosts)> cut;
    std::function<void(const std::vector<std::string>& hosts)> heal;
    // The old primary cluster's members fenced (after heal), as dr promote does.
    std::function<void(const std::vector<std::string>& hosts)> fence;
    // Whether anything of the primary cluster answers (Patroni's REST API of a member).
    std::function<bool()> primary_answers;
    // One marker row through the cluster's HAProxy (dr false: the primary's): "" when
    // acknowledged, else why not.
    std::function<std::string(bool dr, long long id)> write;
    std::function<pg::DrPromoteResult()> promote;
    // The marker ids on the promoted cluster.
    std::function<std::set<long long>()> rows_on_dr;
    std::function<void(const std::string&)> progress;
};

RegionDrillReport run_region_drill(const RegionDrillSeams& seams, const RegionDrillRequest& req);

nlohmann::json region_report_json(const RegionDrillReport& r);
std::string region_report_text(const RegionDrillReport& r);

}  // namespace pgdr::drills
