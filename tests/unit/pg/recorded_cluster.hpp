// A recorded cluster behind the snapshot's seams: Patroni's GET /cluster, etcd's GET /health
// and HAProxy's statistics CSV through a RecordingHttpClient, and the leader's
// pg_stat_replication through a scripted SqlRunner, all reached through DirectReach. The
// answers are the ones a healthy lab cluster (Patroni 4, three members) gave; tests break one
// thing at a time.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/reach.hpp"
#include "fakes/recording_http_client.hpp"
#include "pg/cluster_snapshot.hpp"

namespace pgdr::pg::testing {

struct RecordedMember {
    std::string name;
    std::string address;
    std::string role;   // as GET /cluster says it
    std::string state;  // "running" (leader), "streaming" (Patroni 4 replica)
    int timeline = 3;
    std::int64_t lag = 0;
    bool nofailover = false;
};

class RecordedCluster {
  public:
    RecordedCluster() {
        members = {{"pg1", "198.18.0.11", "leader", "running"},
                   {"pg2", "198.18.0.12", "sync_standby", "streaming"},
                   {"pg3", "198.18.0.13", "replica", "streaming"}};
        for (const auto& m : members) {
            targets.postgres.push_back({m.name, m.address});
            targets.etcd.push_back({m.name, m.address});
        }
        targets.haproxy = {{"pg3", "198.18.0.13"}};
        for (const auto& m : members) {
            if (m.role != "leader") {
                replication[m.name] = {"streaming", m.role == "sync_standby" ? "sync" : "async",
                                       "0/5000060", "0/5000060", "0"};
            }
        }
        write_up = {"pg1"};
        http.set_handler([this](const HttpRequest& r) { return answer(r); });
    }

    ClusterTargets targets;
    std::vector<RecordedMember> members;
    // member -> {state, sync_state, flush_lsn, replay_lsn, lag ("" = NULL)}
    std::map<std::string, std::array<std::string, 5>> replication;
    std::set<std::string> rest_down;  // addresses whose REST API refuses connections
    std::set<std::string> etcd_down;  // addresses whose etcd refuses connections
    std::set<std::string> write_up;   // servers UP on HAProxy's write backend
    bool haproxy_down = false;
    std::string sql_error;  // the leader refuses SQL with this message
    // The leader's pg_stat_archiver row (k_archiver_sql): archived_count, last_archived_wal,
    // last_archived_time, failed_count, last_failed_wal, last_failed_time ("" = NULL).
    std::array<std::string, 6> archiver{"12", "000000010000000000000005", "1764896400", "0", "",
                                        ""};
    std::vector<std::string> sql_hosts;
    // Called before each answer to GET /cluster: a test changes the cluster while it is watched.
    std::function<void()> on_cluster_read;

    fakes::RecordingHttpClient http;
    DirectReach reach;

    ClusterAccess access() {
        return {reach, http,
                [this](const Endpoint& at, const std::string& sql, std::chrono::milliseconds) {
                    sql_hosts.push_back(at.authority());
                    if (sql == k_archiver_sql) {
                        return pg_stat_archiver();
                    }
                    return pg_stat_replication();
                }};
    }

    ClusterSnapshot snapshot(const SnapshotOptions& o = {}) {
        return take_snapshot(targets, access(), o);
    }

  private:
    fakes::RecordingHttpClient::Outcome answer(const HttpRequest& r) {
        for (const auto& m : members) {
            const std::string base = "https://" + m.address;
            if (r.url == base + ":8008/cluster") {
                if (rest_down.count(m.address) != 0) {
                    return HttpFailure::connect;
                }
                if (on_cluster_read) {
                    on_cluster_read();
                }
                return fakes::RecordingHttpClient::make(200, cluster_json());
            }
            if (r.url == base + ":2379/health") {
                if (etcd_down.count(m.address) != 0) {
                    return HttpFailure::connect;
                }
                return fakes::RecordingHttpClient::make(200, R"({"health":"true","reason":""})");
            }
            if (r.url == "http://" + m.address + ":7000/;csv") {
                if (haproxy_down) {
                    return HttpFailure::timeout;
                }
                return fakes::RecordingHttpClient::make(200, csv());
            }
        }
        return fakes::RecordingHttpClient::make(404, "not found");
    }

    std::string cluster_json() const {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& m : members) {
            nlohmann::json j = {
                {"name", m.name},        {"role", m.role},
                {"state", m.state},      {"api_url", "http://" + m.address + ":8008/patroni"},
                {"host", m.address},     {"port", 5432},
                {"timeline", m.timeline}};
            if (m.role != "leader") {
                j["lag"] = m.lag;
            }
            if (m.nofailover) {
                j["tags"] = {{"nofailover", true}};
            }
            out.push_back(j);
        }
        return nlohmann::json{{"members", out}, {"scope", "lab"}}.dump();
    }

    std::string csv() const {
        std::string c =
            "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,"
            "econ,eresp,wretr,wredis,status,weight\n";
        c += "stats,FRONTEND,,,0,1,,1,0,0,0,0,0,,,,,OPEN,\n";
        for (const char* px : {"primary", "replicas"}) {
            c += std::string(px) + ",FRONTEND,,,0,1,,1,0,0,0,0,0,,,,,OPEN,\n";
            for (const auto& m : members) {
                const bool up =
                    std::string(px) == "primary" ? write_up.count(m.name) != 0 : m.role != "leader";
                c += std::string(px) + "," + m.name + ",0,0,0,1,,1,0,0,,0,,0,0,0,0," +
                     (up ? "UP" : "DOWN") + ",1\n";
            }
            c += std::string(px) + ",BACKEND,0,0,0,1,,1,0,0,0,0,,0,0,0,0,UP,1\n";
        }
        return c;
    }

    QueryResult pg_stat_replication() const {
        QueryResult q;
        if (!sql_error.empty()) {
            q.error.message = sql_error;
            return q;
        }
        q.ok = true;
        for (const auto& [name, row] : replication) {
            std::vector<std::optional<std::string>> r{slot(name)};
            for (const auto& v : row) {
                r.push_back(v.empty() ? std::nullopt : std::optional<std::string>(v));
            }
            q.rows.push_back(r);
        }
        return q;
    }

    QueryResult pg_stat_archiver() const {
        QueryResult q;
        q.ok = true;
        std::vector<std::optional<std::string>> row;
        for (const auto& v : archiver) {
            row.push_back(v.empty() ? std::nullopt : std::optional<std::string>(v));
        }
        q.rows.push_back(row);
        return q;
    }

  public:
    // Patroni's application_name is the member name; pgdr's slots use slot_name().
    static std::string slot(const std::string& name) { return name; }
};

}  // namespace pgdr::pg::testing
