#include "pg/dr_promote.hpp"

#include <algorithm>
#include <cstdio>
#include <future>
#include <tuple>

#include "core/poll.hpp"
#include "core/strings.hpp"
#include "pg/debian_paths.hpp"
#include "pg/dr_link.hpp"
#include "pg/lsn.hpp"
#include "pg/patroni_api.hpp"

namespace pgdr::pg {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

struct Run {
    const DrSeams& s;
    const DrPromoteRequest& req;
    DrPromoteResult& r;
    std::chrono::steady_clock::time_point start;
    std::optional<long long> fence_started_ms;

    long long elapsed_ms() const {
        return duration_cast<milliseconds>(s.clock.steady_now() - start).count();
    }
    void phase(const std::string& name, const std::string& detail = {}) {
        r.phases.push_back({name, elapsed_ms(), detail});
        if (s.progress) {
            s.progress(name + (detail.empty() ? "" : ": " + detail));
        }
    }
    // `sql` on a member of `inv` as the superuser; std::nullopt when it did not answer.
    std::optional<std::string> scalar(const Inventory& inv, const ClusterAccess& access,
                                      const std::string& member, const std::string& sql) const {
        const auto* h = inv.find_host(member);
        if (h == nullptr || !access.sql) {
            return std::nullopt;
        }
        try {
            const auto q =
                access.sql(access.reach.inside(h->address, 5432), sql, k_snapshot_read_timeout);
            return q.ok ? q.value(0, 0) : std::nullopt;
        } catch (const Error&) {
            return std::nullopt;
        }
    }
    std::string rest_url(const std::string& member, const std::string& path) const {
        const auto* h = s.dr.find_host(member);
        return s.dr_access.reach.inside(h->address, s.dr.patroni.rest_port).url("https") + path;
    }
};

// The DR cluster's standby leader, or why there is none.
bool find_standby_leader(Run& run) {
    const auto snap = take_snapshot(cluster_targets(run.s.dr), run.s.dr_access, patroni_only());
    if (!snap.patroni_answered) {
        run.r.error =
            "the DR cluster " + run.s.dr.cluster + " does not answer: " + snap.patroni_error;
        return false;
    }
    for (const auto& m : snap.members) {
        if (m.role == MemberRole::standby_leader && m.running()) {
            run.r.standby_leader = m.name;
            return true;
        }
        if (m.role == MemberRole::leader) {
            run.r.error = "the DR cluster " + run.s.dr.cluster + " already has a primary (" +
                          m.name + "): it was promoted";
            return false;
        }
    }
    run.r.error = "the DR cluster " + run.s.dr.cluster + " has no running standby leader (" +
                  std::to_string(leaders_of(snap.members).size()) + " leader(s))";
    return false;
}

// The primary cluster's leader, when its Patroni answers (a lost region: none).
void find_old_leader(Run& run) {
    const auto snap =
        take_snapshot(cluster_targets(run.s.primary), run.s.primary_access, patroni_only());
    if (snap.patroni_answered && !snap.leader.empty()) {
        run.r.old_leader = snap.leader;
    }
}

// Replicas first, together (none may take over once the leader stops; a lost region's hosts
// each cost a connect timeout), the leader last.
bool fence_primary(Run& run) {
    run.fence_started_ms = run.elapsed_ms();
    std::vector<const HostSpec*> replicas;
    for (const auto* h : run.s.primary.hosts_with(Service::postgres)) {
        if (h->name != run.r.old_leader) {
            replicas.push_back(h);
        }
    }
    // Replicas of a known leader are killed (fast; see fence_argv); with no leader known every
    // member stops cleanly (any of them may be the primary).
    const bool clean = run.r.old_leader.empty();
    std::vector<std::future<FenceOutcome>> pending;
    for (const auto* h : replicas) {
        pending.push_back(
            std::async(std::launch::async, [&run, h, clean] { return run.s.fence(*h, clean); }));
    }
    std::vector<std::tuple<const HostSpec*, bool, FenceOutcome>> outcomes;
    bool all = true;
    for (std::size_t i = 0; i < replicas.size(); ++i) {
        outcomes.emplace_back(replicas[i], false, pending[i].get());
        all = all && std::get<2>(outcomes.back()).fenced;
    }
    if (all && !replicas.empty() && !run.r.old_leader.empty()) {
        // Where the fence's time goes: the replicas (killed), then the leader's clean stop.
        run.phase("replicas of " + run.s.primary.cluster + " fenced",
                  std::to_string(replicas.size()) + " killed");
    }
    if (const auto* leader = run.s.primary.find_host(run.r.old_leader)) {
        outcomes.emplace_back(leader, true, run.s.fence(*leader, true));
    }
    for (const auto& [h, leader, f] : outcomes) {
        if (f.fenced) {
            run.r.fenced.push_back(h->name);
            if (leader && !f.last_lsn.empty()) {
                run.r.primary_last_lsn = f.last_lsn;
            }
        } else {
            run.r.not_fenced.push_back(h->name + ": " + f.detail);
        }
    }
    if (run.r.not_fenced.empty()) {
        run.phase(
            "primary cluster " + run.s.primary.cluster + " fenced",
            "Patroni stopped and disabled on " + std::to_string(run.r.fenced.size()) +
                " member(s)" +
                (run.r.primary_last_lsn.empty() ? ""
                                                : ", its WAL ends at " + run.r.primary_last_lsn));
        return true;
    }
    std::string list;
    for (const auto& n : run.r.not_fenced) {
        list += (list.empty() ? "" : "; ") + n;
    }
    if (!run.req.force || run.req.planned) {
        run.r.error = "cannot fence the primary cluster " + run.s.primary.cluster + " (" + list +
                      "): promoting now could leave two writable clusters";
        return false;
    }
    run.phase("primary cluster " + run.s.primary.cluster + " NOT fenced (--force)", list);
    return true;
}

// The standby leader replays what it received, and the fenced leader's last WAL when it got
// it; returns its replay LSN.
void wait_for_replay(Run& run) {
    const std::string leader = run.r.standby_leader;
    const auto target = Lsn::parse(run.r.primary_last_lsn);
    std::string replayed;
    poll_until(run.s.clock, run.req.catch_up, run.req.poll, nullptr, [&] {
        const auto v =
            run.scalar(run.s.dr, run.s.dr_access, leader,
                       "select pg_last_wal_replay_lsn()::text || ' ' || "
                       "coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text");
        if (!v) {
            return false;
        }
        const auto space = v->find(' ');
        replayed = v->substr(0, space);
        const auto done = Lsn::parse(replayed);
        const auto received = Lsn::parse(v->substr(space + 1));
        if (!done || !received) {
            return false;
        }
        // Past the start of the fenced leader's last record: the record was replayed.
        return target ? *done > *target : *done >= *received;
    });
    run.r.dr_replay_lsn = replayed;
    if (const auto done = Lsn::parse(replayed); done && target) {
        run.r.lost_bytes = std::max<long long>(0, target->minus(*done));
    }
    run.phase("DR cluster replayed its WAL", "up to " + (replayed.empty() ? "?" : replayed));
}

// The promoted cluster's dynamic configuration: no standby_cluster; the pair's synchronous
// mode (a standby cluster runs without); a permanent slot for the old primary cluster, which
// streams from it once rebuilt as the new standby.
nlohmann::json promotion_config(const DrSeams& s) {
    return {{"standby_cluster", nullptr},
            {"synchronous_mode", s.primary.patroni.synchronous_mode},
            {"synchronous_mode_strict", s.primary.patroni.synchronous_mode_strict},
            {"slots", {{s.dr.standby_of->slot, {{"type", "physical"}}}}}};
}

bool promote(Run& run) {
    PatroniApi api(run.s.dr_access.http);
    const auto call = api.send_json("PATCH", run.rest_url(run.r.standby_leader, "/config"),
                                    promotion_config(run.s).dump(), run.s.rest_user,
                                    run.s.rest_password, milliseconds(10000));
    if (!call.ok) {
        run.r.error = "PATCH /config on " + run.r.standby_leader + " failed (" +
                      std::to_string(call.status) + "): " + call.message;
        return false;
    }
    run.phase("promotion requested",
              "PATCH /config standby_cluster: null on " + run.r.standby_leader);
    const auto promoted = poll_until(run.s.clock, run.req.timeout, run.req.poll, nullptr, [&] {
        return api.probe(run.rest_url(run.r.standby_leader, "/primary")).first == 200;
    });
    if (promoted != PollOutcome::holds) {
        run.r.error = run.r.standby_leader + " did not answer GET /primary with 200 within " +
                      std::to_string(run.req.timeout.count() / 1000) + " s";
        return false;
    }
    run.phase(run.r.standby_leader + " promoted", "GET /primary 200");
    return true;
}

bool first_write(Run& run) {
    const auto lbs = run.s.dr.hosts_with(Service::haproxy);
    std::string last;
    const auto written = poll_until(run.s.clock, run.req.timeout, run.req.poll, nullptr, [&] {
        for (const auto* lb : lbs) {
            last = run.s.write_through(*lb);
            if (last.empty()) {
                run.r.rto_ms = run.elapsed_ms();
                if (run.fence_started_ms) {
                    run.r.write_outage_ms = *run.r.rto_ms - *run.fence_started_ms;
                }
                run.phase("first write acknowledged through " + lb->name);
                return true;
            }
        }
        return false;
    });
    if (written != PollOutcome::holds) {
        run.r.error = "no write through the DR cluster's HAProxy within " +
                      std::to_string(run.req.timeout.count() / 1000) + " s: " + last;
        return false;
    }
    return true;
}

// A planned switchover: the primary cluster answers with a leader and the DR link streams.
bool check_planned(Run& run) {
    if (run.r.old_leader.empty()) {
        run.r.error = "the primary cluster " + run.s.primary.cluster +
                      " has no leader that answers: a planned switchover needs both clusters "
                      "(after a region loss: pgdr dr promote)";
        return false;
    }
    const auto link = read_dr_link(cluster_targets(run.s.primary), run.s.primary_access,
                                   run.r.old_leader, run.s.dr.standby_of->slot);
    if (!link.streaming()) {
        run.r.error = "the DR link does not stream (" + dr_link_text(link) +
                      "): the DR cluster could not receive the last writes";
        return false;
    }
    return true;
}

// A planned switchover whose DR cluster did not replay the fenced leader's last record: the
// primary cluster comes back (its leader first: it holds the most WAL) and nothing is promoted.
void roll_back(Run& run) {
    std::vector<std::string> order = run.r.fenced;  // the leader was fenced last
    std::stable_partition(order.begin(), order.end(),
                          [&](const std::string& n) { return n == run.r.old_leader; });
    std::vector<std::string> failed;
    for (const auto& n : order) {
        const auto* h = run.s.primary.find_host(n);
        if (h == nullptr || !run.s.unfence || !run.s.unfence(*h)) {
            failed.push_back(n);
        }
    }
    run.r.rolled_back = failed.empty();
    run.phase("fence undone", failed.empty() ? "Patroni enabled and started on " + join(order)
                                             : "FAILED on " + join(failed) +
                                                   ": enable and start Patroni there by hand");
}

}  // namespace

