// The command line of a runbook `pgdr` step that re-executes pgdr (drill, bootstrap), and the
// production gate of `runbook run` (issue 13 item 8): a runbook never adds --yes-really by
// itself; the operator gives it to `runbook run`, and it reaches the drill steps from there.
#pragma once

#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "runbook/model.hpp"

namespace pgdr::runbook {

struct PgdrArgvOptions {
    std::string exe = "/proc/self/exe";
    std::string inventory_path;
    bool accept_new_host_keys = false;
    std::string yes_really;  // given to `runbook run --yes-really`; "" when not given
};

// argv for a step that re-executes pgdr (drill, bootstrap, certs_*, backup_*, restore_cluster):
// the step's arguments as flags; a drill or restore_cluster gets `--yes-really NAME` only when
// the operator gave it.
std::vector<std::string> pgdr_step_argv(const PgdrStep& step, const PgdrArgvOptions& options);

// Refuses (usage error, before any step runs) a runbook with a drill step on a cluster marked
// `production: true` unless yes_really names the cluster; a runbook with a restore_cluster step
// (any cluster: it replaces every member's data) unless yes_really names the cluster; and a
// yes_really naming another cluster. command: the runbook's command line, for the hint.
void check_production_gate(const Runbook& runbook, const Inventory& inv,
                           const std::string& yes_really, const std::string& command);

}  // namespace pgdr::runbook
