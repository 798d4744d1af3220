#include "pg/cluster_restore.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/poll.hpp"
#include "core/strings.hpp"
#include "pg/debian_paths.hpp"

namespace pgdr::pg {

namespace {

using Argv = std::vector<std::string>;
using std::chrono::milliseconds;

CommandResult run_sudo(Transport& t, const Argv& argv, milliseconds timeout) {
    RunOptions o;
    o.sudo = true;
    o.timeout = timeout;
    return t.run(argv, o);
}

void require_ok(const CommandResult& r, const std::string& what, const std::string& host) {
    if (!r.ok()) {
        throw Error(ExitCode::postgres,
                    what + " on " + host + " failed: " + trim(r.err.empty() ? r.out : r.err),
                    "`pgdr restore --cluster` can be run again: every step starts from what it "
                    "finds");
    }
}

bool excluded(const ClusterRestoreRequest& req, const std::string& name) {
    return std::find(req.exclude.begin(), req.exclude.end(), name) != req.exclude.end();
}

// The members taking part: every postgres member but the excluded ones.
std::vector<std::string> restored_members(const Inventory& inv, const ClusterRestoreRequest& req) {
    std::vector<std::string> out;
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        if (!excluded(req, h->name)) {
            out.push_back(h->name);
        }
    }
    return out;
}

// --exclude: postgres members only, a minority of them, and etcd's quorum kept.
void check_exclusions(const Inventory& inv, const ClusterRestoreRequest& req) {
    if (req.exclude.empty()) {
        return;
    }
    for (const auto& name : req.exclude) {
        const auto* h = inv.find_host(name);
        if (h == nullptr || !h->runs(Service::postgres)) {
            throw usage_error("--exclude " + name + ": not a postgres member of " + inv.cluster);
        }
    }
    const auto members = inv.hosts_with(Service::postgres).size();
    const auto left = restored_members(inv, req).size();
    if (left * 2 <= members) {
        throw usage_error("--exclude leaves " + std::to_string(left) + " of " +
                              std::to_string(members) +
                              " members: restore --cluster leaves out a minority only",
                          "bring the lost hosts back (or provision them again) first");
    }
    std::size_t etcd = 0, etcd_left = 0;
    for (const auto* h : inv.hosts_with(Service::etcd)) {
        ++etcd;
        etcd_left += excluded(req, h->name) ? 0 : 1;
    }
    if (etcd_left * 2 <= etcd) {
        throw usage_error("--exclude leaves " + std::to_string(etcd_left) + " of " +
                              std::to_string(etcd) +
                              " etcd members: without a quorum etcd takes no lock and Patroni "
                              "elects no leader",
                          "bring enough etcd members back first (`pgdr status` shows etcd)");
    }
}

std::string first_member(const Inventory& inv, const ClusterRestoreRequest& req) {
    if (req.first.empty()) {
        const auto members = restored_members(inv, req);
        if (members.empty()) {
            throw usage_error("the inventory has no postgres member to restore");
        }
        return members.front();
    }
    const auto* h = inv.find_host(req.first);
    if (h == nullptr || !h->runs(Service::postgres)) {
        throw usage_error("--target " + req.first + ": not a postgres member of " + inv.cluster,
                          "with --cluster, --target names the member restored first");
    }
    if (excluded(req, h->name)) {
        throw usage_error("--target " + req.first + " is excluded (--exclude)",
                          "restore first onto a member that is not excluded");
    }
    return h->name;
}

// The members in the order they are stopped: the leader last; the excluded ones never.
std::vector<std::string> stop_order(const Inventory& inv, const ClusterRestoreRequest& req) {
    std::vector<std::string> out;
    for (const auto& name : restored_members(inv, req)) {
        if (name != req.leader) {
            out.push_back(name);
        }
    }
    if (inv.find_host(req.leader) != nullptr && !excluded(req, req.leader)) {
        out.push_back(req.leader);
    }
    return out;
}

// Patroni stopped (it stops its PostgreSQL), then whatever PostgreSQL still runs.
Argv stop_member_argv(const DebianPaths& p) {
    return {"sh",
            "-c",
            "systemctl stop \"$1\" 2>/dev/null || true; systemctl stop \"$2\" 2>/dev/null || true; "
            "pg_ctlcluster \"$3\" main stop --force 2>/dev/null || true; "
            "! pg_ctlcluster \"$3\" main status >/dev/null 2>&1",
            "pgdr-restore-stop",
            p.patroni_unit,
            p.postgres_unit,
            std::to_string(p.version)};
}

// The restored PostgreSQL (started under its own unit by pg_ctlcluster) shut down cleanly, then
// Patroni started on it, as bootstrap hands a running cluster over (pg/bootstrap_plan.cpp).
Argv hand_over_argv(const DebianPaths& p) {
    return {"sh",
            "-c",
            "systemctl stop \"$2\" 2>/dev/null || true; "
            "pg_ctlcluster \"$3\" main stop 2>/dev/null || true; "
            "! pg_ctlcluster \"$3\" main status >/dev/null 2>&1 && systemctl start \"$1\"",
            "pgdr-restore-handover",
            p.patroni_unit,
            p.postgres_unit,
            std::to_string(p.version)};
}

// Everything in the data directory, not the directory itself (its owner and mode stay).
Argv empty_member_argv(const DebianPaths& p) {
    return {"sh",
            "-c",
            "! pg_ctlcluster \"$2\" main status >/dev/null 2>&1 && "
            "{ [ ! -d \"$1\" ] || find \"$1\" -mindepth 1 -delete; }",
            "pgdr-restore-empty",
            p.data_dir,
            std::to_string(p.version)};
}

}  // namespace

