#include "drills/cluster_checks.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "drills/haproxy_stats.hpp"

namespace pgdr::drills {

const char* const k_replication_sql =
    "SELECT application_name, state, "
    "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint "
    "FROM pg_stat_replication ORDER BY 1;\n";

namespace {

// The member's timeline: a primary's current WAL file names it at once (pg_control's
// checkpoint copy lags until the first checkpoint after a promotion, which is spread over
// minutes); a replica streams the timeline its WAL receiver reports.
const char* const k_timeline_sql =
    "SELECT CASE WHEN pg_is_in_recovery() THEN coalesce("
    "(SELECT received_tli FROM pg_stat_wal_receiver), "
    "(SELECT timeline_id FROM pg_control_checkpoint())) "
    "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END;\n";

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        if (!l.empty() && l.back() == '\r') {
            l.pop_back();
        }
        if (!l.empty()) {
            out.push_back(l);
        }
    }
    return out;
}

std::string first_line(const std::string& text) {
    auto l = lines(text);
    return l.empty() ? "" : l.front();
}

CommandResult psql(const ClusterSeams& seams, const std::string& host, const std::string& db,
                   const std::string& sql,
                   const std::vector<std::pair<std::string, std::string>>& vars = {}) {
    RunOptions o;
    o.sudo = true;
    o.timeout = std::chrono::seconds(20);
    o.stdin_data = sql;
    return seams.transport(host).run(psql_argv(db, vars), o);
}

std::string failure(const CommandResult& r) {
    if (r.timed_out) {
        return "timed out";
    }
    auto e = first_line(r.err);
    return "exit " + std::to_string(r.exit_status) + (e.empty() ? "" : ": " + e);
}

bool replica_state_ok(const std::string& state) {
    return state == "running" || state == "streaming";
}

std::string history_path(const DrillTopology& t, int timeline) {
    char name[32];
    std::snprintf(name, sizeof name, "%08X.history", static_cast<unsigned>(timeline));
    return t.data_dir + "/pg_wal/" + name;
}

}  // namespace

std::vector<std::string> psql_argv(const std::string& database,
                                   const std::vector<std::pair<std::string, std::string>>& vars) {
    std::vector<std::string> argv{"runuser", "-u",    "postgres", "--",
                                  "psql",    "-XAtq", "-v",       "ON_ERROR_STOP=1"};
    for (const auto& [name, value] : vars) {
        argv.push_back("-v");
        argv.push_back(name + "=" + value);
    }
    argv.push_back("-d");
    argv.push_back(database);
    return argv;
}

std::vector<ReplicationRow> parse_replication_rows(const std::string& out) {
    std::vector<ReplicationRow> rows;
    for (const auto& l : lines(out)) {
        std::vector<std::string> f;
        std::stringstream ss(l);
        for (std::string x; std::getline(ss, x, '|');) {
            f.push_back(x);
        }
        if (f.size() < 2) {
            continue;
        }
        ReplicationRow r{f[0], f[1], std::nullopt};
        if (f.size() >= 3 && !f[2].empty()) {
            try {
                r.lag_bytes = std::stoll(f[2]);
            } catch (const std::exception&) {
                r.lag_bytes = std::nullopt;
            }
        }
        rows.push_back(r);
    }
    return rows;
}

std::string best_candidate(const pg::ClusterView& view) {
    const auto* leader = view.find(view.leader);
    const pg::ClusterMember* best = nullptr;
    for (const auto& m : view.members) {
        if (m.name == view.leader || !replica_state_ok(m.state) || m.role == "standby_leader") {
            continue;
        }
        if (leader != nullptr && leader->timeline && m.timeline &&
            *m.timeline != *leader->timeline) {
            continue;
        }
        auto rank = [](const pg::ClusterMember& x) {
            bool sync = x.role == "sync_standby";
            return std::make_pair(sync ? 0 : 1, x.lag_bytes.value_or(INT64_MAX));
        };
        if (best == nullptr || rank(m) < rank(*best)) {
            best = &m;
        }
    }
    return best == nullptr ? "" : best->name;
}

