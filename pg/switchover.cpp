#include "pg/switchover.hpp"

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "pg/patroni_api.hpp"
#include "pg/postgres_conf.hpp"

namespace pgdr::pg {

namespace {

using Clock_ = std::chrono::steady_clock;
using std::chrono::milliseconds;

// One HTTP request from a cluster host. The password (if any) is the first line of stdin, so it
// is never in argv (visible in ps) nor in pgdr's logs. Always exits 0 and prints
// "STATUS\nBODY"; STATUS 0 when no answer came (connection refused, timeout).
const std::string k_rest_script = R"PY(
import base64, sys, urllib.request, urllib.error
url, method, body, user, timeout = sys.argv[1:6]
password = sys.stdin.readline().rstrip("\n")
headers = {"Content-Type": "application/json"}
if user:
    token = base64.b64encode((user + ":" + password).encode()).decode()
    headers["Authorization"] = "Basic " + token
data = body.encode() if method != "GET" else None
req = urllib.request.Request(url, data=data, method=method, headers=headers)
try:
    with urllib.request.urlopen(req, timeout=float(timeout)) as r:
        status, text = r.status, r.read().decode(errors="replace")
except urllib.error.HTTPError as e:
    status, text = e.code, e.read().decode(errors="replace")
except Exception as e:
    status, text = 0, "%s: %s" % (type(e).__name__, e)
sys.stdout.write("%d\n%s" % (status, text))
)PY";

// Reads are quick; a host that does not answer in this time counts as not answering.
constexpr milliseconds k_read_timeout{std::chrono::seconds(15)};
// Patroni answers POST /switchover only once the new leader is promoted (or gives up, after
// about loop_wait + a few seconds); a generous bound keeps a slow promotion from looking like
// a failure.
constexpr milliseconds k_call_timeout{std::chrono::seconds(90)};

bool replica_running(const MemberStatus& m) {
    return m.state == "running" || m.state == "streaming";
}

bool is_leader_role(const std::string& role) {
    return role == "leader" || role == "standby_leader" || role == "master" || role == "primary";
}

const MemberStatus* find_member(const ClusterStatus& s, const std::string& name) {
    for (const auto& m : s.members) {
        if (m.name == name) {
            return &m;
        }
    }
    return nullptr;
}

std::string base_url(const Inventory& inv, const std::string& member) {
    const auto* h = inv.find_host(member);
    const std::string address = h != nullptr ? h->address : member;
    return "http://" + address + ":" + std::to_string(inv.patroni.rest_port);
}

Transport* transport_of(const TransportLookup& transports, const std::string& host) {
    auto it = transports.find(host);
    return it == transports.end() ? nullptr : it->second;
}

// GET url from `host`; the answer, or std::nullopt (and `error`) when there was none.
std::optional<std::pair<int, std::string>> http_get(const TransportLookup& transports,
                                                    const std::string& host, const std::string& url,
                                                    std::string& error) {
    Transport* t = transport_of(transports, host);
    if (t == nullptr) {
        error = "no transport for " + host;
        return std::nullopt;
    }
    RunOptions o;
    o.stdin_data = "\n";
    o.timeout = k_read_timeout;
    RestCall call{host, "GET", url, ""};
    auto r = t->run(rest_call_argv(call, "", std::chrono::seconds(3)), o);
    auto answer = parse_rest_answer(r.out);
    if (!r.ok() || !answer) {
        error = host + ": " + (r.timed_out ? "timed out" : "python3 failed: " + r.err);
        return std::nullopt;
    }
    if (answer->first == 0) {
        error = host + ": " + answer->second;
        return std::nullopt;
    }
    return answer;
}

std::vector<MemberStatus> inventory_members(const Inventory& inv) {
    std::vector<MemberStatus> out;
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        MemberStatus m;
        m.name = h->name;
        out.push_back(m);
    }
    return out;
}

std::optional<std::vector<ReplicationLag>> read_replication(const Inventory& inv,
                                                            const TransportLookup& transports,
                                                            const std::string& leader,
                                                            std::string& error) {
    Transport* t = transport_of(transports, leader);
    if (t == nullptr) {
        error = "no transport for " + leader;
        return std::nullopt;
    }
    RunOptions o;
    o.sudo = true;
    o.timeout = k_read_timeout;
    auto r = t->run({"runuser", "-u", "postgres", "--", "psql", "-XAtq", "-d", "postgres", "-c",
                     k_replication_lag_sql},
                    o);
    if (!r.ok()) {
        error = "cannot read pg_stat_replication on " + leader + ": " +
                (r.timed_out ? "timed out" : r.err);
        return std::nullopt;
    }
    return parse_replication_lag(r.out, inventory_members(inv));
}

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : sep) + s;
    }
    return out;
}