std::vector<std::string> fence_argv(const Inventory& inv, bool clean) {
    const auto paths = debian_paths(inv);
    if (!clean) {
        return {"sh", "-c",
                "set -e; systemctl disable --quiet \"$1\"; "
                "systemctl kill --signal=KILL \"$1\" 2>/dev/null || true; "
                "systemctl stop \"$1\"",
                "pgdr-fence-kill", paths.patroni_unit};
    }
    return {"sh",
            "-c",
            "set -e; systemctl disable --now --quiet \"$1\"; "
            "out=$(\"$2/pg_controldata\" \"$3\" 2>/dev/null) || exit 0; "
            "echo \"$out\" | grep -q '^Database cluster state: *shut down$' || exit 0; "
            "echo \"$out\" | sed -n 's/^Latest checkpoint location: *//p'",
            "pgdr-fence",
            paths.patroni_unit,
            paths.bin_dir,
            paths.data_dir};
}

SnapshotOptions patroni_only() {
    SnapshotOptions o;
    o.etcd = false;
    o.haproxy = false;
    o.replication = false;
    return o;
}

DrPromoteResult run_dr_promote(const DrSeams& seams, const DrPromoteRequest& request) {
    DrPromoteResult r;
    r.dry_run = request.dry_run;
    r.primary_cluster = seams.primary.cluster;
    r.dr_cluster = seams.dr.cluster;
    Run run{seams, request, r, seams.clock.steady_now(), std::nullopt};
    if (!find_standby_leader(run)) {
        return r;
    }
    if (!request.primary_lost) {
        find_old_leader(run);
    }
    if (request.planned && !check_planned(run)) {
        return r;
    }
    run.phase("state read", "standby leader " + r.standby_leader + ", primary leader " +
                                (r.old_leader.empty() ? "unknown (no answer)" : r.old_leader));
    if (!dr_go_ahead(r, request.dry_run, seams.confirm)) {
        return r;
    }
    if (request.primary_lost) {
        for (const auto* h : seams.primary.hosts_with(Service::postgres)) {
            r.not_fenced.push_back(h->name + ": its region is lost");
        }
        run.phase("primary cluster " + seams.primary.cluster + " NOT fenced (its region is lost)");
    } else if (!fence_primary(run)) {
        if (request.planned) {
            roll_back(run);  // the members it did stop serve again
        }
        return r;
    }
    wait_for_replay(run);
    const auto end = Lsn::parse(r.primary_last_lsn);
    const auto replayed = Lsn::parse(r.dr_replay_lsn);
    if (request.planned && !(end && replayed && *replayed > *end)) {
        r.error = "the DR cluster did not replay the fenced leader's end of WAL (" +
                  (r.primary_last_lsn.empty() ? std::string("unknown") : r.primary_last_lsn) +
                  ") within " + std::to_string(request.catch_up.count() / 1000) +
                  " s: a switchover now would lose acknowledged writes";
        roll_back(run);
        return r;
    }
    if (!promote(run) || !first_write(run)) {
        return r;
    }
    r.ok = true;
    return r;
}

