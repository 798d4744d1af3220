#include "runbook/model.hpp"

namespace pgdr::runbook {

std::string to_string(Role role) {
    return role == Role::leader ? "leader" : "replica";
}

std::string to_string(ConditionKind kind) {
    switch (kind) {
        case ConditionKind::leader_is:
            return "leader_is";
        case ConditionKind::leader_is_not:
            return "leader_is_not";
        case ConditionKind::no_leader:
            return "no_leader";
        case ConditionKind::streaming:
            return "streaming";
        case ConditionKind::all_streaming:
            return "all_streaming";
        case ConditionKind::healthy:
            return "healthy";
        case ConditionKind::command:
            return "command";
        case ConditionKind::sql:
            return "sql";
    }
    return "?";
}

namespace {
std::string where(const HostSelector& s) {
    if (s.role) {
        return "the " + to_string(*s.role) + (*s.role == Role::replica ? "s" : "");
    }
    if (!s.service.empty()) {
        return "the " + s.service + " hosts";
    }
    std::string out;
    for (const auto& h : s.hosts) {
        out += (out.empty() ? "" : ",") + h;
    }
    return out;
}
std::string words(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& w : argv) {
        out += (out.empty() ? "" : " ") + w;
    }
    return out;
}
}  // namespace

std::string describe(const Condition& c) {
    switch (c.kind) {
        case ConditionKind::leader_is:
        case ConditionKind::leader_is_not:
        case ConditionKind::streaming:
            return to_string(c.kind) + " " + c.member;
        case ConditionKind::command:
            return "`" + words(c.command.command) + "` succeeds on " + where(c.command.target);
        case ConditionKind::sql:
            return "SQL on the " + to_string(c.sql.role) + " returns '" +
                   c.sql.expect.value_or("") + "'";
        default:
            return to_string(c.kind);
    }
}

std::string kind_name(const StepBody& body) {
    static const char* const k_names[] = {"pgdr", "run", "sql", "wait_until", "confirm", "assert"};
    return k_names[body.index()];
}

int Runbook::index_of(const std::string& id) const {
    for (size_t i = 0; i < steps.size(); ++i) {
        if (steps[i].id == id) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

}  // namespace pgdr::runbook
