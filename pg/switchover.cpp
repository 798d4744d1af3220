#include "pg/switchover.hpp"

#include <algorithm>
#include <regex>
#include <sstream>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/poll.hpp"
#include "core/strings.hpp"
#include "pg/candidate.hpp"
#include "pg/patroni_api.hpp"

namespace pgdr::pg {

namespace {

using std::chrono::milliseconds;

// Patroni answers POST /switchover only once the new leader is promoted (or gives up, after
// about loop_wait + a few seconds); a generous bound keeps a slow promotion from looking like
// a failure.
constexpr milliseconds k_call_timeout{std::chrono::seconds(90)};

std::string ms_text(long long ms) {
    return format_seconds(milliseconds(ms), 1);
}

// "http://ADDRESS:PORT" of a member's REST API inside the cluster (what the operator reads).
std::string base_url(const Inventory& inv, const std::string& member) {
    const auto* h = inv.find_host(member);
    return patroni_url(h != nullptr ? h->address : member, inv.patroni.rest_port);
}

// Where this process connects for a member's REST API `path` (through the reach).
std::string reached_url(const HaSeams& s, const std::string& member, const std::string& path) {
    const auto* h = s.inv.find_host(member);
    return s.access.reach.inside(h != nullptr ? h->address : member, s.inv.patroni.rest_port)
               .url("https") +
           path;
}

CandidatePolicy policy_for(const Inventory& inv, HaAction action, bool force = false) {
    CandidatePolicy p;
    // --force (failover only) accepts a candidate that may miss acknowledged writes: one that
    // is not the synchronous standby.
    p.synchronous_mode = inv.patroni.synchronous_mode && !force;
    p.max_lag_bytes = inv.patroni.maximum_lag_on_failover;
    // A failover has no leader to compare with: Patroni's lag may be unknown; the pre-checks
    // refuse it unless --force (a check of its own, below).
    p.allow_unknown_lag = action == HaAction::failover;
    return p;
}

ClusterSnapshot patroni_snapshot(const HaSeams& s, bool replication) {
    SnapshotOptions o;
    o.replication = replication;
    o.etcd = false;
    o.haproxy = false;
    return take_snapshot(cluster_targets(s.inv), s.access, o);
}

class Waiter {
  public:
    Waiter(const HaSeams& seams, const HaRequest& request, HaResult& result,
           std::chrono::steady_clock::time_point sent)
        : m_seams(seams), m_request(request), m_result(result), m_sent(sent) {}

    // Polls `probe` until it holds or the request's timeout passes; records the phase. A probe
    // that throws (a host unreachable) is "not yet".
    bool phase(const std::string& name, const std::function<bool(std::string&)>& probe) {
        std::string detail;
        const auto outcome =
            poll_until(m_seams.clock, m_request.timeout, m_request.poll, m_seams.interrupted, [&] {
                try {
                    return probe(detail);
                } catch (const std::exception& e) {
                    detail = e.what();
                    return false;
                }
            });
        switch (outcome) {
            case PollOutcome::holds:
                return record(name, true, detail);
            case PollOutcome::interrupted:
                m_result.interrupted = true;
                return record(name, false, "interrupted while waiting");
            case PollOutcome::timed_out:
                break;
        }
        return record(name, false,
                      "not within " + ms_text(m_request.timeout.count()) +
                          (detail.empty() ? "" : ": " + detail));
    }

  private:
    bool record(const std::string& name, bool ok, const std::string& detail) {
        HaPhase p;
        p.name = name;
        p.ok = ok;
        p.detail = detail;
        p.after_ms =
            std::chrono::duration_cast<milliseconds>(m_seams.clock.steady_now() - m_sent).count();
        m_result.phases.push_back(p);
        if (m_seams.progress) {
            m_seams.progress((ok ? "" : "FAILED: ") + name + " after " + ms_text(p.after_ms) +
                             (ok || detail.empty() ? "" : " (" + detail + ")"));
        }
        if (!ok && m_result.failure.empty()) {
            m_result.failure = name + ": " + detail;
        }
        return ok;
    }

