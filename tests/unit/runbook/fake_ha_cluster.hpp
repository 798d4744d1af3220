// A scripted 3-member Patroni cluster on recording transports (pg1, pg2, pg3; pg3 runs
// HAProxy), answering what pg::run_ha and runbook conditions ask over SSH:
//   python3 -c REST_SCRIPT URL METHOD BODY USER TIMEOUT   GET /cluster, GET /primary,
//       GET /;csv (HAProxy stats), POST /switchover, /failover, /reinitialize
//   runuser -u postgres -- psql ... -c k_replication_lag_sql   pg_stat_replication
// The state is plain data the tests edit; POSTs change it as Patroni would (or not, when the
// test says so), and are recorded with their stdin.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "fakes/recording_transport.hpp"
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
};

struct FakeRest {
    std::string host;  // where python3 ran
    std::string method, url, body, user;
    std::optional<std::string> stdin_data;
};

class FakeHaCluster {
  public:
    FakeHaCluster() : inv(parse_inventory(k_ha_inventory, "lab.yaml")) {
        log = std::make_shared<testing::CallLog>();
        for (const char* name : {"pg1", "pg2", "pg3"}) {
            members[name] = FakeMember{};
            hosts[name] = std::make_unique<testing::RecordingTransport>(name, log);
            lookup[name] = hosts[name].get();
            install(name);
        }
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

    Inventory inv;
    std::shared_ptr<testing::CallLog> log;
    std::map<std::string, FakeMember> members;
    std::map<std::string, std::unique_ptr<testing::RecordingTransport>> hosts;
    pg::TransportLookup lookup;
    std::map<std::string, Row> replication;  // the leader's pg_stat_replication
    std::set<std::string> haproxy_up;        // servers UP in backend "primary"
    std::vector<FakeRest> posts;
    int post_status = 200;       // Patroni's answer to a POST
    bool apply_posts = true;     // a 200 POST changes the state
    bool switch_haproxy = true;  // HAProxy follows a promotion
    bool follow_old_leader = true;

  private:
    static CommandResult answer(int status, const std::string& body) {
        CommandResult r;
        r.exit_status = 0;
        r.out = std::to_string(status) + "\n" + body;
        return r;
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
                          {"lag", m.patroni_lag}});
        }
        return nlohmann::json{{"members", ms}}.dump();
    }

    std::string haproxy_csv() const {
        std::string csv = "# pxname,svname,qcur\n";
        for (const auto& [n, m] : members) {
            csv += "primary," + n + std::string(16, ',') +
                   (haproxy_up.count(n) != 0 ? "UP" : "DOWN") + "\n";
            csv += "replicas," + n + std::string(16, ',') + "UP\n";
        }
        return csv;
    }

    void install(const std::string& name) {
        auto* t = hosts[name].get();
        t->on({"python3", "-c"}, [this, name](const std::vector<std::string>& argv,
                                              const RunOptions& opts) {
            const std::string& url = argv.at(3);
            const std::string& method = argv.at(4);
            if (method == "POST") {
                posts.push_back({name, method, url, argv.at(5), argv.at(6), opts.stdin_data});
                if (post_status == 200 && apply_posts) {
                    auto body = nlohmann::json::parse(argv.at(5));
                    if (url.find("/switchover") != std::string::npos ||
                        url.find("/failover") != std::string::npos) {
                        promote(body.at("candidate"));
                    }
                }
                return answer(post_status, post_status == 200 ? "Successfully done" : "refused");
            }
            if (url.size() >= 8 && url.compare(url.size() - 8, 8, "/cluster") == 0) {
                if (!members.at(name).registered) {
                    return answer(0, "URLError: connection refused");
                }
                return answer(200, cluster_json());
            }
            if (url.size() >= 8 && url.compare(url.size() - 8, 8, "/primary") == 0) {
                return answer(members.at(name).role == "leader" ? 200 : 503, "{}");
            }
            if (url.find("/;csv") != std::string::npos) {
                return answer(200, haproxy_csv());
            }
            return answer(404, "");
        });
        t->on({"runuser", "-u", "postgres", "--", "psql", "-XAtq", "-d", "postgres", "-c",
               pg::k_replication_lag_sql},
              [this, name](const std::vector<std::string>&, const RunOptions&) {
                  CommandResult r;
                  r.exit_status = 0;
                  if (members.at(name).role != "leader") {
                      return r;  // a replica's pg_stat_replication is empty
                  }
                  for (const auto& [n, row] : replication) {
                      r.out += n + "|" + row.state + "|" + row.sync + "|" +
                               (row.lag < 0 ? "" : std::to_string(row.lag)) + "\n";
                  }
                  return r;
              });
    }
};

}  // namespace pgdr::test
