#include "unit/drills/fake_cluster.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace pgdr::drills::testing {

using pgdr::testing::RecordedCall;
using pgdr::testing::RecordingTransport;

namespace {

CommandResult exited(int status, std::string out = {}) {
    CommandResult r;
    r.exit_status = status;
    r.out = std::move(out);
    return r;
}

bool has(const std::optional<std::string>& text, const std::string& part) {
    return text && text->find(part) != std::string::npos;
}

}  // namespace

FakeCluster::FakeCluster() {
    topology.cluster = "drillme";
    topology.postgres = {{"pg1", "10.0.0.1"}, {"pg2", "10.0.0.2"}, {"pg3", "10.0.0.3"}};
    topology.etcd = topology.postgres;
    topology.haproxy = {{"pg3", "10.0.0.3"}};
    topology.patroni_unit = "patroni@17-main";
    topology.postgres_log = "/var/log/postgresql/postgresql-17-main.log";
    topology.data_dir = "/var/lib/postgresql/17/main";
    for (const auto& n : topology.postgres) {
        hosts[n.name] = std::make_unique<RecordingTransport>(n.name, log);
        state[n.name] = n.name == leader ? "running" : "streaming";
    }
    install_handlers();
}

std::string FakeCluster::next_replica(const std::string& not_this) const {
    for (const auto& n : topology.postgres) {
        if (n.name != not_this && n.name != leader) {
            return n.name;
        }
    }
    return "";
}

void FakeCluster::fail_over() {
    if (no_failover) {
        return;
    }
    auto old = leader;
    leader = next_replica("");
    state[leader] = "running";
    ++timeline;
    if (writer != nullptr) {
        writer->fail("connection refused");
        writer->ack(leader);
    }
    (void)old;
}

pgdr::HttpResponse FakeCluster::cluster_json() const {
    nlohmann::json members = nlohmann::json::array();
    for (const auto& n : topology.postgres) {
        bool lead = n.name == leader || (extra_leader && n.name == "pg2");
        members.push_back({{"name", n.name},
                           {"role", lead                     ? "leader"
                                    : n.name == sync_standby ? sync_role
                                                             : "replica"},
                           {"state", state.at(n.name)},
                           {"host", n.address},
                           {"port", 5432},
                           {"timeline", timeline},
                           {"lag", 0}});
    }
    return fakes::RecordingHttpClient::make(200, nlohmann::json{{"members", members}}.dump());
}

pgdr::HttpResponse FakeCluster::haproxy_csv() const {
    std::string csv = "# pxname,svname,qcur,status,weight\n";
    csv += "stats,FRONTEND,,OPEN,\n";
    for (const char* px : {"primary", "replicas"}) {
        csv += std::string(px) + ",FRONTEND,,OPEN,\n";
        for (const auto& n : topology.postgres) {
            bool up = std::string(px) == "primary" ? (n.name == leader || haproxy_all_up)
                                                   : n.name != leader;
            csv += std::string(px) + "," + n.name + ",0," + (up ? "UP" : "DOWN") + ",1\n";
        }
        csv += std::string(px) + ",BACKEND,0,UP,1\n";
    }
    return fakes::RecordingHttpClient::make(200, csv);
}

void FakeCluster::install_handlers() {
    install_http_handler();
    for (auto& [name, transport] : hosts) {
        install_sql_handler(*transport, name);
        install_unit_handlers(*transport, name);
        install_boot_handler(*transport, name);
        install_fault_handlers(*transport, name);
        install_files(*transport);
    }
    install_host_control();
}

// Patroni REST (GET /cluster, POST /switchover), etcd /health and the HAProxy CSV.
void FakeCluster::install_http_handler() {
    http.set_handler([this](const HttpRequest& req) -> fakes::RecordingHttpClient::Outcome {
        if (rest_down && req.url.find(":8008") != std::string::npos) {
            return HttpFailure::connect;
        }
        if (req.url.find("/;csv") != std::string::npos) {
            return haproxy_csv();
        }
        if (req.url.find(":2379/health") != std::string::npos) {
            for (const auto& n : topology.etcd) {
                if (etcd_down.count(n.name) != 0 &&
                    req.url.find("//" + n.address + ":") != std::string::npos) {
                    return HttpFailure::connect;
                }
            }
            return fakes::RecordingHttpClient::make(200, R"({"health":"true","reason":""})");
        }
        if (req.url.find("/cluster") != std::string::npos) {
            return cluster_json();
        }
        if (req.method == "POST" && req.url.find("/switchover") != std::string::npos) {
            auto body = nlohmann::json::parse(req.body);
            auto candidate = body.value("candidate", std::string());
            state[leader] = "streaming";
            leader = candidate;
            state[leader] = "running";
            ++timeline;
            if (writer != nullptr) {
                writer->fail("cannot execute INSERT in a read-only transaction");
                writer->ack(leader);
            }
            return fakes::RecordingHttpClient::make(200,
                                                    "Successfully switched over to " + candidate);
        }
        return fakes::RecordingHttpClient::make(404, "");
    });
}

