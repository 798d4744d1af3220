#include "pg/dr_rebuild.hpp"

#include <cstdio>
#include <future>
#include <sstream>

#include "core/error.hpp"
#include "core/poll.hpp"
#include "core/strings.hpp"
#include "pg/debian_paths.hpp"

namespace pgdr::pg {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string after_colon(const std::string& line) {
    const auto colon = line.find(':');
    return colon == std::string::npos ? "" : trim(line.substr(colon + 1));
}

struct Run {
    const DrRebuildSeams& s;
    const DrRebuildRequest& req;
    DrRebuildResult& r;
    std::chrono::steady_clock::time_point start;

    void phase(const std::string& name, const std::string& detail = {}) {
        r.phases.push_back(
            {name, duration_cast<milliseconds>(s.clock.steady_now() - start).count(), detail});
        if (s.progress) {
            s.progress(name + (detail.empty() ? "" : ": " + detail));
        }
    }
};

// The promoted cluster's leader and what the judgement needs from it.
bool read_primary(Run& run) {
    const auto snap =
        take_snapshot(cluster_targets(run.s.primary), run.s.primary_access, patroni_only());
    for (const auto& m : snap.members) {
        if (m.name == snap.leader && m.role == MemberRole::leader && m.running()) {
            run.r.primary_leader = m.name;
        }
    }
    if (run.r.primary_leader.empty()) {
        run.r.error = "the primary cluster " + run.s.primary.cluster +
                      " has no running leader to stream from" +
                      (snap.patroni_answered ? "" : " (" + snap.patroni_error + ")");
        return false;
    }
    const auto* h = run.s.primary.find_host(run.r.primary_leader);
    std::optional<std::string> v;
    try {
        const auto q = run.s.primary_access.sql(run.s.primary_access.reach.inside(h->address, 5432),
                                                k_primary_history_sql, milliseconds(5000));
        if (q.ok) {
            v = q.value(0, 0);
        } else {
            run.r.error = "reading the timeline history on " + run.r.primary_leader + ": " +
                          q.error.describe();
        }
    } catch (const Error& e) {
        run.r.error = "reading the timeline history on " + run.r.primary_leader + ": " + e.what();
    }
    if (!v) {
        return false;
    }
    const auto bar = v->find('|');
    const auto bar2 = bar == std::string::npos ? bar : v->find('|', bar + 1);
    const auto history =
        bar2 == std::string::npos ? std::nullopt : parse_timeline_history(v->substr(bar2 + 1));
    if (!history) {
        run.r.error = "cannot read the timeline history of " + run.r.primary_leader + ": " + *v;
        return false;
    }
    run.r.primary.sysid = v->substr(0, bar);
    run.r.primary.timeline = std::atoi(v->substr(bar + 1, bar2 - bar - 1).c_str());
    run.r.primary.history = *history;
    return true;
}

// A running standby leader in the cluster to rebuild: it is a standby already.
bool already_standby(Run& run) {
    const auto snap =
        take_snapshot(cluster_targets(run.s.standby), run.s.standby_access, patroni_only());
    for (const auto& m : snap.members) {
        if (m.role == MemberRole::standby_leader && m.running()) {
            run.r.nothing_to_do = true;
            run.phase("nothing to rebuild", run.s.standby.cluster + " is a standby cluster (" +
                                                m.name + " is its standby leader)");
            return true;
        }
    }
    return false;
}

bool fence_all(Run& run) {
    std::vector<std::future<FenceOutcome>> pending;
    const auto members = run.s.standby.hosts_with(Service::postgres);
    for (const auto* h : members) {
        pending.push_back(std::async(std::launch::async, [&run, h] { return run.s.fence(*h); }));
    }
    for (std::size_t i = 0; i < members.size(); ++i) {
        const auto f = pending[i].get();
        if (f.fenced) {
            run.r.fenced.push_back(members[i]->name);
        } else {
            run.r.not_fenced.push_back(members[i]->name + ": " + f.detail);
        }
    }
    if (!run.r.not_fenced.empty()) {
        run.r.error = "cannot stop Patroni on every member of " + run.s.standby.cluster + " (" +
                      join(run.r.not_fenced, "; ") +
                      "): its region must be back before it can be rebuilt";
        return false;
    }
    run.phase(
        run.s.standby.cluster + " fenced",
        "Patroni stopped and disabled on " + std::to_string(run.r.fenced.size()) + " member(s)");
    return true;
}

bool judge_members(Run& run) {
    std::vector<MemberData> data;
    for (const auto* h : run.s.standby.hosts_with(Service::postgres)) {
        data.push_back(run.s.read_member(*h));
        if (!data.back().read) {
            run.r.error = "cannot read the data directory of " + h->name + ": " + data.back().error;
            return false;
        }
    }
    try {
        run.r.members = decide_rebuild(data, run.r.primary);
    } catch (const Error& e) {
        run.r.error = e.what();
        return false;
    }
    return true;
}

bool apply_fates(Run& run) {
    for (auto& m : run.r.members) {
        const auto* h = run.s.standby.find_host(m.host);
        try {
            if (m.fate == MemberFate::set_aside) {
                m.set_aside_to = run.s.set_aside(*h);
            } else if (m.fate == MemberFate::keep) {
                run.s.prepare_keep(*h);
            }
        } catch (const Error& e) {
            run.r.error = m.host + ": " + e.what();
            return false;
        }
    }
    std::string detail;
    for (const auto& m : run.r.members) {
        detail += (detail.empty() ? "" : "; ") + m.host + " " + fate_name(m.fate) +
                  (m.set_aside_to.empty() ? "" : " (" + m.set_aside_to + ")");
    }
    run.phase("data judged", detail);
    try {
        run.s.clear_dcs();
    } catch (const Error& e) {
        run.r.error = std::string("removing the cluster's keys from its etcd: ") + e.what();
        return false;
    }
    run.phase("DCS of " + run.s.standby.cluster + " cleared");
    return true;
}

bool converge(Run& run) {
    const auto failed = run.s.bootstrap();
    if (!failed.empty()) {
        run.r.error = "pgdr bootstrap of the pair failed: " + failed;
        return false;
    }
    run.phase("bootstrap of the pair done");
    const auto targets = cluster_targets(run.s.primary);
    const auto streaming = poll_until(run.s.clock, run.req.timeout, run.req.poll, nullptr, [&] {
        run.r.link = read_dr_link(targets, run.s.primary_access, run.r.primary_leader,
                                  run.s.primary.dr->slot);
        return run.r.link.streaming();
    });
    if (streaming != PollOutcome::holds) {
        run.r.error = "the DR link does not stream within " +
                      std::to_string(run.req.timeout.count() / 1000) +
                      " s: " + dr_link_text(run.r.link);
        return false;
    }
    run.phase("DR link streaming", dr_link_text(run.r.link));
    return true;
}

}  // namespace

