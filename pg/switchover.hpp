// Planned switchover, manual failover and replica rebuild through Patroni's REST API, run from
// the cluster's own hosts (python3 over the Transport), so they work where the operator cannot
// reach the private network (man/pgdr-switchover.1).
//
// Each action is: a snapshot of the cluster (Patroni's /cluster from the first member that
// answers, pg_stat_replication with byte lag on the leader), pre-checks on it, a confirmation
// callback, one REST call (POST /switchover, /failover or /reinitialize; the REST password goes
// to the remote python3 on stdin, never argv), then bounded waits that prove the result:
//   switchover, failover: the target answers GET /primary with 200; every HAProxy routes its
//     write backend ("primary") to the target alone (P11); the old leader streams from the
//     target (switchover; P9: pg_stat_replication, not Patroni's state); every member reports
//     the new leader's timeline (P12);
//   reinit: the member streams from the leader again and reports its timeline.
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
#include "pg/status.hpp"

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

// One row of the leader's pg_stat_replication.
struct ReplicationLag {
    std::string member;  // the Patroni member whose name (or slot name) is the application_name
    std::string state;   // streaming, catchup, ...
    std::string sync_state;
    long long lag_bytes = -1;  // pg_current_wal_lsn() - replay_lsn; -1 unknown
};

struct HaSnapshot {
    ClusterStatus patroni;  // members and leader from GET /cluster
    std::vector<ReplicationLag> replication;
    std::string error;  // why a part could not be read ("" when everything answered)

    const ReplicationLag* replication_of(const std::string& member) const;
};

struct HaCheck {
    std::string name;
    bool ok = false;
    bool required = true;  // a failed optional check is a warning
    std::string detail;
};

// The REST request, as sent by python3 on `run_on`.
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
    const TransportLookup& transports;
    Clock& clock;
    std::string rest_user;
    std::string rest_password;
    // Called after passing pre-checks, before the call; false: stop, nothing sent.
    std::function<bool(const HaResult&)> confirm;
    std::function<void(const std::string&)> progress;  // may be empty
    const std::atomic<bool>* interrupted = nullptr;
};

HaResult run_ha(const HaSeams& seams, const HaRequest& request);

// The pieces of run_ha, exposed for tests and for runbook conditions.
HaSnapshot take_snapshot(const Inventory& inv, const TransportLookup& transports);
// The checks for `request` on `snap`; `target` receives the resolved target ("" when none).
std::vector<HaCheck> ha_prechecks(const Inventory& inv, const HaSnapshot& snap,
                                  const HaRequest& request, std::string& target);
RestCall build_rest_call(const Inventory& inv, HaAction action, const std::string& leader,
                         const std::string& target, const std::string& scheduled_at);
// The argv that sends `call` (python3 -c SCRIPT URL METHOD BODY USER TIMEOUT_S); the password
// is read from stdin.
std::vector<std::string> rest_call_argv(const RestCall& call, const std::string& user,
                                        std::chrono::milliseconds timeout);
// The script's output "STATUS\nBODY"; std::nullopt when it is not that.
std::optional<std::pair<int, std::string>> parse_rest_answer(const std::string& out);
// psql -At rows "application_name|state|sync_state|lag" matched to Patroni members.
std::vector<ReplicationLag> parse_replication_lag(const std::string& out,
                                                  const std::vector<MemberStatus>& members);
// The SQL run on the leader for parse_replication_lag.
extern const char* const k_replication_lag_sql;
// ISO 8601 date-time with seconds optional and a zone (Z or +HH:MM), as Patroni requires.
bool valid_schedule_time(const std::string& text);
// The best candidate among streaming replicas on the leader's timeline: a synchronous standby
// first, then the least lag; "" when none.
std::string best_switchover_candidate(const HaSnapshot& snap);
// The best failover candidate among running replicas by Patroni's view: the highest timeline,
// then the least lag; "" when none.
std::string best_failover_candidate(const HaSnapshot& snap, bool synchronous_mode = false);

nlohmann::json ha_to_json(const HaResult& result);
std::string render_ha_text(const HaResult& result);

}  // namespace pgdr::pg
