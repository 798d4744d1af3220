// A scripted Patroni cluster behind the drill engine's seams: Patroni REST (GET /cluster, POST
// /switchover) and HAProxy stats through a RecordingHttpClient, psql and systemctl through one
// RecordingTransport per host, and a writer probe whose events follow the cluster's leader.
// Faults change the fake's state the way Patroni would (a killed leader is replaced, a
// restarted one rejoins), so the engine's waits see what they wait for.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/host_control.hpp"
#include "core/reach.hpp"
#include "drills/engine.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/recording_http_client.hpp"
#include "fakes/recording_transport.hpp"

namespace pgdr::drills::testing {

class FakeHostControl final : public HostControl {
  public:
    MachineState state(const std::string&) override { return machine; }
    void kill_host(const std::string& h) override {
        add("kill " + h);
        if (on_kill) {
            on_kill(h);
        }
    }
    void start_host(const std::string& h) override {
        add("start " + h);
        if (on_start) {
            on_start(h);
        }
    }
    void reboot_host(const std::string& h) override {
        add("reboot " + h);
        if (on_reboot) {
            on_reboot(h);
        }
    }
    void partition_host(const std::string& h) override {
        add("partition " + h);
        if (on_partition) {
            on_partition(h);
        }
    }
    void heal_host(const std::string& h) override {
        add("heal " + h);
        if (on_heal) {
            on_heal(h);
        }
    }
    std::vector<std::string> calls() const {
        std::lock_guard lock(m_mutex);
        return m_calls;
    }
    std::function<void(const std::string&)> on_partition;
    std::function<void(const std::string&)> on_heal;
    std::function<void(const std::string&)> on_reboot;  // may throw, as a refused reset
    std::function<void(const std::string&)> on_kill;
    std::function<void(const std::string&)> on_start;
    MachineState machine = MachineState::running;  // what state() answers for every host

  private:
    void add(std::string c) {
        std::lock_guard lock(m_mutex);
        m_calls.push_back(std::move(c));
    }
    mutable std::mutex m_mutex;
    std::vector<std::string> m_calls;
};

// The writer: acknowledged writes on the leader, recorded when the test (or the fake) says.
class ScriptedWriter final : public Probe {
  public:
    std::string name() const override { return "writer"; }
    void start(Timeline& t) override {
        m_timeline = &t;
        if (on_start) {
            on_start();
        }
    }
    void stop() noexcept override { m_timeline = nullptr; }
    void ack(const std::string& backend) {
        if (m_timeline != nullptr) {
            auto n = ++m_seq;
            m_timeline->record(WriteSent{n});
            m_timeline->record(WriteAcked{n, backend});
            m_acked.push_back(n);
        }
    }
    void fail(const std::string& message) {
        if (m_timeline != nullptr) {
            auto n = ++m_seq;
            m_timeline->record(WriteSent{n});
            m_timeline->record(WriteFailed{n, message, ""});
        }
    }
    const std::vector<std::int64_t>& acked() const { return m_acked; }
    bool started() const { return m_timeline != nullptr; }
    std::function<void()> on_start;

  private:
    Timeline* m_timeline = nullptr;
    std::int64_t m_seq = 0;
    std::vector<std::int64_t> m_acked;
};

class FakeCluster {
  public:
    FakeCluster();

    DrillTopology topology;
    fakes::ManualClock clock;
    fakes::RecordingHttpClient http;
    DirectReach reach;
    std::shared_ptr<pgdr::testing::CallLog> log = std::make_shared<pgdr::testing::CallLog>();
    std::map<std::string, std::unique_ptr<pgdr::testing::RecordingTransport>> hosts;
    FakeHostControl host_control;
    std::atomic<bool> interrupted{false};
    ScriptedWriter* writer = nullptr;  // the current run's writer
    std::string probes_target;         // the fault target the engine named when it made the probes

    // Cluster state, as Patroni and PostgreSQL would report it.
    std::string leader = "pg1";
    int timeline = 1;
    std::map<std::string, std::string> state;  // member -> Patroni state
    std::set<std::string> not_streaming;       // absent from pg_stat_replication
    std::set<std::string> etcd_down;           // etcd members that refuse connections
    int sql_reads = 0;                         // statements run over SQL (pg_stat_replication)
    std::int64_t lag = 0;
    bool extra_leader = false;               // a second member claims the leader role
    std::string sync_standby;                // the member Patroni reports as sync_role
    std::string sync_role = "sync_standby";  // or Patroni 4's "quorum_standby"
    bool reboot_keeps_leader = false;        // a reset leader boots before its key expires
    ClusterSettings settings;                // the deployed settings the engine is given
    bool rest_down = false;                  // every REST call fails to connect
    bool haproxy_all_up = false;  // every server UP on the write port (as right after a reload)
    bool lose_one_write = false;  // the leader's table misses the first acknowledged seq
    bool no_failover = false;     // a killed leader is never replaced
    bool kill_fails = false;      // `systemctl kill` of Patroni exits 1
    int boot_polls = 3;           // boot id reads a reset host fails before it is back
    bool patroni_enabled = true;  // a rebooted host starts Patroni by itself
    std::map<std::string, int> boots;    // resets per host: its boot id is "boot-<host>-<n>"
    std::map<std::string, int> down;     // boot id reads left before a reset host answers
    std::function<void()> on_kill;       // called when Patroni is killed, before the effect
    std::function<void()> on_start;      // called when Patroni is started
    std::vector<std::string> runs_read;  // the -v run=... of every seq read

    DrillSeams seams(HostControl* control = nullptr);
    std::vector<pgdr::testing::RecordedCall> calls_on(const std::string& host) const;
    // Every recorded argv, joined with spaces, per host: "pg1: systemctl kill -s SIGKILL ...".
    std::vector<std::string> commands() const;

    // What Patroni does when the leader disappears: the best replica takes over.
    void fail_over();
    std::string next_replica(const std::string& not_this) const;

  private:
    void install_handlers();
    void install_http_handler();
    void install_sql_handler(pgdr::testing::RecordingTransport& transport, const std::string& host);
    void install_unit_handlers(pgdr::testing::RecordingTransport& transport,
                               const std::string& host);
    void install_boot_handler(pgdr::testing::RecordingTransport& transport,
                              const std::string& host);
    void install_fault_handlers(pgdr::testing::RecordingTransport& transport,
                                const std::string& host);
    void install_files(pgdr::testing::RecordingTransport& transport);
    void install_host_control();
    pgdr::HttpResponse cluster_json() const;
    pgdr::HttpResponse haproxy_csv() const;
    pg::QueryResult pg_stat_replication() const;
};

}  // namespace pgdr::drills::testing