// psql as postgres: the probe table's acknowledged seqs, or the timeline.
void FakeCluster::install_sql_handler(pgdr::testing::RecordingTransport& transport,
                                      const std::string& host) {
    transport.on({"runuser", "-u", "postgres", "--", "psql"},
                 [this, host](const std::vector<std::string>& argv, const RunOptions& o) {
                     if (has(o.stdin_data, "pgdr_drill")) {
                         for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
                             if (argv[i] == "-v" && argv[i + 1].rfind("run=", 0) == 0) {
                                 runs_read.push_back(argv[i + 1].substr(4));
                             }
                         }
                         std::string out;
                         const auto& acked = writer->acked();
                         for (std::size_t i = lose_one_write ? 1 : 0; i < acked.size(); ++i) {
                             out += std::to_string(acked[i]) + "\n";
                         }
                         return exited(0, out);
                     }
                     return exited(0, std::to_string(timeline) + "\n");  // timeline query
                 });
}

// systemctl on the Patroni unit: kill, stop, start and is-active.
void FakeCluster::install_unit_handlers(pgdr::testing::RecordingTransport& transport,
                                        const std::string& host) {
    transport.on({"systemctl", "kill", "-s", "SIGKILL", "patroni@17-main"},
                 [this, host](const std::vector<std::string>&, const RunOptions&) {
                     if (on_kill) {
                         on_kill();
                     }
                     if (kill_fails) {
                         CommandResult r = exited(1);
                         r.err = "Failed to kill unit patroni@17-main: Access denied\n";
                         return r;
                     }
                     if (host == leader) {
                         state[host] = "stopped";
                         fail_over();
                     }
                     return exited(0);
                 });
    transport.on({"systemctl", "stop", "patroni@17-main"},
                 [this, host](const std::vector<std::string>&, const RunOptions&) {
                     if (host == leader) {
                         state[host] = "stopped";
                         fail_over();
                     }
                     return exited(0);
                 });
    transport.on({"systemctl", "start", "patroni@17-main"},
                 [this, host](const std::vector<std::string>&, const RunOptions&) {
                     if (host != leader) {
                         state[host] = "streaming";
                     }
                     if (on_start) {
                         on_start();
                     }
                     return exited(0);
                 });
    transport.on({"systemctl", "is-active", "--quiet", "patroni@17-main"},
                 [this, host](const std::vector<std::string>&, const RunOptions&) {
                     return exited(state.at(host) == "stopped" ? 3 : 0);
                 });
}

// The boot id, read to see a reset host come back.
void FakeCluster::install_boot_handler(pgdr::testing::RecordingTransport& transport,
                                       const std::string& host) {
    transport.on({"cat", "--", k_boot_id_path}, [this, host](const std::vector<std::string>&,
                                                             const RunOptions&) {
        // A reset host refuses connections for a few polls, then boots with
        // a new id and, when enabled, Patroni rejoins as a replica.
        if (down[host] > 0) {
            if (--down[host] > 0) {
                throw Error(ExitCode::unreachable, host + ": connection refused (simulated boot)");
            }
            if (patroni_enabled && host != leader) {
                state[host] = "streaming";
            }
        }
        return exited(0, "boot-" + host + "-" + std::to_string(boots[host]) + "\n");
    });
}

