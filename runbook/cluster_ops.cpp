#include "runbook/cluster_ops.hpp"

#include <algorithm>

#include "core/strings.hpp"
#include "pg/debian_paths.hpp"

namespace pgdr::runbook {

namespace {

// Output of several hosts, one block each; a single host's output as it is.
void append(Outcome& o, const std::string& host, const std::string& text, bool several) {
    if (!several) {
        o.output += text;
        return;
    }
    o.output += "--- " + host + "\n" + text;
    if (!text.empty() && text.back() != '\n') {
        o.output += "\n";
    }
}

}  // namespace

ClusterOps::ClusterOps(const Inventory& inv, const pg::TransportLookup& transports,
                       pg::ClusterAccess access, std::map<std::string, std::string> psql_vars)
    : m_inv(inv),
      m_transports(transports),
      m_access(std::move(access)),
      m_psql_vars(std::move(psql_vars)) {}

pg::ClusterSnapshot ClusterOps::snapshot(bool replication) const {
    pg::SnapshotOptions o;
    o.replication = replication;
    o.etcd = false;
    o.haproxy = false;
    return pg::take_snapshot(pg::cluster_targets(m_inv), m_access, o);
}

std::vector<std::string> ClusterOps::resolve(const HostSelector& sel, std::string& error) {
    std::vector<std::string> out;
    if (!sel.hosts.empty()) {
        for (const auto& h : sel.hosts) {
            if (m_inv.find_host(h) == nullptr) {
                error = "no host '" + h + "' in the inventory";
                return {};
            }
            out.push_back(h);
        }
        return out;
    }
    if (!sel.service.empty()) {
        for (const auto& h : m_inv.hosts) {
            if (to_string(Service::postgres) == sel.service && h.runs(Service::postgres)) {
                out.push_back(h.name);
            } else if (to_string(Service::etcd) == sel.service && h.runs(Service::etcd)) {
                out.push_back(h.name);
            } else if (to_string(Service::haproxy) == sel.service && h.runs(Service::haproxy)) {
                out.push_back(h.name);
            }
        }
        if (out.empty()) {
            error = "no host runs service '" + sel.service + "'";
        }
        return out;
    }
    const auto snap = snapshot(false);
    if (snap.leader.empty()) {
        error = "no leader" + (snap.patroni_error.empty() ? "" : ": " + snap.patroni_error);
        return {};
    }
    if (sel.role == Role::leader) {
        return {snap.leader};
    }
    for (const auto& m : snap.members) {
        if (m.name != snap.leader && m_inv.find_host(m.name) != nullptr) {
            out.push_back(m.name);
        }
    }
    if (out.empty()) {
        error = "no replica is registered with Patroni";
    }
    return out;
}

Outcome ClusterOps::run(const RunStep& step, std::chrono::milliseconds timeout) {
    Outcome o;
    std::string error;
    auto hosts = resolve(step.target, error);
    if (hosts.empty()) {
        o.error = error;
        return o;
    }
    std::vector<std::string> failed;
    for (const auto& h : hosts) {
        RunOptions opts;
        opts.sudo = step.sudo;
        opts.timeout = timeout;
        CommandResult r;
        try {
            r = m_transports.at(h)->run(step.command, opts);
        } catch (const std::exception& e) {
            failed.push_back(h + " (" + e.what() + ")");
            continue;
        }
        append(o, h, r.out + r.err, hosts.size() > 1);
        o.timed_out = o.timed_out || r.timed_out;
        if (!r.ok()) {
            failed.push_back(h + (r.timed_out ? " (timed out)"
                                              : " (exit " + std::to_string(r.exit_status) + ")"));
        }
    }
    o.ok = failed.empty();
    if (!o.ok) {
        o.error = "failed on " + join(failed);
    }
    return o;
}

std::vector<std::string> ClusterOps::psql_argv(const std::string& database) const {
    return pg::local_psql_argv(database, {m_psql_vars.begin(), m_psql_vars.end()});
}

Outcome ClusterOps::sql(const SqlStep& step, std::chrono::milliseconds timeout) {
    Outcome o;
    HostSelector sel;
    sel.role = step.role;
    std::string error;
    auto hosts = resolve(sel, error);
    if (hosts.empty()) {
        o.error = error;
        return o;
    }
    std::vector<std::string> failed;
    for (const auto& h : hosts) {
        RunOptions opts;
        opts.sudo = true;
        opts.timeout = timeout;
        opts.stdin_data = step.query;
        CommandResult r;
        try {
            r = m_transports.at(h)->run(psql_argv(step.database), opts);
        } catch (const std::exception& e) {
            failed.push_back(h + " (" + e.what() + ")");
            continue;
        }
        append(o, h, r.ok() ? r.out : r.out + r.err, hosts.size() > 1);
        o.timed_out = o.timed_out || r.timed_out;
        if (!r.ok()) {
            failed.push_back(h + (r.timed_out ? " (timed out)" : " (" + trim(r.err) + ")"));
        } else if (step.expect && trim(r.out) != *step.expect) {
            failed.push_back(h + " (returned '" + trim(r.out) + "', expected '" + *step.expect +
                             "')");
        }
    }
    o.ok = failed.empty();
    if (!o.ok) {
        o.error = "SQL failed on " + join(failed);
    }
    return o;
}

Outcome ClusterOps::evaluate(const Condition& c, std::chrono::milliseconds timeout) {
    Outcome o;
    switch (c.kind) {
        case ConditionKind::command:
            return run(c.command, timeout);
        case ConditionKind::sql:
            return sql(c.sql, timeout);
        case ConditionKind::healthy: {
            auto st = pg::collect_status(m_inv, m_access);
            o.ok = st.healthy();
            o.output = "leader " + (st.leader().empty() ? std::string("none") : st.leader());
            o.error = o.ok ? "" : join(st.problems(), "; ");
            return o;
        }
        default:
            break;
    }
    const auto snap = snapshot(true);
    const std::string& leader = snap.leader;
    o.output = "leader " + (leader.empty() ? std::string("none") : leader);
    switch (c.kind) {
        case ConditionKind::leader_is:
            o.ok = leader == c.member;
            break;
        case ConditionKind::leader_is_not:
            o.ok = !leader.empty() && leader != c.member;
            break;
        case ConditionKind::no_leader:
            o.ok = snap.leaders.empty() && snap.patroni_answered;
            if (!snap.patroni_answered) {
                o.error = snap.patroni_error;
            }
            break;
        case ConditionKind::streaming: {
            const auto* r = snap.replication_of(c.member);
            o.ok = r != nullptr && r->state == "streaming";
            o.output += "; " + c.member + " " +
                        (r == nullptr ? "absent from pg_stat_replication" : r->state);
            break;
        }
        case ConditionKind::all_streaming: {
            std::vector<std::string> not_streaming;
            for (const auto* h : m_inv.hosts_with(Service::postgres)) {
                if (h->name == leader) {
                    continue;
                }
                const auto* r = snap.replication_of(h->name);
                if (r == nullptr || r->state != "streaming") {
                    not_streaming.push_back(h->name);
                }
            }
            o.ok = !leader.empty() && not_streaming.empty();
            o.output += not_streaming.empty() ? "; every replica streaming"
                                              : "; not streaming: " + join(not_streaming);
            break;
        }
        default:
            break;
    }
    if (!o.ok && o.error.empty()) {
        o.error = describe(c) + " does not hold (" + o.output + ")";
    }
    return o;
}

}  // namespace pgdr::runbook
