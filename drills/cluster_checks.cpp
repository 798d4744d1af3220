#include "drills/cluster_checks.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "core/error.hpp"
#include "core/strings.hpp"
#include "core/timeouts.hpp"
#include "pg/debian_paths.hpp"

namespace pgdr::drills {

namespace {

// The member's timeline: a primary's current WAL file names it at once (pg_control's
// checkpoint copy lags until the first checkpoint after a promotion, which is spread over
// minutes); a replica streams the timeline its WAL receiver reports.
const char* const k_timeline_sql =
    "SELECT CASE WHEN pg_is_in_recovery() THEN coalesce("
    "(SELECT received_tli FROM pg_stat_wal_receiver), "
    "(SELECT timeline_id FROM pg_control_checkpoint())) "
    "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END;\n";

CommandResult psql(const ClusterSeams& seams, const std::string& host, const std::string& db,
                   const std::string& sql,
                   const std::vector<std::pair<std::string, std::string>>& vars = {}) {
    RunOptions o;
    o.sudo = true;
    o.timeout = k_quick_command_timeout;
    o.stdin_data = sql;
    return seams.transport(host).run(pg::local_psql_argv(db, vars), o);
}

std::string failure(const CommandResult& r) {
    if (r.timed_out) {
        return "timed out";
    }
    auto e = first_line(r.err);
    return "exit " + std::to_string(r.exit_status) + (e.empty() ? "" : ": " + e);
}

std::string history_path(const DrillTopology& t, int timeline) {
    char name[32];
    std::snprintf(name, sizeof name, "%08X.history", static_cast<unsigned>(timeline));
    return t.data_dir + "/pg_wal/" + name;
}

}  // namespace

Health check_health(const ClusterSeams& seams, const HealthCriteria& criteria) {
    const auto targets = cluster_targets(seams.topology);
    pg::SnapshotOptions o;
    o.ask_last = criteria.ask_last;
    o.haproxy = criteria.check_haproxy;
    pg::AssessCriteria c;
    c.max_lag_bytes = criteria.max_lag_bytes;
    c.synchronous_mode = criteria.require_sync_standby;
    c.haproxy = criteria.check_haproxy;
    Health h;
    h.snapshot = pg::take_snapshot(targets, seams.cluster, o);
    h.findings = pg::assess(targets, h.snapshot, c);
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
                // positions is a split brain: Patroni 3.0.2's old leader retaking the key after a
                // partition heals, Patroni PR #2689).
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
    const auto rows = pg::read_replication(cluster_targets(t), seams.cluster, leader, {});
    if (rows.ok) {
        for (const auto& row : rows.rows) {
            pc.streaming_replicas += row.state == "streaming";
        }
    } else {
        errors.push_back("post-checks: " + rows.error);
    }
    return pc;
}

std::optional<std::vector<std::int64_t>> read_drill_seqs(
    const ClusterSeams& seams, const std::string& leader, const std::string& run,
    std::string& error, std::map<std::int64_t, std::int64_t>* stamps_us) {
    try {
        auto r = psql(seams, leader, "pgdr",
                      "SELECT seq, (extract(epoch FROM at) * 1000000)::bigint FROM pgdr_drill "
                      "WHERE run = :'run' ORDER BY seq;\n",
                      {{"run", run}});
        if (!r.ok()) {
            error = "cannot read the drill's rows on " + leader + ": " + failure(r);
            return std::nullopt;
        }
        std::vector<std::int64_t> seqs;
        for (const auto& l : lines(r.out)) {
            const auto bar = l.find('|');
            seqs.push_back(std::stoll(l.substr(0, bar)));
            if (stamps_us != nullptr && bar != std::string::npos) {
                (*stamps_us)[seqs.back()] = std::stoll(l.substr(bar + 1));
            }
        }
        return seqs;
    } catch (const std::exception& e) {
        error = "cannot read the drill's rows on " + leader + ": " + e.what();
        return std::nullopt;
    }
}

}  // namespace pgdr::drills
