// What pgdr dr and pgdr drill --lose-region share (cmd/dr_cmd.cpp).
#pragma once

#include <functional>

#include "cmd/context.hpp"
#include "core/inventory.hpp"
#include "pg/dr_promote.hpp"
#include "pg/dr_rebuild.hpp"

namespace pgdr::cmd {

// The secret `name` of the inventory's state directory, registered with the log's redaction;
// a config error naming `pgdr bootstrap` when it does not exist.
std::string required_secret(const Inventory& inv, const char* name, Context& ctx);

// Patroni stopped and disabled on one member of a primary cluster over SSH (3 s to connect);
// clean or killed (pg::fence_argv).
pg::FenceOutcome fence_member(Context& ctx, const Inventory& inv, const HostSpec& member,
                              bool clean);

// pg::run_dr_promote wired to the pair `inv` (with a dr section); a promotion is recorded in the
// state directory (the roles swap from then on).
pg::DrPromoteResult run_promotion(Context& ctx, const Inventory& inv,
                                  const pg::DrPromoteRequest& req,
                                  const std::function<bool(const pg::DrPromoteResult&)>& confirm);

// pg::run_dr_rebuild wired to the pair `inv` (the roles as the state records them): the
// inventory's dr cluster becomes a standby of its primary cluster.
pg::DrRebuildResult run_rebuild(Context& ctx, const Inventory& inv, const pg::DrRebuildRequest& req,
                                const std::function<bool(const pg::DrRebuildResult&)>& confirm);

// pgdr bootstrap of the pair (cmd/bootstrap_cmd.cpp): both clusters, the roles as the state
// records them; the exit code, and the JSON report in `report` (with --output json).
int bootstrap_pair(Context& ctx, nlohmann::json& report);

}  // namespace pgdr::cmd
