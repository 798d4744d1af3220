// The RTO a drill should show, predicted from the deployed Patroni and HAProxy settings, so the
// report can put the measured figure beside the expected one (issue 5 §4).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "drills/fault_catalogue.hpp"
#include "drills/timeline.hpp"

namespace pgdr::drills {

// The settings in force on the cluster. Seconds for Patroni, milliseconds for HAProxy.
struct ClusterSettings {
    int ttl_s = 30;
    int loop_wait_s = 10;
    int retry_timeout_s = 10;
    int haproxy_inter_ms = 2000;
    // downinter: the check interval of a DOWN server (a replica in the write backend). HAProxy
    // uses inter when it is not set, as in the seed architecture.
    int haproxy_down_inter_ms = 2000;
    int haproxy_fall = 3;
    int haproxy_rise = 2;
    bool synchronous_mode = false;
    // pgdr-guard (guard.enabled): a dead leader's machine fenced and its key released at once.
    bool guard = false;
    int guard_unreachable_after_ms = 2000;
    int guard_probe_interval_ms = 300;
    bool guard_fence_on_silence = false;
};

// The settings deployed from an inventory. Patroni 4 (Debian 13, release "trixie") raises a
// ttl below 20 to 20, so the effective ttl is used; Patroni 3.0.2 (Debian 12) keeps it.
ClusterSettings deployed_settings(const Inventory& inventory);

struct Prediction {
    std::optional<Millis> rto_ms;  // empty when the settings do not determine it
    std::string formula;           // e.g. "ttl 30 s + rise 2 x inter 2000 ms = 34000 ms"
};

// Formulas (ms; "handover" = 2000 ms, the lab's switchover promotion of about 1.6 s rounded up;
// "restart" = 2000 ms for PostgreSQL crash recovery of a small cluster):
//   kill-primary, partition-primary, reboot-primary:
//       ttl + rise x downinter. The leader key is not released and expires at most ttl after
//       its last refresh; HAProxy then needs `rise` passing checks `downinter` apart to mark
//       the new primary (a DOWN server until then) UP. The lab measured 33 s for ttl 30 / rise 2 /
//       inter 2 s (predicted 34 s) and 9.6 s for ttl 10 / rise 1 / inter 1 s (predicted 11 s).
//   stop-primary, switchover:
//       handover + rise x downinter. The key is released (or handed over) at once; the
//       handover includes Patroni 4's fixed 1 s wait before it releases the key (ha.py
//       on_shutdown: "give replicas some more time to catch up").
//   kill-postmaster:
//       loop_wait + restart + rise x downinter. Patroni notices at its next HA loop and restarts
//       PostgreSQL in place; HAProxy marks it UP again after `rise` checks.
//   kill-etcd-member: 0 (no outage expected while a quorum remains).
//   With pgdr-guard, kill-primary and lose-primary-host (and partition-primary with
//   fence_on_silence):
//       unreachable_after + probe_interval + fence 1000 ms + promotion 1000 ms + rise x
//       downinter. The agents count the leader unreachable after unreachable_after, the last
//       of a quorum within one probe; the provider's answer, the reset and the key release took
//       0.5-1.6 s on the OVH twin, the named candidate's promotion 0.3-0.7 s (bench-drills.sh's
//       guard row). A partition without fence_on_silence and a reboot take the TTL path.
//   kill-haproxy: none; writes return when the restore step restarts HAProxy.
Prediction predict_rto(FaultKind fault, const ClusterSettings& settings);

// Warnings about settings that make drills unsafe or misleading; empty when fine. Patroni needs
// loop_wait + 2 x retry_timeout <= ttl, or an isolated leader may still think it holds the key
// when a replica takes it.
std::vector<std::string> settings_warnings(const ClusterSettings& settings);

}  // namespace pgdr::drills
