// `pgdr drill --lose-region REGION [--promote]`: a pair of clusters loses a region
// (cmd/drill_region.cpp, drills/region_drill.hpp).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cmd/context.hpp"

namespace pgdr::cmd {

struct RegionDrillCmdOptions {
    std::string region;
    bool promote = false;
    double max_rto_s = -1;
    std::chrono::milliseconds timeout{std::chrono::seconds(180)};
    std::vector<std::string> reports;
};

// Runs the drill and prints its report: 0 pass, 8 objectives missed, 7 a step failed.
int region_drill(Context& ctx, const RegionDrillCmdOptions& o);

}  // namespace pgdr::cmd
