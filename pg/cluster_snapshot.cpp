#include "pg/cluster_snapshot.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/strings.hpp"
#include "pg/postgres_conf.hpp"

namespace pgdr::pg {

namespace {

using nlohmann::json;

std::string text(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string short_body(const std::string& body) {
    return trim(body.substr(0, 200));
}

HttpRequest get_request(const std::string& url, std::chrono::milliseconds timeout) {
    HttpRequest req;
    req.method = "GET";
    req.url = url;
    req.timeout = timeout;
    req.connect_timeout = timeout;
    return req;
}

// GET `path` of address:port through the reach; the answer, or std::nullopt and `error` when
// none came (the callers name the member).
std::optional<HttpResponse> http_get(const ClusterAccess& access, const std::string& address,
                                     int port, const std::string& path,
                                     std::chrono::milliseconds timeout, std::string& error,
                                     const std::string& scheme = "https",
                                     const std::string& authorization = "") {
    try {
        const std::string url = access.reach.endpoint(address, port).url(scheme) + path;
        try {
            HttpRequest req = get_request(url, timeout);
            if (!authorization.empty()) {
                req.headers["Authorization"] = authorization;
            }
            return access.http.send(req);
        } catch (const HttpTransportError& e) {
            // CurlHttpClient's messages already name the URL; others may not.
            const std::string what = e.what();
            error = what.find(url) != std::string::npos ? what : "GET " + url + ": " + what;
        }
    } catch (const Error& e) {
        error = e.what();
    }
    return std::nullopt;
}

void read_patroni(const ClusterTargets& t, const ClusterAccess& access, const SnapshotOptions& o,
                  ClusterSnapshot& s) {
    std::vector<const ClusterNode*> order;
    for (const auto& n : t.postgres) {
        if (n.name != o.ask_last) {
            order.push_back(&n);
        }
    }
    if (const auto* last = t.postgres_node(o.ask_last)) {
        order.push_back(last);
    }
    const PatroniApi api(access.http, o.timeout);
    std::vector<std::string> errors;
    for (const auto* n : order) {
        try {
            auto r = api.cluster(access.reach.endpoint(n->address, t.rest_port).url("https"));
            if (r.ok()) {
                s.patroni_answered = true;
                s.patroni_source = n->name;
                s.members = std::move(*r.value);
                break;
            }
            errors.push_back(n->name + ": " + r.error);
        } catch (const Error& e) {
            errors.push_back(n->name + ": " + e.what());
        }
    }
    if (!s.patroni_answered) {
        s.patroni_error = errors.empty() ? "no postgres host in the inventory" : join(errors, "; ");
        return;
    }
    s.leaders = leaders_of(s.members);
    if (s.leaders.size() == 1) {
        s.leader = s.leaders.front();
    }
}

void read_leader_replication(const ClusterTargets& t, const ClusterAccess& access,
                             const SnapshotOptions& o, ClusterSnapshot& s) {
    auto r = read_replication(t, access, s.leader, s.members, o.timeout);
    s.replication_read = r.ok;
    s.replication_error = std::move(r.error);
    s.replication = std::move(r.rows);
}

void read_leader_archiver(const ClusterTargets& t, const ClusterAccess& access,
                          const SnapshotOptions& o, ClusterSnapshot& s) {
    const auto* node = t.postgres_node(s.leader);
    if (node == nullptr || !access.sql) {
        s.archiver_error = "no SQL access to the leader " + s.leader;
        return;
    }
    try {
        const QueryResult r =
            access.sql(access.reach.inside(node->address, t.pg_port), k_archiver_sql, o.timeout);
        if (!r.ok) {
            s.archiver_error = "pg_stat_archiver on " + s.leader + ": " + r.error.describe();
        } else if (!parse_archiver(r, s.archiver)) {
            s.archiver_error = "pg_stat_archiver on " + s.leader + ": unexpected answer";
        } else {
            s.archiver_read = true;
        }
    } catch (const Error& e) {
        s.archiver_error = "pg_stat_archiver on " + s.leader + ": " + e.what();
    }
}

void read_etcd(const ClusterTargets& t, const ClusterAccess& access, const SnapshotOptions& o,
               ClusterSnapshot& s) {
    for (const auto& n : t.etcd) {
        EtcdMemberHealth h;
        h.name = n.name;
        h.endpoint = Endpoint{n.address, t.etcd_client_port}.url("https");
        std::string error;
        auto resp = http_get(access, n.address, t.etcd_client_port, "/health", o.timeout, error);
        if (!resp) {
            h.detail = error;
        } else {
            // etcd answers 503 with the same body when the member has no leader.
            h.healthy = parse_etcd_health(resp->body, h.detail) && resp->status == 200;
            if (!h.healthy && h.detail.empty()) {
                h.detail = "HTTP " + std::to_string(resp->status) + " " + short_body(resp->body);
            }
        }
        s.etcd.push_back(std::move(h));
    }
}

void read_haproxy(const ClusterTargets& t, const ClusterAccess& access, const SnapshotOptions& o,
                  ClusterSnapshot& s) {
    for (const auto& n : t.haproxy) {
        HaproxyRouting h;
        h.name = n.name;
        auto resp = http_get(access, n.address, t.stats_port, "/;csv", o.timeout, h.error, "http",
                             access.haproxy_authorization);
        if (resp && resp->status == 200) {
            h.answered = true;
            h.servers = parse_haproxy_csv(resp->body);
            if (h.servers.empty()) {
                h.answered = false;
                h.error = std::string("the statistics page lists no server of ") + k_write_backend +
                          "/" + k_read_backend;
            }
        } else if (resp) {
            h.error = "GET /;csv: HTTP " + std::to_string(resp->status);
        }
        s.haproxy.push_back(std::move(h));
    }
}

}  // namespace

const char* const k_replication_sql =
    "SELECT application_name, state, coalesce(sync_state, ''), coalesce(flush_lsn::text, ''), "
    "coalesce(replay_lsn::text, ''), "
    // A standby cluster's leader is in recovery (pg_current_wal_lsn() fails there): its
    // cascade replicas are measured against what it replayed.
    "pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END, replay_lsn)::bigint "
    "FROM pg_stat_replication ORDER BY 1";

const char* const k_archiver_sql =
    "SELECT archived_count, coalesce(last_archived_wal, ''), "
    "extract(epoch from last_archived_time)::float8, failed_count, "
    "coalesce(last_failed_wal, ''), extract(epoch from last_failed_time)::float8 "
    "FROM pg_stat_archiver";

bool parse_archiver(const QueryResult& result, ArchiverState& out) {
    if (!result.ok || result.rows.size() != 1 || result.rows[0].size() != 6) {
        return false;
    }
    try {
        auto number = [&](std::size_t col) -> std::optional<double> {
            auto v = result.value(0, col);
            if (!v || v->empty()) {
                return std::nullopt;
            }
            std::size_t used = 0;
            double d = std::stod(*v, &used);
            if (used != v->size()) {
                throw std::invalid_argument(*v);
            }
            return d;
        };
        ArchiverState a;
        a.archived_count = static_cast<std::int64_t>(number(0).value_or(0));
        a.last_archived_wal = result.value(0, 1).value_or("");
        a.last_archived_time = number(2);
        a.failed_count = static_cast<std::int64_t>(number(3).value_or(0));
        a.last_failed_wal = result.value(0, 4).value_or("");
        a.last_failed_time = number(5);
        out = a;
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

ClusterTargets cluster_targets(const Inventory& inv) {
    ClusterTargets t;
    auto nodes = [&inv](Service s) {
        std::vector<ClusterNode> out;
        for (const auto* h : inv.hosts_with(s)) {
            out.push_back({h->name, h->address});
        }
        return out;
    };
    t.postgres = nodes(Service::postgres);
    t.etcd = nodes(Service::etcd);
    t.haproxy = nodes(Service::haproxy);
    t.rest_port = inv.patroni.rest_port;
    t.etcd_client_port = inv.etcd.client_port;
    t.stats_port = inv.haproxy.stats_port;
    return t;
}

std::vector<ReplicationRow> replication_rows(const QueryResult& result,
                                             const std::vector<ClusterMember>& members) {
    std::vector<ReplicationRow> rows;
    for (std::size_t i = 0; i < result.rows.size(); ++i) {
        ReplicationRow r;
        r.application_name = result.value(i, 0).value_or("");
        r.member = r.application_name;
        for (const auto& m : members) {
            if (m.name == r.application_name || slot_name(m.name) == r.application_name) {
                r.member = m.name;
            }
        }
        r.state = result.value(i, 1).value_or("");
        r.sync_state = result.value(i, 2).value_or("");
        r.flush_lsn = result.value(i, 3).value_or("");
        r.replay_lsn = result.value(i, 4).value_or("");
        if (auto lag = result.value(i, 5)) {
            try {
                r.lag_bytes = std::stoll(*lag);
            } catch (const std::exception&) {
                r.lag_bytes = std::nullopt;
            }
        }
        rows.push_back(std::move(r));
    }
    return rows;
}

bool parse_etcd_health(const std::string& body, std::string& detail) {
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("health")) {
        detail = "unexpected answer: " + short_body(body);
        return false;
    }
    detail = text(j, "reason");
    const auto& h = j["health"];
    return (h.is_string() && h.get<std::string>() == "true") || (h.is_boolean() && h.get<bool>());
}

ReplicationRead read_replication(const ClusterTargets& t, const ClusterAccess& access,
                                 const std::string& member,
                                 const std::vector<ClusterMember>& members,
                                 std::chrono::milliseconds timeout) {
    ReplicationRead out;
    const auto* node = t.postgres_node(member);
    if (node == nullptr) {
        out.error = member + " is not a postgres host of the inventory";
        return out;
    }
    if (!access.sql) {
        out.error = "no SQL access to " + member;
        return out;
    }
    try {
        const Endpoint at = access.reach.inside(node->address, t.pg_port);
        const QueryResult r = access.sql(at, k_replication_sql, timeout);
        if (!r.ok) {
            out.error = "pg_stat_replication on " + member + ": " + r.error.describe();
            return out;
        }
        out.ok = true;
        out.rows = replication_rows(r, members);
    } catch (const Error& e) {
        out.error = "pg_stat_replication on " + member + ": " + e.what();
    }
    return out;
}

SqlRunner libpq_sql(std::string user, std::string password, std::string database) {
    return [user = std::move(user), password = std::move(password), database = std::move(database)](
               const Endpoint& at, const std::string& sql, std::chrono::milliseconds timeout) {
        ConnParams p;
        p.host = at.host;
        p.port = at.port;
        p.dbname = database;
        p.user = user;
        p.password = password;
        p.connect_timeout = timeout;
        p.statement_timeout = timeout;
        auto c = Connection::connect(p);
        if (!c.connection) {
            QueryResult failed;
            failed.error = c.error;
            return failed;
        }
        return c.connection->exec(sql, timeout);
    };
}

ClusterSnapshot take_snapshot(const ClusterTargets& targets, const ClusterAccess& access,
                              const SnapshotOptions& options) {
    ClusterSnapshot s;
    read_patroni(targets, access, options, s);
    if (options.replication && !s.leader.empty()) {
        read_leader_replication(targets, access, options, s);
    }
    if (options.archiver && !s.leader.empty()) {
        read_leader_archiver(targets, access, options, s);
    }
    if (options.etcd) {
        read_etcd(targets, access, options, s);
    }
    if (options.haproxy) {
        read_haproxy(targets, access, options, s);
    }
    return s;
}

}  // namespace pgdr::pg
