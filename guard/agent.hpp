// The pgdr-guard agent's runtime: the decision core's seams (guard/decision.hpp) on the real
// world, and its loop.
//
//   probe             Patroni's keys read from etcd (who leads, maintenance mode), then a TCP
//                     connection to the leader's PostgreSQL and Patroni REST ports, each
//                     classified ok / refused (the machine's kernel answered) / silent;
//   publish           <guard_prefix>agents/<agent>: this agent's observation as JSON, on the
//                     agent's lease (gone when the agent or its host is);
//   observations      every agent's key under <guard_prefix>agents/;
//   try_lock/unlock   <guard_prefix>fence-lock, created only when absent, on a lease of its own
//                     (fence_timeout + 10 s) revoked at unlock;
//   candidate         pg::pick_candidate on a fresh read of Patroni's keys (guard/dcs.hpp);
//   machine_state     the provider's instance status (ovh::OvhHostControl::state);
//   fence             OVH v1 hard reboot (acknowledged = confirmed) or stop (until SHUTOFF),
//                     after checking the instance's name and private address;
//   write_failover    Patroni's <dcs_prefix>failover = {"member": candidate};
//   revoke            the lease the leader key holds (the old leader's member key shares it).
// Each decision that differs from the previous one is printed (one line, wall time, the
// journal keeps it) and stored as <guard_prefix>decisions/<agent>; a failover is also stored
// as <guard_prefix>failovers/<time>-<agent> with its phases, for `pgdr guard status` and the
// drills' guard_phases.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <ostream>
#include <string>

#include "core/host_control.hpp"
#include "guard/agent_config.hpp"
#include "guard/decision.hpp"
#include "guard/etcd_gateway.hpp"

namespace pgdr::guard {

// One TCP connection attempt, classified.
Reach tcp_reach(const std::string& address, int port, std::chrono::milliseconds timeout);

// The same for a TLS port (Patroni's REST API): once connected, a TLS handshake is completed
// and closed with close_notify. A bare connect-and-close made Patroni log an SSLEOFError
// traceback per probe (two agents every 300 ms: ~3 tracebacks a second on the leader, seen on
// the OVH twin). The handshake's outcome does not change the answer: the kernel connected, the
// service listens. Client certificate: the agent's own (PEM files), for a server that asks.
class TlsProbe {
  public:
    TlsProbe(const std::string& cert_file, const std::string& key_file);
    ~TlsProbe();
    TlsProbe(const TlsProbe&) = delete;
    TlsProbe& operator=(const TlsProbe&) = delete;
    Reach reach(const std::string& address, int port, std::chrono::milliseconds timeout) const;

  private:
    void* m_ctx;  // SSL_CTX, kept out of this header
};

// The world the agent acts on; the real one in agent_main, fakes in tests.
struct AgentWorld {
    EtcdGateway& etcd;
    HostControl& provider;
    // Called for the two ports of the leader at once, from two threads.
    std::function<Reach(const std::string& address, int port)> connect;
    std::function<TimePoint()> now;
    std::function<void(std::chrono::milliseconds)> sleep;
    std::ostream& out;
};

// Observation <-> the JSON an agent publishes.
std::string observation_json(const Observation& o);
Observation observation_from_json(const std::string& text);  // throws std::invalid_argument

// A failover's record (<guard_prefix>failovers/...).
std::string failover_record(const std::string& agent, const Decision& d);

// "2026-12-07T11:52:03.123Z"
std::string iso_ms(TimePoint t);

class Agent {
  public:
    Agent(const AgentConfig& config, AgentWorld world);
    // One loop iteration: lease upkeep, Guard::step, logging and records.
    Decision step();
    // Steps every probe_interval until `stop`.
    void run(const std::atomic<bool>& stop);

  private:
    GuardSeams seams();
    // The seams' two longer effects: the leader from Patroni's keys and its two ports probed;
    // the provider's reset or stop of the leader's machine.
    Probe probe_leader();
    // Before a reset of the leader's running machine: etcd's leadership away from it.
    void hand_off_etcd_leadership(const std::string& leader);
    FenceOutcome fence_machine(const std::string& leader);
    void ensure_lease();
    void record(const Decision& d);

    const AgentConfig& m_config;
    AgentWorld m_world;
    Guard m_guard;
    std::int64_t m_lease = 0;
    std::int64_t m_lock_lease = 0;
    std::string m_last_logged;
};

}  // namespace pgdr::guard
