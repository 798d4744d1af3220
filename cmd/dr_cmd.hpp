// What pgdr dr and pgdr drill --lose-region share (cmd/dr_cmd.cpp).
#pragma once

#include <functional>

#include "cmd/context.hpp"
#include "core/inventory.hpp"
#include "pg/dr_promote.hpp"

namespace pgdr::cmd {

// The secret `name` of the inventory's state directory, registered with the log's redaction;
// a config error naming `pgdr bootstrap` when it does not exist.
std::string required_secret(const Inventory& inv, const char* name, Context& ctx);

// Patroni stopped and disabled on one member of a primary cluster over SSH (3 s to connect).
pg::FenceOutcome fence_member(Context& ctx, const Inventory& inv, const HostSpec& member);

// pg::run_dr_promote wired to the pair `inv` (with a dr section); a promotion is recorded in the
// state directory (the roles swap from then on).
pg::DrPromoteResult run_promotion(Context& ctx, const Inventory& inv,
                                  const pg::DrPromoteRequest& req,
                                  const std::function<bool(const pg::DrPromoteResult&)>& confirm);

}  // namespace pgdr::cmd