const char* const k_primary_history_sql =
    "select (select system_identifier::text from pg_control_system()) || '|' || tli::text || "
    "'|' || coalesce(pg_read_file('pg_wal/' || lpad(upper(to_hex(tli)), 8, '0') || "
    "'.history', 0, 1048576, true), '') from (select ('x' || "
    "substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as tli) t";

std::optional<std::vector<TimelineSwitch>> parse_timeline_history(const std::string& text) {
    std::vector<TimelineSwitch> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const auto t = trim(line);
        if (t.empty() || t[0] == '#') {
            continue;
        }
        std::istringstream fields(t);
        std::string tli;
        std::string lsn;
        fields >> tli >> lsn;
        const auto at = Lsn::parse(lsn);
        char* end = nullptr;
        const long parent = std::strtol(tli.c_str(), &end, 10);
        if (!at || end == tli.c_str() || *end != '\0' || parent <= 0) {
            return std::nullopt;
        }
        out.push_back({static_cast<int>(parent), *at});
    }
    return out;
}

MemberData parse_controldata(const std::string& host, const std::string& text) {
    MemberData d;
    d.host = host;
    d.read = true;
    const auto marker = text.find("--- history\n");
    if (marker != std::string::npos) {
        d.history = parse_timeline_history(text.substr(marker + 12));
    }
    std::istringstream in(text.substr(0, marker));
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("Database system identifier:")) {
            d.sysid = after_colon(line);
            d.data = true;
        } else if (line.starts_with("Database cluster state:")) {
            d.state = after_colon(line);
        } else if (line.starts_with("Latest checkpoint's TimeLineID:")) {
            d.timeline = std::atoi(after_colon(line).c_str());
        } else if (line.starts_with("Latest checkpoint location:")) {
            d.checkpoint = after_colon(line);
        }
    }
    return d;
}