// Faults run on the host: the postmaster's SIGKILL and the nftables partition.
void FakeCluster::install_fault_handlers(pgdr::testing::RecordingTransport& transport,
                                         const std::string& host) {
    transport.on({"kill", "-s", "KILL"},
                 [this](const std::vector<std::string>&, const RunOptions&) {
                     // Patroni restarts PostgreSQL in place: a short outage, same leader.
                     if (writer != nullptr) {
                         writer->fail("terminating connection due to crash");
                         writer->ack(leader);
                     }
                     return exited(0);
                 });
    transport.on({"nft", "delete", "table"},
                 [this, host](const std::vector<std::string>&, const RunOptions&) {
                     if (host != leader) {
                         state[host] = "streaming";
                     }
                     return exited(0);
                 });
    transport.on({"nft", "-f", "-"}, [this](const std::vector<std::string>&, const RunOptions&) {
        state[leader] = "stopped";
        fail_over();
        return exited(0);
    });
}

// postmaster.pid and the timeline history files a drill reads.
void FakeCluster::install_files(pgdr::testing::RecordingTransport& transport) {
    transport.set_file(topology.data_dir + "/postmaster.pid",
                       {"4242\n/var/lib/postgresql/17/main\n", "600", "postgres:postgres"});
    for (int tl = 2; tl < 10; ++tl) {
        std::string content;
        for (int k = 1; k < tl; ++k) {
            content += std::to_string(k) + "\t0/" + std::to_string(k) +
                       "000060\tno recovery target specified\n";
        }
        char file[64];
        std::snprintf(file, sizeof file, "/pg_wal/%08X.history", tl);
        transport.set_file(topology.data_dir + file, {content, "600", "postgres:postgres"});
    }
}

// The whole-host faults: reset, power off/on, partition and heal.
void FakeCluster::install_host_control() {
    host_control.on_heal = [this](const std::string& h) {
        if (h != leader) {
            state[h] = "streaming";
        }
    };
    host_control.on_reboot = [this](const std::string& h) {
        ++boots[h];
        down[h] = boot_polls + 1;
        state[h] = "stopped";
        if (h == leader && reboot_keeps_leader) {
            // Back before its key expired: Patroni recovers PostgreSQL and leads again.
            state[h] = "running";
            writer->fail("connection refused");
            writer->ack(leader);
        } else if (h == leader) {
            fail_over();
        }
    };
    // A lost machine: off (SSH refused) until started again, then a new boot.
    host_control.on_kill = [this](const std::string& h) {
        host_control.machine = MachineState::stopped;
        down[h] = 1000000;
        state[h] = "stopped";
        if (h == leader) {
            fail_over();
        }
    };
    host_control.on_start = [this](const std::string& h) {
        host_control.machine = MachineState::running;
        ++boots[h];
        down[h] = boot_polls + 1;
    };
    host_control.on_partition = [this](const std::string& h) {
        if (h == leader) {
            state[h] = "stopped";
            fail_over();
        }
    };
}

pg::QueryResult FakeCluster::pg_stat_replication() const {
    pg::QueryResult q;
    q.ok = true;
    for (const auto& n : topology.postgres) {
        if (n.name != leader && not_streaming.count(n.name) == 0) {
            q.rows.push_back({n.name, "streaming", n.name == sync_standby ? "sync" : "async",
                              "0/3000060", "0/3000060", std::to_string(lag)});
        }
    }
    return q;
}

DrillSeams FakeCluster::seams(HostControl* control) {
    DrillSeams s{
        topology,
        settings,
        clock,
        http,
        pg::ClusterAccess{reach, http,
                          [this](const Endpoint&, const std::string&, std::chrono::milliseconds) {
                              ++sql_reads;
                              return pg_stat_replication();
                          }},
        [this](const std::string& name) -> Transport& { return *hosts.at(name); },
        control,
        [this](const std::string&, const std::string& target) {
            probes_target = target;
            std::vector<std::unique_ptr<Probe>> probes;
            auto w = std::make_unique<ScriptedWriter>();
            writer = w.get();
            w->on_start = [this] {
                writer->ack(leader);
                writer->ack(leader);
            };
            probes.push_back(std::move(w));
            return probes;
        },
        "patroni",
        "rest-secret",
        "",
        &interrupted,
        nullptr,
        [] { return std::string("via fake-vantage (198.18.0.99)"); }};
    return s;
}

std::vector<RecordedCall> FakeCluster::calls_on(const std::string& host) const {
    return hosts.at(host)->calls();
}

std::vector<std::string> FakeCluster::commands() const {
    std::vector<std::string> out;
    for (const auto& c : log->calls()) {
        std::string line = c.host + ":";
        for (const auto& a : c.argv) {
            line += " " + a;
        }
        out.push_back(line);
    }
    return out;
}

}  // namespace pgdr::drills::testing
