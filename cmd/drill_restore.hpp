// `pgdr drill --restore [--to TIME]`: the restore drill (cmd/drill_restore.cpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cmd/context.hpp"

namespace pgdr::cmd {

struct RestoreDrillCmdOptions {
    std::optional<std::string> to;  // --to TIME
    double max_rto_s = -1;          // --max-rto: of the restore
    double baseline_s = 3;          // markers before the target
    std::vector<std::string> reports;
    std::string break_lock;
};

// Runs the drill and prints its report; returns the exit code (0 pass, 8 fail, 130 Ctrl-C).
int restore_drill(Context& ctx, const RestoreDrillCmdOptions& o);

}  // namespace pgdr::cmd