Health check_health(const ClusterSeams& seams, const HealthCriteria& criteria) {
    Health h;
    const auto& t = seams.topology;
    std::vector<std::string> order;
    for (const auto& n : t.postgres) {
        if (n.name != criteria.ask_last) {
            order.push_back(n.name);
        }
    }
    if (!criteria.ask_last.empty() && t.find(criteria.ask_last) != nullptr) {
        order.push_back(criteria.ask_last);
    }
    pg::PatroniApi api(seams.http);
    std::string last_error;
    for (const auto& name : order) {
        auto r = api.cluster(t.rest_url(name));
        if (r.ok()) {
            h.view = r.value;
            break;
        }
        last_error = r.error;
    }
    if (!h.view) {
        h.unreachable = true;
        h.problems.push_back("no member's Patroni REST API answered (" + last_error + ")");
        return h;
    }
    int leaders = 0;
    for (const auto& m : h.view->members) {
        leaders += m.role == "leader" || m.role == "standby_leader";
    }
    if (leaders != 1) {
        h.problems.push_back("Patroni reports " + std::to_string(leaders) +
                             " leaders; exactly one is needed");
        return h;
    }
    h.leader = h.view->leader;
    const auto* lm = h.view->find(h.leader);
    for (const auto& n : t.postgres) {
        const auto* m = h.view->find(n.name);
        if (m == nullptr) {
            h.problems.push_back(n.name + " is not a member of the Patroni cluster");
            continue;
        }
        if (n.name == h.leader) {
            if (m->state != "running") {
                h.problems.push_back("leader " + n.name + " is " + m->state);
            }
            continue;
        }
        if (!replica_state_ok(m->state)) {
            h.problems.push_back(n.name + " is " + (m->state.empty() ? "in no state" : m->state));
        }
        if (lm->timeline && m->timeline && *m->timeline != *lm->timeline) {
            h.problems.push_back(n.name + " is on timeline " + std::to_string(*m->timeline) +
                                 ", the leader on " + std::to_string(*lm->timeline));
        }
    }
    if (criteria.require_sync_standby && t.postgres.size() > 1 &&
        std::none_of(h.view->members.begin(), h.view->members.end(),
                     [](const auto& m) { return pg::is_sync_standby_role(m.role); })) {
        h.problems.push_back("no synchronous standby yet (synchronous_mode)");
    }

    // Patroni can call a replica "running" while it does not stream (reference/lab.md P9):
    // pg_stat_replication on the leader is the proof.
    auto r = psql(seams, h.leader, "postgres", k_replication_sql);
    if (!r.ok()) {
        h.problems.push_back("pg_stat_replication on " + h.leader + ": " + failure(r));
        return h;
    }
    h.replication = parse_replication_rows(r.out);
    for (const auto& n : t.postgres) {
        if (n.name == h.leader) {
            continue;
        }
        auto row = std::find_if(h.replication.begin(), h.replication.end(),
                                [&](const ReplicationRow& x) { return x.name == n.name; });
        if (row == h.replication.end()) {
            h.problems.push_back(n.name + " has no replication connection to the leader " +
                                 h.leader);
        } else if (row->state != "streaming") {
            h.problems.push_back(n.name + " replication state is " + row->state +
                                 ", not streaming");
        } else if (criteria.max_lag_bytes) {
            if (!row->lag_bytes) {
                h.problems.push_back(n.name + " lag is unknown");
            } else if (*row->lag_bytes > *criteria.max_lag_bytes) {
                h.problems.push_back(n.name + " lags " + std::to_string(*row->lag_bytes) +
                                     " bytes, over the bound of " +
                                     std::to_string(*criteria.max_lag_bytes));
            }
        }
    }

    if (criteria.check_haproxy) {
        const auto& hp = t.probe_haproxy();
        HttpRequest req;
        req.url = haproxy_stats_url(hp.address, t.stats_port);
        req.timeout = std::chrono::milliseconds(2000);
        req.connect_timeout = std::chrono::milliseconds(2000);
        try {
            auto resp = seams.http.send(req);
            std::vector<std::string> up;
            for (const auto& s : parse_haproxy_csv(resp.body)) {
                if (s.port == HaproxyPort::write && s.up()) {
                    up.push_back(s.server);
                }
            }
            if (up.size() != 1 || up.front() != h.leader) {
                std::string names;
                for (const auto& u : up) {
                    names += (names.empty() ? "" : ",") + u;
                }
                h.problems.push_back("HAProxy " + hp.name + " has [" + names +
                                     "] UP on the write port, not only the leader " + h.leader);
            }
        } catch (const HttpTransportError& e) {
            h.problems.push_back("HAProxy statistics on " + hp.name + ": " + e.what());
        }
    }
    return h;
}

