#include "drills/prediction.hpp"

#include <algorithm>

namespace pgdr::drills {

namespace {

constexpr Millis k_handover_ms = 2000;
constexpr Millis k_restart_ms = 2000;
constexpr Millis k_guard_fence_ms = 1000;    // provider answer, reset, key release
constexpr Millis k_guard_promote_ms = 1000;  // the named candidate's promotion
// Patroni 4 refuses a ttl below this value and uses it instead (it logs "ttl=10 can't be
// smaller than 20, adjusting..." and GET /config then shows ttl 20).
constexpr int k_patroni4_min_ttl_s = 20;

std::string ms(Millis value) {
    return std::to_string(value) + " ms";
}

std::string haproxy_term(const ClusterSettings& s) {
    return "rise " + std::to_string(s.haproxy_rise) + " x downinter " + ms(s.haproxy_down_inter_ms);
}

}  // namespace

ClusterSettings deployed_settings(const Inventory& inventory) {
    ClusterSettings s;
    s.ttl_s = inventory.patroni.ttl;
    if (inventory.release == "trixie") {
        s.ttl_s = std::max(s.ttl_s, k_patroni4_min_ttl_s);
    }
    s.loop_wait_s = inventory.patroni.loop_wait;
    s.retry_timeout_s = inventory.patroni.retry_timeout;
    s.haproxy_inter_ms = inventory.haproxy.check_interval_ms;
    s.haproxy_down_inter_ms = inventory.haproxy.fast_check_interval_ms;
    s.haproxy_fall = inventory.haproxy.fall;
    s.haproxy_rise = inventory.haproxy.rise;
    s.synchronous_mode = inventory.patroni.synchronous_mode;
    s.guard = inventory.guard.enabled;
    s.guard_unreachable_after_ms = inventory.guard.unreachable_after_ms;
    s.guard_probe_interval_ms = inventory.guard.probe_interval_ms;
    s.guard_fence_on_silence = inventory.guard.fence_on_silence;
    return s;
}

Prediction predict_rto(FaultKind fault, const ClusterSettings& s) {
    const Millis detect = static_cast<Millis>(s.haproxy_rise) * s.haproxy_down_inter_ms;
    const bool fenced =
        s.guard && (fault == FaultKind::kill_primary || fault == FaultKind::lose_primary_host ||
                    (fault == FaultKind::partition_primary && s.guard_fence_on_silence));
    if (fenced) {
        const Millis total = static_cast<Millis>(s.guard_unreachable_after_ms) +
                             s.guard_probe_interval_ms + k_guard_fence_ms + k_guard_promote_ms +
                             detect;
        return {total, "pgdr-guard: unreachable_after " + ms(s.guard_unreachable_after_ms) +
                           " + probe " + ms(s.guard_probe_interval_ms) + " + fence " +
                           ms(k_guard_fence_ms) + " + promotion " + ms(k_guard_promote_ms) + " + " +
                           haproxy_term(s) + " = " + ms(total)};
    }
    switch (fault) {
        case FaultKind::kill_primary:
        case FaultKind::partition_primary:
        case FaultKind::reboot_primary:
        case FaultKind::lose_primary_host: {
            Millis total = static_cast<Millis>(s.ttl_s) * 1000 + detect;
            return {total, "ttl " + std::to_string(s.ttl_s) + " s + " + haproxy_term(s) + " = " +
                               ms(total)};
        }
        case FaultKind::stop_primary:
        case FaultKind::switchover: {
            Millis total = k_handover_ms + detect;
            return {total,
                    "handover " + ms(k_handover_ms) + " + " + haproxy_term(s) + " = " + ms(total)};
        }
        case FaultKind::kill_postmaster: {
            Millis total = static_cast<Millis>(s.loop_wait_s) * 1000 + k_restart_ms + detect;
            return {total, "loop_wait " + std::to_string(s.loop_wait_s) + " s + restart " +
                               ms(k_restart_ms) + " + " + haproxy_term(s) + " = " + ms(total)};
        }
        case FaultKind::kill_etcd_member:
            return {0, "no outage expected while the etcd quorum holds = 0 ms"};
        case FaultKind::kill_haproxy:
            return {std::nullopt, "none: writes return when the restore step restarts HAProxy"};
    }
    return {std::nullopt, "unknown fault"};
}

std::vector<std::string> settings_warnings(const ClusterSettings& s) {
    std::vector<std::string> out;
    if (s.loop_wait_s + 2 * s.retry_timeout_s > s.ttl_s) {
        out.push_back("loop_wait " + std::to_string(s.loop_wait_s) + " s + 2 x retry_timeout " +
                      std::to_string(s.retry_timeout_s) + " s exceeds ttl " +
                      std::to_string(s.ttl_s) +
                      " s: an isolated leader may still act as primary after its key expired");
    }
    if (s.haproxy_rise <= 0 || s.haproxy_inter_ms <= 0 || s.haproxy_down_inter_ms <= 0 ||
        s.haproxy_fall <= 0) {
        out.push_back("HAProxy inter, downinter, fall and rise must be positive");
    }
    return out;
}

}  // namespace pgdr::drills