namespace {

// The member's timeline history is the start of the primary's: its timeline is the one the
// primary's history names, not another of the same number.
bool history_prefix(const MemberData& m, const PrimaryHistory& primary) {
    if (!m.history || m.history->size() > primary.history.size() ||
        (m.timeline > 1 && m.history->empty())) {
        return false;  // unreadable, missing, or longer: not known to be the primary's
    }
    for (std::size_t i = 0; i < m.history->size(); ++i) {
        const auto& a = (*m.history)[i];
        const auto& b = primary.history[i];
        if (a.parent != b.parent || a.switch_lsn != b.switch_lsn) {
            return false;
        }
    }
    return true;
}

}  // namespace

const char* fate_name(MemberFate f) {
    switch (f) {
        case MemberFate::keep:
            return "kept";
        case MemberFate::set_aside:
            return "set aside";
        case MemberFate::empty:
            return "empty";
    }
    return "?";
}

std::vector<MemberDecision> decide_rebuild(const std::vector<MemberData>& members,
                                           const PrimaryHistory& primary) {
    std::vector<MemberDecision> out;
    bool kept = false;
    for (const auto& m : members) {
        MemberDecision d{m.host, MemberFate::set_aside, "", ""};
        if (!m.data) {
            d.fate = MemberFate::empty;
            d.why = "no data directory: cloned";
            out.push_back(d);
            continue;
        }
        if (m.sysid != primary.sysid) {
            throw Error(ExitCode::postgres,
                        m.host + " holds cluster " + m.sysid + ", not " + primary.sysid +
                            " (the primary cluster's system identifier)",
                        "check that the inventory's dr section names the right hosts; pgdr "
                        "never touches another cluster's data");
        }
        const auto checkpoint = Lsn::parse(m.checkpoint);
        const TimelineSwitch* fork = nullptr;
        for (const auto& s : primary.history) {
            if (s.parent == m.timeline) {
                fork = &s;
            }
        }
        if (m.state != "shut down") {
            d.why = "not cleanly shut down as a primary (" + m.state + ")";
        } else if (fork == nullptr || !checkpoint) {
            d.why = "its timeline " + std::to_string(m.timeline) + " is not in the history of " +
                    "the primary's timeline " + std::to_string(primary.timeline);
        } else if (!history_prefix(m, primary)) {
            d.why = "its timeline " + std::to_string(m.timeline) +
                    " has a history of its own (not the primary's: a promotion on both sides)";
        } else if (!(*checkpoint < fork->switch_lsn)) {
            d.why = "diverged: its WAL ends at " + m.checkpoint + ", past the switch point " +
                    fork->switch_lsn.str() + " of timeline " + std::to_string(m.timeline);
        } else if (kept) {
            d.why = "another member is kept";
        } else {
            d.fate = MemberFate::keep;
            d.why = "its WAL ends at " + m.checkpoint + ", before the switch point " +
                    fork->switch_lsn.str() + ": it follows the new timeline without a copy";
            kept = true;
        }
        out.push_back(d);
    }
    return out;
}

std::vector<std::string> controldata_argv(const Inventory& inv) {
    const auto paths = debian_paths(inv);
    return {"sh",
            "-c",
            "set -e; [ -f \"$2/global/pg_control\" ] || exit 0; "
            "out=$(\"$1/pg_controldata\" \"$2\"); echo \"$out\"; echo '--- history'; "
            "tli=$(echo \"$out\" | sed -n \"s/^Latest checkpoint's TimeLineID: *//p\"); "
            "f=\"$2/pg_wal/$(printf %08X \"${tli:-0}\").history\"; "
            "if [ -f \"$f\" ]; then cat \"$f\"; fi",
            "pgdr-controldata",
            paths.bin_dir,
            paths.data_dir};
}