    const HaSeams& m_seams;
    const HaRequest& m_request;
    HaResult& m_result;
    std::chrono::steady_clock::time_point m_sent;
};

bool probe_primary(const HaSeams& s, const std::string& target, std::string& detail) {
    PatroniApi api(s.access.http);
    const auto [status, body] = api.probe(reached_url(s, target, "/primary"));
    detail = status == 0 ? target + ": " + body
                         : "GET /primary on " + target + " answered " + std::to_string(status);
    return status == 200;
}

bool probe_haproxy(const HaSeams& s, const std::string& target, std::string& detail) {
    SnapshotOptions o;
    o.replication = false;
    o.etcd = false;
    auto targets = cluster_targets(s.inv);
    targets.postgres.clear();  // HAProxy's view only
    const ClusterSnapshot snap = take_snapshot(targets, s.access, o);
    std::vector<std::string> wrong;
    for (const auto& h : snap.haproxy) {
        const auto up = h.up_servers(k_write_backend);
        if (!h.answered) {
            wrong.push_back(h.error);
        } else if (up.size() != 1 || up.front() != target) {
            wrong.push_back(h.name + " routes writes to [" + join(up, ",") + "]");
        }
    }
    detail = wrong.empty() ? "every HAProxy routes writes to " + target + " alone" : join(wrong);
    return wrong.empty();
}

bool probe_streams(const HaSeams& s, const std::string& leader,
                   const std::vector<std::string>& members, std::string& detail) {
    std::vector<ClusterMember> names;
    for (const auto* h : s.inv.hosts_with(Service::postgres)) {
        names.push_back({});
        names.back().name = h->name;
    }
    const auto rows = read_replication(cluster_targets(s.inv), s.access, leader, names);
    if (!rows.ok) {
        detail = rows.error;
        return false;
    }
    std::vector<std::string> missing;
    for (const auto& m : members) {
        auto it = std::find_if(rows.rows.begin(), rows.rows.end(),
                               [&](const ReplicationRow& r) { return r.member == m; });
        if (it == rows.rows.end() || it->state != "streaming") {
            missing.push_back(m + " (" + (it == rows.rows.end() ? "absent" : it->state) + ")");
        }
    }
    detail = missing.empty() ? join(members) + " streaming from " + leader
                             : "not streaming from " + leader + ": " + join(missing);
    return missing.empty();
}

std::string timeline_text(const std::optional<int>& tl) {
    return tl ? std::to_string(*tl) : "?";
}

// Patroni's view: `leader` leads and every member it lists runs on the leader's timeline.
bool probe_timelines(const HaSeams& s, const std::string& leader, std::string& detail) {
    const ClusterSnapshot snap = patroni_snapshot(s, false);
    if (snap.leader != leader) {
        detail = "Patroni's leader is " +
                 (snap.leaders.empty() ? std::string("nobody") : join(snap.leaders));
        return false;
    }
    const auto* l = snap.member(leader);
    std::vector<std::string> behind;
    for (const auto& m : snap.members) {
        if (m.name != leader && (m.timeline != l->timeline || !m.running())) {
            behind.push_back(m.name + " (timeline " + timeline_text(m.timeline) + ", " + m.state +
                             ")");
        }
    }
    detail = behind.empty() ? "every member on timeline " + timeline_text(l->timeline)
                            : "not on timeline " + timeline_text(l->timeline) + ": " + join(behind);
    return behind.empty();
}

}  // namespace

std::string to_string(HaAction action) {
    switch (action) {
        case HaAction::switchover:
            return "switchover";
        case HaAction::failover:
            return "failover";
        case HaAction::reinit:
            return "reinit";
    }
    return "?";
}

bool HaResult::checks_passed() const {
    return std::all_of(checks.begin(), checks.end(),
                       [](const HaCheck& c) { return c.ok || !c.required; });
}

bool valid_schedule_time(const std::string& text) {
    static const std::regex k_iso(
        R"(^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$)");
    return std::regex_match(text, k_iso);
}

RestCall build_rest_call(const Inventory& inv, HaAction action, const std::string& leader,
                         const std::string& target, const std::string& scheduled_at) {
    RestCall c;
    nlohmann::json body = nlohmann::json::object();
    switch (action) {
        case HaAction::switchover:
            // Sent to the leader itself: it is the one member sure to be up.
            c.run_on = leader;
            c.url = base_url(inv, leader) + "/switchover";
            body["leader"] = leader;
            body["candidate"] = target;
            if (!scheduled_at.empty()) {
                body["scheduled_at"] = scheduled_at;
            }
            break;
        case HaAction::failover:
            // No leader to ask: the candidate's own Patroni takes the request.
            c.run_on = target;
            c.url = base_url(inv, target) + "/failover";
            body["candidate"] = target;
            break;
        case HaAction::reinit:
            c.run_on = target;
            c.url = base_url(inv, target) + "/reinitialize";
            break;
    }
    c.body = body.dump();
    return c;
}

namespace {

using AddCheck = std::function<void(std::string, bool, std::string, bool)>;

void failover_checks(const Inventory& inv, const ClusterSnapshot& snap, const HaRequest& request,
                     std::string& target, const AddCheck& add) {
    add("no leader", snap.leaders.empty(),
        snap.leaders.empty()
            ? "no member holds the leader key"
            : join(snap.leaders) + " leads: use `pgdr switchover` for a planned change",
        true);
    const auto policy = policy_for(inv, HaAction::failover, request.force);
    if (target == "auto" || target.empty()) {
        const auto choice = pick_candidate(snap, policy);
        target = choice.name;
        add("best replica", !target.empty(), choice.why, true);
        if (target.empty()) {
            return;
        }
    }
    const auto* c = snap.member(target);
    const auto* h = inv.find_host(target);
    add("candidate is a member", c != nullptr && h != nullptr && h->runs(Service::postgres),
        c == nullptr ? target + " is not registered with Patroni" : target + " is registered",
        true);
    if (c == nullptr) {
        return;
    }
    // Acknowledged writes are certain only on the synchronous standby, and on a replica whose
    // lag is known and small: anything else needs --force, which the message names.
    const std::string force_hint =
        "; to promote it anyway, accepting lost writes, run `pgdr failover --to " + target +
        " --force`";
    const auto refused = candidate_refusal(snap, policy, target);
    add("candidate can take over", refused.empty(),
        refused.empty() ? target + " is " + c->role_text + ", " + c->state +
                              (request.force ? " (--force given)" : "")
                        : refused + force_hint,
        true);
    if (!c->lag_bytes) {
        add("candidate lag", request.force,
            "Patroni does not know " + target + "'s lag: it may miss acknowledged writes" +
                (request.force ? " (--force given)" : force_hint),
            true);
    }
}

void reinit_checks(const Inventory& inv, const ClusterSnapshot& snap, const std::string& target,
                   const AddCheck& add) {
    const auto* m = snap.member(target);
    const auto* h = inv.find_host(target);
    add("member is in the inventory", h != nullptr && h->runs(Service::postgres),
        h == nullptr ? "no host " + target : target + " runs postgres", true);
    add("member is registered with Patroni", m != nullptr,
        m == nullptr ? target + " is not in Patroni's /cluster" : target + " is " + m->state, true);
    add("member is not the leader", target != snap.leader,
        target == snap.leader ? target + " leads: switch over first" : target + " is a replica",
        true);
}

void switchover_checks(const Inventory& inv, const ClusterSnapshot& snap, const HaRequest& request,
                       std::string& target, const AddCheck& add) {
    const auto policy = policy_for(inv, HaAction::switchover);
    if (target.empty()) {
        const auto choice = pick_candidate(snap, policy);
        target = choice.name;
        add("best candidate", !target.empty(), choice.why, true);
        if (target.empty()) {
            return;
        }
    }
    const auto* c = snap.member(target);
    add("candidate is a replica", c != nullptr && target != snap.leader,
        c == nullptr            ? target + " is not registered with Patroni"
        : target == snap.leader ? target + " already leads"
                                : target + " is " + c->role_text + ", " + c->state,
        true);
    if (c == nullptr || target == snap.leader) {
        return;
    }
    auto refused = candidate_refusal(snap, policy, target);
    if (!refused.empty() && !snap.replication_read) {
        refused += " (" + snap.replication_error + ")";
    }
    if (!refused.empty() && policy.synchronous_mode && !c->is_sync_standby()) {
        refused += " (omit --to to pick it)";
    }
    const auto* rep = snap.replication_of(target);
    add("candidate can take over", refused.empty(),
        refused.empty()
            ? target + " streams, lag " +
                  (rep != nullptr && rep->lag_bytes ? std::to_string(*rep->lag_bytes) + " bytes"
                                                    : std::string("unknown")) +
                  " (maximum_lag_on_failover " +
                  std::to_string(inv.patroni.maximum_lag_on_failover) + ")"
            : refused,
        true);
    const auto* leader = snap.member(snap.leader);
    std::vector<std::string> behind;
    for (const auto& m : snap.members) {
        if (m.timeline != leader->timeline) {
            behind.push_back(m.name + " on " + timeline_text(m.timeline));
        }
    }
    add("every member on the leader's timeline", behind.empty(),
        behind.empty() ? "timeline " + timeline_text(leader->timeline)
                       : "leader on " + timeline_text(leader->timeline) + "; " + join(behind) +
                             " (wait until they catch up)",
        true);
    std::vector<std::string> not_streaming;
    for (const auto& m : snap.members) {
        const auto* r = snap.replication_of(m.name);
        if (m.name != snap.leader && m.name != target &&
            (r == nullptr || r->state != "streaming")) {
            not_streaming.push_back(m.name);
        }
    }
    add("other replicas streaming", not_streaming.empty(),
        not_streaming.empty() ? "yes" : "not streaming: " + join(not_streaming), false);
    if (!request.scheduled_at.empty()) {
        add("schedule time", valid_schedule_time(request.scheduled_at),
            request.scheduled_at +
                (valid_schedule_time(request.scheduled_at)
                     ? ""
                     : ": use ISO 8601 with a zone, e.g. 2026-03-01T02:00:00+00:00"),
            true);
    }
}

}  // namespace

std::vector<HaCheck> ha_prechecks(const Inventory& inv, const ClusterSnapshot& snap,
                                  const HaRequest& request, std::string& target) {
    std::vector<HaCheck> checks;
    const AddCheck add = [&checks](std::string name, bool ok, std::string detail, bool required) {
        checks.push_back({std::move(name), ok, required, std::move(detail)});
    };
    target = request.target;
    if (!snap.patroni_answered) {
        add("Patroni answers", false,
            "no member's Patroni REST API answered: " + snap.patroni_error, true);
        return checks;
    }
    if (request.action == HaAction::failover) {
        failover_checks(inv, snap, request, target, add);
        return checks;
    }
    add("one leader", !snap.leader.empty(),
        !snap.leader.empty() ? snap.leader + " leads"
                             : std::to_string(snap.leaders.size()) + " leaders",
        true);
    if (snap.leader.empty()) {
        return checks;
    }
    if (request.action == HaAction::reinit) {
        reinit_checks(inv, snap, target, add);
    } else {
        switchover_checks(inv, snap, request, target, add);
    }
    return checks;
}

namespace {

void say(const HaSeams& s, const std::string& m) {
    if (s.progress) {
        s.progress(m);
    }
}

// "pre-checks failed: NAME (DETAIL); ..." for the required checks that failed.
std::string failed_checks(const std::vector<HaCheck>& checks) {
    std::vector<std::string> failed;
    for (const auto& c : checks) {
        if (!c.ok && c.required) {
            failed.push_back(c.name + " (" + c.detail + ")");
        }
    }
    return "pre-checks failed: " + join(failed, "; ");
}

// POSTs r.call and records Patroni's answer; true when the change is under way (200, or 503
// "unknown": it may have happened) and the result must be waited for. A 202 (scheduled) or a
// refusal ends the run (r.scheduled, r.failure).
bool post_once(const HaSeams& s, const HaRequest& request, HaResult& r) {
    SwitchoverResult answer;
    try {
        const std::string path = r.call->url.substr(base_url(s.inv, r.call->run_on).size());
        answer = PatroniApi(s.access.http)
                     .post(reached_url(s, r.call->run_on, path), r.call->body, s.rest_user,
                           s.rest_password, k_call_timeout);
    } catch (const Error& e) {
        r.failure = std::string("cannot send the request: ") + e.what();
        return false;
    }
    if (answer.status == 0) {
        r.failure = "the request to " + r.call->run_on + " failed: " + answer.message;
        return false;
    }
    r.http_status = answer.status;
    r.http_answer = answer.message;
    const bool unknown = r.http_status == 503 && r.http_answer.find("unknown") != std::string::npos;
    const bool accepted =
        r.http_status == 200 || (r.http_status == 202 && !request.scheduled_at.empty());
    if (!accepted && !unknown) {
        r.failure = "Patroni refused: HTTP " + std::to_string(r.http_status) + " " +
                    (r.http_answer.empty() ? "(no answer)" : r.http_answer);
        return false;
    }
    if (r.http_status == 202) {
        r.scheduled = true;
        return false;
    }
    return true;
}

// Patroni answers 503 "<action> already in progress" while the member runs another action: a
// member whose host just came back is still starting PostgreSQL ("restarting after failure").
// A reinit is sent again every 2 s until that action ends (request.timeout at most); a
// reinitialize already under way is the change asked for, and is waited for.
bool send_call(const HaSeams& s, const HaRequest& request, HaResult& r) {
    const auto deadline = s.clock.steady_now() + request.timeout;
    for (;;) {
        if (post_once(s, request, r)) {
            return true;
        }
        const bool busy = request.action == HaAction::reinit && r.http_status == 503 &&
                          r.http_answer.find("already in progress") != std::string::npos;
        if (!busy) {
            return false;
        }
        if (r.http_answer.rfind("reinitialize", 0) == 0) {
            r.failure.clear();
            return true;
        }
        if (s.clock.steady_now() + std::chrono::seconds(2) > deadline) {
            r.failure +=
                " (still busy after " +
                std::to_string(
                    std::chrono::duration_cast<std::chrono::seconds>(request.timeout).count()) +
                " s)";
            return false;
        }
        say(s, r.target + "'s Patroni is busy (" + r.http_answer + "): again in 2 s");
        s.clock.sleep_for(std::chrono::seconds(2));
        r.failure.clear();
    }
}

// The target's postmaster_start_time from GET /patroni ("" when it runs no PostgreSQL;
// nullopt when its REST API does not answer).
std::optional<std::string> postmaster_started(const HaSeams& s, const std::string& member,
                                              std::string& detail) {
    PatroniApi api(s.access.http);
    const auto status = api.status(reached_url(s, member, ""));
    if (!status.ok()) {
        detail = member + ": " + status.error;
        return std::nullopt;
    }
    detail = member + " is " + (status.value->state.empty() ? "?" : status.value->state) +
             (status.value->postmaster_start_time.empty()
                  ? ", no PostgreSQL running"
                  : ", PostgreSQL started " + status.value->postmaster_start_time);
    return status.value->postmaster_start_time;
}

// reinit: Patroni answers POST /reinitialize once it has started the rebuild in a thread, before
// PostgreSQL is stopped, so the leader may still list the member's old walreceiver for a
// moment. First the target runs a PostgreSQL started after the call (`started_before`: its
// start time read before the call), then it streams from the leader, then every member is on
// the leader's timeline.
void wait_reinit(const HaSeams& s, const HaResult& r, const std::string& started_before,
                 Waiter& w) {
    const std::string target = r.target;
    const std::string leader = r.old_leader;
    const bool rebuilt =
        w.phase(target + " runs a rebuilt PostgreSQL (new start time)", [&](std::string& d) {
            const auto now = postmaster_started(s, target, d).value_or("");
            if (!now.empty() && now == started_before) {
                d += ", as before the call";
            }
            return !now.empty() && now != started_before;
        });
    if (rebuilt && w.phase(target + " streams from " + leader,
                           [&](std::string& d) { return probe_streams(s, leader, {target}, d); })) {
        w.phase("every member on the leader's timeline",
                [&](std::string& d) { return probe_timelines(s, leader, d); });
    }
}

// switchover and failover: the target promoted, HAProxy routing to it alone, the old leader
// (switchover) or every replica still running (failover) streaming from it, then every member
// on its timeline. Stops at the first phase that does not come.
void wait_new_leader(const HaSeams& s, const HaRequest& request, const ClusterSnapshot& snap,
                     const HaResult& r, Waiter& w) {
    const std::string target = r.target;
    if (!w.phase(target + " promoted (GET /primary 200)",
                 [&](std::string& d) { return probe_primary(s, target, d); })) {
        return;
    }
    if (!w.phase("HAProxy routes writes to " + target + " alone",
                 [&](std::string& d) { return probe_haproxy(s, target, d); })) {
        return;
    }
    if (request.action == HaAction::switchover) {
        const std::string old = r.old_leader;
        if (!w.phase(old + " streams from " + target,
                     [&](std::string& d) { return probe_streams(s, target, {old}, d); })) {
            return;
        }
    } else {
        // The old leader is gone; every replica Patroni still runs must follow the new leader.
        std::vector<std::string> running;
        for (const auto& m : snap.members) {
            if (m.name != target && m.running() && !m.is_leader()) {
                running.push_back(m.name);
            }
        }
        if (!running.empty() &&
            !w.phase(join(running) + " stream from " + target,
                     [&](std::string& d) { return probe_streams(s, target, running, d); })) {
            return;
        }
    }
    w.phase("every member on the new leader's timeline",
            [&](std::string& d) { return probe_timelines(s, target, d); });
}

// The pre-checks, the REST call (unless a dry run or declined) and the wait for its result.
void run_ha_steps(const HaSeams& s, const HaRequest& request, HaResult& r) {
    say(s, "reading the cluster's state");
    const ClusterSnapshot snap = patroni_snapshot(s, true);
    r.old_leader = snap.leader;
    r.checks = ha_prechecks(s.inv, snap, request, r.target);
    if (!r.checks_passed()) {
        r.failure = failed_checks(r.checks);
        return;
    }
    r.call = build_rest_call(s.inv, request.action, r.old_leader, r.target, request.scheduled_at);
    if (request.dry_run) {
        return;
    }
    if (s.confirm && !s.confirm(r)) {
        r.declined = true;
        r.failure = "not confirmed: nothing was sent";
        return;
    }
    std::string started_before;
    if (request.action == HaAction::reinit) {
        // Read again after a failed request: an empty start time would let the old
        // PostgreSQL pass for the rebuilt one.
        std::string detail;
        for (int attempt = 0; attempt < 3; ++attempt) {
            if (const auto read = postmaster_started(s, r.target, detail)) {
                started_before = *read;
                break;
            }
            s.clock.sleep_for(std::chrono::seconds(1));
        }
        say(s, detail);
    }
    say(s, "POST " + r.call->url);
    const auto sent = s.clock.steady_now();
    if (!send_call(s, request, r)) {
        return;
    }
    Waiter w(s, request, r, sent);
    if (request.action == HaAction::reinit) {
        wait_reinit(s, r, started_before, w);
    } else {
        wait_new_leader(s, request, snap, r, w);
    }
}

}  // namespace

HaResult run_ha(const HaSeams& s, const HaRequest& request) {
    const auto t0 = s.clock.steady_now();
    HaResult r;
    r.action = request.action;
    r.dry_run = request.dry_run;
    run_ha_steps(s, request, r);
    r.total_ms = std::chrono::duration_cast<milliseconds>(s.clock.steady_now() - t0).count();
    return r;
}

nlohmann::json ha_to_json(const HaResult& r) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : r.checks) {
        checks.push_back(
            {{"check", c.name}, {"ok", c.ok}, {"required", c.required}, {"detail", c.detail}});
    }
    nlohmann::json phases = nlohmann::json::array();
    for (const auto& p : r.phases) {
        phases.push_back(
            {{"phase", p.name}, {"ok", p.ok}, {"after_ms", p.after_ms}, {"detail", p.detail}});
    }
    nlohmann::json j = {{"action", to_string(r.action)},
                        {"dry_run", r.dry_run},
                        {"ok", r.ok()},
                        {"old_leader", r.old_leader},
                        {"target", r.target},
                        {"checks", checks},
                        {"phases", phases},
                        {"scheduled", r.scheduled},
                        {"declined", r.declined},
                        {"interrupted", r.interrupted},
                        {"total_ms", r.total_ms}};
    if (r.call) {
        j["call"] = {{"run_on", r.call->run_on},
                     {"method", r.call->method},
                     {"url", r.call->url},
                     {"body", nlohmann::json::parse(r.call->body, nullptr, false)}};
    }
    if (r.http_status != 0) {
        j["http_status"] = r.http_status;
        j["http_answer"] = r.http_answer;
    }
    if (!r.ok()) {
        j["failure"] = r.failure;
    }
    return j;
}

