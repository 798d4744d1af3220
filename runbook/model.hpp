// A runbook: a named, parameterised list of steps an operator runs against one cluster
// (man/pgdr-runbook.5). Pure data; parser.hpp reads it, executor.hpp runs it.
//
// Strings may hold ${param} references; they stay unresolved in a parsed Runbook and are
// replaced by instantiate() (substitute.hpp) once the parameter values are known.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace pgdr::runbook {

struct Location {
    int line = 0;  // 1-based
    int column = 0;
};

struct Parameter {
    std::string name;
    std::string description;
    std::optional<std::string> default_value;  // none: the parameter is required
    Location where;
};

enum class Role { leader, replica };
std::string to_string(Role role);

// Where a command runs: exactly one of hosts, service or role.
struct HostSelector {
    std::vector<std::string> hosts;
    std::string service;  // postgres | etcd | haproxy
    std::optional<Role> role;
};

struct PgdrStep {
    // switchover | failover | reinit | status | verify | drill | bootstrap | certs_status |
    // certs_rotate | backup_list | backup_check | restore_cluster
    std::string action;
    std::map<std::string, std::string> args;
};

struct RunStep {
    HostSelector target;
    std::vector<std::string> command;  // argv, never through a shell unless the argv says so
    bool sudo = false;
};

struct SqlStep {
    Role role = Role::leader;
    std::string database = "postgres";
    std::string query;
    std::optional<std::string> expect;  // the output (trimmed) must equal this
};

enum class ConditionKind {
    leader_is,      // leader_is NODE
    leader_is_not,  // leader_is_not NODE
    no_leader,      // no member holds the leader key
    streaming,      // streaming NODE: in the leader's pg_stat_replication as streaming
    all_streaming,  // every replica Patroni knows streams, in the leader's pg_stat_replication
    healthy,        // pgdr status finds no problem
    command,        // a command exits 0 on every selected host
    sql,            // a query's output equals `expect`
};
std::string to_string(ConditionKind kind);

struct Condition {
    ConditionKind kind = ConditionKind::healthy;
    std::string member;  // leader_is, leader_is_not, streaming
    RunStep command;     // command
    SqlStep sql;         // sql
};
std::string describe(const Condition& condition);

struct WaitStep {
    Condition condition;
    std::chrono::milliseconds interval{std::chrono::seconds(2)};
};

struct ConfirmStep {
    std::string text;
};

struct AssertStep {
    Condition condition;
    std::string message;  // shown when the assertion fails
};

using StepBody = std::variant<PgdrStep, RunStep, SqlStep, WaitStep, ConfirmStep, AssertStep>;
std::string kind_name(const StepBody& body);

enum class FailurePolicy { abort, continue_run, go_to };

struct OnFailure {
    FailurePolicy policy = FailurePolicy::abort;
    std::string target;  // go_to
};

struct Step {
    std::string id;
    std::string description;
    std::chrono::milliseconds timeout{std::chrono::minutes(5)};
    OnFailure on_failure;
    StepBody body;
    Location where;
};

struct Runbook {
    std::string file;
    std::string name;
    std::string description;
    std::vector<Parameter> parameters;
    std::vector<Step> steps;

    // Index of the step `id`; -1 when there is none.
    int index_of(const std::string& id) const;
};

}  // namespace pgdr::runbook
