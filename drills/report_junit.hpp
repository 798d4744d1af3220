// The JUnit XML rendering of drill reports (`--report FILE.xml`), for CI systems: one
// <testsuite>, one <testcase> per check of the verdict (report.hpp: fault_injected,
// leader_expectation, writes_recovered, no_split_brain, max_rto, max_lost, restored,
// cluster_whole, completed). A failed check has a <failure> with its detail; the headline
// figures are <properties>.
#pragma once

#include <string>
#include <vector>

#include "drills/report.hpp"

namespace pgdr::drills {

std::string render_junit(const Report& report);
// --repeat N: still one testsuite; test cases are named "run K: check".
std::string render_junit(const std::vector<Report>& reports);

}  // namespace pgdr::drills
