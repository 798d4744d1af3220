// Fault injection and restore (DESIGN.md §5, fault_catalogue.hpp): what `pgdr drill` does to a
// live cluster, through the Transport (commands on the hosts, as root), the HostControl (the
// lab's partition, a hard reset by the lab or OVH) and the Patroni REST API (switchover).
//
//   kill-primary       leader host: systemctl kill -s SIGKILL patroni@V-main (the unit's cgroup
//                      holds Patroni and every PostgreSQL process)   restore: systemctl start
//   kill-postmaster    leader host: kill -s KILL <first line of DATA/postmaster.pid>; Patroni
//                      restarts PostgreSQL in place               restore: start Patroni if
//                                                                 it is not active
//   stop-primary       leader host: systemctl stop patroni@V-main  restore: systemctl start
//   switchover         POST /switchover {leader, candidate}        restore: none
//   partition-primary  lab: HostControl::partition_host / heal_host. Elsewhere: a transient
//                      systemd timer that deletes the rules after `partition_safety` (armed
//                      first, so a lost SSH session cannot leave the host cut off), then the
//                      nftables table inet pgdr_partition that drops every packet except
//                      loopback and SSH; restore: delete the table, stop the timer
//   kill-etcd-member   an etcd host other than the leader's: systemctl kill -s SIGKILL etcd
//                                                                 restore: systemctl start etcd
//   kill-haproxy       the probes' HAProxy host: systemctl kill -s SIGKILL haproxy
//                                                                 restore: systemctl start haproxy
//   reboot-primary     leader host: reads its boot id (/proc/sys/kernel/random/boot_id), then
//                      HostControl::reboot_host (lab: kill + boot of the container; OVH: POST
//                      .../reboot {"type":"hard"})  restore: wait, at most `boot_timeout` from
//                      the reset and not cut short by an interrupt, until the host answers SSH with
//                      another boot id (the reset took place and the host is back), then
//                      start Patroni if it is not active (it is enabled at boot). When the reset
//                      was not issued: start the host if it is stopped, then the same check.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/host_control.hpp"
#include "core/http.hpp"
#include "core/reach.hpp"
#include "core/transport.hpp"
#include "drills/fault_catalogue.hpp"
#include "drills/timeline.hpp"
#include "drills/topology.hpp"

namespace pgdr::drills {

// The transport of a host by inventory name; must stay valid for the drill.
using TransportFor = std::function<Transport&(const std::string& host)>;

// One fault as planned against the cluster as it is at the pre-checks.
struct FaultPlan {
    FaultKind kind = FaultKind::kill_primary;
    std::string target;             // the host acted on
    std::string leader;             // the leader at the pre-checks
    std::string candidate;          // switchover only
    bool use_host_control = false;  // partition through the lab's HostControl
};

struct FaultSeams {
    const DrillTopology& topology;
    Clock& clock;  // reboot-primary's wait for the host
    TransportFor transport;
    HostControl* host_control = nullptr;  // the lab or OVH; nullptr: no provider control
    HttpClient& http;
    ClusterReach& reach;  // where to connect for the leader's REST API (switchover)
    std::string rest_user;
    std::string rest_password;
    // The host undoes the fault by itself after this (nftables partition, pgdr-fault-heal).
    std::chrono::seconds partition_safety{600};
    std::chrono::milliseconds boot_timeout{std::chrono::minutes(3)};  // reboot-primary restore
    std::chrono::milliseconds boot_poll{std::chrono::seconds(1)};
};

// The host a fault acts on: the leader's, one etcd member not on the leader host (the first
// etcd host when all are), or the probes' HAProxy host. Throws a usage error for
// kill-etcd-member with fewer than 3 members.
std::string fault_target(FaultKind kind, const DrillTopology& topology, const std::string& leader);

// The commands, exposed for tests and the man page.
std::vector<std::string> kill_unit_argv(const std::string& unit);
std::vector<std::string> start_unit_argv(const std::string& unit);
std::vector<std::string> stop_unit_argv(const std::string& unit);
// A service unit kept down after a kill (no automatic restart) until release_unit_argv, which
// also starts it again.
std::vector<std::string> hold_unit_argv(const std::string& unit);
std::vector<std::string> release_unit_argv(const std::string& unit);
inline constexpr const char* k_partition_table = "pgdr_partition";
// A new random id at every boot, also in a systemd-nspawn container (nspawn mounts its own).
inline constexpr const char* k_boot_id_path = "/proc/sys/kernel/random/boot_id";
inline constexpr const char* k_partition_heal_unit = "pgdr-partition-heal";
// The nftables ruleset (for `nft -f -`): replaces the table atomically; drops every packet in
// and out except loopback and TCP port ssh_port (pgdr's SSH session).
std::string partition_ruleset(int ssh_port);
std::vector<std::string> partition_safety_argv(std::chrono::seconds after);
// The host-side self-heal of the other faults (issue 13): a transient timer pgdr-fault-heal,
// armed on the target before the fault and stopped by the restore, that runs the restore's
// command after partition_safety (2 x the drill timeout + 60 s), so a fault whose drill died
// is undone by the host itself: kill-primary, kill-postmaster, stop-primary -> start Patroni;
// kill-etcd-member -> start etcd; kill-haproxy -> start HAProxy.
inline constexpr const char* k_fault_heal_unit = "pgdr-fault-heal";
// `systemd-run --unit=UNIT --on-active=Ns --timer-property=AccuracySec=1s COMMAND...`
std::vector<std::string> self_heal_argv(const std::string& unit, std::chrono::seconds after,
                                        const std::vector<std::string>& command);
// The self-heal command of a fault; empty for the faults without one (switchover, the
// partition's own timer, reboot-primary and lose-primary-host: undone from outside).
std::vector<std::string> fault_heal_command(FaultKind kind, const DrillTopology& topology);
std::vector<std::string> partition_heal_argv();

class FaultInjector {
  public:
    explicit FaultInjector(FaultSeams seams);

