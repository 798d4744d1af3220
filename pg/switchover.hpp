// Planned switchover, manual failover and replica rebuild through Patroni's REST API, reached
// like every cluster port through the ClusterReach (core/reach.hpp), so they work where the
// operator cannot reach the private network (man/pgdr-switchover.1).
//
// Each action is: the cluster's snapshot (pg/cluster_snapshot.hpp: Patroni's /cluster from the
// first member that answers, pg_stat_replication with byte lag on the leader), pre-checks on it
// (the candidate from pg::pick_candidate), a confirmation callback, one REST call (POST
// /switchover, /failover or /reinitialize; the REST password only in the Authorization
// header, never in a URL, argv or log), then bounded waits that prove the result:
//   switchover, failover: the target answers GET /primary with 200; every HAProxy routes its
//     write backend ("primary") to the target alone (HAProxy counts a server UP until its
//     checks fail); the old leader streams from the target (switchover; in the target's
//     pg_stat_replication: Patroni may call a replica "running" that does not stream); every
//     member reports the new leader's timeline (Patroni refuses a switchover to a member still
//     on an old timeline);
//   reinit: the member runs a PostgreSQL started after the call (Patroni answers before it has
//     stopped the old one, whose walreceiver may still stream), streams from the leader again
//     and reports its timeline.
// Results are values: run_ha throws only for programming errors; an unreachable host during a
// wait is "not yet", during the call a failure.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/inventory.hpp"
#include "pg/cluster_snapshot.hpp"

namespace pgdr::pg {

enum class HaAction { switchover, failover, reinit };
std::string to_string(HaAction action);

struct HaRequest {
    HaAction action = HaAction::switchover;
    // switchover: the candidate ("" picks the best streaming replica); failover: the candidate
    // ("auto" picks the best replica); reinit: the member to rebuild.
    std::string target;
    std::string scheduled_at;  // switchover only: ISO 8601 with a zone; the waits are skipped
    bool dry_run = false;      // snapshot and pre-checks only; the call is shown, not made
    // failover only (--force): promote although the candidate's lag is unknown, or although
    // synchronous_mode names another member the synchronous standby; acknowledged writes may
    // then be lost, and the pre-checks say so.
    bool force = false;
    std::chrono::milliseconds timeout{std::chrono::seconds(180)};  // bound of each wait
    std::chrono::milliseconds poll{std::chrono::seconds(1)};
};

struct HaCheck {
    std::string name;
    bool ok = false;
    bool required = true;  // a failed optional check is a warning
    std::string detail;
};

// The REST request, sent to the Patroni of member `run_on`.
struct RestCall {
    std::string run_on;
    std::string method = "POST";
    std::string url;
    std::string body;  // JSON
};

struct HaPhase {
    std::string name;
    bool ok = false;
    long long after_ms = 0;  // since the call was sent
    std::string detail;
};

struct HaResult {
    HaAction action = HaAction::switchover;
    bool dry_run = false;
    std::string old_leader;
    std::string target;  // resolved (best candidate picked)
    std::vector<HaCheck> checks;
    std::optional<RestCall> call;
    int http_status = 0;
    std::string http_answer;
    bool scheduled = false;  // 202: Patroni will switch over at scheduled_at
    bool declined = false;   // the confirmation callback said no; nothing was sent
    bool interrupted = false;
    std::vector<HaPhase> phases;
    std::string failure;  // empty when everything succeeded
    long long total_ms = 0;

    bool ok() const { return failure.empty(); }
    bool checks_passed() const;
};

struct HaSeams {
    const Inventory& inv;
    ClusterAccess access;  // the snapshot and the REST calls
    Clock& clock;
    std::string rest_user;
    std::string rest_password;
    // Called after passing pre-checks, before the call; false: stop, nothing sent.
    std::function<bool(const HaResult&)> confirm;
    std::function<void(const std::string&)> progress;  // may be empty
    const std::atomic<bool>* interrupted = nullptr;
};

HaResult run_ha(const HaSeams& seams, const HaRequest& request);

// The pieces of run_ha, exposed for tests.
// The checks for `request` on `snap`; `target` receives the resolved target ("" when none).
std::vector<HaCheck> ha_prechecks(const Inventory& inv, const ClusterSnapshot& snap,
                                  const HaRequest& request, std::string& target);
RestCall build_rest_call(const Inventory& inv, HaAction action, const std::string& leader,
                         const std::string& target, const std::string& scheduled_at);
// ISO 8601 date-time with seconds optional and a zone (Z or +HH:MM), as Patroni requires.
bool valid_schedule_time(const std::string& text);

nlohmann::json ha_to_json(const HaResult& result);
std::string render_ha_text(const HaResult& result);

}  // namespace pgdr::pg