std::string ms_text(long long ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
    return buf;
}

class Waiter {
  public:
    Waiter(const HaSeams& seams, const HaRequest& request, HaResult& result,
           Clock_::time_point sent)
        : m_seams(seams), m_request(request), m_result(result), m_sent(sent) {}

    // Polls `probe` until it holds or the request's timeout passes; records the phase.
    bool phase(const std::string& name, const std::function<bool(std::string&)>& probe) {
        const auto deadline = m_seams.clock.steady_now() + m_request.timeout;
        std::string detail;
        for (;;) {
            if (m_seams.interrupted != nullptr && m_seams.interrupted->load()) {
                m_result.interrupted = true;
                return record(name, false, "interrupted while waiting");
            }
            bool holds = false;
            try {
                holds = probe(detail);
            } catch (const std::exception& e) {
                detail = e.what();
            }
            if (holds) {
                return record(name, true, detail);
            }
            if (m_seams.clock.steady_now() >= deadline) {
                return record(name, false,
                              "not within " + ms_text(m_request.timeout.count()) +
                                  (detail.empty() ? "" : ": " + detail));
            }
            m_seams.clock.sleep_for(m_request.poll);
        }
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
    Clock_::time_point m_sent;
};

bool probe_primary(const HaSeams& s, const std::string& target, std::string& detail) {
    std::string error;
    auto a = http_get(s.transports, target, base_url(s.inv, target) + "/primary", error);
    if (!a) {
        detail = error;
        return false;
    }
    detail = "GET /primary on " + target + " answered " + std::to_string(a->first);
    return a->first == 200;
}

bool probe_haproxy(const HaSeams& s, const std::string& target, std::string& detail) {
    std::vector<std::string> wrong;
    for (const auto* lb : s.inv.hosts_with(Service::haproxy)) {
        std::string error;
        auto a = http_get(s.transports, lb->name,
                          "http://127.0.0.1:" + std::to_string(s.inv.haproxy.stats_port) + "/;csv",
                          error);
        if (!a) {
            wrong.push_back(error);
            continue;
        }
        std::string csv = a->second;
        if (csv.rfind("# ", 0) == 0) {
            csv = csv.substr(2);
        }
        ClusterStatus st;
        parse_haproxy_csv(lb->name, csv, st);
        std::vector<std::string> up;
        for (const auto& h : st.haproxy) {
            if (h.backend == "primary" && h.status.rfind("UP", 0) == 0) {
                up.push_back(h.server);
            }
        }
        if (up.size() != 1 || up.front() != target) {
            wrong.push_back(lb->name + " routes writes to [" + join(up, ",") + "]");
        }
    }
    detail = wrong.empty() ? "every HAProxy routes writes to " + target + " alone" : join(wrong);
    return wrong.empty();
}

bool probe_streams(const HaSeams& s, const std::string& leader,
                   const std::vector<std::string>& members, std::string& detail) {
    std::string error;
    auto rows = read_replication(s.inv, s.transports, leader, error);
    if (!rows) {
        detail = error;
        return false;
    }
    std::vector<std::string> missing;
    for (const auto& m : members) {
        auto it = std::find_if(rows->begin(), rows->end(),
                               [&](const ReplicationLag& r) { return r.member == m; });
        if (it == rows->end() || it->state != "streaming") {
            missing.push_back(m + " (" + (it == rows->end() ? "absent" : it->state) + ")");
        }
    }
    detail = missing.empty() ? join(members) + " streaming from " + leader
                             : "not streaming from " + leader + ": " + join(missing);
    return missing.empty();
}

// Patroni's view: `leader` leads and every member it lists runs on the leader's timeline.
bool probe_timelines(const HaSeams& s, const std::string& leader, std::string& detail) {
    HaSnapshot snap = take_snapshot(s.inv, s.transports);
    if (snap.patroni.leader != leader) {
        detail = "Patroni's leader is " +
                 (snap.patroni.leader.empty() ? std::string("nobody") : snap.patroni.leader);
        return false;
    }
    const auto* l = find_member(snap.patroni, leader);
    std::vector<std::string> behind;
    for (const auto& m : snap.patroni.members) {
        if (m.name != leader && (m.timeline != l->timeline || !replica_running(m))) {
            behind.push_back(m.name + " (timeline " + std::to_string(m.timeline) + ", " + m.state +
                             ")");
        }
    }
    detail = behind.empty()
                 ? "every member on timeline " + std::to_string(l->timeline)
                 : "not on timeline " + std::to_string(l->timeline) + ": " + join(behind);
    return behind.empty();
}

}  // namespace

