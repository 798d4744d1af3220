// The catalogue of drill faults (DESIGN.md §5, man/pgdr-drill.1): one flag each, what it does,
// what the cluster is expected to do, and the restore step that `pgdr drill` always runs at the
// end (also on error and on Ctrl-C). `pgdr drill --list` prints render_fault_list().
//
// The catalogue is data only; injecting and restoring are done by the drill engine through the
// Transport (commands on the hosts), the HostControl of the lab (reset a host, cut/heal its
// link) or of OVH (reset an instance through the API), following `action` and `restore`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgdr::drills {

enum class FaultKind {
    kill_primary,
    kill_postmaster,
    stop_primary,
    switchover,
    partition_primary,
    kill_etcd_member,
    kill_haproxy,
    reboot_primary,
    lose_primary_host,
};

// What analysis checks about the leader after the fault.
enum class LeaderExpectation {
    new_leader,   // another member must take the leader key
    same_leader,  // the leader must not change
    any_leader,   // a leader again: another member, or the same host back before its key expired
};

// What the fault targets, so the engine knows which host to act on.
enum class FaultTarget { leader_host, etcd_member, haproxy_host };

struct FaultInfo {
    FaultKind kind;
    std::string name;      // "kill-primary": the report's `drill` field
    std::string flag;      // "--kill-primary"
    std::string summary;   // one line for --list
    std::string action;    // what pgdr does, precisely
    std::string expected;  // what a healthy cluster does
    std::string restore;   // the restore step
    LeaderExpectation leader;
    FaultTarget target;
    bool needs_provider;  // acts on the whole host through the lab or OVH (a HostControl)
    // The alerts of monitoring/pgdr-alerts.yml this fault must raise when the cluster is
    // monitored (issue 15): the drill checks each fired (alerts_fired). Empty: none is certain
    // (a fault Patroni repairs in seconds may be over before a rule's `for:` window).
    std::vector<std::string> alerts;
};

// An alert that announces an event and lasts a fixed window after it (PatroniLeaderChanged: a
// minute after a new timeline), whatever the cluster does: its resolution times nothing, so a
// drill does not keep watching for it once the cluster is whole (the next drill still waits it
// out before its fault).
bool alert_lasts_a_window(const std::string& name);

// Every fault, in the order of the man page and --list.
const std::vector<FaultInfo>& fault_catalogue();
const FaultInfo& fault_info(FaultKind kind);
// By name ("kill-primary") or flag ("--kill-primary"); nullptr when unknown.
const FaultInfo* find_fault(std::string_view name_or_flag);

// The text of `pgdr drill --list`: each flag, its summary, what is expected and the restore.
// Width-independent (wrapped at 100 columns).
std::string render_fault_list();

}  // namespace pgdr::drills