ClusterView judge_without(const std::string& leader, const std::vector<Finding>& findings,
                          const std::vector<std::string>& excluded) {
    std::vector<Finding> kept;
    for (const auto& f : findings) {
        if (std::find(excluded.begin(), excluded.end(), f.member) == excluded.end()) {
            kept.push_back(f);
        }
    }
    return {leader, healthy(kept), problems(kept)};
}

std::string patroni_dcs_prefix(const Inventory& inv) {
    return "/postgresql-common/" + debian_paths(inv).cluster + "/";
}

std::vector<ClusterRestoreStep> plan_cluster_restore(const Inventory& inv,
                                                     const ClusterRestoreRequest& req) {
    require_backup(inv);
    check_exclusions(inv, req);
    const std::string first = first_member(inv, req);
    const std::string to = req.target.kind == RestoreTarget::Kind::latest ? "the end of the archive"
                                                                          : req.target.value;
    std::vector<ClusterRestoreStep> s;
    s.push_back({"check_repository", first, "the repository answers and holds a backup"});
    s.push_back({"reach_members", "",
                 req.exclude.empty() ? "every member answers over SSH"
                                     : "every member but " + join(req.exclude, ", ") +
                                           " (excluded) answers over SSH"});
    for (const auto& name : stop_order(inv, req)) {
        s.push_back({"stop_member", name, "stop Patroni and PostgreSQL"});
    }
    s.push_back(
        {"clear_dcs", "", "remove the cluster's keys from etcd (" + patroni_dcs_prefix(inv) + ")"});
    s.push_back({"restore_first", first, "pgbackrest restore to " + to + ", promoted"});
    s.push_back({"hand_over_first", first, "stop PostgreSQL's own unit, start Patroni"});
    s.push_back({"wait_leader", first, "Patroni leads on the restored data"});
    if (req.target.kind != RestoreTarget::Kind::latest) {
        // pgBackRest backs up from the repository host when there is one.
        const std::string on = backup_host(inv);
        s.push_back({"backup_new_timeline", on.empty() ? first : on,
                     "a full backup of the restored cluster (replicas are cloned from it)"});
    }
    for (const auto& name : restored_members(inv, req)) {
        if (name != first) {
            s.push_back({"empty_member", name, "empty the data directory"});
            s.push_back({"start_member", name,
                         "start Patroni: the replica is re-created from the repository"});
        }
    }
    s.push_back({"wait_healthy", "", "every member streams, the assessment is healthy"});
    return s;
}

namespace {

class Runner {
  public:
    Runner(const ClusterRestoreSeams& seams, const ClusterRestoreRequest& req)
        : m_s(seams), m_req(req), m_paths(debian_paths(seams.inv)) {}