const char* const k_replication_lag_sql =
    "select application_name, state, coalesce(sync_state, ''), "
    "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint::text, '') "
    "from pg_stat_replication";

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

const ReplicationLag* HaSnapshot::replication_of(const std::string& member) const {
    for (const auto& r : replication) {
        if (r.member == member) {
            return &r;
        }
    }
    return nullptr;
}

bool HaResult::checks_passed() const {
    return std::all_of(checks.begin(), checks.end(),
                       [](const HaCheck& c) { return c.ok || !c.required; });
}

std::vector<ReplicationLag> parse_replication_lag(const std::string& out,
                                                  const std::vector<MemberStatus>& members) {
    std::vector<ReplicationLag> rows;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) {
            continue;
        }
        std::vector<std::string> f;
        std::istringstream ls(line);
        for (std::string cell; std::getline(ls, cell, '|');) {
            f.push_back(cell);
        }
        f.resize(4);
        ReplicationLag r;
        r.member = f[0];
        for (const auto& m : members) {
            if (m.name == f[0] || slot_name(m.name) == f[0]) {
                r.member = m.name;
            }
        }
        r.state = f[1];
        r.sync_state = f[2];
        try {
            r.lag_bytes = f[3].empty() ? -1 : std::stoll(f[3]);
        } catch (const std::exception&) {
            r.lag_bytes = -1;
        }
        rows.push_back(r);
    }
    return rows;
}