std::vector<std::pair<int, std::string>> parse_history(const std::string& text) {
    std::vector<std::pair<int, std::string>> out;
    for (const auto& l : lines(text)) {
        std::istringstream in(l);
        int tli = 0;
        std::string lsn;
        if (l[0] == '#' || !(in >> tli >> lsn)) {
            continue;
        }
        out.emplace_back(tli, lsn);
    }
    return out;
}

PostCheck post_check(const ClusterSeams& seams, const std::string& leader,
                     std::vector<std::string>& errors) {
    PostCheck pc;
    pc.leader = leader;
    const auto& t = seams.topology;
    pc.expected_replicas = static_cast<int>(t.postgres.size()) - 1;
    if (leader.empty()) {
        errors.push_back("post-checks: no leader");
        return pc;
    }
    for (const auto& n : t.postgres) {
        try {
            auto r = psql(seams, n.name, "postgres", k_timeline_sql);
            if (r.ok() && !first_line(r.out).empty()) {
                pc.timelines[n.name] = std::stoi(first_line(r.out));
            } else {
                errors.push_back("post-checks: timeline of " + n.name + ": " + failure(r));
            }
        } catch (const std::exception& e) {
            errors.push_back("post-checks: timeline of " + n.name + ": " + e.what());
        }
    }
    auto leader_tl = pc.timelines.find(leader);
    if (leader_tl != pc.timelines.end() && leader_tl->second > 1) {
        auto leader_hist =
            seams.transport(leader).read_file(history_path(t, leader_tl->second), true);
        if (!leader_hist) {
            errors.push_back("post-checks: cannot read the timeline history on " + leader);
        } else {
            auto reference = parse_history(*leader_hist);
            for (const auto& [node, tl] : pc.timelines) {
                if (node == leader || tl <= 1) {
                    continue;
                }
                auto text = seams.transport(node).read_file(history_path(t, tl), true);
                if (!text) {
                    errors.push_back("post-checks: cannot read the timeline history on " + node);
                    continue;
                }
                // A member on timeline tl carries the history up to tl; it must be the same
                // branch points as the leader's (both promoted to one number from different
                // positions is the split brain of reference/lab.md P10).
                auto mine = parse_history(*text);
                bool prefix = mine.size() <= reference.size() &&
                              std::equal(mine.begin(), mine.end(), reference.begin());
                if (!prefix || tl > leader_tl->second) {
                    pc.histories_consistent = false;
                    errors.push_back("post-checks: the timeline history of " + node +
                                     " (timeline " + std::to_string(tl) +
                                     ") disagrees with the leader's");
                }
            }
        }
    }
    try {
        auto r = psql(seams, leader, "postgres", k_replication_sql);
        if (r.ok()) {
            for (const auto& row : parse_replication_rows(r.out)) {
                pc.streaming_replicas += row.state == "streaming";
            }
        } else {
            errors.push_back("post-checks: pg_stat_replication on " + leader + ": " + failure(r));
        }
    } catch (const std::exception& e) {
        errors.push_back("post-checks: pg_stat_replication on " + leader + ": " + e.what());
    }
    return pc;
}

std::optional<std::vector<std::int64_t>> read_drill_seqs(const ClusterSeams& seams,
                                                         const std::string& leader,
                                                         const std::string& run,
                                                         std::string& error) {
    try {
        auto r =
            psql(seams, leader, "pgdr",
                 "SELECT seq FROM pgdr_drill WHERE run = :'run' ORDER BY seq;\n", {{"run", run}});
        if (!r.ok()) {
            error = "cannot read the drill's rows on " + leader + ": " + failure(r);
            return std::nullopt;
        }
        std::vector<std::int64_t> seqs;
        for (const auto& l : lines(r.out)) {
            seqs.push_back(std::stoll(l));
        }
        return seqs;
    } catch (const std::exception& e) {
        error = "cannot read the drill's rows on " + leader + ": " + e.what();
        return std::nullopt;
    }
}

}  // namespace pgdr::drills