nlohmann::json dr_phases_json(const std::vector<DrPhase>& phases) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : phases) {
        out.push_back({{"name", p.name}, {"after_ms", p.after_ms}, {"detail", p.detail}});
    }
    return out;
}

std::string dr_phases_text(const std::vector<DrPhase>& phases) {
    std::string out;
    for (const auto& p : phases) {
        char at[32];
        std::snprintf(at, sizeof at, "%+8.2f s", static_cast<double>(p.after_ms) / 1000.0);
        out += std::string("  ") + at + "  " + p.name + (p.detail.empty() ? "" : ": " + p.detail) +
               "\n";
    }
    return out;
}

nlohmann::json dr_promote_to_json(const DrPromoteResult& r) {
    const auto phases = dr_phases_json(r.phases);
    auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    return {{"ok", r.ok},
            {"dry_run", r.dry_run},
            {"primary_cluster", r.primary_cluster},
            {"dr_cluster", r.dr_cluster},
            {"old_leader", r.old_leader},
            {"standby_leader", r.standby_leader},
            {"fenced", r.fenced},
            {"not_fenced", r.not_fenced},
            {"primary_last_lsn", r.primary_last_lsn},
            {"dr_replay_lsn", r.dr_replay_lsn},
            {"lost_bytes", opt(r.lost_bytes)},
            {"rto_ms", opt(r.rto_ms)},
            {"write_outage_ms", opt(r.write_outage_ms)},
            {"rolled_back", r.rolled_back},
            {"phases", phases},
            {"error", r.error}};
}