std::optional<std::pair<int, std::string>> parse_rest_answer(const std::string& out) {
    auto nl = out.find('\n');
    const std::string first = out.substr(0, nl);
    if (first.empty() || first.size() > 3 ||
        !std::all_of(first.begin(), first.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    return std::make_pair(std::stoi(first), nl == std::string::npos ? "" : out.substr(nl + 1));
}

bool valid_schedule_time(const std::string& text) {
    static const std::regex k_iso(
        R"(^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$)");
    return std::regex_match(text, k_iso);
}

std::vector<std::string> rest_call_argv(const RestCall& call, const std::string& user,
                                        std::chrono::milliseconds timeout) {
    return {"python3",     "-c",
            k_rest_script, call.url,
            call.method,   call.body,
            user,          std::to_string(std::max<long long>(1, timeout.count() / 1000))};
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

HaSnapshot take_snapshot(const Inventory& inv, const TransportLookup& transports) {
    HaSnapshot snap;
    std::vector<std::string> errors;
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        std::string error;
        try {
            auto a = http_get(transports, h->name, base_url(inv, h->name) + "/cluster", error);
            if (a && a->first == 200) {
                ClusterStatus st;
                parse_cluster_json(a->second, st);
                if (st.problems.empty()) {
                    snap.patroni = st;
                    errors.clear();
                    break;
                }
                error = h->name + ": /cluster answer not readable";
            } else if (a) {
                error = h->name + ": GET /cluster answered " + std::to_string(a->first);
            }
        } catch (const std::exception& e) {
            error = e.what();
        }
        errors.push_back(error);
    }
    if (snap.patroni.members.empty()) {
        snap.error = "no member's Patroni REST API answered: " + join(errors, "; ");
        return snap;
    }
    if (!snap.patroni.leader.empty()) {
        std::string error;
        try {
            auto rows = read_replication(inv, transports, snap.patroni.leader, error);
            if (rows) {
                snap.replication = *rows;
            } else {
                snap.error = error;
            }
        } catch (const std::exception& e) {
            snap.error = std::string("cannot read pg_stat_replication: ") + e.what();
        }
    }
    return snap;
}

std::string best_switchover_candidate(const HaSnapshot& snap) {
    const auto* leader = find_member(snap.patroni, snap.patroni.leader);
    if (leader == nullptr) {
        return "";
    }
    std::string best;
    std::tuple<int, long long> best_key{2, 0};
    for (const auto& r : snap.replication) {
        const auto* m = find_member(snap.patroni, r.member);
        if (m == nullptr || r.state != "streaming" || m->timeline != leader->timeline ||
            r.lag_bytes < 0) {
            continue;
        }
        const int sync_rank = (r.sync_state == "sync" || r.sync_state == "quorum") ? 0 : 1;
        std::tuple<int, long long> key{sync_rank, r.lag_bytes};
        if (best.empty() || key < best_key) {
            best = r.member;
            best_key = key;
        }
    }
    return best;
}

std::string best_failover_candidate(const HaSnapshot& snap, bool synchronous_mode) {
    std::string best;
    std::tuple<int, long long, long long> best_key{0, 0, 0};
    for (const auto& m : snap.patroni.members) {
        if (is_leader_role(m.role) || !replica_running(m)) {
            continue;
        }
        // With synchronous_mode the synchronous standby holds every acknowledged commit: it
        // comes first. Then the higher timeline, then the least lag (unknown lag last).
        const int sync_rank = synchronous_mode && !is_sync_standby_role(m.role) ? 1 : 0;
        std::tuple<int, long long, long long> key{sync_rank, -m.timeline,
                                                  m.lag_bytes < 0 ? (1LL << 62) : m.lag_bytes};
        if (best.empty() || key < best_key) {
            best = m.name;
            best_key = key;
        }
    }
    return best;
}

std::vector<HaCheck> ha_prechecks(const Inventory& inv, const HaSnapshot& snap,
                                  const HaRequest& request, std::string& target) {
    std::vector<HaCheck> checks;
    auto add = [&checks](std::string name, bool ok, std::string detail, bool required = true) {
        checks.push_back({std::move(name), ok, required, std::move(detail)});
    };
    const auto& st = snap.patroni;
    target = request.target;
    if (st.members.empty()) {
        add("Patroni answers", false, snap.error);
        return checks;
    }
    int leaders = 0;
    for (const auto& m : st.members) {
        leaders += is_leader_role(m.role) ? 1 : 0;
    }
    const auto* leader = find_member(st, st.leader);
    const long long max_lag = inv.patroni.maximum_lag_on_failover;

    if (request.action == HaAction::failover) {
        add("no leader", leaders == 0,
            leaders == 0 ? "no member holds the leader key"
                         : st.leader + " leads: use `pgdr switchover` for a planned change");
        if (target == "auto" || target.empty()) {
            target = best_failover_candidate(snap, inv.patroni.synchronous_mode);
            add("best replica", !target.empty(),
                target.empty() ? "no replica is running"
                               : target + (inv.patroni.synchronous_mode
                                               ? " (synchronous standby first, then highest "
                                                 "timeline, least lag)"
                                               : " (highest timeline, least lag)"));
            if (target.empty()) {
                return checks;
            }
        }
        const auto* c = find_member(st, target);
        const auto* h = inv.find_host(target);
        add("candidate is a member", c != nullptr && h != nullptr && h->runs(Service::postgres),
            c == nullptr ? target + " is not registered with Patroni" : target + " is registered");
        if (c == nullptr) {
            return checks;
        }
        add("candidate running", replica_running(*c) && !is_leader_role(c->role),
            target + " is " + c->role + ", " + c->state);
        long long top = -1;
        for (const auto& m : st.members) {
            top = std::max(top, m.timeline);
        }
        add("candidate on the latest timeline", c->timeline == top,
            target + " on timeline " + std::to_string(c->timeline) + ", latest " +
                std::to_string(top));
        const std::string force_hint =
            "; to promote it anyway, accepting lost writes, run "
            "`pgdr failover --to " +
            target + " --force`";
        if (inv.patroni.synchronous_mode) {
            // Every acknowledged commit is on the synchronous standby (Patroni keeps its name in
            // the DCS /sync key, shown as the member's role); any other replica may lack some.
            std::vector<std::string> sync;
            for (const auto& m : st.members) {
                if (is_sync_standby_role(m.role)) {
                    sync.push_back(m.name);
                }
            }
            const bool is_sync = is_sync_standby_role(c->role);
            add("candidate is the synchronous standby", is_sync || request.force,
                is_sync ? target + " is " + c->role
                : sync.empty()
                    ? "synchronous_mode is on and Patroni names no synchronous standby: pgdr "
                      "cannot tell which replica holds every acknowledged write" +
                          force_hint + (request.force ? " (--force given)" : "")
                    : target + " is " + c->role + "; acknowledged writes are only certain on " +
                          join(sync) + " (--to " + sync.front() + ")" + force_hint +
                          (request.force ? " (--force given)" : ""));
        }
        if (c->lag_bytes < 0) {
            add("candidate lag", request.force,
                "Patroni does not know " + target + "'s lag: it may miss acknowledged writes" +
                    (request.force ? " (--force given)" : force_hint));
        } else {
            add("candidate lag", c->lag_bytes <= max_lag,
                std::to_string(c->lag_bytes) + " bytes (maximum_lag_on_failover " +
                    std::to_string(max_lag) + ")");
        }
        return checks;
    }

    add("one leader", leaders == 1 && leader != nullptr,
        leaders == 1 ? st.leader + " leads" : std::to_string(leaders) + " leaders");
    if (leaders != 1 || leader == nullptr) {
        return checks;
    }

    if (request.action == HaAction::reinit) {
        const auto* m = find_member(st, target);
        const auto* h = inv.find_host(target);
        add("member is in the inventory", h != nullptr && h->runs(Service::postgres),
            h == nullptr ? "no host " + target : target + " runs postgres");
        add("member is registered with Patroni", m != nullptr,
            m == nullptr ? target + " is not in Patroni's /cluster" : target + " is " + m->state);
        add("member is not the leader", target != st.leader,
            target == st.leader ? target + " leads: switch over first" : target + " is a replica");
        return checks;
    }

    // Switchover.
    if (target.empty()) {
        target = best_switchover_candidate(snap);
        add("best candidate", !target.empty(),
            target.empty() ? "no replica streams on the leader's timeline"
                           : target + " (synchronous first, then least lag)");
        if (target.empty()) {
            return checks;
        }
    }
    const auto* c = find_member(st, target);
    add("candidate is a replica", c != nullptr && target != st.leader,
        c == nullptr          ? target + " is not registered with Patroni"
        : target == st.leader ? target + " already leads"
                              : target + " is " + c->role + ", " + c->state);
    if (c == nullptr || target == st.leader) {
        return checks;
    }
    if (inv.patroni.synchronous_mode) {
        // Patroni answers 412 "candidate name does not match with sync_standby" to any other.
        std::vector<std::string> sync;
        for (const auto& m : st.members) {
            if (is_sync_standby_role(m.role)) {
                sync.push_back(m.name);
            }
        }
        const bool is_sync = is_sync_standby_role(c->role);
        add("candidate is a synchronous standby", is_sync,
            is_sync ? target + " is " + c->role
            : sync.empty()
                ? "synchronous_mode is on and no member is a synchronous standby yet: Patroni "
                  "hands over to a synchronous standby only"
                : target + " is " + c->role + "; with synchronous_mode Patroni hands over to " +
                      join(sync) + " only (omit --to to pick it)");
    }
    const auto* rep = snap.replication_of(target);
    add("candidate streaming (pg_stat_replication on the leader)",
        rep != nullptr && rep->state == "streaming",
        rep == nullptr
            ? (snap.error.empty() ? target + " is absent from pg_stat_replication on " + st.leader
                                  : snap.error)
            : target + " is " + rep->state);
    add("candidate lag", rep != nullptr && rep->lag_bytes >= 0 && rep->lag_bytes <= max_lag,
        rep == nullptr || rep->lag_bytes < 0
            ? "unknown"
            : std::to_string(rep->lag_bytes) + " bytes (maximum_lag_on_failover " +
                  std::to_string(max_lag) + ")");
    std::vector<std::string> behind;
    for (const auto& m : st.members) {
        if (m.timeline != leader->timeline) {
            behind.push_back(m.name + " on " + std::to_string(m.timeline));
        }
    }
    add("every member on the leader's timeline", behind.empty(),
        behind.empty() ? "timeline " + std::to_string(leader->timeline)
                       : "leader on " + std::to_string(leader->timeline) + "; " + join(behind) +
                             " (wait until they catch up)");
    std::vector<std::string> not_streaming;
    for (const auto& m : st.members) {
        const auto* r = snap.replication_of(m.name);
        if (m.name != st.leader && m.name != target && (r == nullptr || r->state != "streaming")) {
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
                     : ": use ISO 8601 with a zone, e.g. 2026-03-01T02:00:00+00:00"));
    }
    return checks;
}

HaResult run_ha(const HaSeams& s, const HaRequest& request) {
    const auto t0 = s.clock.steady_now();
    HaResult r;
    r.action = request.action;
    r.dry_run = request.dry_run;
    auto finish = [&]() -> HaResult {
        r.total_ms = std::chrono::duration_cast<milliseconds>(s.clock.steady_now() - t0).count();
        return r;
    };
    auto say = [&s](const std::string& m) {
        if (s.progress) {
            s.progress(m);
        }
    };

    say("reading the cluster's state");
    const HaSnapshot snap = take_snapshot(s.inv, s.transports);
    r.old_leader = snap.patroni.leader;
    r.checks = ha_prechecks(s.inv, snap, request, r.target);
    if (!r.checks_passed()) {
        std::vector<std::string> failed;
        for (const auto& c : r.checks) {
            if (!c.ok && c.required) {
                failed.push_back(c.name + " (" + c.detail + ")");
            }
        }
        r.failure = "pre-checks failed: " + join(failed, "; ");
        return finish();
    }
    r.call = build_rest_call(s.inv, request.action, r.old_leader, r.target, request.scheduled_at);
    if (request.dry_run) {
        return finish();
    }
    if (s.confirm && !s.confirm(r)) {
        r.declined = true;
        r.failure = "not confirmed: nothing was sent";
        return finish();
    }

    say("POST " + r.call->url + " from " + r.call->run_on);
    const auto sent = s.clock.steady_now();
    Transport* t = transport_of(s.transports, r.call->run_on);
    if (t == nullptr) {
        r.failure = "no transport for " + r.call->run_on;
        return finish();
    }
    RunOptions o;
    o.stdin_data = s.rest_password + "\n";
    o.timeout = k_call_timeout + std::chrono::seconds(15);
    CommandResult cr;
    try {
        cr = t->run(rest_call_argv(*r.call, s.rest_user, k_call_timeout), o);
    } catch (const std::exception& e) {
        r.failure = std::string("cannot send the request: ") + e.what();
        return finish();
    }
    auto answer = parse_rest_answer(cr.out);
    if (!cr.ok() || !answer) {
        r.failure = "the request from " + r.call->run_on +
                    " failed: " + (cr.timed_out ? "timed out" : cr.err);
        return finish();
    }
    r.http_status = answer->first;
    r.http_answer = answer->second;
    const bool unknown = r.http_status == 503 && r.http_answer.find("unknown") != std::string::npos;
    const bool accepted =
        r.http_status == 200 || (r.http_status == 202 && !request.scheduled_at.empty());
    if (!accepted && !unknown) {
        r.failure = "Patroni refused: HTTP " + std::to_string(r.http_status) + " " +
                    (r.http_answer.empty() ? "(no answer)" : r.http_answer);
        return finish();
    }
    if (r.http_status == 202) {
        r.scheduled = true;
        return finish();
    }

    Waiter w(s, request, r, sent);
    const std::string target = r.target;
    if (request.action == HaAction::reinit) {
        const std::string leader = r.old_leader;
        if (w.phase(target + " streams from " + leader,
                    [&](std::string& d) { return probe_streams(s, leader, {target}, d); })) {
            w.phase("every member on the leader's timeline",
                    [&](std::string& d) { return probe_timelines(s, leader, d); });
        }
        return finish();
    }
    if (!w.phase(target + " promoted (GET /primary 200)",
                 [&](std::string& d) { return probe_primary(s, target, d); })) {
        return finish();
    }
    if (!w.phase("HAProxy routes writes to " + target + " alone",
                 [&](std::string& d) { return probe_haproxy(s, target, d); })) {
        return finish();
    }
    if (request.action == HaAction::switchover) {
        const std::string old = r.old_leader;
        if (!w.phase(old + " streams from " + target,
                     [&](std::string& d) { return probe_streams(s, target, {old}, d); })) {
            return finish();
        }
    } else {
        // The old leader is gone; every replica Patroni still runs must follow the new leader.
        std::vector<std::string> running;
        for (const auto& m : snap.patroni.members) {
            if (m.name != target && replica_running(m) && !is_leader_role(m.role)) {
                running.push_back(m.name);
            }
        }
        if (!running.empty() &&
            !w.phase(join(running) + " stream from " + target,
                     [&](std::string& d) { return probe_streams(s, target, running, d); })) {
            return finish();
        }
    }
    w.phase("every member on the new leader's timeline",
            [&](std::string& d) { return probe_timelines(s, target, d); });
    return finish();
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
        os << "\ncall (from " << r.call->run_on << "): " << r.call->method << " " << r.call->url
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