std::string render_ha_text(const HaResult& r) {
    std::ostringstream os;
    os << to_string(r.action) << (r.dry_run ? " (dry run)" : "") << ": "
       << (r.old_leader.empty() ? "no leader" : "leader " + r.old_leader);
    if (!r.target.empty()) {
        os << (r.action == HaAction::reinit ? ", rebuild " : ", target ") << r.target;
    }
    os << "\n\npre-checks:\n";
    for (const auto& c : r.checks) {
        os << "  " << (c.ok ? "ok  " : (c.required ? "FAIL" : "warn")) << "  " << c.name << ": "
           << c.detail << "\n";
    }
    if (r.call) {
        os << "\ncall (to " << r.call->run_on << "): " << r.call->method << " " << r.call->url
           << " " << r.call->body << "\n";
    }
    if (r.http_status != 0) {
        std::string answer = r.http_answer;
        while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) {
            answer.pop_back();
        }
        os << "answer: HTTP " << r.http_status << " " << answer << "\n";
    }
    if (!r.phases.empty()) {
        os << "\n";
        for (const auto& p : r.phases) {
            char at[32];
            std::snprintf(at, sizeof at, "%+8.1f s", static_cast<double>(p.after_ms) / 1000.0);
            os << "  " << at << "  " << (p.ok ? "ok    " : "FAILED") << "  " << p.name;
            if (!p.detail.empty()) {
                os << " (" << p.detail << ")";
            }
            os << "\n";
        }
    }
    os << "\n";
    if (r.dry_run && r.ok()) {
        os << "dry run: pre-checks passed; nothing was sent\n";
    } else if (r.scheduled) {
        os << "scheduled by Patroni; `pgdr status` shows the change once it happened\n";
    } else if (r.ok()) {
        os << to_string(r.action) << " done in " << ms_text(r.total_ms) << "\n";
    } else {
        os << to_string(r.action) << " FAILED: " << r.failure << "\n";
    }
    return os.str();
}

}  // namespace pgdr::pg
