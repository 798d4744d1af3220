#include "drills/fault_catalogue.hpp"

#include <sstream>

#include "core/error.hpp"

namespace pgdr::drills {

namespace {

// What the texts rely on, as measured on three-member Debian clusters: a killed leader's key
// lives until its ttl expires; a partitioned leader demotes itself after about
// loop_wait + retry_timeout (about 14-19 s with Patroni's defaults, about 5 s with ttl 10,
// loop_wait 2, retry_timeout 4); a switchover hands over in about 1.6 s.

// Faults on the leader's Patroni and PostgreSQL; the host stays up.
std::vector<FaultInfo> leader_service_faults() {
    return {
        {FaultKind::kill_primary,
         "kill-primary",
         "--kill-primary",
         "SIGKILL Patroni and PostgreSQL on the leader host, as a crashed machine",
         "Sends SIGKILL to every process of the Patroni unit on the leader host (Patroni and all "
         "PostgreSQL processes, `systemctl kill -s SIGKILL`). The leader key is not released.",
         "The leader key expires after at most ttl; a replica is promoted; HAProxy marks it UP "
         "after rise checks. Writes fail meanwhile.",
         "Start Patroni again on the old leader; it rejoins as a replica (pg_rewind if needed).",
         LeaderExpectation::new_leader,
         FaultTarget::leader_host,
         false,
         {"PatroniMemberDown", "PatroniLeaderChanged"}},
        {FaultKind::kill_postmaster,
         "kill-postmaster",
         "--kill-postmaster",
         "SIGKILL the PostgreSQL postmaster on the leader; Patroni stays up",
         "Sends SIGKILL to the postmaster of the leader's PostgreSQL only (its PID from "
         "postmaster.pid). Patroni keeps running and keeps the leader key.",
         "No failover: Patroni notices within loop_wait and restarts PostgreSQL in place (crash "
         "recovery). Writes fail until it is back and HAProxy sees it UP again.",
         "None needed when Patroni restarted PostgreSQL; otherwise `patronictl restart` of the "
         "member.",
         LeaderExpectation::same_leader,
         FaultTarget::leader_host,
         false,
         {}},
        {FaultKind::stop_primary,
         "stop-primary",
         "--stop-primary",
         "Gracefully stop Patroni on the leader host",
         "Runs `systemctl stop` on the leader's Patroni unit: Patroni stops PostgreSQL cleanly "
         "and deletes the leader key.",
         "A replica takes the released key at once and is promoted; HAProxy follows after rise "
         "checks. Short outage, no lost acknowledged writes.",
         "Start Patroni again on the old leader; it rejoins as a replica.",
         LeaderExpectation::new_leader,
         FaultTarget::leader_host,
         false,
         {"PatroniMemberDown", "PatroniLeaderChanged"}},
        {FaultKind::switchover,
         "switchover",
         "--switchover",
         "Planned switchover through the Patroni REST API",
         "POST /switchover to the leader's Patroni REST API (authenticated), to the chosen "
         "candidate (--candidate) or the healthiest replica.",
         "The leader demotes, the candidate is promoted (about 1.6 s on the lab), the old "
         "leader follows it. Outage of a few seconds at most.",
         "None: the old leader is already a replica. pgdr does not switch back.",
         LeaderExpectation::new_leader,
         FaultTarget::leader_host,
         false,
         {"PatroniLeaderChanged"}},
    };
}

// The leader cut off the network, and faults on the services beside PostgreSQL.
std::vector<FaultInfo> network_and_neighbour_faults() {
    return {
        {FaultKind::partition_primary,
         "partition-primary",
         "--partition-primary",
         "Cut the leader host off the network (silent drops)",
         "Drops every packet in and out of the leader host's cluster interface: nftables rules "
         "on the host (SSH from pgdr is kept), or the lab's link. Drops, not rejects, so peers "
         "see timeouts as in a real network failure.",
         "The isolated leader demotes itself after about loop_wait + retry_timeout; its key "
         "expires after ttl and a replica is promoted. No second writable primary.",
         "Heal the partition (delete the rules / restore the link); the old leader rejoins as a "
         "replica, rewound if needed.",
         LeaderExpectation::new_leader,
         FaultTarget::leader_host,
         false,
         {"PatroniMemberDown", "PatroniLeaderChanged"}},
        {FaultKind::kill_etcd_member,
         "kill-etcd-member",
         "--kill-etcd-member",
         "SIGKILL one etcd member (not on the leader host when there is a choice)",
         "Sends SIGKILL to the etcd service of one member and keeps it down until the restore; "
         "the other two keep the quorum.",
         "No failover and no write outage: the DCS keeps a quorum and the leader keeps its key.",
         "Start etcd again on that host and wait until the member is healthy.",
         LeaderExpectation::same_leader,
         FaultTarget::etcd_member,
         false,
         {"EtcdMemberDown"}},
        {FaultKind::kill_haproxy,
         "kill-haproxy",
         "--kill-haproxy",
         "SIGKILL HAProxy on the host the probes connect through",
         "Sends SIGKILL to the HAProxy service on the host whose write port the probes use and "
         "keeps it down until the restore.",
         "No failover: PostgreSQL is untouched, but clients of that HAProxy lose every "
         "connection until it is back (or until they switch to another HAProxy).",
         "Start HAProxy again and wait until its stats show the leader UP on the write port.",
         LeaderExpectation::same_leader,
         FaultTarget::haproxy_host,
         false,
         {"HAProxyDown"}},
    };
}

// The leader's whole machine: reset, or powered off until the restore step.
std::vector<FaultInfo> whole_host_faults() {
    return {
        {FaultKind::reboot_primary,
         "reboot-primary",
         "--reboot-primary",
         "Hard reset of the leader's host: a host crash followed by a boot",
         "Resets the leader's host with no clean shutdown. On OVH: POST "
         "/cloud/project/{id}/instance/{instance}/reboot with type hard. On the lab: every "
         "process of the host's container is killed at once and it boots again on the same disk.",
         "As --kill-primary when the host boots slower than the ttl: the key expires and a "
         "replica is promoted; the old leader rejoins as a replica. A host back sooner (the lab "
         "boots in seconds) still holds the key: Patroni recovers PostgreSQL and leads again.",
         "Wait until the host answers SSH again with a new boot id, then start Patroni if it is "
         "not running; it rejoins as a replica.",
         LeaderExpectation::any_leader,
         FaultTarget::leader_host,
         true,
         {}},
        {FaultKind::lose_primary_host,
         "lose-primary-host",
         "--lose-primary-host",
         "The leader's whole machine is lost: powered off until the restore step",
         "Powers the leader's host off with no clean shutdown and keeps it off: every process "
         "(PostgreSQL, Patroni, its etcd member, sshd) stops and its address falls silent "
         "(connections time out, nothing refuses them). On the lab: every process of the "
         "host's container is killed at once and its network namespace disappears. On OVH: "
         "POST /cloud/project/{id}/instance/{instance}/stop, then pgdr polls until the instance "
         "is SHUTOFF and notes how long the API took.",
         "The leader key expires (ttl), a replica is promoted, etcd keeps its quorum with the "
         "two other members. This is the figure to quote for the loss of a machine; "
         "--kill-primary leaves the host, its etcd member and its network up.",
         "Power the host on, wait until it answers SSH with a new boot id, start Patroni if it "
         "is not running; it rejoins as a replica.",
         LeaderExpectation::new_leader,
         FaultTarget::leader_host,
         true,
         {"PatroniMemberDown", "PatroniLeaderChanged"}},
    };
}

// In the order of `pgdr drill --list`.
std::vector<FaultInfo> make_catalogue() {
    std::vector<FaultInfo> all;
    for (auto group :
         {leader_service_faults(), network_and_neighbour_faults(), whole_host_faults()}) {
        all.insert(all.end(), group.begin(), group.end());
    }
    return all;
}

// Greedy word wrap with a hanging indent, for the --list text.
void wrap(std::ostringstream& out, const std::string& text, const std::string& indent,
          std::size_t width) {
    std::istringstream words(text);
    std::string word;
    std::size_t column = 0;
    while (words >> word) {
        if (column == 0) {
            out << indent << word;
            column = indent.size() + word.size();
        } else if (column + 1 + word.size() > width) {
            out << '\n' << indent << word;
            column = indent.size() + word.size();
        } else {
            out << ' ' << word;
            column += 1 + word.size();
        }
    }
    out << '\n';
}

}  // namespace

bool alert_lasts_a_window(const std::string& name) {
    return name == "PatroniLeaderChanged";
}

const std::vector<FaultInfo>& fault_catalogue() {
    static const std::vector<FaultInfo> catalogue = make_catalogue();
    return catalogue;
}

const FaultInfo& fault_info(FaultKind kind) {
    for (const auto& f : fault_catalogue()) {
        if (f.kind == kind) {
            return f;
        }
    }
    throw Error(ExitCode::internal, "fault kind missing from the catalogue");
}

const FaultInfo* find_fault(std::string_view name_or_flag) {
    for (const auto& f : fault_catalogue()) {
        if (name_or_flag == f.name || name_or_flag == f.flag) {
            return &f;
        }
    }
    return nullptr;
}

std::string render_fault_list() {
    constexpr std::size_t k_width = 100;
    std::ostringstream out;
    bool first = true;
    for (const auto& f : fault_catalogue()) {
        if (!first) {
            out << '\n';
        }
        first = false;
        out << f.flag << (f.needs_provider ? "  (lab and OVH only)" : "") << '\n';
        wrap(out, f.summary + ".", "    ", k_width);
        wrap(out, "Expected: " + f.expected, "    ", k_width);
        wrap(out, "Restore: " + f.restore, "    ", k_width);
        if (!f.alerts.empty()) {
            std::string alerts;
            for (const auto& a : f.alerts) {
                alerts += (alerts.empty() ? "" : ", ") + a;
            }
            wrap(out, "Alerts (with a monitor host): " + alerts + ".", "    ", k_width);
        }
    }
    return out.str();
}

}  // namespace pgdr::drills
