// The plan: what bootstrap does to the hosts, as data (DESIGN.md §2, §4).
//
// A Plan is built by a pure planner and executed by apply() (core/apply.hpp). It is a list of
// stages (packages, etcd, replication, patroni, haproxy, verify), each a list of steps, each step
// a list of per-host action lists. Every action is idempotent:
//   RunCommand  runs an argv; skipped when its "unless" argv succeeds, or when it is tied to
//               files (when_changed) none of which changed in this run;
//   PutFile     writes a file atomically; skipped when content, mode and owner already match;
//   WaitFor     polls a probe argv until it succeeds or the timeout passes;
//   WaitForCluster
//               polls pgdr's own judgement of the cluster (the snapshot and assessment that
//               `pgdr status` uses, taken through its ClusterReach; nothing runs on the host)
//               until none of the named findings remains, or the timeout passes.
// So applying the same plan twice changes nothing the second time.
//
// Ordering: stages and steps run in order. Within a step, each host's actions run in order;
// hosts run in parallel (HostOrder::parallel) or one after the other in the listed order
// (HostOrder::sequential: etcd quorum before Patroni, leader before replicas).
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/transport.hpp"

namespace pgdr {

enum class Stage {
    packages,
    certificates,
    etcd,
    replication,
    backup,
    patroni,
    haproxy,
    guard,
    monitoring,
    verify
};

std::string to_string(Stage stage);
// "packages", ... ; std::nullopt for an unknown name.
std::optional<Stage> parse_stage(const std::string& name);
// Every stage in execution order.
const std::vector<Stage>& all_stages();

struct RunCommand {
    std::vector<std::string> argv;
    std::string description;  // what it does, for the operator ("enable etcd")
    bool sudo = true;
    // Skip the command when this argv exits 0. It must only read: --dry-run runs it too, to
    // tell what would run.
    std::optional<std::vector<std::string>> unless;
    // When not empty: run only if one of these PutFile paths on the same host changed earlier in
    // the same apply (reload after a config change); reported unchanged otherwise.
    std::vector<std::string> when_changed;
    // A command that only checks (haproxy -c, a health query): unchanged when it succeeds.
    bool check_only = false;
    // Fed to the command (SQL, ...). Never printed: it may hold a secret.
    std::optional<std::string> stdin_data;
    std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

// How much of a file --dry-run may show.
enum class Secrecy {
    none,            // the whole diff
    password_lines,  // diff lines that mention a password are hidden (patroni.yml)
    whole_file,      // no content at all, only the number of changed lines (passfiles)
};

struct PutFile {
    std::string path;  // absolute
    std::string content;
    FileSpec spec;  // mode and owner; an empty owner means root
    std::string description;
    Secrecy secrecy = Secrecy::none;
};

struct WaitFor {
    std::vector<std::string> probe;  // succeeds (exit 0) when the condition holds
    std::string description;
    bool sudo = false;
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};
    std::chrono::milliseconds interval{std::chrono::seconds(1)};
};

// Waits, in pgdr, until the cluster's assessment (pg/assessment.hpp) has none of the findings
// `absent` names, concerning `member` or the cluster as a whole. apply() asks its
// ClusterConditions (core/apply.hpp); the action's host only places it in the plan's order.
struct WaitForCluster {
    std::vector<std::string> absent;  // finding codes, e.g. "no_sync_standby"
    std::string member;               // "" = findings about any member count
    std::string description;          // the condition, for the operator
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};
    std::chrono::milliseconds interval{std::chrono::seconds(1)};
};

using Action = std::variant<RunCommand, PutFile, WaitFor, WaitForCluster>;

// A WaitForCluster's condition in words: "the cluster's assessment has no haproxy_unreachable
// or haproxy_write_not_leader finding about lb1 or the cluster".
std::string cluster_condition(const WaitForCluster& wait);

// One line for the operator: "run: systemctl reload haproxy", "put /etc/default/etcd", ...
// The description when the action has one. stdin is never included.
std::string describe(const Action& action);

enum class HostOrder { parallel, sequential };

struct HostActions {
    std::string host;  // inventory host name
    std::vector<Action> actions;
};

struct Step {
    std::string name;
    HostOrder order = HostOrder::parallel;
    std::vector<HostActions> hosts;
};

struct StagePlan {
    Stage stage = Stage::packages;
    std::vector<Step> steps;
};

struct Plan {
    std::vector<StagePlan> stages;  // in execution order

    // The stage's plan, appended (keeping all_stages() order) when it is not there yet.
    StagePlan& stage(Stage s);
    // Appends a step to stage s and returns it.
    Step& add_step(Stage s, std::string name, HostOrder order = HostOrder::parallel);
    // A plan with only the given stage (--stage).
    Plan only(Stage s) const;
    std::size_t action_count() const;
    std::set<std::string> hosts() const;
};

// A line diff of two texts in unified format: "--- old_label", "+++ new_label", then hunks
// "@@ -a,b +c,d @@" with `context` lines around each change. Empty when the texts are equal.
// A missing final newline is marked as diff(1) does ("\ No newline at end of file").
std::string unified_diff(const std::string& old_text, const std::string& new_text,
                         const std::string& old_label, const std::string& new_label,
                         int context = 3);

}  // namespace pgdr
