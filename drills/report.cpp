#include "drills/report.hpp"

namespace pgdr::drills {

const std::vector<std::string>& phase_names() {
    static const std::vector<std::string> names = {
        phase::last_ack_before_outage, phase::fault_injected,         phase::first_write_failure,
        phase::old_leader_gone,        phase::new_leader_elected,     phase::promoted,
        phase::haproxy_switched,       phase::first_ack_after_outage, phase::fault_restored,
        phase::primary_back,           phase::old_primary_rejoined,
    };
    return names;
}

std::string phase_label(const std::string& name) {
    static const std::vector<std::pair<std::string, std::string>> labels = {
        {phase::last_ack_before_outage, "last acknowledged write before the outage"},
        {phase::fault_injected, "fault injected"},
        {phase::first_write_failure, "first failed write"},
        {phase::old_leader_gone, "old leader gone"},
        {phase::new_leader_elected, "new leader elected"},
        {phase::promoted, "new leader promoted (not in recovery)"},
        {phase::haproxy_switched, "HAProxy routes writes to the new leader"},
        {phase::first_ack_after_outage, "first acknowledged write after the outage"},
        {phase::fault_restored, "fault restored"},
        {phase::primary_back, "primary writable again"},
        {phase::old_primary_rejoined, "old primary back as a replica"},
    };
    for (const auto& [n, label] : labels) {
        if (n == name) {
            return label;
        }
    }
    return name;
}

std::string to_string(Verdict verdict) {
    return verdict == Verdict::pass ? "pass" : "fail";
}

const Phase* Report::find_phase(const std::string& name) const {
    for (const auto& p : phases) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

const Check* Report::find_check(const std::string& name) const {
    for (const auto& c : checks) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

ExitCode exit_code(const Report& report) {
    return report.verdict == Verdict::pass ? ExitCode::ok : ExitCode::objectives_missed;
}

}  // namespace pgdr::drills
