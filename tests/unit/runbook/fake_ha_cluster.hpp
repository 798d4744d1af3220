// A scripted 3-member Patroni cluster (pg1, pg2, pg3; pg3 runs HAProxy) behind the cluster
// snapshot's seams, answering what pg::run_ha and runbook conditions ask:
//   HTTP (RecordingHttpClient, through DirectReach): GET /cluster, GET /patroni, GET /primary,
//       GET /;csv (HAProxy stats), GET /health (etcd), POST /switchover, /failover,
//       /reinitialize (as Patroni: answered before the rebuild, which ends after
//       `reinit_polls` more GET /patroni of the member; its old walreceiver streams meanwhile)
//   SQL (a scripted SqlRunner): the leader's pg_stat_replication
// Recording transports stand for the hosts' SSH (runbook commands). The state is plain data
// the tests edit; POSTs change it as Patroni would (or not, when the test says so), and are
// recorded with their Authorization header.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "core/reach.hpp"
#include "fakes/recording_http_client.hpp"
#include "fakes/recording_transport.hpp"
#include "pg/status.hpp"
#include "pg/switchover.hpp"

namespace pgdr::test {

inline const std::string k_ha_inventory = R"(cluster: lab
network:
  cidr: 198.18.0.0/24
hosts:
  - {name: pg1, address: 198.18.0.11, services: [postgres, etcd]}
  - {name: pg2, address: 198.18.0.12, services: [postgres, etcd]}
  - {name: pg3, address: 198.18.0.13, services: [postgres, etcd, haproxy]}
patroni:
  maximum_lag_on_failover: 1000
)";

struct FakeMember {
    std::string role = "replica";  // leader, replica, sync_standby
    std::string state = "streaming";
    int timeline = 1;
    long long patroni_lag = 0;
    bool registered = true;  // listed by GET /cluster
    // GET /patroni's postmaster_start_time; a reinitialize gives a later one.
    std::string started = "2026-12-07 00:00:00.000000+00:00";
    int reinit_left = -1;  // GET /patroni answers until a POSTed reinitialize ends; -1: none
};

struct FakeRest {
    std::string host;  // the member whose REST API took it
    std::string method, url, body;
    std::string authorization;  // the Authorization header
};

class FakeHaCluster {
  public:
    FakeHaCluster() : inv(parse_inventory(k_ha_inventory, "lab.yaml")) {
        log = std::make_shared<testing::CallLog>();
        for (const char* name : {"pg1", "pg2", "pg3"}) {
            members[name] = FakeMember{};
            hosts[name] = std::make_unique<testing::RecordingTransport>(name, log);
            lookup[name] = hosts[name].get();
        }
        http.set_handler([this](const HttpRequest& r) { return answer(r); });
        members["pg1"].role = "leader";
        members["pg1"].state = "running";
        members["pg2"].role = "sync_standby";
        replication = {{"pg2", {"streaming", "sync", 0}}, {"pg3", {"streaming", "async", 0}}};
        haproxy_up = {"pg1"};
    }

    std::string leader() const {
        for (const auto& [n, m] : members) {
            if (m.role == "leader") {
                return n;
            }
        }
        return "";
    }

    // What a successful switchover/failover does: the candidate leads on a new timeline, the
    // others follow it (the old leader too, when it is registered).
    void promote(const std::string& candidate) {
        const std::string old = leader();
        const int tl = members[candidate].timeline + 1;
        for (auto& [n, m] : members) {
            m.role = n == candidate ? "leader" : "replica";
            m.state = n == candidate ? "running" : "streaming";
            m.timeline = tl;
        }
        replication.clear();
        for (const auto& [n, m] : members) {
            if (n != candidate && m.registered) {
                replication[n] = {"streaming", "async", 0};
            }
        }
        if (!old.empty() && !follow_old_leader) {
            replication.erase(old);
        }
        if (switch_haproxy) {
            haproxy_up = {candidate};
        }
    }

    struct Row {
        std::string state, sync;
        long long lag;
    };

    pg::ClusterAccess access() {
        return {reach, http,
                [this](const Endpoint& at, const std::string&, std::chrono::milliseconds) {
                    return pg_stat_replication(member_at(at.host));
                }};
    }

    Inventory inv;
    fakes::RecordingHttpClient http;
    DirectReach reach;
    bool rest_down = false;  // no REST API answers
    std::shared_ptr<testing::CallLog> log;
    std::map<std::string, FakeMember> members;
    std::map<std::string, std::unique_ptr<testing::RecordingTransport>> hosts;
    pg::TransportLookup lookup;
    std::map<std::string, Row> replication;  // the leader's pg_stat_replication
    std::set<std::string> haproxy_up;        // servers UP in backend "primary"
    std::vector<FakeRest> posts;
    int post_status = 200;  // Patroni's answer to a POST
    // Answers given to the first POSTs, before post_status applies: {status, body}.
    std::deque<std::pair<int, std::string>> post_answers;
    bool apply_posts = true;     // a 200 POST changes the state
    bool switch_haproxy = true;  // HAProxy follows a promotion
    bool follow_old_leader = true;
    int reinit_polls = 2;          // GET /patroni answers seen before a reinitialize ends
    int patroni_get_failures = 0;  // the next GET /patroni requests that get no answer
    int reinits_done = 0;