    void run(const ClusterRestoreStep& step, ClusterRestoreResult& out) {
        if (step.name == "check_repository") {
            check_repository(step.host);
        } else if (step.name == "reach_members") {
            reach_members();
        } else if (step.name == "stop_member") {
            require_ok(
                run_sudo(host(step.host), stop_member_argv(m_paths), std::chrono::minutes(5)),
                "stopping Patroni and PostgreSQL", step.host);
        } else if (step.name == "clear_dcs") {
            const auto r = m_s.etcd.run({"del", "--prefix", patroni_dcs_prefix(m_s.inv)});
            require_ok(r, "etcdctl del --prefix " + patroni_dcs_prefix(m_s.inv), "etcd");
        } else if (step.name == "restore_first") {
            out.restore = restore_first(step.host);
        } else if (step.name == "hand_over_first") {
            require_ok(run_sudo(host(step.host), hand_over_argv(m_paths), std::chrono::minutes(5)),
                       "handing PostgreSQL over to Patroni", step.host);
        } else if (step.name == "wait_leader") {
            // Patroni takes the leader key while PostgreSQL still starts in recovery, and
            // promotes it a moment later: the new timeline's backup needs it promoted.
            wait("Patroni on " + step.host + " to lead the restored cluster, promoted",
                 [&] { return m_s.observe().leader == step.host && accepts_writes(step.host); });
            out.leader = step.host;
        } else if (step.name == "backup_new_timeline") {
            BackupRunOptions bo;
            bo.type = "full";
            out.backup = run_backup(m_s.inv, host(step.host), bo);
        } else if (step.name == "empty_member") {
            require_ok(
                run_sudo(host(step.host), empty_member_argv(m_paths), std::chrono::minutes(30)),
                "emptying " + m_paths.data_dir, step.host);
        } else if (step.name == "start_member") {
            require_ok(run_sudo(host(step.host), {"systemctl", "start", m_paths.patroni_unit},
                                std::chrono::minutes(2)),
                       "starting " + m_paths.patroni_unit, step.host);
        } else if (step.name == "wait_healthy") {
            wait_healthy();
        } else {
            throw Error(ExitCode::internal, "restore --cluster: unknown step " + step.name);
        }
    }

  private:
    Transport& host(const std::string& name) {
        const auto it = m_s.hosts.find(name);
        if (it == m_s.hosts.end() || it->second == nullptr) {
            throw Error(ExitCode::internal, "restore --cluster: no transport to " + name);
        }
        return *it->second;
    }

    bool accepts_writes(const std::string& name) {
        const auto r = run_sudo(host(name), local_psql_command("select pg_is_in_recovery()"),
                                std::chrono::seconds(10));
        return r.ok() && trim(r.out) == "f";
    }

    void check_repository(const std::string& name) {
        const auto info = read_backup_info(m_s.inv, host(name));
        if (info.backups.empty()) {
            throw Error(ExitCode::postgres,
                        "the repository holds no backup of " + m_s.inv.cluster +
                            ": nothing to restore, and nothing was stopped",
                        "`pgdr backup list` shows the repository; `pgdr backup run` takes one");
        }
    }

    // Before anything is stopped: a member that cannot be reached would be left running with
    // the old data while the others are restored.
    void reach_members() {
        std::vector<std::string> lost;
        for (const auto& name : restored_members(m_s.inv, m_req)) {
            try {
                run_sudo(host(name), {"true"}, std::chrono::seconds(30));
            } catch (const Error& e) {
                if (e.code() != ExitCode::unreachable) {
                    throw;
                }
                lost.push_back(name);
            }
        }
        refuse_running_excluded();
        if (!lost.empty()) {
            throw Error(ExitCode::unreachable,
                        "restore --cluster: " + join(lost, ", ") +
                            " cannot be reached; nothing was stopped",
                        "when the host is lost, leave it out: --exclude " +
                            join(lost, " --exclude ") +
                            " (a minority of the members; `pgdr reinit` it once it is back)");
        }
    }