std::vector<std::string> set_aside_argv(const Inventory& inv, const std::string& suffix) {
    return {"sh",
            "-c",
            "set -e; [ -e \"$1\" ] || exit 0; to=\"$1.pgdr-rebuild-$2\"; "
            "[ ! -e \"$to\" ] || { echo \"$to exists\" >&2; exit 1; }; mv \"$1\" \"$to\"; "
            "echo \"$to\"",
            "pgdr-set-aside",
            debian_paths(inv).data_dir,
            suffix};
}

std::vector<std::string> prepare_keep_argv(const Inventory& inv) {
    return {"sh", "-c",
            "set -e; runuser -u postgres -- touch \"$1/standby.signal\"; "
            "rm -f \"$1/patroni.dynamic.json\"",
            "pgdr-keep", debian_paths(inv).data_dir};
}

DrRebuildResult run_dr_rebuild(const DrRebuildSeams& seams, const DrRebuildRequest& request) {
    DrRebuildResult r;
    r.dry_run = request.dry_run;
    r.primary_cluster = seams.primary.cluster;
    r.standby_cluster = seams.standby.cluster;
    Run run{seams, request, r, seams.clock.steady_now()};
    if (!read_primary(run)) {
        return r;
    }
    if (already_standby(run)) {
        r.ok = true;
        return r;
    }
    run.phase("state read", "primary leader " + r.primary_leader + " on timeline " +
                                std::to_string(r.primary.timeline));
    if (!dr_go_ahead(r, request.dry_run, seams.confirm)) {
        return r;
    }
    if (!fence_all(run) || !judge_members(run) || !apply_fates(run) || !converge(run)) {
        return r;
    }
    r.ok = true;
    return r;
}

nlohmann::json dr_rebuild_to_json(const DrRebuildResult& r) {
    nlohmann::json members = nlohmann::json::array();
    for (const auto& m : r.members) {
        members.push_back({{"host", m.host},
                           {"fate", fate_name(m.fate)},
                           {"why", m.why},
                           {"set_aside_to", m.set_aside_to}});
    }
    return {{"ok", r.ok},
            {"dry_run", r.dry_run},
            {"nothing_to_do", r.nothing_to_do},
            {"primary_cluster", r.primary_cluster},
            {"standby_cluster", r.standby_cluster},
            {"primary_leader", r.primary_leader},
            {"primary_timeline", r.primary.timeline},
            {"fenced", r.fenced},
            {"not_fenced", r.not_fenced},
            {"members", members},
            {"link", dr_link_to_json(r.link)},
            {"phases", dr_phases_json(r.phases)},
            {"error", r.error}};
}

std::string render_dr_rebuild_text(const DrRebuildResult& r) {
    std::string out = "dr rebuild: " + r.standby_cluster + " as the standby of " +
                      r.primary_cluster + (r.dry_run ? " [dry run]" : "") + "\n";
    out +=
        "  primary leader: " + (r.primary_leader.empty() ? "-" : r.primary_leader) +
        (r.primary.timeline > 0 ? " (timeline " + std::to_string(r.primary.timeline) + ")" : "") +
        "\n";
    out += dr_phases_text(r.phases);
    for (const auto& m : r.members) {
        out += "  " + m.host + ": " + fate_name(m.fate) + " — " + m.why +
               (m.set_aside_to.empty() ? "" : "; old data in " + m.set_aside_to) + "\n";
    }
    if (!r.error.empty()) {
        out += "  FAILED: " + r.error + "\n";
    } else if (r.ok && r.dry_run && !r.nothing_to_do) {
        out += "  would fence " + r.standby_cluster +
               ", keep the data of a member that stops before the fork (set the others aside), "
               "clear its DCS and bootstrap it as a standby of " +
               r.primary_cluster + "\n";
    }
    return out;
}

}  // namespace pgdr::pg