  private:
    std::string member_at(const std::string& address) const {
        for (const auto& h : inv.hosts) {
            if (h.address == address) {
                return h.name;
            }
        }
        return "";
    }

    static fakes::RecordingHttpClient::Outcome reply(int status, const std::string& body) {
        return fakes::RecordingHttpClient::make(status, body);
    }

    static bool ends_with(const std::string& s, const std::string& tail) {
        return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
    }

    fakes::RecordingHttpClient::Outcome answer(const HttpRequest& r) {
        const auto host_start = r.url.find("//") + 2;
        const auto name =
            member_at(r.url.substr(host_start, r.url.find(':', host_start) - host_start));
        if (r.method == "POST") {
            auto auth = r.headers.find("Authorization");
            posts.push_back(
                {name, r.method, r.url, r.body, auth == r.headers.end() ? "" : auth->second});
            if (!post_answers.empty()) {
                const auto a = post_answers.front();
                post_answers.pop_front();
                return reply(a.first, a.second);
            }
            if (post_status == 200 && apply_posts) {
                auto body = nlohmann::json::parse(r.body);
                if (r.url.find("/switchover") != std::string::npos ||
                    r.url.find("/failover") != std::string::npos) {
                    promote(body.at("candidate"));
                } else if (r.url.find("/reinitialize") != std::string::npos) {
                    members.at(name).reinit_left = reinit_polls;
                }
            }
            return reply(post_status, post_status == 200 ? "Successfully done" : "refused");
        }
        if (ends_with(r.url, ":8008/cluster")) {
            if (rest_down || !members.at(name).registered) {
                return HttpFailure::connect;
            }
            return reply(200, cluster_json());
        }
        if (ends_with(r.url, ":8008/patroni")) {
            if (rest_down || patroni_get_failures > 0) {
                --patroni_get_failures;
                return HttpFailure::connect;
            }
            auto& m = members.at(name);
            if (m.reinit_left == 0) {
                finish_reinit(name);
            } else if (m.reinit_left > 0) {
                --m.reinit_left;
            }
            return reply(200, nlohmann::json{{"state", m.state},
                                             {"role", m.role == "leader" ? "primary" : "replica"},
                                             {"timeline", m.timeline},
                                             {"postmaster_start_time", m.started},
                                             {"patroni", {{"name", name}}}}
                                  .dump());
        }
        if (ends_with(r.url, ":8008/primary")) {
            return reply(members.at(name).role == "leader" ? 200 : 503, "{}");
        }
        if (ends_with(r.url, "/;csv")) {
            return reply(200, haproxy_csv());
        }
        if (ends_with(r.url, ":2379/health")) {
            return reply(200, R"({"health":"true"})");
        }
        return reply(404, "");
    }

    // The rebuilt member: a new PostgreSQL on the leader's timeline, streaming from it.
    void finish_reinit(const std::string& name) {
        auto& m = members.at(name);
        m.reinit_left = -1;
        m.started = "2026-12-07 01:00:0" + std::to_string(++reinits_done) + ".000000+00:00";
        m.state = "streaming";
        m.timeline = members.at(leader()).timeline;
        replication[name] = {"streaming", "async", 0};
    }

    pg::QueryResult pg_stat_replication(const std::string& on) const {
        pg::QueryResult q;
        q.ok = true;
        if (members.at(on).role != "leader") {
            return q;  // a replica's pg_stat_replication is empty
        }
        for (const auto& [n, row] : replication) {
            q.rows.push_back(
                {n, row.state, row.sync, "0/3000060", "0/3000060",
                 row.lag < 0 ? std::nullopt : std::optional<std::string>(std::to_string(row.lag))});
        }
        return q;
    }

    std::string cluster_json() const {
        nlohmann::json ms = nlohmann::json::array();
        for (const auto& [n, m] : members) {
            if (!m.registered) {
                continue;
            }
            ms.push_back({{"name", n},
                          {"role", m.role},
                          {"state", m.state},
                          {"host", inv.find_host(n)->address},
                          {"timeline", m.timeline},
                          // Patroni says "unknown" when it cannot tell a replica's lag.
                          {"lag", m.patroni_lag < 0 ? nlohmann::json("unknown")
                                                    : nlohmann::json(m.patroni_lag)}});
        }
        return nlohmann::json{{"members", ms}}.dump();
    }

    std::string haproxy_csv() const {
        std::string csv =
            "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,"
            "ereq,econ,eresp,wretr,wredis,status\n";
        for (const auto& [n, m] : members) {
            csv += "primary," + n + std::string(16, ',') +
                   (haproxy_up.count(n) != 0 ? "UP" : "DOWN") + "\n";
            csv += "replicas," + n + std::string(16, ',') + "UP\n";
        }
        return csv;
    }
};

}  // namespace pgdr::test