    // An excluded member whose Patroni still runs would race for the leader key once the DCS
    // is cleared, with the old data: it must be down (unreachable) or its Patroni stopped.
    void refuse_running_excluded() {
        std::vector<std::string> running;
        for (const auto& name : m_req.exclude) {
            try {
                const auto r = run_sudo(host(name),
                                        {"systemctl", "is-active", "--quiet", m_paths.patroni_unit},
                                        std::chrono::seconds(30));
                if (r.ok()) {
                    running.push_back(name);
                }
            } catch (const Error& e) {
                if (e.code() != ExitCode::unreachable) {
                    throw;
                }
            }
        }
        if (!running.empty()) {
            throw Error(ExitCode::usage,
                        "--exclude " + join(running, ", ") +
                            ": Patroni runs there; it would "
                            "take over the cleared DCS with the old data. Nothing was stopped",
                        "stop it there (systemctl stop " + m_paths.patroni_unit +
                            "), or do not exclude a member that is running");
        }
    }

    RestoreResult restore_first(const std::string& name) {
        RestoreRequest r;
        r.host = name;
        r.target = m_req.target;
        r.confirm_cluster = m_req.confirm_cluster;
        r.timeout = m_req.restore_timeout;
        if (m_s.restoring) {
            m_s.restoring(name, true);
        }
        try {
            auto res = run_restore(m_s.inv, host(name), r, m_s.clock, m_s.progress);
            if (m_s.restoring) {
                m_s.restoring(name, false);
            }
            return res;
        } catch (...) {
            if (m_s.restoring) {
                m_s.restoring(name, false);
            }
            throw;
        }
    }

    void wait(const std::string& what, const std::function<bool()>& holds) {
        const auto outcome =
            poll_until(m_s.clock, m_req.wait_timeout, m_req.poll, m_s.interrupted, holds);
        if (outcome == PollOutcome::interrupted) {
            throw Error(ExitCode::interrupted, "interrupted while waiting for " + what);
        }
        if (outcome == PollOutcome::timed_out) {
            throw Error(
                ExitCode::verification_failed, "timed out waiting for " + what,
                "`pgdr status` shows the cluster; Patroni's journal on the member says why");
        }
    }

    void wait_healthy() {
        ClusterView last;
        const auto outcome =
            poll_until(m_s.clock, m_req.wait_timeout, m_req.poll, m_s.interrupted, [&] {
                last = m_s.observe();
                return last.healthy;
            });
        if (outcome == PollOutcome::interrupted) {
            throw Error(ExitCode::interrupted, "interrupted while the replicas were re-created");
        }
        if (outcome == PollOutcome::timed_out) {
            throw Error(ExitCode::verification_failed,
                        "the restored cluster is not healthy yet: " + join(last.problems, "; "),
                        "`pgdr status` shows it; a replica may still be restoring (Patroni's "
                        "journal on it), `pgdr reinit MEMBER` rebuilds one");
        }
    }

    const ClusterRestoreSeams& m_s;
    const ClusterRestoreRequest& m_req;
    DebianPaths m_paths;
};

}  // namespace

ClusterRestoreResult run_cluster_restore(const ClusterRestoreSeams& seams,
                                         const ClusterRestoreRequest& req) {
    if (req.confirm_cluster != seams.inv.cluster) {
        throw usage_error("restore --cluster replaces the data of every member of " +
                              seams.inv.cluster + ": it needs the cluster's name typed",
                          "type it when asked, or add --yes-really " + seams.inv.cluster);
    }
    const auto steps = plan_cluster_restore(seams.inv, req);
    ClusterRestoreResult out;
    out.excluded = req.exclude;
    Runner runner(seams, req);
    const auto start = seams.clock.steady_now();
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const auto& step = steps[i];
        if (seams.interrupted != nullptr && seams.interrupted->load()) {
            throw Error(ExitCode::interrupted, "interrupted before step " + step.name);
        }
        if (seams.progress) {
            seams.progress("[" + std::to_string(i + 1) + "/" + std::to_string(steps.size()) + "] " +
                           step.name + (step.host.empty() ? "" : " on " + step.host) + ": " +
                           step.what);
        }
        const auto t0 = seams.clock.steady_now();
        runner.run(step, out);
        out.steps.push_back(
            {step.name, step.host,
             std::chrono::duration_cast<milliseconds>(seams.clock.steady_now() - t0)});
    }
    out.total = std::chrono::duration_cast<milliseconds>(seams.clock.steady_now() - start);
    return out;
}

}  // namespace pgdr::pg