    // The host-side safety net before the fault: a systemd timer on the target that undoes it
    // if pgdr dies meanwhile (three commands: 1-2 s over SSH on the OVH twin). The engine calls
    // it before the FaultInjected marker, so that the drill's own preparation is not counted
    // in the fault's RTO; inject() arms by itself when it was not. Throws like inject().
    void arm(const FaultPlan& plan);
    // Does the fault; returns what was done (for the FaultInjected marker). Throws pgdr::Error
    // when it could not be done (the command failed, the host is unreachable).
    std::string inject(const FaultPlan& plan);
    // Undoes it, as far as the fault needs; never throws: failures are in the result.
    FaultRestored restore(const FaultPlan& plan);

  private:
    CommandResult run(const std::string& host, const std::vector<std::string>& argv,
                      const std::optional<std::string>& stdin_data = std::nullopt);
    std::string must(const std::string& host, const std::vector<std::string>& argv,
                     const std::optional<std::string>& stdin_data = std::nullopt);
    std::string inject_fault(const FaultPlan& plan);
    void arm_self_heal(const std::string& host, const std::string& unit,
                       const std::vector<std::string>& argv);
    void disarm_self_heal(const std::string& host, const std::string& unit);
    std::string kill_postmaster(const std::string& host);
    std::string partition(const FaultPlan& plan);
    std::string heal(const FaultPlan& plan);
    // The host's boot id; std::nullopt when it does not answer (or cannot read it).
    std::optional<std::string> boot_id(const std::string& host);
    // Starts the Patroni unit on `host`; when the host does not answer (reset meanwhile),
    // waits up to boot_timeout for it to answer again first.
    std::string start_patroni(const std::string& host);
    std::string reboot(const FaultPlan& plan);
    std::string power_off(const FaultPlan& plan);
    std::string power_on(const FaultPlan& plan);
    std::string after_reboot(const FaultPlan& plan);

    FaultSeams m_seams;
    std::string m_boot_id;         // reboot-primary: before the reset; "" when unknown
    bool m_reboot_issued = false;  // reboot_host returned (or, after a power-off, start_host)
    bool m_powered_off = false;    // lose-primary-host: kill_host returned
    std::chrono::steady_clock::time_point m_reset_at{};
    std::string m_armed_unit;  // the self-heal unit arm() started; "" when none
};

}  // namespace pgdr::drills