std::string render_dr_promote_text(const DrPromoteResult& r) {
    std::string out = "dr promote: " + r.dr_cluster + " (standby of " + r.primary_cluster + ")" +
                      (r.dry_run ? " [dry run]" : "") + "\n";
    out += "  standby leader: " + (r.standby_leader.empty() ? "-" : r.standby_leader) +
           "; primary leader: " + (r.old_leader.empty() ? "unknown" : r.old_leader) + "\n";
    out += dr_phases_text(r.phases);
    if (r.ok && !r.dry_run) {
        out += "  RPO: " +
               (r.lost_bytes ? std::to_string(*r.lost_bytes) + " B not replayed by the DR cluster"
                             : std::string("unknown (the primary cluster's end of WAL could not "
                                           "be read)")) +
               "\n";
        out += "  RTO: " + (r.rto_ms ? std::to_string(*r.rto_ms) + " ms" : std::string("?")) +
               " (command start to the first write acknowledged on " + r.dr_cluster + ")\n";
        if (r.write_outage_ms) {
            out += "  write outage: " + std::to_string(*r.write_outage_ms) + " ms (fence of " +
                   r.primary_cluster + " to the first write acknowledged on " + r.dr_cluster +
                   ")\n";
        }
    }
    if (!r.error.empty()) {
        out += "  FAILED: " + r.error + "\n";
    } else if (r.ok && r.dry_run) {
        out += "  would fence " + r.primary_cluster + " and promote " + r.standby_leader + "\n";
    }
    return out;
}

}  // namespace pgdr::pg
